//! A provider's event (a TeleCMI webhook, live event or report) as calldesk reads it: what the
//! parser (`telecmi::webhook`) gives the store to apply. A plain type; the store keeps the rules
//! of applying it (`store::ingest`).

use super::{Leg, Signal};

/// One parsed webhook, ready to store and apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// (request_id or call_id, leg, type, status): the same event delivered twice has the same key.
    pub dedup_key: String,
    /// calldesk's own call id, from `extra_params`.
    pub call_log_id: Option<i64>,
    /// TeleCMI's `request_id`.
    pub request_id: Option<String>,
    /// For older payloads without ids: the TeleCMI user (`5003_33336628`) and the number called.
    pub telecmi_user: Option<String>,
    pub number: Option<String>,
    /// `event` or `cdr`.
    pub kind: String,
    pub leg: Leg,
    /// TeleCMI's own status word (`started`, `answered`, `missed`, …), for the audit trail.
    pub provider_status: String,
    pub signal: Option<Signal>,
    /// Talk time from a report (`answeredsec`, else `billedsec`, else `duration`); only leg B's
    /// is the call's.
    pub duration: Option<i64>,
    /// The recording's file name, from a report that says the call was recorded (`record` and
    /// `filename`, checked by `telecmi::webhook::recording_filename`); kept for leg B only.
    pub recording: Option<String>,
    pub payload: String,
}
