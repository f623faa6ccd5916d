//! The supervisor screen's state: what it draws from ([`SuperView`]) and where its reads are
//! ([`Reads`]). It sits below both `update` (which changes it) and `view` (which draws it), so the
//! two never import each other.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::board::Thresholds;
use super::snapshot::Snapshot;
use crate::domain::{CallLog, FeedbackCatalog};
use crate::store::Caller;

/// Everything the supervisor screen draws from.
#[derive(Debug, Clone)]
pub struct SuperView {
    pub snapshot: Snapshot,
    pub now: DateTime<Utc>,
    pub tz: Tz,
    pub database: String,
    pub viewer: String,
    pub error: Option<String>,
    pub help: bool,
    /// Which outcomes count as positive, for the conversion rate.
    pub catalog: std::sync::Arc<FeedbackCatalog>,
    /// Reads in flight and wanted, and whether to quit.
    pub reads: Reads,
    /// The supervisor's own caller id (recorded with the drivers they move).
    pub me: i64,
    /// When an idle agent or a break is flagged.
    pub alerts: Thresholds,
    /// The selected agent, by id: it follows the agent when the rows move.
    pub selected: Option<i64>,
    /// An agent's calls today, while open.
    pub drill: Option<Drill>,
    /// Moving drivers, while open.
    pub dialog: Option<MoveDialog>,
    /// How far the help is scrolled.
    pub help_scroll: u16,
    /// The terminal's size (columns, rows), for the help's scrolling.
    pub size: (u16, u16),
}

impl SuperView {
    /// A screen with nothing read yet.
    pub fn new(now: DateTime<Utc>, tz: Tz, database: String, viewer: String) -> Self {
        Self {
            snapshot: Snapshot::default(),
            now,
            tz,
            database,
            viewer,
            error: None,
            help: false,
            catalog: std::sync::Arc::new(FeedbackCatalog::default()),
            reads: Reads { full_wanted: true, again: true, ..Default::default() },
            me: 0,
            alerts: Thresholds::default(),
            selected: None,
            drill: None,
            dialog: None,
            help_scroll: 0,
            size: (80, 24),
        }
    }
}

/// One agent's calls today, newest first, read a page at a time (keyset on the call id).
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    pub agent: Caller,
    /// The pages read so far.
    pub calls: Vec<CallLog>,
    /// How many calls the agent has today (read with the first page).
    pub total: i64,
    /// The highlighted row.
    pub cursor: usize,
    pub loading: bool,
    /// The last page came back short: nothing more to read.
    pub complete: bool,
    pub error: Option<String>,
}

impl Drill {
    pub fn new(agent: Caller) -> Self {
        Self { agent, calls: Vec::new(), total: 0, cursor: 0, loading: true, complete: false, error: None }
    }
}

/// Moving queued drivers from one agent to another: the other agents to choose from, how many
/// (typed; empty for every driver that may move), and what the move did.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveDialog {
    pub from: Caller,
    /// The other agents, by name.
    pub targets: Vec<Caller>,
    pub pick: usize,
    pub count: String,
    /// The move is being written.
    pub moving: bool,
    /// What the last move did (`Ok`: the summary) or why it was refused.
    pub outcome: Option<Result<String, String>>,
}

/// Where the reads are: one at a time; a webhook (or `r`) during a read is not dropped, it asks
/// for another read as soon as the current one lands.
///
/// A webhook's read is quick: agents and live calls are read at once, while the day's totals
/// (which scan whole tables) are read again only when they are older than
/// [`TOTALS_AFTER_CHANGE`]; a change they have not covered yet is read at the next tick. So with a
/// whole team's webhooks arriving every few milliseconds the live board stays within a poll of the
/// truth, and the numbers within a couple of seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    pub loading: bool,
    /// When the read under way started (a paused database answers nothing, and no error comes).
    pub since: Option<DateTime<Utc>>,
    /// Another read is wanted once the current one lands.
    pub again: bool,
    /// The next read re-reads the totals whatever their age (the first read, `r`).
    pub full_wanted: bool,
    /// A webhook changed calls since the totals shown were read.
    pub totals_owed: bool,
    /// The read under way re-reads the totals.
    pub reading_totals: bool,
    pub quit: bool,
}
