//! `calldesk supervise`: the supervisor console. It reads a [`snapshot::Snapshot`] every second
//! and whenever the shared event table shows a webhook; it flags agents idle or on a break too
//! long ([`board`]), opens an agent's calls today ([`drill`]) and moves queued drivers between
//! agents ([`moving`], the store's rules); no key places a call. Same shape as the agent console:
//! events become [`action::Action`]s, [`update::update`] changes the [`SuperView`] ([`state`]),
//! reads and moves run as spawned [`action::Effect`]s that report back. Terminal, signals, keys,
//! widgets and formatters come from [`crate::tui`], not the console.

pub mod action;
pub mod board;
pub mod drill;
pub mod help;
pub mod moving;
pub mod snapshot;
pub mod state;
pub mod update;
pub mod view;

use std::time::Duration;

use std::sync::Arc;

use chrono::Utc;
use chrono_tz::Tz;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use crate::domain::FeedbackCatalog;
use crate::store::{CallFilter, CallPage, Store, move_summary};
use action::{Action, CALLS_PAGE, CallsPage, Effect};
use state::SuperView;

/// Who is looking and the team's settings the board needs.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The supervisor's caller id (recorded with every move they make).
    pub me: i64,
    /// How the supervisor is named on the status bar: `Meera (9)`.
    pub viewer: String,
    pub tz: Tz,
    /// Which outcomes count as positive.
    pub catalog: Arc<FeedbackCatalog>,
    pub alerts: board::Thresholds,
}

/// Runs the supervisor screen until `q` or a signal (SIGTERM, SIGHUP, SIGINT); the terminal is
/// restored on every way out. Without a terminal it says so instead of starting.
pub async fn run(
    store: Store,
    setup: Setup,
    signals: crate::tui::terminal::Signals,
) -> anyhow::Result<crate::tui::terminal::Ending> {
    crate::tui::terminal::require_terminal()?;
    let mut inflight = JoinSet::new();
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, store, setup, signals, &mut inflight).await;
    crate::tui::terminal::restore();
    crate::tui::terminal::release(terminal);
    // Reads still running finish before the caller closes the database.
    crate::tui::terminal::finish(inflight).await;
    result
}

/// Starts `effect` in `inflight`; its result comes back on `tx` as an action.
fn spawn(store: &Store, setup: &Setup, effect: Effect, tx: &UnboundedSender<Action>, inflight: &mut JoinSet<()>) {
    let (store, tx, tz, catalog) = (store.clone(), tx.clone(), setup.tz, setup.catalog.clone());
    inflight.spawn(async move {
        let action = match effect {
            Effect::LoadSnapshot { previous } => {
                let result = snapshot::load(&store, Utc::now(), tz, &catalog, &previous).await;
                Action::SnapshotLoaded { result: result.map(Box::new).map_err(|e| e.to_string()), at: Utc::now() }
            }
            Effect::LoadCalls { caller, from, before } => {
                let result = calls_page(&store, caller, from, before).await.map_err(|e| e.to_string());
                Action::CallsLoaded { caller, before, result }
            }
            Effect::MoveDrivers { req, from, to } => {
                let result = store.move_drivers(&req, Utc::now()).await;
                if let Ok(r) = &result {
                    tracing::info!(from = req.from, to = req.to, by = ?req.by, moved = r.moved.len(), "drivers moved");
                }
                let result = result.map(|r| move_summary(&r, &from, &to, None, "the count")).map_err(|e| e.to_string());
                Action::DriversMoved { result }
            }
        };
        let _ = tx.send(action);
    });
}

