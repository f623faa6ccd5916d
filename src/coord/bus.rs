//! In-process fan-out of call changes: the webhook handler, the dialer and feedback publish here
//! *after* the store has committed, and every screen (and `/events`) listens.

use serde::Serialize;
use tokio::sync::broadcast;

use crate::domain::CallLog;

/// What changed a call. `/events` sends it in lower case (`"dial"`, `"webhook"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The dialer: the call placed, confirmed, refused by TeleCMI, unconfirmed or marked not placed.
    Dial,
    /// A TeleCMI webhook, heard by this process's listener or read from the shared event table.
    Webhook,
    /// An outcome saved (the console's wrap-up or the API's `update_feedback`).
    Feedback,
    /// Reconciliation: closed from TeleCMI's CDR lists, or provisionally at the call ceiling.
    Reconcile,
}

/// A call as stored right after it changed, and what changed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallUpdate {
    pub call: CallLog,
    pub source: Source,
    /// For webhooks: which leg and TeleCMI's word for what happened.
    pub leg: Option<String>,
    pub provider_status: Option<String>,
    /// The stored event (`webhook_events.id`) behind this update, when there is one: the same
    /// event heard twice (own listener and feed) carries the same id.
    pub event_id: Option<i64>,
}

impl CallUpdate {
    /// An update that no webhook carried (no leg, no TeleCMI status, no stored event).
    pub fn new(call: CallLog, source: Source) -> Self {
        Self { call, source, leg: None, provider_status: None, event_id: None }
    }
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

#[cfg(test)]
mod tests {
    use super::Source;

    /// `/events` clients read these words: the enum must keep them.
    #[test]
    fn sources_keep_their_words_on_the_wire() {
        let words: Vec<String> = [Source::Dial, Source::Webhook, Source::Feedback, Source::Reconcile]
            .iter()
            .map(|s| serde_json::to_string(s).expect("json"))
            .collect();
        assert_eq!(words, [r#""dial""#, r#""webhook""#, r#""feedback""#, r#""reconcile""#]);
    }
}
