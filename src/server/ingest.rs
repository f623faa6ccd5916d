//! Group commit for webhook ingest: one writer per listener stores the webhooks that arrive
//! together in one shared transaction.
//!
//! Each request hands its parsed event to the writer and waits. The writer takes everything
//! queued (up to [`MAX_BATCH`]), stores and applies it in one transaction, and only once that
//! committed tells the UI (the bus, in batch order) and answers each request with its own
//! outcome. No timer: while one batch commits the next one gathers, so a lone webhook is stored at
//! once and a burst shares its commits.
//!
//! On a SQLite file the writer is the store's own thread ([`Store::webhook_writer`]): requests go
//! to it straight, and it answers them itself. Elsewhere (MariaDB, in-memory SQLite) a task
//! drains a channel into [`Store::apply_events`].

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::coord::bus::{Bus, CallUpdate, Source, publish};
use crate::domain::ProviderEvent;
use crate::store::{ApplyOutcome, MAX_BATCH, SqliteWriter, Store, StoreError};

/// A webhook waiting for its commit.
struct Job {
    ev: ProviderEvent,
    now: DateTime<Utc>,
    done: oneshot::Sender<Result<ApplyOutcome, StoreError>>,
}

#[derive(Clone, Debug)]
enum Door {
    /// The writer task's channel.
    Task(mpsc::Sender<Job>),
    /// The SQLite file's writer thread, started by the first webhook (a console's listener may
    /// never get one: its team's webhooks go to `calldesk serve`).
    Thread(Store),
}

/// The writer's door. Cheap to clone. The writer task stops when the last clone is dropped; the
/// SQLite writer thread is the store's, and stops with it.
#[derive(Clone, Debug)]
pub struct Ingest {
    door: Door,
    bus: Bus,
}

impl Ingest {
    /// Starts the writer for `store`; what it applies is announced on `bus`. Needs a Tokio runtime.
    pub fn start(store: Store, bus: Bus) -> Self {
        if store.has_webhook_writer() {
            return Self { door: Door::Thread(store), bus };
        }
        let (jobs, rx) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write(store, bus.clone(), rx));
        Self { door: Door::Task(jobs), bus }
    }

    /// Stores `ev` (received at `now`) and returns what it did, once the transaction holding it
    /// has committed.
    pub async fn submit(&self, ev: ProviderEvent, now: DateTime<Utc>) -> Result<ApplyOutcome, StoreError> {
        let (done, outcome) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the webhook writer stopped".into());
        match &self.door {
            Door::Task(jobs) => jobs.send(Job { ev, now, done }).await.map_err(|_| stopped())?,
            Door::Thread(store) => {
                let thread: &SqliteWriter = store.webhook_writer().ok_or_else(stopped)?;
                let bus = self.bus.clone();
                thread.submit(
                    ev,
                    now,
                    Box::new(move |ev, outcome| {
                        announce(&bus, ev, &outcome);
                        let _ = done.send(outcome);
                    }),
                );
            }
        }
        outcome.await.map_err(|_| stopped())?
    }
}

/// Tells the UI of an applied event (after its commit).
pub(super) fn announce(bus: &Bus, ev: &ProviderEvent, outcome: &Result<ApplyOutcome, StoreError>) {
    if let Ok(ApplyOutcome::Applied { call, event_id, .. }) = outcome {
        publish(
            bus,
            CallUpdate {
                call: (**call).clone(),
                source: Source::Webhook,
                leg: Some(ev.leg.as_str().to_string()),
                provider_status: Some(ev.provider_status.clone()),
                event_id: Some(*event_id),
            },
        );
    }
}

async fn write(store: Store, bus: Bus, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch: Vec<_> = jobs.iter().map(|j| (&j.ev, j.now)).collect();
        // Returns once committed: nothing below runs before the events are stored.
        let outcomes = store.apply_events(&batch).await;
        drop(batch);
        tracing::debug!(events = jobs.len(), "webhook batch committed");
        for (job, outcome) in jobs.drain(..).zip(outcomes) {
            announce(&bus, &job.ev, &outcome);
            // The request may have gone (client hung up): its event is stored all the same.
            let _ = job.done.send(outcome);
        }
    }
}
