//! `calldesk supervise`: the read-only supervisor console. It reads a [`snapshot::Snapshot`] every
//! second and whenever the shared event table shows a webhook; no key can place a call or change data.

pub mod snapshot;
pub mod view;

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;

use crate::console::keys::{Command, Context, lookup};
use crate::store::Store;
use view::SuperView;

/// Runs the supervisor screen until `q`.
pub async fn run(store: Store, viewer: String) -> anyhow::Result<()> {
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, store, viewer).await;
    ratatui::restore();
    result
}

async fn event_loop(terminal: &mut ratatui::DefaultTerminal, store: Store, viewer: String) -> anyhow::Result<()> {
    let tz = crate::console::update::local_offset();
    let bus = crate::bus::new_bus();
    let mut updates = bus.subscribe();
    let feed = tokio::spawn(crate::feed::follow(store.clone(), bus.clone(), crate::feed::POLL));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut view = SuperView {
        snapshot: Default::default(),
        now: Utc::now(),
        tz,
        database: store.label().to_string(),
        viewer,
        error: None,
        help: false,
        catalog: std::sync::Arc::new(crate::domain::FeedbackCatalog::default()),
    };
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    // One read at a time. A webhook (or `r`) during a read is not dropped: it asks for a full
    // read (totals included) as soon as the current one lands.
    let mut loading = false;
    let mut full_wanted = true;
    let reload = |loading: &mut bool, full_wanted: &mut bool, current: &snapshot::Snapshot| {
        if *loading {
            return;
        }
        *loading = true;
        // The current snapshot lends its totals while they are fresh; an empty one forces a full read.
        let previous = if std::mem::take(full_wanted) { snapshot::Snapshot::default() } else { current.clone() };
        let (store, tx) = (store.clone(), tx.clone());
        tokio::spawn(async move {
            let _ = tx.send(snapshot::load(&store, Utc::now(), tz, &previous).await);
        });
    };
    let result = loop {
        terminal.draw(|f| view::render(&view, f))?;
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => match lookup(&[Context::Supervise], &k) {
                    Some(Command::Quit) => break Ok(()),
                    Some(Command::Help) => view.help = !view.help,
                    Some(Command::Close) => view.help = false,
                    Some(Command::Refresh) => {
                        full_wanted = true;
                        reload(&mut loading, &mut full_wanted, &view.snapshot);
                    }
                    _ => {}
                },
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(e.into()),
                None => break Ok(()),
            },
            _ = tick.tick() => {
                view.now = Utc::now();
                reload(&mut loading, &mut full_wanted, &view.snapshot);
            }
            u = updates.recv() => {
                // A webhook changes the day's numbers: read everything.
                if u.is_ok() {
                    full_wanted = true;
                    reload(&mut loading, &mut full_wanted, &view.snapshot);
                }
            }
            Some(snap) = rx.recv() => {
                loading = false;
                match snap {
                    Ok(s) => {
                        view.snapshot = s;
                        view.error = None;
                    }
                    Err(e) => view.error = Some(e.to_string()),
                }
                view.now = Utc::now();
                if full_wanted {
                    reload(&mut loading, &mut full_wanted, &view.snapshot);
                }
            }
        }
    };
    feed.abort();
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

    #[tokio::test]
    async fn totals_are_reread_only_when_stale() {
        use super::snapshot::{Snapshot, TOTALS_EVERY, load};
        let store = crate::store::Store::open("sqlite::memory:").await.expect("store");
        let tz = chrono::FixedOffset::east_opt(0).expect("tz");
        let now = Utc::now();
        let mut previous = Snapshot { totals_at: Some(now), ..Snapshot::default() };
        previous.stats.today.total = 999;
        let fresh = load(&store, now + Duration::seconds(1), tz, &previous).await.expect("load");
        assert_eq!(fresh.stats.today.total, 999, "fresh totals are reused");
        let stale = load(&store, now + TOTALS_EVERY, tz, &previous).await.expect("load");
        assert_eq!(stale.stats.today.total, 0, "stale totals are read again");
        assert_eq!(stale.totals_at, Some(now + TOTALS_EVERY));
    }
}
