//! In-process fan-out of call changes: the webhook handler, the dialer and feedback publish here
//! *after* the store has committed, and every screen (and `/events`) listens.

use serde::Serialize;
use tokio::sync::broadcast;

use crate::domain::CallLog;

/// A call as stored right after it changed, and what changed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallUpdate {
    pub call: CallLog,
    /// `dial`, `webhook`, `feedback` or `reconcile`.
    pub source: &'static str,
    /// For webhooks: which leg and TeleCMI's word for what happened.
    pub leg: Option<String>,
    pub provider_status: Option<String>,
    /// The stored event (`webhook_events.id`) behind this update, when there is one: the same
    /// event heard twice (own listener and feed) carries the same id.
    pub event_id: Option<i64>,
}

pub type Bus = broadcast::Sender<CallUpdate>;

/// A bus with room for a burst of webhooks; slow listeners skip ahead rather than block.
pub fn new_bus() -> Bus {
    broadcast::channel(1024).0
}

/// Publishes without caring whether anyone listens.
pub fn publish(bus: &Bus, update: CallUpdate) {
    let _ = bus.send(update);
}
