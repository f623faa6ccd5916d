//! Fixed data for console tests: a caller, drivers, calls, a fixed clock and time zone.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use calldesk::console::state::{Identity, TelephonyMode};
use calldesk::domain::{CallLog, CallStatus};
use calldesk::store::QueueEntry;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).single().expect("time")
}

pub fn ist() -> Tz {
    chrono_tz::Asia::Kolkata
}

pub fn identity(allowed: bool) -> Identity {
    Identity {
        caller_id: 3,
        caller_name: "Pooja".into(),
        mode: TelephonyMode::Telecmi,
        telecmi_refusal: (!allowed).then(|| calldesk::dialer::not_in_agents(3)),
        webhook_addr: "127.0.0.1:8787".into(),
        database: "sqlite calldesk.db".into(),
    }
}

pub fn entry(i: usize) -> QueueEntry {
    QueueEntry {
        driver_id: format!("D{i}"),
        name: format!("Driver {i}"),
        mobile: format!("9198765432{i:02}"),
        tmid: Some(format!("TM{i}")),
        city: Some("Pune".into()),
        state: Some("MH".into()),
        timezone: None,
        priority: 1,
        due_at: now().naive_utc(),
        attempts: 0,
        last_outcome: None,
        waiting: false,
        snoozed_until: None,
    }
}

pub fn call(id: i64, driver: usize, provider: &str, status: CallStatus) -> CallLog {
    CallLog {
        id,
        reference_id: Some(format!("REQ{id}")),
        caller_id: Some(3),
        driver_id: Some(format!("D{driver}")),
        driver_mobile: Some(format!("9198765432{driver:02}")),
        driver_name: Some(format!("Driver {driver}")),
        driver_tmid: Some(format!("TM{driver}")),
        call_type: Some(if provider == "telecmi" { "ivr" } else { "manual" }.into()),
        status: Some(status.as_str().into()),
        provider: Some(provider.into()),
        telecmi_user_id: None,
        feedback: None,
        remarks: None,
        call_duration: Some(0),
        created_at: now(),
        updated_at: None,
    }
}

/// A TeleCMI call whose click-to-call TeleCMI never answered (timed out): no request id, the
/// unconfirmed remark, still initiated.
pub fn unconfirmed_call(id: i64, driver: usize) -> CallLog {
    let mut c = call(id, driver, "telecmi", CallStatus::Initiated);
    c.reference_id = None;
    c.remarks = Some(format!("{} (timed out)", calldesk::domain::UNCONFIRMED_REMARK));
    c
}
