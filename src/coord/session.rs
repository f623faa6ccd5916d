//! A screen's session while it runs: opened at start (an agent's new console takes over the
//! caller's open one), kept fresh by a heartbeat every [`HEARTBEAT`], ended with its reason.
//! The heartbeat is also how a console learns it was taken over: it sends the words to show on
//! the channel [`Live::taken_over`] gives, and the screen saves its draft and closes.

use chrono::Utc;
use chrono_tz::Tz;
use tokio::sync::watch;

use crate::domain::session::{EndReason, HEARTBEAT, TAKEOVER_WAIT};
use crate::store::{Beat, NewSession, Session, Store};

/// An open session and its heartbeat.
pub struct Live {
    pub session: Session,
    store: Store,
    taken_over: watch::Receiver<Option<String>>,
    beat: tokio::task::JoinHandle<()>,
}

impl Live {
    /// Opens the session and starts its heartbeat; returns it with the sessions it took over
    /// (see [`Self::wait_for`]).
    pub async fn open(store: &Store, new: NewSession, tz: Tz) -> crate::store::Result<(Self, Vec<Session>)> {
        let (session, replaced) = store.open_session(&new, Utc::now()).await?;
        let (tx, taken_over) = watch::channel(None);
        let beat = tokio::spawn(heartbeat(store.clone(), session.id, tz, tx));
        tracing::info!(session = session.id, caller = session.caller_id, origin = %session.origin, "session opened");
        Ok((Self { session, store: store.clone(), taken_over, beat }, replaced))
    }

    /// Says (once) that a newer login took this session over, with the words to show.
    pub fn taken_over(&self) -> watch::Receiver<Option<String>> {
        self.taken_over.clone()
    }

    /// Stops the heartbeat and records the end.
    pub async fn end(self, reason: EndReason) {
        self.beat.abort();
        let _ = self.beat.await;
        match self.store.end_session(self.session.id, reason, Utc::now()).await {
            Ok(()) => tracing::info!(session = self.session.id, reason = reason.as_str(), "session ended"),
            Err(e) => tracing::warn!(session = self.session.id, "session end not recorded: {e}"),
        }
    }
}

/// Every [`HEARTBEAT`]: still here, and still this caller's console? A database that does not
/// answer changes nothing (the next beat tries again; the supervisor sees the session go stale).
async fn heartbeat(store: Store, id: i64, tz: Tz, tx: watch::Sender<Option<String>>) {
    let mut every = tokio::time::interval(HEARTBEAT);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        match store.heartbeat(id, Utc::now()).await {
            Ok(Beat::Current) => {}
            Ok(Beat::TakenOver(by)) => {
                tracing::info!(session = id, by = by.id, origin = %by.origin, "session taken over");
                let _ = tx.send(Some(farewell(&by, tz)));
                return;
            }
            Ok(Beat::Ended) => {
                tracing::warn!(session = id, "session ended elsewhere (silent too long?)");
                let _ = tx
                    .send(Some("This session was closed while it could not reach the database; sign in again.".into()));
                return;
            }
            Err(e) => tracing::warn!(session = id, "heartbeat not recorded: {e}"),
        }
    }
}

/// What the console taken over says as it closes.
pub fn farewell(by: &Session, tz: Tz) -> String {
    format!(
        "Signed in elsewhere ({} at {}): this session has closed. Your draft is saved and opens there.",
        crate::domain::text::strip_controls(&by.origin),
        by.started().with_timezone(&tz).format("%H:%M:%S")
    )
}

/// Waits for the sessions a new login took over to end (each saves its draft first), at most
/// [`TAKEOVER_WAIT`]; one that never answers is ended as lost. Returns those that ended in time.
pub async fn wait_for(store: &Store, replaced: &[Session]) -> crate::store::Result<Vec<Session>> {
    let deadline = tokio::time::Instant::now() + TAKEOVER_WAIT;
    let mut ended = Vec::new();
    for s in replaced.iter().filter(|s| s.is_open()) {
        loop {
            match store.session(s.id).await? {
                Some(now) if now.is_open() => {}
                Some(now) => {
                    ended.push(now);
                    break;
                }
                None => break,
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(session = s.id, "the session taken over did not close in time; marked lost");
                store.end_session(s.id, EndReason::Lost, Utc::now()).await?;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    Ok(ended)
}
