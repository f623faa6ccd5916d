//! Status changes received by another process (the team's `calldesk serve`) reach this one by
//! reading the shared database's event table: every webhook is stored before it is acknowledged,
//! so polling `webhook_events` by id sees each one exactly once, in order, on SQLite and MySQL.

use std::time::Duration;

use crate::bus::{Bus, CallUpdate, publish};
use crate::store::Store;

/// How often the event table is read. Measured end to end (webhook in one process → update in
/// another) well under the 1 s the team needs; see `tests/team.rs`.
pub const POLL: Duration = Duration::from_millis(250);

/// Publishes on `bus` every event stored from now on, with its call as stored. Runs until dropped.
pub async fn follow(store: Store, bus: Bus, every: Duration) {
    let mut last = match store.max_event_id().await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!("event feed: {e}; starting from the beginning");
            0
        }
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let events = match store.events_after(last, 500).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("event feed: {e}");
                continue;
            }
        };
        for ev in events {
            last = ev.id;
            let Some(call_id) = ev.call_log_id else { continue };
            match store.call(call_id).await {
                Ok(Some(call)) => publish(
                    &bus,
                    CallUpdate {
                        call,
                        source: "webhook",
                        leg: Some(ev.leg.clone()),
                        provider_status: Some(ev.status.clone()),
                        event_id: Some(ev.id),
                    },
                ),
                Ok(None) => {}
                Err(e) => tracing::warn!("event feed: {e}"),
            }
        }
    }
}
