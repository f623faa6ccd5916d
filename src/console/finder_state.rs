//! The console's state for finding and fixing drivers (search, upcoming, the driver card, small
//! prompts) and the set of webhook events already shown. Re-exported by `state`.

use std::collections::VecDeque;

use tui_input::Input;

use crate::domain::CallLog;
use crate::store::DriverHit;

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

/// Find anyone: the query and the drivers it found.
#[derive(Debug, Default)]
pub struct SearchView {
    pub input: Input,
    /// The query has the keyboard (else the results do).
    pub typing: bool,
    pub hits: Vec<DriverHit>,
    pub selected: usize,
    pub offset: usize,
    pub loading: bool,
    /// Bumped on every query so late answers for an older one are dropped.
    pub generation: u64,
}

/// Scheduled callbacks and retries, soonest first, paged.
#[derive(Debug, Default)]
pub struct UpcomingView {
    pub rows: Vec<DriverHit>,
    pub selected: usize,
    pub offset: usize,
    pub exhausted: bool,
    pub loading: bool,
    pub generation: u64,
}

/// The driver card: details, where they stand, and every call, newest first.
#[derive(Debug, Clone)]
pub struct CardView {
    pub driver_id: String,
    pub hit: Option<DriverHit>,
    pub calls: Vec<CallLog>,
    /// Which of `calls` TeleCMI recorded.
    pub recorded: std::collections::HashSet<i64>,
    pub loading: bool,
    /// First row shown (the card scrolls).
    pub scroll: u16,
    /// The call to show first (opened from a call-log row).
    pub focus_call: Option<i64>,
}

/// A bounded set of recently seen event ids.
#[derive(Debug, Default)]
pub struct SeenEvents {
    order: VecDeque<i64>,
    set: std::collections::HashSet<i64>,
}

impl SeenEvents {
    const KEEP: usize = 4096;

    /// Records `id`; `false` if it was already seen.
    pub fn insert(&mut self, id: i64) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > Self::KEEP
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}