/// A page of `caller`'s calls since `from`, older than the call `before`; the first page counts
/// them all.
async fn calls_page(
    store: &Store,
    caller: i64,
    from: chrono::DateTime<Utc>,
    before: Option<i64>,
) -> crate::store::Result<CallsPage> {
    let filter = CallFilter { caller_id: Some(caller), from: Some(from), ..CallFilter::default() };
    let calls = store.list_calls(&filter, CallPage { before_id: before, offset: None, limit: CALLS_PAGE }).await?;
    let total = if before.is_none() { Some(store.count_calls(&filter).await?) } else { None };
    Ok(CallsPage { calls, total })
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    store: Store,
    setup: Setup,
    mut signals: crate::tui::terminal::Signals,
    inflight: &mut JoinSet<()>,
) -> anyhow::Result<crate::tui::terminal::Ending> {
    let bus = crate::coord::bus::new_bus();
    let mut updates = bus.subscribe();
    let feed = tokio::spawn(crate::coord::feed::follow(store.clone(), bus.clone(), crate::coord::feed::POLL));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut view = SuperView::new(Utc::now(), setup.tz, store.label().to_string(), setup.viewer.clone());
    view.me = setup.me;
    view.alerts = setup.alerts;
    view.catalog = setup.catalog.clone();
    let size = terminal.size()?;
    view.size = (size.width, size.height);
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let result = loop {
        while inflight.try_join_next().is_some() {}
        terminal.draw(|f| view::render(&view, f))?;
        let action = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => Action::Key(k),
                Some(Ok(Event::Resize(w, h))) => Action::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => break Err(e.into()),
                None => break Ok(crate::tui::terminal::Ending::Signal("SIGHUP")),
            },
            _ = tick.tick() => Action::Tick(Utc::now()),
            ending = signals.next_ending() => {
                tracing::info!(?ending, "the supervisor screen closes");
                break Ok(ending);
            }
            u = updates.recv() => match u {
                Ok(_) | Err(RecvError::Lagged(_)) => Action::CallsChanged,
                Err(RecvError::Closed) => continue,
            },
            Some(a) = rx.recv() => a,
        };
        for e in update::update(&mut view, action) {
            spawn(&store, &setup, e, &tx, inflight);
        }
        if view.reads.quit {
            break Ok(crate::tui::terminal::Ending::Quit);
        }
    };
    // Stopped before the caller closes the database (a poll would meet a closed pool).
    feed.abort();
    let _ = feed.await;
    result
}

#[cfg(test)]
mod tests {
    use super::snapshot::{AgentState, agent_state};
    use crate::domain::{CallLog, CallStatus};
    use chrono::{Duration, Utc};

    fn call(status: CallStatus, feedback: Option<&str>) -> CallLog {
        let t = Utc::now();
        CallLog {
            id: 1,
            reference_id: None,
            caller_id: Some(3),
            driver_id: None,
            driver_mobile: None,
            driver_name: None,
            driver_tmid: None,
            call_type: None,
            status: Some(status.as_str().into()),
            provider: None,
            telecmi_user_id: None,
            feedback: feedback.map(Into::into),
            remarks: None,
            call_duration: None,
            created_at: t - Duration::minutes(3),
            updated_at: Some(t - Duration::minutes(1)),
        }
    }

    #[test]
    fn agent_states_follow_the_newest_call() {
        assert_eq!(agent_state(None, false).0, AgentState::Idle);
        let live = call(CallStatus::Ringing, None);
        assert_eq!(agent_state(Some(&live), false), (AgentState::OnCall, Some(live.created_at)));
        let ended = call(CallStatus::Completed, None);
        assert_eq!(agent_state(Some(&ended), false), (AgentState::WrapUp, ended.updated_at));
        assert_eq!(agent_state(Some(&live), true).0, AgentState::WrapUp, "typing the outcome of a manual call");
        let done = call(CallStatus::Completed, Some("Interview Fixed"));
        assert_eq!(agent_state(Some(&done), false), (AgentState::Idle, done.updated_at));
    }

    #[test]
    fn on_a_break_the_reason_shows_unless_a_call_is_live() {
        use super::snapshot::with_presence;
        use crate::domain::{Presence, PresenceChange};
        let at = Utc::now() - Duration::minutes(7);
        let lunch = PresenceChange { caller_id: 3, presence: Presence::Break("lunch".into()), since: at };
        let idle = (AgentState::Idle, Some(at - Duration::hours(1)));
        assert_eq!(with_presence(idle, Some(&lunch)), (AgentState::Break, Some(at), Some("lunch".into())));
        let wrap = (AgentState::WrapUp, Some(at));
        assert_eq!(with_presence(wrap, Some(&lunch)).0, AgentState::Break);
        let on_call = (AgentState::OnCall, Some(at));
        assert_eq!(with_presence(on_call, Some(&lunch)), (AgentState::OnCall, Some(at), None));
        let ready = PresenceChange { presence: Presence::Ready, ..lunch };
        assert_eq!(with_presence(idle, Some(&ready)), (AgentState::Idle, Some(at), None));
    }

