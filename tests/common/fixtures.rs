//! Fixed data for tests: a caller, drivers, calls, a fixed clock and time zone for the console's
//! tests; drivers, calls to place and a seeded store for the store's.

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;

use calldesk::console::state::{Identity, TelephonyMode};
use calldesk::domain::{CallLog, CallStatus, CallType, Driver, Provider, Role};
use calldesk::store::{NewCall, QueueEntry, Store};

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
        telecmi_refusal: (!allowed).then(|| calldesk::coord::dialer::not_in_agents(3)),
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
        pool: false,
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

/// A driver of `caller` as most tests import one: no TMID, city, state or time zone of their own.
pub fn driver(id: &str, name: &str, mobile: &str, caller: Option<i64>) -> Driver {
    Driver {
        id: id.into(),
        name: name.into(),
        mobile: mobile.into(),
        tmid: None,
        city: None,
        state: None,
        assigned_to: caller,
        timezone: None,
    }
}

/// Drivers `D{i}` ("Driver {i}", mobile `91987654321{i}`) of `caller`, one for each single digit `i`.
pub fn drivers(range: impl IntoIterator<Item = u32>, caller: i64) -> Vec<Driver> {
    range
        .into_iter()
        .map(|i| {
            assert!(i < 10, "a mobile of twelve digits takes a single-digit index: {i}");
            driver(&format!("D{i}"), &format!("Driver {i}"), &format!("91987654321{i}"), Some(caller))
        })
        .collect()
}

/// Driver `id` ("Driver {id}") of caller 3, in `zone` (`None`: the team's), for the calling-hours tests.
pub fn driver_in(id: &str, mobile: &str, zone: Option<&str>) -> Driver {
    Driver { timezone: zone.map(Into::into), ..driver(id, &format!("Driver {id}"), mobile, Some(3)) }
}

/// A call by `caller` to driver `d` through `provider`, with no TeleCMI user, refused within 30 s
/// of the driver's last dial.
pub fn call_to(d: &Driver, caller: i64, provider: Provider) -> NewCall {
    NewCall {
        caller_id: caller,
        driver_id: d.id.clone(),
        driver_mobile: d.mobile.clone(),
        driver_name: d.name.clone(),
        driver_tmid: d.tmid.clone(),
        call_type: if provider == Provider::Telecmi { CallType::Ivr } else { CallType::Manual },
        provider,
        telecmi_user_id: None,
        min_gap: Duration::seconds(30),
        session: None,
    }
}

/// A manual call by `caller` to driver `d` ([`call_to`]).
pub fn manual_call(d: &Driver, caller: i64) -> NewCall {
    call_to(d, caller, Provider::Manual)
}

/// A TeleCMI call by `caller`, as TeleCMI user `user`, to driver `d` ([`call_to`]).
pub fn telecmi_call(d: &Driver, caller: i64, user: &str) -> NewCall {
    NewCall { telecmi_user_id: Some(user.into()), ..call_to(d, caller, Provider::Telecmi) }
}

/// Adds `callers` (id, name) as agents and imports `drivers`, all at `at`.
pub async fn seed(store: &Store, callers: &[(i64, &str)], drivers: &[Driver], at: DateTime<Utc>) {
    for (id, name) in callers {
        store.add_caller(*id, name, Role::Agent, at).await.expect("caller");
    }
    store.import_drivers(drivers, at).await.expect("drivers");
}
