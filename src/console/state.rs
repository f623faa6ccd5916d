//! The console's state: plain data that `update` changes and the views read.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tui_input::Input;

use crate::coord::dialer::CallKind;
use crate::domain::wrapup::{CallEnd, preselect, refusal};

pub use super::finder_state::{CardView, SearchView, UpcomingView};
pub use super::prompt_state::{Prompt, PromptFor};
pub use super::seen_events::SeenEvents;
pub use super::waiting_state::WaitingSave;
use crate::domain::{CallLog, FeedbackCatalog, FeedbackGroup, Presence};
use crate::store::{FeedbackDraft, QueueEntry, StatsBundle, StoredEvent};

/// How calls are placed on this console, for the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelephonyMode {
    Telecmi,
    ManualOnly,
    Simulated,
}

impl TelephonyMode {
    pub fn label(self) -> &'static str {
        match self {
            Self::Telecmi => "TELECMI",
            Self::ManualOnly => "MANUAL ONLY",
            Self::Simulated => "SIMULATED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Queue,
    CallLog,
    Stats,
    /// Find anyone: all of the caller's drivers, due or not.
    Search,
    /// Scheduled callbacks and retries by due time.
    Upcoming,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub level: Level,
    pub at: DateTime<Utc>,
    /// A read that failed (the database away): the next read that lands clears it, so no stale
    /// ✗ line stays once the database is back.
    pub read_failure: bool,
}

/// Who is signed in and what this console is connected to.
#[derive(Debug, Clone)]
pub struct Identity {
    pub caller_id: i64,
    pub caller_name: String,
    pub mode: TelephonyMode,
    /// Why TeleCMI calls are not possible for this caller, if they are not.
    pub telecmi_refusal: Option<String>,
    pub webhook_addr: String,
    pub database: String,
}

/// The due drivers, loaded page by page as the selection moves down.
#[derive(Debug, Default)]
pub struct QueueView {
    pub rows: Vec<QueueEntry>,
    pub selected: usize,
    /// First row drawn.
    pub offset: usize,
    pub filter: Input,
    pub filtering: bool,
    /// No more rows after the last loaded one.
    pub exhausted: bool,
    pub loading: bool,
    /// Bumped on every reload so late answers for an older filter are dropped.
    pub generation: u64,
    pub due: i64,
    pub total: i64,
}

impl QueueView {
    pub fn selected_entry(&self) -> Option<&QueueEntry> {
        self.rows.get(self.selected)
    }
    pub fn filter_text(&self) -> Option<String> {
        let f = self.filter.value().trim();
        (!f.is_empty()).then(|| f.to_string())
    }
}

/// The call being made (or just ended) and its stored timeline.
#[derive(Debug, Clone)]
pub struct LiveCall {
    pub call: CallLog,
    pub kind: CallKind,
    pub events: Vec<StoredEvent>,
    /// How it ended, once its leg reports are read.
    pub end: CallEnd,
    /// When the agent said a manual call ended (`e`): nothing else ends one, and its row stays
    /// `initiated` until the outcome is saved.
    pub ended_at: Option<DateTime<Utc>>,
}

impl LiveCall {
    pub fn new(call: CallLog, kind: CallKind) -> Self {
        Self { call, kind, events: vec![], end: CallEnd::Unknown, ended_at: None }
    }

    /// Still on the line: live by its status, and not ended by the agent.
    pub fn in_progress(&self) -> bool {
        self.call.call_status().is_live() && self.ended_at.is_none()
    }
}

/// Keys that arrive this soon after a form opened by itself were typed for what was on screen
/// before: they are shown as ignored, not taken as choices. A key already on its way when the
/// screen changed lands within a few hundred milliseconds (a person reacts to a new picture in
/// about a quarter of a second and takes longer to choose); one second covers that with room.
pub const UNASKED_GRACE: chrono::Duration = chrono::Duration::milliseconds(1_000);

/// How long a no-answer wrap-up waits for TeleCMI's report of how the call ended (it comes 1–2 s
/// after the status) before it opens without it.
pub const FACTS_WAIT: chrono::Duration = chrono::Duration::seconds(5);

/// A wrap-up to open by itself as soon as nothing is in the way (a dialog, the card, a search
/// being typed) and, for a call the driver did not answer, its facts are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoOpen {
    pub call_id: i64,
    /// Open even without the facts from then on.
    pub facts_by: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Outcome,
    Remarks,
    Duration,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Self::Outcome => "Outcome",
            Self::Remarks => "Remarks",
            Self::Duration => "Duration",
        }
    }
}

