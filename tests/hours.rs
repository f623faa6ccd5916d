//! Calling hours and the team time zone on both backends: every dial outside a driver's window
//! is refused before TeleCMI is asked, callbacks and retries fall due inside the window, a
//! driver's own zone from the import moves their window, and the host's zone changes nothing.

mod common;

use chrono::{DateTime, Timelike, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use calldesk::commands::tokens;
use calldesk::coord::dialer::{CallKind, DialError};
use calldesk::domain::QueueDecision;
use calldesk::store::SubmitFeedback;
use common::fixtures::{self, driver_in};
use common::{each_backend, rig_with};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
}

/// 23:30 in Kolkata on 25 Nov 2026.
const LATE: &str = "2026-11-25T18:00:00Z";
/// 10:00 in Kolkata on 25 Nov 2026 (23:30 the night before in New York).
const MORNING: &str = "2026-11-25T04:30:00Z";

#[tokio::test]
async fn every_dial_outside_the_window_is_refused_before_telecmi_is_asked() {
    each_backend(|db| async move {
        let rig = rig_with(db, 10, |s| s.calling_hours = Some("09:00-21:00".into())).await;
        for kind in [CallKind::Telecmi, CallKind::Manual] {
            let e = rig.dialer.place_call_at(3, "D1", None, kind, at(LATE)).await.expect_err("23:30 is closed");
            assert!(matches!(e, DialError::OutsideHours { opens_at, .. } if opens_at == at("2026-11-26T03:30:00Z")));
            assert_eq!(e.http_status(), 409);
            let m = e.to_string();
            assert!(m.contains("Outside calling hours") && m.contains("it is 23:30"), "{m}");
            assert!(m.contains("09:00–21:00") && m.contains("09:00 tomorrow"), "{m}");
        }
        assert!(rig.db.store.driver_calls("D1", 10).await.expect("calls").is_empty(), "no call row was written");
        assert!(rig.sim.placed().is_empty(), "TeleCMI was never asked");

        // Inside the window the same call goes out.
        let call = rig.dialer.place_call_at(3, "D1", None, CallKind::Manual, at(MORNING)).await.expect("10:00 is open");
        assert_eq!(call.driver_id.as_deref(), Some("D1"));

        // A driver in New York is read in New York's time: 10:00 in Kolkata is 23:30 there.
        rig.db
            .store
            .import_drivers(&[driver_in("NY1", "919800000001", Some("America/New_York"))], at(MORNING))
            .await
            .expect("import");
        let e = rig.dialer.place_call_at(3, "NY1", None, CallKind::Manual, at(MORNING)).await.expect_err("night in NY");
        let m = e.to_string();
        assert!(m.contains("America/New_York") && m.contains("it is 23:30"), "{m}");
        // 09:00 EST = 14:00 UTC = 19:30 in Kolkata, the same day.
        assert!(matches!(e, DialError::OutsideHours { opens_at, .. } if opens_at == at("2026-11-25T14:00:00Z")));
        assert!(m.contains("19:30 today (09:00 America/New_York)"), "{m}");
        // And 10:00 in New York (20:30 in Kolkata) is inside both windows.
        rig.dialer
            .place_call_at(3, "NY1", None, CallKind::Manual, at("2026-11-25T15:00:00Z"))
            .await
            .expect("10:00 in New York");
    })
    .await;
}

/// A window that does not hold the present hour in Kolkata, so a request made now is refused.
fn closed_now() -> String {
    let hour = Utc::now().with_timezone(&chrono_tz::Asia::Kolkata).hour();
    let start = (hour + 2) % 24;
    format!("{start:02}:00-{:02}:00", start + 1)
}

#[tokio::test]
async fn the_api_refuses_with_409_and_says_when_the_window_opens() {
    each_backend(|db| async move {
        let hours = closed_now();
        let rig = rig_with(db, 10, |s| s.calling_hours = Some(hours.clone())).await;
        let token = tokens::generate();
        rig.db.store.insert_token(3, &calldesk::domain::token::hash(&token), Utc::now()).await.expect("token");
        let resp = reqwest::Client::new()
            .post(format!("http://{}/api/telecmi_production_api.php?action=click_to_call", rig.addr))
            .bearer_auth(&token)
            .json(&json!({"caller_id": 3, "driver_id": "D2", "driver_mobile": "919876543212"}))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["success"], false);
        let m = v["message"].as_str().unwrap_or_default();
        assert!(m.contains("Outside calling hours") && m.contains("The window opens at"), "{m}");
        assert!(rig.sim.placed().is_empty());
        assert!(rig.db.store.driver_calls("D2", 10).await.expect("calls").is_empty());
    })
    .await;
}

