//! TeleCMI's webhook details against the listener `calldesk serve` and the console start
//! (`start_listener`), on loopback, on a real SQLite file and MariaDB: another app's webhooks,
//! older leg-less payloads, status words the old system left in `call_logs`, and where the talk
//! time comes from.

mod common;

use serde_json::{Value, json};

use calldesk::commands::session::start_listener;
use calldesk::config::{Config, RawSettings, Secret};
use calldesk::domain::{CallLog, Driver};
use calldesk::store::{NewCall, SubmitFeedback};
use common::{APP_ID, SECRET, TestDb, each_backend, fixtures};

const DRIVER_MOBILE: &str = "919876543210";
const TELECMI_USER: &str = "5003_33336628";
/// Leg A rings the agent: its `to` is the agent's side, never the driver's number.
const AGENT_SIDE: &str = "912240000000";

struct Hook {
    http: reqwest::Client,
    url: String,
    db: TestDb,
}

/// The listener as `calldesk serve` starts it, with our TeleCMI app id when `with_creds`.
async fn listener(db: TestDb, with_creds: bool) -> Hook {
    let config = Config::from_raw(RawSettings {
        user_id: Some("3".into()),
        telecmi_app_id: with_creds.then(|| APP_ID.to_string()),
        telecmi_app_secret: with_creds.then(|| Secret::new(SECRET)),
        webhook_addr: Some("127.0.0.1:0".into()),
        webhook_token: Some(Secret::new("rules-webhook-token-0123456789")),
        calling_hours: Some(common::ALL_DAY.into()),
        ..RawSettings::default()
    })
    .expect("config");
    let l = start_listener(&db.store, &config, &calldesk::coord::bus::new_bus(), None).await.expect("listener");
    let drivers: Vec<Driver> =
        (1..=6).map(|i| fixtures::driver(&format!("D{i}"), &format!("Driver {i}"), DRIVER_MOBILE, Some(3))).collect();
    fixtures::seed(&db.store, &[(3, "Pooja")], &drivers, chrono::Utc::now()).await;
    Hook { http: reqwest::Client::new(), url: format!("http://{}/webhook/telecmi/{}", l.addr, l.token.expose()), db }
}

impl Hook {
    /// A live TeleCMI call to `driver` whose click2call answer was `reference`.
    async fn call(&self, driver: &str, reference: &str) -> CallLog {
        let d = fixtures::driver(driver, &format!("Driver {driver}"), DRIVER_MOBILE, Some(3));
        let c = NewCall { min_gap: chrono::Duration::zero(), ..fixtures::telecmi_call(&d, 3, TELECMI_USER) };
        let call = self.db.store.start_call(&c, chrono::Utc::now()).await.expect("start");
        self.db.store.set_reference(call.id, reference).await.expect("reference");
        call
    }

    async fn post(&self, body: &Value) -> (u16, Value) {
        let resp = self.http.post(&self.url).json(body).send().await.expect("send");
        let code = resp.status().as_u16();
        (code, resp.json().await.unwrap_or(Value::Null))
    }

    async fn row(&self, id: i64) -> CallLog {
        self.db.store.call(id).await.expect("q").expect("call")
    }
}

