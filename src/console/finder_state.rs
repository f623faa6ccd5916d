//! The finder's state ([`super::finder`]): find anyone, the upcoming callbacks and retries, and
//! the driver card. Re-exported by `state`.

use tui_input::Input;

use crate::domain::CallLog;
use crate::store::DriverHit;

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
