//! What a supervisor sees, read in one go from the database: every agent's state and time in it,
//! the live calls, today's numbers and the last 7 days.

use chrono::{DateTime, FixedOffset, Utc};

use crate::console::effects::load_stats_for;
use crate::console::state::StatsBundle;
use crate::domain::CallLog;
use crate::store::{Caller, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    Idle,
    OnCall,
    WrapUp,
}

impl AgentState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::OnCall => "on a call",
            Self::WrapUp => "wrap-up",
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
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub agents: Vec<AgentRow>,
    pub live: Vec<CallLog>,
    pub stats: StatsBundle,
    pub taken_at: Option<DateTime<Utc>>,
}

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

/// Reads a whole snapshot.
pub async fn load(store: &Store, now: DateTime<Utc>, tz: FixedOffset) -> crate::store::Result<Snapshot> {
    let callers = store.callers().await?;
    let sizes = store.queue_sizes(now).await?;
    let mut latest: std::collections::HashMap<i64, (CallLog, bool)> = store
        .latest_calls()
        .await?
        .into_iter()
        .filter_map(|l| Some((l.call.caller_id?, (l.call, l.has_draft != 0))))
        .collect();
    let mut agents = Vec::new();
    for caller in callers.into_iter().filter(|c| !c.is_supervisor()) {
        let (latest, has_draft) = latest.remove(&caller.id).map_or((None, false), |(c, d)| (Some(c), d));
        let (state, since) = agent_state(latest.as_ref(), has_draft);
        let (due, callbacks_due, queued) =
            sizes.iter().find(|(id, ..)| *id == caller.id).map_or((0, 0, 0), |(_, d, c, q)| (*d, *c, *q));
        let current = latest.filter(|_| state != AgentState::Idle);
        agents.push(AgentRow { caller, state, since, current, due, callbacks_due, queued });
    }
    Ok(Snapshot {
        agents,
        live: store.live_calls(None).await?,
        stats: load_stats_for(store, None, tz).await?,
        taken_at: Some(now),
    })
}
