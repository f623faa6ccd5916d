//! Everything that changes the console's state is an [`Action`]; slow work `update` asks for is an
//! [`Effect`], run off the UI path, which reports back with another `Action`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use super::state::Progress;
use crate::coord::bus::CallUpdate;
use crate::coord::dialer::CallKind;
use crate::domain::wrapup::CallEnd;
use crate::domain::{CallLog, Presence, PresenceChange, QueueDecision};
use crate::store::{
    CallFilter, DriverHit, FeedbackDraft, QueueCursor, QueueEntry, StatsBundle, StoredEvent, SubmitFeedback,
};
use crate::tui::keys::Command;

#[derive(Debug, Clone)]
pub enum Action {
    // --- Input and time ----------------------------------------------------------------------
    Key(KeyEvent),
    Command(Command),
    Tick(DateTime<Utc>),
    /// The time a key arrived (sent before each batch of keys): a form's first moment is
    /// measured against it, finer than the ticks.
    Clock(DateTime<Utc>),
    Resize {
        width: u16,
        height: u16,
    },
    /// SIGTERM, SIGHUP or SIGINT reached the process.
    Signal(&'static str),
    /// A newer login of this caller took the session over: close as on a signal, leaving these
    /// words on the terminal.
    SignedInElsewhere(String),
    // --- Results of effects ------------------------------------------------------------------
    StartupLoaded {
        wrapups: Vec<(CallLog, Option<FeedbackDraft>)>,
        live: Option<CallLog>,
        recent: Vec<CallLog>,
        /// Wrap-ups whose save the agent pressed in a console that closed before the database
        /// answered: made now, by themselves.
        resave: Vec<i64>,
    },
    QueueLoaded {
        generation: u64,
        append: bool,
        rows: Vec<QueueEntry>,
        /// Counted up to [`crate::store::COUNT_CAP`] + 1.
        due: i64,
        total: i64,
        limit: u32,
    },
    /// The next page of the queue, appended; the counts are not taken again (paging deep into a
    /// huge queue costs one index seek, never a count).
    QueuePage {
        generation: u64,
        rows: Vec<QueueEntry>,
        limit: u32,
    },
    CallPlaced {
        call: CallLog,
        kind: CallKind,
    },
    DialFailed {
        message: String,
        call: Option<CallLog>,
    },
    /// TeleCMI's answer never came: the call may still ring; it stays live, unconfirmed.
    DialUnconfirmed {
        message: String,
        call: CallLog,
    },
    /// The agent marked an unconfirmed call as not placed (or was told why not).
    MarkedNotPlaced(Result<CallLog, String>),
    CallUpdated(Box<CallUpdate>),
    TimelineLoaded {
        call_id: i64,
        events: Vec<StoredEvent>,
    },
    /// How a call ended, read from its legs' reports.
    FactsLoaded {
        call_id: i64,
        end: CallEnd,
        /// The driver's call attempts so far, this call included (`None`: not in the queue).
        attempts: Option<u32>,
    },
    /// The live call and the waiting wrap-ups as stored (after the console may have missed events).
    Resynced {
        live: Option<CallLog>,
        wrapups: Vec<(CallLog, Option<FeedbackDraft>)>,
        /// When the store was asked: a waiting wrap-up the store no longer lists, and whose call
        /// last changed before then, was saved elsewhere.
        asked_at: DateTime<Utc>,
    },
    FeedbackSaved {
        call: Box<CallLog>,
        decision: QueueDecision,
        call_next: bool,
    },
    FeedbackFailed(String),
    /// The save of call `call_id`'s outcome (`feedback`) did not reach the database (down, restarting, not
    /// answering): nothing was refused, and it is tried again by itself once the database
    /// answers. `why` in the store's words.
    FeedbackWaiting {
        call_id: i64,
        feedback: SubmitFeedback,
        why: String,
    },
    /// The call's outcome was saved meanwhile by another console of this agent: the form's was
    /// not. Holds the call as saved.
    FeedbackAlreadySaved(Box<CallLog>),
    /// The remarks typed for a call whose outcome was saved elsewhere meanwhile were added to its
    /// remarks (holds the call as stored), or why not.
    RemarksAdded(Result<Box<CallLog>, String>),
    CallLogLoaded {
        generation: u64,
        append: bool,
        rows: Vec<CallLog>,
        total: i64,
        /// Which of `rows` TeleCMI recorded.
        recorded: HashSet<i64>,
    },
    StatsLoaded(Box<StatsBundle>),
    SearchLoaded {
        generation: u64,
        hits: Vec<DriverHit>,
    },
    UpcomingLoaded {
        generation: u64,
        append: bool,
        rows: Vec<DriverHit>,
    },
    CardLoaded {
        driver_id: String,
        hit: Option<DriverHit>,
        calls: Vec<CallLog>,
        /// Which of `calls` TeleCMI recorded.
        recorded: HashSet<i64>,
    },
    LastCallLoaded {
        driver_id: String,
        call: Option<CallLog>,
    },
    /// Whether the driver in the call dialog may not be called (number listed, or they asked).
    DoNotCallChecked {
        driver_id: String,
        entry: Option<crate::store::DoNotCall>,
    },
    /// A prompt's change was stored (the message says what), or was refused (the prompt stays).
    PromptDone(Result<String, String>),
    DialCancelled(Result<CallLog, String>),
    /// The agent's state as last stored (`None`: never stored).
    PresenceLoaded(Option<PresenceChange>),
    ProgressLoaded(Progress),
    /// A read failed: said until a later read lands.
    StoreFailed(String),
    /// A write failed: said until the agent moves on.
    WriteFailed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadStartup,
    /// `limit` rows after `after` (a reload in place asks for as many rows as are on hand).
    LoadQueue {
        generation: u64,
        after: Option<QueueCursor>,
        filter: Option<String>,
        limit: u32,
    },
    Dial {
        driver_id: String,
        kind: CallKind,
    },
    LoadTimeline(i64),
    LoadFacts(i64),
    /// The agent says this unconfirmed call never rang.
    MarkNotPlaced(i64),
    /// Read the live call and the waiting wrap-ups again.
    Resync,
    SaveDraft(FeedbackDraft),
    /// A save the agent pressed no longer stands (its form stopped making a save): the local
    /// draft forgets that it was pressed, so no later start makes it.
    SaveNotRequested(i64),
    Submit {
        feedback: SubmitFeedback,
        call_next: bool,
        /// A save waiting for the database, tried again by itself: it asks whether the database
        /// answers first (a ping), and only then saves.
        retry: bool,
    },
    LoadCallLog {
        generation: u64,
        filter: CallFilter,
        before: Option<i64>,
    },
    LoadStats,
    /// Add what the agent typed to the remarks of a call whose outcome was saved elsewhere
    /// meanwhile (after its own remarks; both kept).
    AddRemarks {
        call_id: i64,
        remarks: String,
    },
    Search {
        generation: u64,
        query: String,
    },
    LoadUpcoming {
        generation: u64,
        after: Option<(chrono::NaiveDateTime, String)>,
    },
    LoadCard(String),
    LoadLastCall(String),
    /// Is this driver's number on the do-not-call list, or did they ask not to be called? (For
    /// the call dialog.)
    CheckDoNotCall {
        driver_id: String,
        mobile: String,
    },
    EditDriver {
        driver_id: String,
        name: Option<String>,
        mobile: Option<String>,
    },
    Reschedule {
        driver_id: String,
        due_at: DateTime<Utc>,
        what: String,
    },
    /// Not now: the driver comes back at `until`, marked as snoozed.
    Snooze {
        driver_id: String,
        until: DateTime<Utc>,
        what: String,
    },
    CancelDial(i64),
    /// Read the agent's stored state (a restart resumes a break).
    LoadPresence,
    /// Store a change of the agent's state.
    SavePresence {
        presence: Presence,
        at: DateTime<Utc>,
    },
    /// Read today's calls, connects and positive outcomes and the daily target.
    LoadProgress,
}
