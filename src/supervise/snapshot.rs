//! What a supervisor sees, read in one go from the database: every agent's state and time in it,
//! the live calls, today's numbers and the last 7 days.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::hours::start_of_day;
use crate::domain::session::Attendance;
use crate::domain::{CallLog, FeedbackCatalog, Presence, PresenceChange};
use crate::store::{AgentDay, Caller, StatsBundle, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    Idle,
    OnCall,
    WrapUp,
    /// On a break (the reason is on the row).
    Break,
    /// No console open (none ever, or the last one closed or fell silent).
    Offline,
}

impl AgentState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::OnCall => "on a call",
            Self::WrapUp => "wrap-up",
            Self::Break => "break",
            Self::Offline => "offline",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentRow {
    pub caller: Caller,
    pub state: AgentState,
    /// When the agent entered `state` (`None`: no call ever).
    pub since: Option<DateTime<Utc>>,
    pub current: Option<CallLog>,
    pub due: i64,
    pub callbacks_due: i64,
    pub queued: i64,
    /// Why the agent is on a break, while on one.
    pub break_reason: Option<String>,
    /// Seconds on break today (the app's time zone), the running break included.
    pub break_secs: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub agents: Vec<AgentRow>,
    pub live: Vec<CallLog>,
    pub stats: StatsBundle,
    pub taken_at: Option<DateTime<Utc>>,
    /// Per caller: (caller id, due now, callbacks due now, queued in all).
    pub queue_sizes: Vec<(i64, i64, i64, i64)>,
    /// Each agent's numbers today (the team's zone), read with the totals.
    pub agent_days: Vec<AgentDay>,
    /// When `stats` and `queue_sizes` were read: they scan whole tables, so the once-a-second
    /// refresh reads them at most every [`TOTALS_EVERY`], a webhook's read at most every
    /// [`super::update::TOTALS_AFTER_CHANGE`]. `None`: to be read.
    pub totals_at: Option<DateTime<Utc>>,
}

/// How often the supervisor screen re-reads the day's totals and the queue sizes.
pub const TOTALS_EVERY: chrono::Duration = chrono::Duration::seconds(10);

/// The state of an agent from their newest call: live → on a call; ended without an outcome, or
/// with a draft being typed → wrap-up; otherwise idle since the outcome was saved.
pub fn agent_state(latest: Option<&CallLog>, has_draft: bool) -> (AgentState, Option<DateTime<Utc>>) {
    let Some(c) = latest else { return (AgentState::Idle, None) };
    let last_change = Some(c.updated_at.unwrap_or(c.created_at));
    if c.feedback.as_deref().is_some_and(|f| !f.is_empty()) {
        (AgentState::Idle, last_change)
    } else if c.call_status().is_live() && !has_draft {
        (AgentState::OnCall, Some(c.created_at))
    } else {
        (AgentState::WrapUp, last_change)
    }
}

/// The state from the calls, then the agent's own choice: a live call outranks a break, a break
/// outranks an owed wrap-up (the console says the same); ready keeps the later of the two times.
pub fn with_presence(
    (state, since): (AgentState, Option<DateTime<Utc>>),
    stored: Option<&PresenceChange>,
) -> (AgentState, Option<DateTime<Utc>>, Option<String>) {
    match stored {
        Some(PresenceChange { presence: Presence::Break(reason), since: at, .. }) if state != AgentState::OnCall => {
            (AgentState::Break, Some(*at), Some(reason.clone()))
        }
        Some(c) if state == AgentState::Idle => (state, since.max(Some(c.since)), None),
        _ => (state, since, None),
    }
}

/// Then the sessions: an agent without an open console is offline (since the last one closed),
/// unless a call of theirs is live (TeleCMI rings their phone whatever the console does). An
/// online agent idle without a call yet is idle since they signed in.
pub fn with_attendance(
    (state, since, reason): (AgentState, Option<DateTime<Utc>>, Option<String>),
    attendance: Option<Attendance>,
) -> (AgentState, Option<DateTime<Utc>>, Option<String>) {
    match attendance {
        Some(Attendance::Online { since: on }) if state == AgentState::Idle => (state, since.max(Some(on)), reason),
        Some(Attendance::Online { .. }) => (state, since, reason),
        _ if state == AgentState::OnCall => (state, since, reason),
        Some(Attendance::Offline { since: off }) => (AgentState::Offline, off, None),
        None => (AgentState::Offline, None, None),
    }
}

impl Snapshot {
    /// `caller`'s numbers today, once read.
    pub fn today_of(&self, caller: i64) -> Option<&AgentDay> {
        self.agent_days.iter().find(|d| d.caller_id == caller)
    }
}

/// Reads a snapshot, taking the totals from `previous` while they are fresh enough (`catalog`
/// says which outcomes are positive).
pub async fn load(
    store: &Store,
    now: DateTime<Utc>,
    tz: Tz,
    catalog: &FeedbackCatalog,
    previous: &Snapshot,
) -> crate::store::Result<Snapshot> {
    let fresh = previous.totals_at.is_some_and(|t| now - t < TOTALS_EVERY);
    let (stats, sizes, agent_days, totals_at) = if fresh {
        (previous.stats.clone(), previous.queue_sizes.clone(), previous.agent_days.clone(), previous.totals_at)
    } else {
        (
            store.stats_bundle(None, tz, Utc::now()).await?,
            store.queue_sizes(now).await?,
            store.agent_days(start_of_day(now, tz), now, catalog).await?,
            Some(now),
        )
    };
    let callers = store.callers().await?;
    let mut latest: std::collections::HashMap<i64, (CallLog, bool)> = store
        .latest_calls()
        .await?
        .into_iter()
        .filter_map(|l| Some((l.call.caller_id?, (l.call, l.has_draft != 0))))
        .collect();
    let presences = store.presences(now).await?;
    let breaks = store.break_seconds(start_of_day(now, tz), now).await?;
    let attendance: std::collections::HashMap<i64, Attendance> = store.attendance().await?.into_iter().collect();
    let mut agents = Vec::new();
    for caller in callers.into_iter().filter(|c| !c.is_supervisor()) {
        let (latest, has_draft) = latest.remove(&caller.id).map_or((None, false), |(c, d)| (Some(c), d));
        let stored = presences.iter().find(|p| p.caller_id == caller.id);
        let (state, since, break_reason) = with_attendance(
            with_presence(agent_state(latest.as_ref(), has_draft), stored),
            attendance.get(&caller.id).copied(),
        );
        let break_secs = breaks.iter().find(|(id, _)| *id == caller.id).map_or(0, |(_, s)| *s);
        let (due, callbacks_due, queued) =
            sizes.iter().find(|(id, ..)| *id == caller.id).map_or((0, 0, 0), |(_, d, c, q)| (*d, *c, *q));
        let current = latest.filter(|_| matches!(state, AgentState::OnCall | AgentState::WrapUp));
        agents.push(AgentRow { caller, state, since, current, due, callbacks_due, queued, break_reason, break_secs });
    }
    Ok(Snapshot {
        agents,
        live: store.live_calls(None).await?,
        stats,
        taken_at: Some(now),
        queue_sizes: sizes,
        agent_days,
        totals_at,
    })
}