fn cdr_b(reference: &str, extra: Value) -> Value {
    let mut v = json!({"type": "cdr", "leg": "b", "status": "answered", "request_id": reference,
        "to": DRIVER_MOBILE.parse::<u64>().unwrap_or_default(), "hangup_reason": "recv_bye", "cmiuuid": format!("{reference}-b")});
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

#[tokio::test]
async fn webhooks_for_another_app_are_refused_and_change_nothing() {
    each_backend(|db| async move {
        let h = listener(db, true).await;
        let call = h.call("D1", "REQ-F").await;
        let answered = |app: Value| {
            json!({"type": "event", "leg": "b", "status": "answered", "request_id": "REQ-F", "app_id": app,
                "to": DRIVER_MOBILE, "cmiuuid": "REQ-F-b"})
        };
        for foreign in [json!(11_111_111), json!("99"), json!("not-ours")] {
            let (code, body) = h.post(&answered(foreign.clone())).await;
            assert_eq!(code, 403, "{foreign}: {body}");
            assert_eq!(body["error"], json!("webhook is for another TeleCMI app"));
        }
        let (code, _) = h.post(&cdr_b("REQ-F", json!({"appid": 2_222_223, "answeredsec": 99}))).await;
        assert_eq!(code, 403, "`appid` (CDR spelling) is checked too");
        let row = h.row(call.id).await;
        assert_eq!((row.status.as_deref(), row.call_duration), (Some("initiated"), Some(0)), "the call is untouched");
        assert!(h.db.store.call_events(call.id).await.expect("events").is_empty());
        assert_eq!(h.db.store.last_event_at().await.expect("q"), None, "nothing stored");

        // Our own app (as a string, as a number) and no app id at all are accepted. The refused
        // event did not take its de-duplication key.
        let (code, body) = h.post(&answered(json!(APP_ID))).await;
        assert_eq!((code, body["result"].clone()), (200, json!("applied")), "{body}");
        assert_eq!(h.row(call.id).await.status.as_deref(), Some("connected"));
        let (code, _) = h
            .post(&cdr_b("REQ-F", json!({"appid": APP_ID.parse::<u64>().unwrap_or_default(), "answeredsec": 33})))
            .await;
        assert_eq!(code, 200);
        let (code, body) =
            h.post(&json!({"type": "event", "leg": "a", "status": "hangup", "request_id": "REQ-F"})).await;
        assert_eq!((code, body["result"].clone()), (200, json!("applied")), "absent app id: {body}");
        let row = h.row(call.id).await;
        assert_eq!((row.status.as_deref(), row.call_duration), (Some("completed"), Some(33)));
    })
    .await;
}

#[tokio::test]
async fn without_credentials_there_is_no_app_id_to_compare() {
    each_backend(|db| async move {
        let h = listener(db, false).await;
        let call = h.call("D1", "REQ-M").await;
        let (code, body) = h.post(&cdr_b("REQ-M", json!({"appid": 11_111_111, "answeredsec": 12}))).await;
        assert_eq!((code, body["result"].clone()), (200, json!("applied")), "{body}");
        assert_eq!(h.row(call.id).await.status.as_deref(), Some("completed"));
    })
    .await;
}

/// An older account's report: no `leg`, no `request_id`, the leg's id as `cmiuid`.
fn legless(call_id: &str, uid: &str, to: Option<&str>, extra: Value) -> Value {
    let mut v = json!({"call_id": call_id, "cmiuid": uid, "status": "answered", "user": TELECMI_USER,
        "click_to_call": "true", "hangup_reason": "recv_bye", "appid": APP_ID});
    if let Some(o) = v.as_object_mut() {
        if let Some(to) = to {
            o.insert("to".into(), json!(to));
        }
        if let Value::Object(e) = extra {
            o.extend(e);
        }
    }
    v
}

#[tokio::test]
async fn legless_reports_are_keyed_per_leg_and_only_leg_b_gives_the_talk_time() {
    each_backend(|db| async move {
        let h = listener(db, true).await;

        // No ids at all: the call is found by TeleCMI user + the driver's number, so leg A's
        // report (to the agent's side) matches nothing; it must not hide leg B's as a duplicate.
        let c1 = h.call("D1", "REQ-L1").await;
        let (code, body) = h.post(&legless("C-1", "uid-1a", Some(AGENT_SIDE), json!({"answeredsec": 95}))).await;
        assert_eq!((code, body["result"].clone()), (200, json!("unmatched")), "{body}");
        let (code, body) = h.post(&legless("C-1", "uid-1b", Some(DRIVER_MOBILE), json!({"answeredsec": 40}))).await;
        assert_eq!((code, body["result"].clone()), (200, json!("applied")), "leg B is its own event: {body}");
        let row = h.row(c1.id).await;
        assert_eq!((row.status.as_deref(), row.call_duration), (Some("completed"), Some(40)));
        let (_, body) = h.post(&legless("C-1", "uid-1b", Some(DRIVER_MOBILE), json!({"answeredsec": 40}))).await;
        assert_eq!(body["result"], json!("duplicate"), "a resend of one leg still is");

        // Our id echoed in extra_params: leg A's answered report arrives first. It proves only
        // that the agent picked up: not completed, and its seconds are not the talk time.
        let c2 = h.call("D2", "REQ-L2").await;
        let (code, _) =
            h.post(&legless("C-2", "uid-2a", Some(AGENT_SIDE), with_id(c2.id, json!({"answeredsec": 95})))).await;
        assert_eq!(code, 200);
        let row = h.row(c2.id).await;
        assert_ne!(row.status.as_deref(), Some("completed"), "leg A's report is not proof the driver talked");
        assert_eq!(row.call_duration, Some(0), "leg A's seconds are not the talk time");
        let (code, _) = h
            .post(&legless("C-2", "uid-2b", Some(&DRIVER_MOBILE[2..]), with_id(c2.id, json!({"answeredsec": 41}))))
            .await;
        assert_eq!(code, 200);
        let row = h.row(c2.id).await;
        assert_eq!((row.status.as_deref(), row.call_duration), (Some("completed"), Some(41)), "leg B, by its number");
        let legs: Vec<String> =
            h.db.store.call_events(c2.id).await.expect("events").into_iter().map(|e| e.leg).collect();
        assert_eq!(legs, ["a", "b"], "the leg worked out is what the timeline and \"who missed\" read back");

        // A report whose leg cannot be told (no `to`) proves nothing either.
        let c3 = h.call("D3", "REQ-L3").await;
        let (code, _) = h.post(&legless("C-3", "uid-3", None, with_id(c3.id, json!({"answeredsec": 70})))).await;
        assert_eq!(code, 200);
        let row = h.row(c3.id).await;
        assert_ne!(row.status.as_deref(), Some("completed"));
        assert_eq!(row.call_duration, Some(0));
    })
    .await;
}

fn with_id(id: i64, extra: Value) -> Value {
    let mut e = json!({"extra_params": json!({"calldesk_call_id": id.to_string()}).to_string()});
    if let (Some(o), Value::Object(x)) = (e.as_object_mut(), extra) {
        o.extend(x);
    }
    e
}

#[tokio::test]
async fn a_status_word_we_do_not_know_is_left_as_it_is() {
    each_backend(|db| async move {
        let h = listener(db, true).await;
        let call = h.call("D1", "REQ-OLD").await;
        common::set_status(&h.db, call.id, "busy").await;
        let (code, body) = h.post(&cdr_b("REQ-OLD", json!({"answeredsec": 50}))).await;
        assert_eq!((code, body["result"].clone()), (200, json!("kept")), "{body}");
        let row = h.row(call.id).await;
        assert_eq!((row.status.as_deref(), row.call_duration), (Some("busy"), Some(0)), "not overwritten");
        let events = h.db.store.call_events(call.id).await.expect("events");
        assert_eq!(events.len(), 1, "the event is stored for audit, against its call");
        // Saving an outcome without a status keeps the word too.
        let f = SubmitFeedback { call_id: call.id, feedback: "Others".into(), ..Default::default() };
        let (saved, _) =
            h.db.store
                .submit_feedback(&f, &calldesk::domain::FeedbackCatalog::default(), chrono::Utc::now())
                .await
                .expect("feedback");
        assert_eq!(saved.status.as_deref(), Some("busy"));
    })
    .await;
}

#[tokio::test]
async fn talk_time_comes_from_answeredsec_else_billedsec_else_duration() {
    each_backend(|db| async move {
        let h = listener(db, true).await;
        let cases = [
            ("D1", json!({"answeredsec": 42, "billedsec": 60, "duration": 75}), 42),
            ("D2", json!({"billedsec": "51", "duration": 75}), 51),
            ("D3", json!({"duration": 64}), 64),
            ("D4", json!({"duration": "38"}), 38),
        ];
        for (driver, fields, want) in cases {
            let reference = format!("REQ-T-{driver}");
            let call = h.call(driver, &reference).await;
            let (code, body) = h.post(&cdr_b(&reference, fields.clone())).await;
            assert_eq!(code, 200, "{body}");
            let row = h.row(call.id).await;
            assert_eq!((row.status.as_deref(), row.call_duration), (Some("completed"), Some(want)), "{fields}");
        }
        // Leg A's report never sets it, whatever field it uses.
        let call = h.call("D5", "REQ-T-A").await;
        let (code, _) = h
            .post(&json!({"type": "cdr", "leg": "a", "status": "answered", "request_id": "REQ-T-A", "duration": 80}))
            .await;
        assert_eq!(code, 200);
        assert_eq!(h.row(call.id).await.call_duration, Some(0));
    })
    .await;
}
