//! A TeleCMI call and its provider events, for the webhook ingest tests.

use chrono::{TimeZone, Utc};

use calldesk::domain::{CallLog, Leg, ProviderEvent, Signal};
use calldesk::store::Store;

use super::fixtures;

pub fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).single().expect("time")
}

pub const USER: &str = "5003_33336628";

/// A TeleCMI call to driver `n` (no driver row needed: the call row is what webhooks touch).
pub async fn call(s: &Store, n: usize) -> CallLog {
    let d = fixtures::driver(&format!("D{n:03}"), &format!("Driver {n}"), &format!("9198700{n:05}"), None);
    s.start_call(&fixtures::telecmi_call(&d, 3, USER), t0()).await.expect("start call")
}

pub fn event(call: i64, leg: Leg, kind: &str, status: &str, signal: Signal, duration: Option<i64>) -> ProviderEvent {
    ProviderEvent {
        dedup_key: format!("c{call}|{}|{kind}|{status}", leg.as_str()),
        call_log_id: Some(call),
        request_id: None,
        telecmi_user: None,
        number: None,
        kind: kind.into(),
        leg,
        provider_status: status.into(),
        signal: Some(signal),
        duration,
        recording: None,
        payload: "{}".into(),
    }
}