#[tokio::test]
async fn callbacks_and_retries_fall_due_inside_the_window_in_the_drivers_zone() {
    each_backend(|db| async move {
        let rig = rig_with(db, 10, |s| {
            s.calling_hours = Some("09:00-21:00".into());
            s.retry_after_minutes = Some("45".into());
        })
        .await;
        let catalog = rig.dialer.config.catalog();
        let store = &rig.db.store;
        // 20:00 in Kolkata: "Busy Right Now" (two hours on) would fall due at 22:00.
        let eight_pm = at("2026-11-25T14:30:00Z");
        let call = rig.dialer.place_call_at(3, "D3", None, CallKind::Manual, eight_pm).await.expect("dial");
        let f = SubmitFeedback {
            call_id: call.id,
            status: None,
            feedback: "Busy Right Now".into(),
            remarks: String::new(),
            call_duration: Some(30),
        };
        let (_, decision) = store.submit_feedback(&f, &catalog, eight_pm).await.expect("save");
        let nine_am = at("2026-11-26T03:30:00Z");
        assert_eq!(decision, QueueDecision::Requeue { due_at: nine_am, callback: true });
        let due = |t| async move {
            store.due_queue(3, t, &Default::default(), None, 50, Some("Driver 3")).await.expect("queue")
        };
        assert!(due(nine_am - chrono::Duration::minutes(1)).await.is_empty(), "not due before 09:00");
        assert_eq!(due(nine_am).await.len(), 1, "due at 09:00 the next morning");

        // A retry 45 minutes after 20:30 would be 21:15: it waits for 09:00 too.
        let late = at("2026-11-25T15:00:00Z");
        let call = rig.dialer.place_call_at(3, "D4", None, CallKind::Manual, late).await.expect("dial");
        let f = SubmitFeedback { call_id: call.id, feedback: "Ringing / Call Busy".into(), ..f };
        let (_, decision) = store.submit_feedback(&f, &catalog, late).await.expect("save");
        assert_eq!(decision, QueueDecision::Requeue { due_at: nine_am, callback: false });

        // "Call in Evening" for a driver in London is 18:00 London time (GMT in November).
        store.import_drivers(&[driver_in("LON", "919800000002", Some("Europe/London"))], late).await.expect("import");
        let noon_london = at("2026-11-26T12:00:00Z");
        let call = rig.dialer.place_call_at(3, "LON", None, CallKind::Manual, noon_london).await.expect("dial");
        let f = SubmitFeedback { call_id: call.id, feedback: "Call in Evening".into(), ..f };
        let (_, decision) = store.submit_feedback(&f, &catalog, noon_london).await.expect("save");
        assert_eq!(decision, QueueDecision::Requeue { due_at: at("2026-11-26T18:00:00Z"), callback: true });
    })
    .await;
}

#[tokio::test]
async fn the_retry_settings_replace_the_constants() {
    each_backend(|db| async move {
        let rig = rig_with(db, 10, |s| {
            s.retry_after_minutes = Some("90".into());
            s.max_attempts = Some("2".into());
        })
        .await;
        let catalog = rig.dialer.config.catalog();
        let store = &rig.db.store;
        let t0 = at(MORNING);
        let save = |id, now| {
            let f = SubmitFeedback {
                call_id: id,
                // As the console saves a manual call nobody answered.
                status: Some(calldesk::domain::CallStatus::Missed),
                feedback: "Ringing / Call Busy".into(),
                remarks: String::new(),
                call_duration: None,
            };
            let catalog = catalog.clone();
            async move { store.submit_feedback(&f, &catalog, now).await.expect("save").1 }
        };
        let first = rig.dialer.place_call_at(3, "D5", None, CallKind::Manual, t0).await.expect("dial");
        assert_eq!(
            save(first.id, t0).await,
            QueueDecision::Requeue { due_at: t0 + chrono::Duration::minutes(90), callback: false }
        );
        assert_eq!(store.queue_attempts("D5").await.expect("attempts"), Some(1));
        let t1 = t0 + chrono::Duration::minutes(91);
        let second = rig.dialer.place_call_at(3, "D5", None, CallKind::Manual, t1).await.expect("dial");
        assert_eq!(store.queue_attempts("D5").await.expect("attempts"), Some(2));
        assert!(catalog.exhausts_attempts("Ringing / Call Busy", 2), "the wrap-up warns before this save");
        assert_eq!(save(second.id, t1).await, QueueDecision::Remove, "MAX_ATTEMPTS=2 ends it at the second");
        assert_eq!(store.queue_attempts("D5").await.expect("attempts"), None);
    })
    .await;
}

/// The same database read by the binary with the host in UTC and in New York gives the same
/// export: times are written in the team zone, and `--from`/`--to` are the team's days.
#[tokio::test]
async fn the_hosts_zone_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("tz.db").display());
    let store = calldesk::store::Store::open(&url).await.expect("store");
    fixtures::seed(&store, &[(3, "Pooja")], &[driver_in("D1", "919800000003", None)], at(MORNING)).await;
    // 00:30 on 26 Nov in Kolkata, still 25 Nov in UTC and in New York.
    let config = std::sync::Arc::new(common::test_config("http://127.0.0.1:9"));
    let dialer =
        calldesk::coord::dialer::Dialer::new(store.clone(), config, calldesk::coord::bus::new_bus()).expect("dialer");
    dialer.place_call_at(3, "D1", None, CallKind::Manual, at("2026-11-25T19:00:00Z")).await.expect("dial");
    store.close().await;
    let export = |tz: &str, day: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_calldesk"))
            .args(["export", "logs", "--format", "json", "--from", day, "--to", day])
            .env("DATABASE_URL", &url)
            .env("CALLDESK_LOG_DIR", dir.path().join("logs"))
            .env("TZ", tz)
            .env_remove("CALLDESK_TIMEZONE")
            // No developer's `.env` decides the answer.
            .current_dir(dir.path())
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf8")
    };
    let utc = export("UTC", "2026-11-26");
    assert_eq!(utc, export("America/New_York", "2026-11-26"));
    assert_eq!(utc, export("Asia/Tokyo", "2026-11-26"));
    assert!(utc.contains("2026-11-26T00:30:00+05:30"), "{utc}");
    // The call is on the team's 26 Nov, not on the host's 25 Nov.
    assert!(!export("UTC", "2026-11-25").contains("D1"));
}