/// The wrap-up form. Whatever is typed survives a failed save and a restart (drafts).
#[derive(Debug, Clone)]
pub struct FeedbackForm {
    pub call: CallLog,
    pub manual: bool,
    /// Index into the catalogue of the chosen outcome; `None` until the agent (or the facts) pick.
    pub chosen: Option<usize>,
    /// Highlighted outcome in the list (↑↓ move it, Space picks it).
    pub cursor: usize,
    pub remarks: Input,
    pub duration: Input,
    pub focus: Field,
    /// How the call ended, once its leg reports are read (`Unknown` until then).
    pub end: CallEnd,
    /// The outcome was chosen by the facts, not by the agent (shown as such).
    pub preselected: bool,
    /// The duration still holds calldesk's guess (time since dialing): the first key typed there
    /// replaces it instead of adding to it.
    pub duration_guessed: bool,
    pub error: Option<String>,
    pub saving: bool,
    /// The draft differs from what was last saved.
    pub dirty: bool,
    /// The driver's call attempts so far, this call included, once read (`MAX_ATTEMPTS` warning).
    pub attempts: Option<u32>,
    /// When the form opened by itself (a call ended, the next wrap-up after a save): keys within
    /// [`UNASKED_GRACE`] of it are ignored. `None` when the agent opened it.
    pub unasked_at: Option<DateTime<Utc>>,
    /// Keys ignored in that moment, as typed (shown in the form).
    pub ignored: String,
    /// TeleCMI's report of how the call ended is expected until then: an Enter without an outcome
    /// meanwhile says so instead of "pick an outcome".
    pub facts_due: Option<DateTime<Utc>>,
    /// A manual duration longer than the time since dialing that the agent confirmed (a second
    /// Enter): saved as typed.
    pub confirmed_duration: Option<i64>,
}

/// How the form's "no outcome yet" errors begin (cleared when the facts pick one).
pub const PICK_FIRST: &str = "Pick an outcome first";
pub const FACTS_COMING: &str = "TeleCMI's report of how the call ended is on its way";

/// Finished calls kept in the live pane's "recent" list.
pub const RECENT_CALLS: usize = 6;

impl FeedbackForm {
    pub fn new(
        call: CallLog,
        draft: Option<&FeedbackDraft>,
        catalog: &FeedbackCatalog,
        elapsed_secs: Option<i64>,
    ) -> Self {
        let manual = call.provider.as_deref() == Some("manual");
        let chosen =
            draft.and_then(|d| d.feedback.as_deref()).and_then(|f| catalog.all().iter().position(|o| o.label == f));
        let remarks = draft.and_then(|d| d.remarks.clone()).unwrap_or_default();
        let duration = draft
            .and_then(|d| d.call_duration.clone())
            .or_else(|| manual.then(|| elapsed_secs.unwrap_or(0).to_string()))
            .unwrap_or_default();
        let end = if call.call_status() == crate::domain::CallStatus::Failed && !manual {
            CallEnd::NotPlaced
        } else {
            CallEnd::Unknown
        };
        let mut form = Self {
            call,
            manual,
            cursor: chosen.or_else(|| catalog.display_order().first().copied()).unwrap_or(0),
            chosen,
            remarks: Input::new(remarks),
            duration: Input::new(duration),
            focus: if chosen.is_some() { Field::Remarks } else { Field::Outcome },
            end: CallEnd::Unknown,
            preselected: false,
            duration_guessed: manual && draft.and_then(|d| d.call_duration.as_ref()).is_none(),
            error: None,
            saving: false,
            // A form without a draft writes one at once: the wrap-up is on record (supervisors
            // see "wrap-up", a restart reopens it) before the first key.
            dirty: draft.is_none(),
            attempts: None,
            unasked_at: None,
            ignored: String::new(),
            facts_due: None,
            confirmed_duration: None,
        };
        form.learn(end, catalog);
        form
    }