    #[test]
    fn without_an_open_console_an_agent_is_offline_unless_a_call_is_live() {
        use super::snapshot::with_attendance;
        use crate::domain::session::Attendance;
        let at = Utc::now() - Duration::minutes(7);
        let signed_in = Some(Attendance::Online { since: at });
        let left = Some(Attendance::Offline { since: Some(at) });
        // Idle with no call yet: idle since signing in (not "idle —").
        assert_eq!(with_attendance((AgentState::Idle, None, None), signed_in), (AgentState::Idle, Some(at), None));
        let wrap = (AgentState::WrapUp, Some(at - Duration::hours(1)), None);
        assert_eq!(with_attendance(wrap.clone(), signed_in), wrap);
        assert_eq!(with_attendance(wrap.clone(), left), (AgentState::Offline, Some(at), None));
        let lunch = (AgentState::Break, Some(at), Some("lunch".to_string()));
        assert_eq!(with_attendance(lunch, None), (AgentState::Offline, None, None), "never signed in");
        // TeleCMI rings the agent's phone whatever their console does.
        let on_call = (AgentState::OnCall, Some(at), None);
        assert_eq!(with_attendance(on_call.clone(), left), on_call);
    }

    fn view() -> super::state::SuperView {
        let tz = chrono_tz::UTC;
        super::state::SuperView::new(Utc::now(), tz, "sqlite x".into(), "Meera".into())
    }

    #[test]
    fn update_reads_one_at_a_time_and_keeps_a_webhook_that_came_meanwhile() {
        use super::snapshot::Snapshot;
        use super::update::{Action, Effect, update};
        let mut v = view();
        let fx = update(&mut v, Action::Tick(Utc::now()));
        assert_eq!(fx, vec![Effect::LoadSnapshot { previous: Box::default() }], "the first read is a full one");
        assert!(update(&mut v, Action::Tick(Utc::now())).is_empty(), "one read at a time");
        assert!(update(&mut v, Action::CallsChanged).is_empty());
        let mut snap = Snapshot::default();
        snap.stats.today.total = 4;
        let fx = update(&mut v, Action::SnapshotLoaded { result: Ok(Box::new(snap)), at: Utc::now() });
        assert_eq!(v.snapshot.stats.today.total, 4);
        assert!(
            matches!(&fx[..], [Effect::LoadSnapshot { previous }] if previous.totals_at.is_none()),
            "the webhook's read follows, totals included: {fx:?}"
        );
        let fx = update(&mut v, Action::SnapshotLoaded { result: Err("database unavailable".into()), at: Utc::now() });
        assert!(fx.is_empty(), "nothing more was asked for");
        assert_eq!(v.error.as_deref(), Some("database unavailable"));
        assert_eq!(v.snapshot.stats.today.total, 4, "a failed read keeps what was shown");
        let fx = update(&mut v, Action::Tick(Utc::now()));
        assert!(
            matches!(&fx[..], [Effect::LoadSnapshot { previous }] if previous.stats.today.total == 4 && previous.totals_at.is_none()),
            "the totals the failed read was to bring are read again: {fx:?}"
        );
        assert!(update(&mut v, Action::Tick(Utc::now())).is_empty(), "a tick during a read is dropped");
        update(&mut v, Action::SnapshotLoaded { result: Ok(Box::default()), at: Utc::now() });
        assert!(!v.reads.loading && !v.reads.again, "no read queued behind the tick");
    }

    /// A paused database holds a read open and answers nothing: after READ_STALLED the board says
    /// the database is not answering, and the next read that lands clears it.
    #[test]
    fn a_read_that_waits_says_the_database_is_not_answering() {
        use super::update::{Action, READ_STALLED, update};
        let mut v = view();
        let t0 = Utc::now();
        assert!(!update(&mut v, Action::Tick(t0)).is_empty(), "a read starts");
        update(&mut v, Action::Tick(t0 + chrono::Duration::seconds(2)));
        assert_eq!(v.error, None, "a read of 2 s is only slow");
        update(&mut v, Action::Tick(t0 + READ_STALLED + chrono::Duration::seconds(1)));
        let e = v.error.clone().expect("said");
        assert!(e.starts_with(crate::store::NOT_ANSWERING), "{e}");
        update(&mut v, Action::SnapshotLoaded { result: Ok(Box::default()), at: t0 + chrono::Duration::seconds(9) });
        assert_eq!(v.error, None, "the read landed");
    }

