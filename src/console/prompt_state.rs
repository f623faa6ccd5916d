//! The small prompts' state: editing or snoozing a driver ([`super::driver_fixes`]) and typing a
//! call-log search. Re-exported by `state`.

use tui_input::Input;

/// What a prompt is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptFor {
    /// Correct a driver's name and mobile.
    EditDriver { driver_id: String },
    /// Not now: the driver comes back at the time typed.
    Snooze { driver_id: String, name: String },
    /// Search the call log by name or number.
    CallLogSearch,
}

/// A small form of one or more text fields (editing a driver, snoozing one).
#[derive(Debug, Clone)]
pub struct Prompt {
    pub purpose: PromptFor,
    pub title: String,
    pub fields: Vec<(&'static str, Input)>,
    pub focus: usize,
    pub error: Option<String>,
    pub saving: bool,
}