    /// Tab order: the outcome list, remarks, then (manual calls) the duration.
    pub fn fields(&self) -> &'static [Field] {
        if self.manual { &[Field::Outcome, Field::Remarks, Field::Duration] } else { &[Field::Outcome, Field::Remarks] }
    }

    /// Takes in how the call ended; picks the outcome that follows from it when the agent has not
    /// chosen one.
    pub fn learn(&mut self, end: CallEnd, catalog: &FeedbackCatalog) {
        self.end = end;
        let replaceable = self.chosen.is_none() || self.preselected;
        if self.preselected && preselect(end).is_none() {
            // The facts that picked it changed their mind: the agent picks.
            self.chosen = None;
            self.preselected = false;
        }
        if replaceable && let Some(i) = preselect(end).and_then(|l| catalog.all().iter().position(|o| o.label == l)) {
            self.chosen = Some(i);
            self.cursor = i;
            self.preselected = true;
            // "Pick an outcome first" said before the facts came is stale now.
            if self.error.as_deref().is_some_and(|e| e.starts_with(PICK_FIRST) || e.starts_with(FACTS_COMING)) {
                self.error = None;
            }
        }
        if end != CallEnd::Unknown {
            self.facts_due = None;
        }
    }

    /// Why the `i`-th outcome does not fit this call, if it does not.
    pub fn refusal(&self, catalog: &FeedbackCatalog, i: usize) -> Option<&'static str> {
        catalog.all().get(i).and_then(|o| refusal(o, self.manual, self.call.call_status(), self.end))
    }

    pub fn chosen_group(&self, catalog: &FeedbackCatalog) -> Option<FeedbackGroup> {
        self.chosen.and_then(|i| catalog.all().get(i)).map(|o| o.group)
    }

    /// Characters the agent may still type: the row's reason tag shares the 500.
    pub fn remarks_max(&self) -> usize {
        crate::domain::wrapup::REMARKS_LIMIT - self.end.tag().map_or(0, |t| t.chars().count() + 1)
    }

    pub fn draft(&self, caller_id: i64, catalog: &FeedbackCatalog) -> FeedbackDraft {
        let opt = self.chosen.and_then(|i| catalog.all().get(i));
        FeedbackDraft {
            call_log_id: self.call.id,
            caller_id,
            feedback_group: opt.map(|o| o.group.label().to_string()),
            feedback: opt.map(|o| o.label.clone()),
            remarks: Some(self.remarks.value().to_string()).filter(|s| !s.is_empty()),
            call_duration: Some(self.duration.value().to_string()).filter(|s| !s.is_empty()),
        }
    }
}

/// Call dialog: which kind of call is highlighted, and the driver's last call (remarks first).
#[derive(Debug, Clone)]
pub struct CallDialog {
    pub driver: QueueEntry,
    pub highlighted: CallKind,
    /// `None` while loading; `Some(None)` when the driver was never called.
    pub last: Option<Option<CallLog>>,
    /// The driver's number is on the do-not-call list, or the driver asked not to be called
    /// (checked when the dialog opens): no call.
    pub do_not_call: Option<crate::store::DoNotCall>,
}

/// The agent's chosen state (ready, or a break with its reason) and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceNow {
    pub presence: Presence,
    pub since: DateTime<Utc>,
}

/// What the agent is doing, as the status bar says it: a live call and an owed wrap-up come
/// from the calls, ready and break from the agent's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentStatus<'a> {
    Ready(DateTime<Utc>),
    Break(&'a str, DateTime<Utc>),
    InCall,
    WrapUp,
}

/// Today's calls, connects and positive outcomes, against the daily target; and the calls that
/// never rang the driver (the agent's phone not answered, TeleCMI refused), which are not calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub calls: i64,
    pub connected: i64,
    pub positive: i64,
    pub target: Option<i64>,
    pub not_placed: i64,
}

/// The break picker: which reason is highlighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakPicker {
    pub cursor: usize,
}

#[derive(Debug, Clone)]
pub enum Modal {
    CallDialog(Box<CallDialog>),
    Prompt(Box<Prompt>),
    Card(Box<CardView>),
    /// Pick a reason for a break.
    Break(BreakPicker),
    Feedback(Box<FeedbackForm>),
    Help,
    /// "Quit now?" while a call is live or a wrap-up is open.
    ConfirmQuit(ConfirmQuit),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmQuit {
    /// What is at stake, in words.
    pub stakes: String,
    /// A wrap-up form was open: it comes back if the agent stays.
    pub reopen_wrapup: bool,
}

/// Date ranges the call log can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateRange {
    Today,
    Week,
    Month,
    All,
}