    /// A team's webhooks come every few milliseconds: each one's read brings the live board and
    /// lends the totals while they are younger than TOTALS_AFTER_CHANGE; the change is still
    /// counted in the totals by the next tick after that.
    #[test]
    fn a_webhook_reads_the_live_board_and_the_totals_follow_within_seconds() {
        use super::snapshot::Snapshot;
        use super::update::{Action, Effect, TOTALS_AFTER_CHANGE, update};
        let t0 = Utc::now();
        let mut v = view();
        update(&mut v, Action::Tick(t0));
        let fresh = Snapshot { totals_at: Some(t0), ..Snapshot::default() };
        assert!(update(&mut v, Action::SnapshotLoaded { result: Ok(Box::new(fresh.clone())), at: t0 }).is_empty());
        let fx = update(&mut v, Action::CallsChanged);
        assert!(
            matches!(&fx[..], [Effect::LoadSnapshot { previous }] if previous.totals_at == Some(t0)),
            "fresh totals are lent to the webhook's read: {fx:?}"
        );
        let t1 = t0 + Duration::milliseconds(300);
        assert!(update(&mut v, Action::SnapshotLoaded { result: Ok(Box::new(fresh.clone())), at: t1 }).is_empty());
        // A tick before TOTALS_AFTER_CHANGE still lends them; the first one after reads them.
        let fx = update(&mut v, Action::Tick(t0 + Duration::seconds(1)));
        assert!(matches!(&fx[..], [Effect::LoadSnapshot { previous }] if previous.totals_at == Some(t0)), "{fx:?}");
        update(&mut v, Action::SnapshotLoaded { result: Ok(Box::new(fresh.clone())), at: t0 + Duration::seconds(1) });
        let fx = update(&mut v, Action::Tick(t0 + TOTALS_AFTER_CHANGE));
        assert!(
            matches!(&fx[..], [Effect::LoadSnapshot { previous }] if previous.totals_at.is_none()),
            "the change is owed to the totals: {fx:?}"
        );
        // Read: nothing is owed any more, so ticks lend them again.
        let read = Snapshot { totals_at: Some(t0 + TOTALS_AFTER_CHANGE), ..Snapshot::default() };
        update(&mut v, Action::SnapshotLoaded { result: Ok(Box::new(read)), at: t0 + TOTALS_AFTER_CHANGE });
        let fx = update(&mut v, Action::Tick(t0 + Duration::seconds(4)));
        assert!(matches!(&fx[..], [Effect::LoadSnapshot { previous }] if previous.totals_at.is_some()), "{fx:?}");
    }

    #[test]
    fn update_takes_keys_from_the_table() {
        use super::update::{Action, update};
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let key = |c| Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        let mut v = view();
        update(&mut v, key('?'));
        assert!(v.help);
        update(&mut v, Action::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
        assert!(!v.help);
        update(&mut v, key('b'));
        assert!(!v.reads.quit, "no key but the table's does anything");
        update(&mut v, key('q'));
        assert!(v.reads.quit);
    }

    #[tokio::test]
    async fn totals_are_reread_only_when_stale() {
        use super::snapshot::{Snapshot, TOTALS_EVERY, load};
        let store = crate::store::Store::open("sqlite::memory:").await.expect("store");
        let tz = chrono_tz::UTC;
        let now = Utc::now();
        let mut previous = Snapshot { totals_at: Some(now), ..Snapshot::default() };
        previous.stats.today.total = 999;
        let catalog = crate::domain::FeedbackCatalog::default();
        let fresh = load(&store, now + Duration::seconds(1), tz, &catalog, &previous).await.expect("load");
        assert_eq!(fresh.stats.today.total, 999, "fresh totals are reused");
        let stale = load(&store, now + TOTALS_EVERY, tz, &catalog, &previous).await.expect("load");
        assert_eq!(stale.stats.today.total, 0, "stale totals are read again");
        assert_eq!(stale.totals_at, Some(now + TOTALS_EVERY));
    }
}