impl DateRange {
    pub fn label(self) -> &'static str {
        match self {
            Self::Today => "today",
            Self::Week => "last 7 days",
            Self::Month => "last 30 days",
            Self::All => "all time",
        }
    }
    pub fn next(self) -> Self {
        match self {
            Self::Today => Self::Week,
            Self::Week => Self::Month,
            Self::Month => Self::All,
            Self::All => Self::Today,
        }
    }
}

#[derive(Debug)]
pub struct CallLogView {
    pub rows: Vec<CallLog>,
    /// Which of `rows` TeleCMI recorded.
    pub recorded: std::collections::HashSet<i64>,
    pub selected: usize,
    pub offset: usize,
    pub status: Option<String>,
    /// Index into the catalogue, or `None` for every outcome.
    pub feedback: Option<usize>,
    pub range: DateRange,
    /// Name or number searched for (`t`), if any.
    pub text: Option<String>,
    pub total: i64,
    pub exhausted: bool,
    pub loading: bool,
    pub generation: u64,
}

impl Default for CallLogView {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            recorded: std::collections::HashSet::new(),
            selected: 0,
            offset: 0,
            status: None,
            feedback: None,
            range: DateRange::Week,
            text: None,
            total: 0,
            exhausted: false,
            loading: false,
            generation: 0,
        }
    }
}

/// Everything the console shows.
#[derive(Debug)]
pub struct App {
    pub me: Identity,
    /// Shared, so handlers can hold it while they change the state.
    pub catalog: std::sync::Arc<FeedbackCatalog>,
    pub now: DateTime<Utc>,
    /// The team's time zone (`CALLDESK_TIMEZONE`): "today" and every time shown.
    pub tz: Tz,
    pub screen: Screen,
    pub modal: Option<Modal>,
    pub queue: QueueView,
    pub live: Option<LiveCall>,
    pub recent: VecDeque<CallLog>,
    pub call_log: CallLogView,
    pub search: SearchView,
    pub upcoming: UpcomingView,
    pub stats: Option<StatsBundle>,
    /// Calls still waiting for an outcome (oldest first), with their drafts.
    pub wrapups: VecDeque<(CallLog, Option<FeedbackDraft>)>,
    pub last_webhook: Option<DateTime<Utc>>,
    pub notice: Option<Notice>,
    /// How the last call was placed ("save and call next" repeats it).
    pub last_kind: CallKind,
    /// Rows the list panes can show (set by the renderer's last layout).
    pub page_rows: usize,
    pub dialing: bool,
    /// "Save and call next" is waiting for the queue to reload.
    pub pending_call_next: bool,
    /// Saves that did not reach the database, by call id: tried again by itself once it answers.
    pub waiting: std::collections::BTreeMap<i64, WaitingSave>,
    /// First line of the help shown (help scrolls on small terminals).
    pub help_scroll: u16,
    /// When the agent last finished a call's wrap-up (READY counts from then).
    pub free_since: Option<DateTime<Utc>>,
    /// The terminal's size (columns, rows), from the last resize.
    pub size: (u16, u16),
    /// Ids of stored webhook events already applied: the same event can arrive from this
    /// console's own listener and from the event feed, and is shown once.
    pub seen_events: SeenEvents,
    /// A live call of this agent's placed elsewhere whose update came while a dialog or form was
    /// open: the live pane shows it once that closes (at the next tick), if it is still live.
    pub elsewhere: Option<CallLog>,
    /// The wrap-up that opens by itself once nothing is in the way.
    pub auto_open: Option<AutoOpen>,
    /// How waiting wrap-ups' calls ended, as read so far (applied when their form opens).
    pub ends: std::collections::HashMap<i64, CallEnd>,
    /// The clock at the last tick (the half-minute refresh counts from ticks, not key times).
    pub ticked: DateTime<Utc>,
    /// Ready or on a break (stored; a restart resumes it).
    pub presence: PresenceNow,
    /// Today's numbers against the target (`None` until first read).
    pub progress: Option<Progress>,
    pub quit: bool,
    /// Why the console closes, once it does (`None` with `quit`: the agent quit).
    pub ending: Option<crate::tui::terminal::Ending>,
}

impl App {
    pub fn new(me: Identity, catalog: FeedbackCatalog, now: DateTime<Utc>, tz: Tz) -> Self {
        let last_kind = if me.telecmi_refusal.is_none() { CallKind::Telecmi } else { CallKind::Manual };
        Self {
            me,
            catalog: std::sync::Arc::new(catalog),
            now,
            tz,
            screen: Screen::Queue,
            modal: None,
            queue: QueueView::default(),
            live: None,
            recent: VecDeque::new(),
            call_log: CallLogView::default(),
            search: SearchView::default(),
            upcoming: UpcomingView::default(),
            stats: None,
            wrapups: VecDeque::new(),
            last_webhook: None,
            notice: None,
            last_kind,
            page_rows: 15,
            dialing: false,
            pending_call_next: false,
            waiting: std::collections::BTreeMap::new(),
            help_scroll: 0,
            free_since: None,
            size: (80, 24),
            seen_events: SeenEvents::default(),
            elsewhere: None,
            auto_open: None,
            ends: std::collections::HashMap::new(),
            ticked: now,
            presence: PresenceNow { presence: Presence::Ready, since: now },
            progress: None,
            quit: false,
            ending: None,
        }
    }

    /// Puts `call` at the top of the recent calls (replacing an older copy of it).
    pub fn remember(&mut self, call: &CallLog) {
        self.recent.retain(|c| c.id != call.id);
        self.recent.push_front(call.clone());
        self.recent.truncate(RECENT_CALLS);
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice { text: text.into(), level: Level::Info, at: self.now, read_failure: false });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice { text: text.into(), level: Level::Error, at: self.now, read_failure: false });
    }

    /// A read that failed: said as an error until a later read lands ([`App::read_landed`]).
    pub fn read_failed(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice { text: text.into(), level: Level::Error, at: self.now, read_failure: true });
    }

    /// A read landed: the database answers, so a failed read's line goes.
    pub fn read_landed(&mut self) {
        if self.notice.as_ref().is_some_and(|n| n.read_failure) {
            self.notice = None;
        }
    }

    /// What a quit now would leave behind, in words, if anything.
    pub fn quit_stakes(&self) -> Option<String> {
        if let Some(l) = self.live.as_ref().filter(|l| l.in_progress()) {
            let name = crate::domain::text::strip_controls(l.call.driver_name.as_deref().unwrap_or("a driver"));
            return Some(format!(
                "A call to {name} is still in progress. It goes on at TeleCMI; its wrap-up waits for you next time."
            ));
        }
        if !self.waiting.is_empty() {
            return Some(
                "A wrap-up's save is waiting for the database. Nothing is lost: it is kept as a draft (on this \
                 computer too) and reopens next time; save it then."
                    .into(),
            );
        }
        if self.form().is_some() || matches!(&self.modal, Some(Modal::ConfirmQuit(q)) if q.reopen_wrapup) {
            return Some("A wrap-up is open. What you typed is kept as a draft and reopens next time.".into());
        }
        if !self.wrapups.is_empty() {
            let n = crate::domain::text::plural(self.wrapups.len(), "wrap-up");
            return Some(format!("{n} still waiting for an outcome; they reopen next time."));
        }
        None
    }

    /// What a console closing now leaves unsaved, in words for the terminal: the saves still
    /// waiting for the database (their drafts keep them).
    pub fn unsaved_words(&self) -> Option<String> {
        if self.waiting.is_empty() {
            return None;
        }
        let n = crate::domain::text::plural(self.waiting.len(), "wrap-up");
        Some(format!(
            "calldesk: {n} not saved yet (the database did not answer). Nothing is lost: kept as a draft, \
             on this computer too, it reopens when you start calldesk again; save it then."
        ))
    }

    /// In a call, on a break, in wrap-up, or ready — in that order: a break is the agent's word
    /// even while an outcome is owed; a live call outranks everything.
    pub fn status(&self) -> AgentStatus<'_> {
        if self.live.as_ref().is_some_and(LiveCall::in_progress) || self.dialing {
            return AgentStatus::InCall;
        }
        if let Presence::Break(reason) = &self.presence.presence {
            return AgentStatus::Break(reason, self.presence.since);
        }
        if self.form().is_some() || !self.wrapups.is_empty() {
            return AgentStatus::WrapUp;
        }
        // Ready since the last break ended or the last outcome was saved, whichever came later.
        AgentStatus::Ready(self.free_since.map_or(self.presence.since, |t| t.max(self.presence.since)))
    }

    pub fn form(&self) -> Option<&FeedbackForm> {
        match &self.modal {
            Some(Modal::Feedback(f)) => Some(f),
            _ => None,
        }
    }

    pub fn form_mut(&mut self) -> Option<&mut FeedbackForm> {
        match &mut self.modal {
            Some(Modal::Feedback(f)) => Some(f),
            _ => None,
        }
    }
}
