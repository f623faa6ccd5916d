//! The old system's API against the real server on loopback: every status code and shape, and
//! the token rules it lacked.

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};

use calldesk::commands::tokens;
use calldesk::telecmi::simulator::Outcome;
use common::{Rig, each_backend, fixtures, rig};

struct Api {
    http: reqwest::Client,
    base: String,
    pooja: String,
    ravi: String,
}

async fn api(r: &Rig) -> Api {
    let pooja = tokens::generate();
    let ravi = tokens::generate();
    let now = chrono::Utc::now();
    r.db.store.insert_token(3, &calldesk::domain::token::hash(&pooja), now).await.expect("token");
    r.db.store.insert_token(4, &calldesk::domain::token::hash(&ravi), now).await.expect("token");
    Api { http: reqwest::Client::new(), base: format!("http://{}/api/telecmi_production_api.php", r.addr), pooja, ravi }
}

impl Api {
    async fn post(&self, action: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}?action={action}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, query: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.get(format!("{}?{query}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

fn c2c(caller: i64, driver: &str, mobile: &str) -> String {
    json!({"caller_id": caller, "driver_id": driver, "driver_mobile": mobile}).to_string()
}

#[tokio::test]
async fn click_to_call_answers_every_documented_shape() {
    each_backend(|db| async move {
        let r = rig(db, 20).await;
        let a = api(&r).await;
        r.sim.push_outcome(Outcome::Answered { talk_secs: 12 });
        let (s, v) = a.post("click_to_call", Some(&a.pooja), &c2c(3, "D1", "919876543211")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["success"], json!(true));
        assert_eq!(v["message"], json!("TeleCMI call initiated successfully"));
        let d = &v["data"];
        assert_eq!(d["status"], json!("initiated"));
        assert_eq!(d["driver_name"], json!("Driver 1"));
        assert_eq!(d["driver_mobile"], json!("919876543211"));
        assert_eq!(d["message"], json!("Your phone will ring shortly. Answer to connect with the driver."));
        assert_eq!(d["call_id"], d["request_id"]);
        assert_eq!(d["request_id"], json!(r.sim.placed()[0].request_id));

        // Ravi is not in TELECMI_AGENTS: 403 naming who may call (names from the callers table).
        let (s, v) = a.post("click_to_call", Some(&a.ravi), &c2c(4, "D2", "919876543212")).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(v, json!({"success": false, "message": "You are not authorized to use TeleCMI calling. Only Pooja can make TeleCMI calls."}));

        let (s, v) = a.post("click_to_call", Some(&a.pooja), &c2c(3, "nobody", "919876543212")).await;
        assert_eq!((s, v["message"].clone()), (StatusCode::NOT_FOUND, json!("Driver not found")));
        let (s, v) = a.post("click_to_call", Some(&a.pooja), &c2c(3, "D2", "12345")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["message"].as_str().unwrap_or("").contains("10 to 15"), "{v}");
        let (s, v) = a.post("click_to_call", Some(&a.pooja), "{not json").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["message"].as_str().unwrap_or("").starts_with("Invalid JSON"), "{v}");
        let (s, v) = a.post("click_to_call", Some(&a.pooja), r#"{"caller_id":3}"#).await;
        assert_eq!((s, v["message"].clone()), (StatusCode::BAD_REQUEST, json!("Missing required fields: driver_id, driver_mobile")));
        let (s, _) = a.get("action=click_to_call", Some(&a.pooja)).await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);

        r.sim.push_outcome(Outcome::AuthFailure);
        let (s, v) = a.post("click_to_call", Some(&a.pooja), &c2c(3, "D3", "919876543213")).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(v["success"], json!(false));
        assert!(v["message"].as_str().unwrap_or("").contains("TeleCMI refused"), "{v}");

        let (s, v) = a.post("nonsense", Some(&a.pooja), "{}").await;
        assert_eq!((s, v["message"].clone()), (StatusCode::BAD_REQUEST, json!("Invalid action")));
    })
    .await;
}

#[tokio::test]
async fn token_rules() {
    each_backend(|db| async move {
        let r = rig(db, 20).await;
        let a = api(&r).await;
        let (s, v) = a.post("click_to_call", None, &c2c(3, "D1", "919876543211")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        let (s, _) = a.post("click_to_call", Some("cd_not-a-real-token"), &c2c(3, "D1", "919876543211")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // Ravi's token cannot act as Pooja (the old system trusted caller_id from the body).
        let (s, v) = a.post("click_to_call", Some(&a.ravi), &c2c(3, "D1", "919876543211")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, _) = a.get("action=get_call_logs&caller_id=3", Some(&a.ravi)).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // A revoked token stops working.
        r.db.store.revoke_tokens(3, chrono::Utc::now()).await.expect("revoke");
        let (s, _) = a.get("action=get_call_logs&caller_id=3", Some(&a.pooja)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(r.sim.placed().is_empty(), "no call was placed by any of these");
    })
    .await;
}

#[tokio::test]
async fn update_feedback_and_get_call_logs() {
    each_backend(|db| async move {
        let r = rig(db, 10).await;
        let a = api(&r).await;
        r.sim.push_outcome(Outcome::Answered { talk_secs: 7 });
        let (_, v) = a.post("click_to_call", Some(&a.pooja), &c2c(3, "D1", "919876543211")).await;
        let rid = v["data"]["request_id"].as_str().expect("rid").to_string();
        let call = r.db.store.call_by_reference(&rid).await.expect("q").expect("call");
        common::settle(&r.db.store, call.id).await;

        let body = json!({"reference_id": rid, "status": "completed", "feedback": "Interested", "remarks": "Driver wants more details about the job", "call_duration": 120});
        let (s, v) = a.post("update_feedback", Some(&a.pooja), &body.to_string()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["message"], json!("Feedback updated successfully"));
        let d = &v["data"];
        assert_eq!((d["status"].clone(), d["feedback"].clone(), d["call_duration"].clone()), (json!("completed"), json!("Interested"), json!(120)));
        assert_eq!(d["remarks"], json!("Driver wants more details about the job"));
        assert_eq!(d["driver_name"], json!("Driver 1"));
        assert!(d["created_at"].as_str().is_some_and(|t| t.len() == 19), "{d}");
        assert!(r.db.store.queue_entry("D1").await.expect("q").is_none(), "same queue effect as the console");

        let bad = |b: Value| b.to_string();
        let (s, _) = a.post("update_feedback", Some(&a.pooja), &bad(json!({"reference_id": "nope", "status": "completed", "feedback": "x"}))).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, v) = a.post("update_feedback", Some(&a.pooja), &bad(json!({"reference_id": rid, "status": "done", "feedback": "x"}))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["message"].as_str().unwrap_or("").contains("unknown call status"), "{v}");
        let (s, v) = a.post("update_feedback", Some(&a.pooja), &bad(json!({"status": "completed"}))).await;
        assert_eq!((s, v["message"].clone()), (StatusCode::BAD_REQUEST, json!("Missing required fields: reference_id, feedback")));
        let (s, _) = a.post("update_feedback", Some(&a.ravi), &bad(json!({"reference_id": rid, "status": "completed", "feedback": "x"}))).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "another caller's call");

        // A manual call as well, then the listing.
        r.dialer.place_call(3, "D2", None, calldesk::coord::dialer::CallKind::Manual).await.expect("manual");
        let (s, v) = a.get("action=get_call_logs&caller_id=3&limit=1&offset=0", Some(&a.pooja)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["message"], json!("Call logs retrieved successfully"));
        assert_eq!((v["data"]["total"].clone(), v["data"]["limit"].clone(), v["data"]["offset"].clone()), (json!(2), json!(1), json!(0)));
        let row = &v["data"]["call_logs"][0];
        for col in ["id", "reference_id", "caller_id", "driver_id", "driver_mobile", "driver_name", "driver_tmid", "call_type", "status", "provider", "telecmi_user_id", "feedback", "remarks", "call_duration", "created_at", "updated_at"] {
            assert!(row.get(col).is_some(), "column {col} in {row}");
        }
        assert_eq!(row["provider"], json!("manual"));
        let (_, v) = a.get("action=get_call_logs&limit=5000&offset=1", Some(&a.pooja)).await;
        assert_eq!(v["data"]["limit"], json!(200), "limit capped");
        assert_eq!(v["data"]["call_logs"][0]["feedback"], json!("Interested"));
        let (s, _) = a.get("action=get_call_logs&limit=abc", Some(&a.pooja)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn webhook_action_uses_the_webhook_secret() {
    each_backend(|db| async move {
        let r = rig(db, 10).await;
        let a = api(&r).await;
        let body = r#"{"type":"event","status":"started","leg":"a","request_id":"R1"}"#;
        let (s, _) = a.post("webhook", Some(&a.pooja), body).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "a bearer token is not the webhook secret");
        let resp = a
            .http
            .post(format!("{}?action=webhook&token={}", a.base, r.token))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(r.db.store.last_event_at().await.expect("q").is_some());
    })
    .await;
}

/// Reads server-sent `call` events from `resp` until `done` says enough or `ms` pass.
async fn read_events(resp: &mut reqwest::Response, ms: u64, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut buf = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(ms);
    while !done(&events) {
        let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, resp.chunk()).await else { break };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:")) {
                events.push(serde_json::from_str(data.trim()).expect("event json"));
            }
        }
    }
    events
}

fn call_ids(events: &[Value]) -> Vec<i64> {
    events.iter().filter_map(|e| e["call"]["id"].as_i64()).collect()
}

#[tokio::test]
async fn events_need_a_token_and_show_what_its_caller_may_see() {
    each_backend(|db| async move {
        let r = rig(db, 10).await;
        let a = api(&r).await;
        let now = chrono::Utc::now();
        r.db.store.add_caller(9, "Meera", calldesk::domain::Role::Supervisor, now).await.expect("supervisor");
        let boss = tokens::generate();
        r.db.store.insert_token(9, &calldesk::domain::token::hash(&boss), now).await.expect("token");
        let gone = tokens::generate();
        r.db.store.insert_token(4, &calldesk::domain::token::hash(&gone), now).await.expect("token");
        r.db.store.add_caller(5, "Asha", calldesk::domain::Role::Agent, now).await.expect("caller");
        let revoked = tokens::generate();
        r.db.store.insert_token(5, &calldesk::domain::token::hash(&revoked), now).await.expect("token");
        r.db.store.revoke_tokens(5, now).await.expect("revoke");

        let url = format!("http://{}/events", r.addr);
        let open = |token: Option<String>| {
            let mut req = a.http.get(&url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req.send()
        };
        for (token, reason) in [
            (None, "Missing bearer token (Authorization: Bearer <token>)"),
            (Some("cd_not-a-real-token".to_string()), "Invalid or revoked token"),
            (Some(revoked.clone()), "Invalid or revoked token"),
        ] {
            let resp = open(token.clone()).await.expect("send");
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{token:?}");
            assert_eq!(resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert_eq!(body["error"], json!(reason), "{token:?}");
        }

        let mut pooja = open(Some(a.pooja.clone())).await.expect("send");
        let mut ravi = open(Some(a.ravi.clone())).await.expect("send");
        let mut meera = open(Some(boss.clone())).await.expect("send");
        for s in [&pooja, &ravi, &meera] {
            assert_eq!(s.status(), StatusCode::OK);
        }
        use calldesk::coord::dialer::CallKind::Manual;
        let p1 = r.dialer.place_call(3, "D1", None, Manual).await.expect("call").id;
        let r2 = r.dialer.place_call(4, "D2", None, Manual).await.expect("call").id;
        let p3 = r.dialer.place_call(3, "D3", None, Manual).await.expect("call").id;

        let seen = read_events(&mut pooja, 5000, |e| call_ids(e).contains(&p3)).await;
        assert!(call_ids(&seen).contains(&p1) && call_ids(&seen).contains(&p3), "{seen:?}");
        assert!(seen.iter().all(|e| e["call"]["caller_id"] == json!(3)), "only Pooja's calls: {seen:?}");
        // Ravi's call came between Pooja's two, and Pooja's second was seen above: anything of
        // hers sent to him would be here by the end of this read.
        let seen = read_events(&mut ravi, 1000, |e| e.len() > 1).await;
        assert_eq!(call_ids(&seen).first(), Some(&r2), "{seen:?}");
        assert!(seen.iter().all(|e| e["call"]["caller_id"] == json!(4)), "only Ravi's calls: {seen:?}");
        let seen = read_events(&mut meera, 5000, |e| [p1, r2, p3].iter().all(|id| call_ids(e).contains(id))).await;
        assert!([p1, r2, p3].iter().all(|id| call_ids(&seen).contains(id)), "a supervisor sees all: {seen:?}");
    })
    .await;
}

#[tokio::test]
async fn healthz_says_ok_or_degraded_and_nothing_more() {
    each_backend(|db| async move {
        let r = rig(db, 10).await;
        let url = format!("http://{}/healthz", r.addr);
        let resp = reqwest::get(&url).await.expect("send");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.json::<Value>().await.unwrap_or(Value::Null), json!({"ok": true, "status": "ok"}));
        r.db.store.close().await;
        let resp = reqwest::get(&url).await.expect("send");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            resp.json::<Value>().await.unwrap_or(Value::Null),
            json!({"ok": false, "status": "degraded"}),
            "no database error text for whoever asks"
        );
    })
    .await;
}

/// `calldesk serve`'s listener (webhook, API, health, events) on loopback, as `serve` starts it,
/// with the simulator as TeleCMI; returns the API's URL and Pooja's token.
async fn served(db: &common::TestDb) -> (calldesk::telecmi::simulator::Simulator, String, String) {
    use calldesk::config::{Config, RawSettings, Secret};
    let sim = calldesk::telecmi::simulator::Simulator::start(
        common::APP_ID,
        common::SECRET,
        std::time::Duration::from_millis(10),
    )
    .await
    .expect("simulator");
    let config = Config::from_raw(RawSettings {
        telecmi_app_id: Some(common::APP_ID.into()),
        telecmi_app_secret: Some(Secret::new(common::SECRET)),
        telecmi_base_url: Some(sim.base_url()),
        telecmi_agents: Some("3:5003".into()),
        webhook_addr: Some("127.0.0.1:0".into()),
        webhook_token: Some(Secret::new("app-replay-webhook-token-0123")),
        calling_hours: Some(common::ALL_DAY.into()),
        ..RawSettings::default()
    })
    .expect("config");
    let config = std::sync::Arc::new(config);
    let bus = calldesk::coord::bus::new_bus();
    let dialer = calldesk::coord::dialer::Dialer::new(db.store.clone(), config.clone(), bus.clone()).expect("dialer");
    let l = calldesk::commands::session::start_listener(&db.store, &config, &bus, Some(dialer)).await.expect("listen");
    sim.set_webhook_url(format!("http://{}/webhook/telecmi/{}", l.addr, l.token.expose()));
    let now = chrono::Utc::now();
    fixtures::seed(&db.store, &[(3, "Pooja")], &fixtures::drivers(0..10, 3), now).await;
    let token = tokens::generate();
    db.store.insert_token(3, &calldesk::domain::token::hash(&token), now).await.expect("token");
    (sim, format!("http://{}/api/telecmi_production_api.php", l.addr), token)
}

/// Where the driver should be after the outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Queue {
    Gone,
    /// Retried after the 30-minute delay.
    Retry,
    /// A callback, due after at least this many hours.
    Callback {
        after_hours: i64,
    },
}

/// The old Flutter app's own requests, byte for byte as its `api_service.dart` sends them (its
/// `CallStatus` names as `status`, its feedback texts, `null` remarks and duration, its headers),
/// against `calldesk serve`: every one is saved; the status stays TeleCMI's; the class picks the
/// queue effect when the text does not.
#[tokio::test]
async fn the_old_apps_own_requests_work_as_sent() {
    each_backend(|db| async move {
        let (sim, base, token) = served(&db).await;
        let http = reqwest::Client::new();
        let send = |action: &str, body: String| {
            http.post(format!("{base}?action={action}"))
                .header("Content-Type", "application/json; charset=utf-8")
                .header("Accept", "application/json")
                .header("Authorization", format!("Bearer {token}"))
                .body(body)
                .send()
        };
        let talk = Outcome::Answered { talk_secs: 21 };
        let cases = [
            (talk, r#""status":"connected","feedback":"Connected","remarks":null,"call_duration":null"#, "completed", 21, Queue::Gone),
            (Outcome::DriverNoAnswer, r#""status":"notReachable","feedback":"Not Reachable","remarks":null,"call_duration":null"#, "missed", 0, Queue::Retry),
            (Outcome::DriverNoAnswer, r#""status":"callBack","feedback":"Ringing / Call Busy","remarks":"","call_duration":0"#, "missed", 0, Queue::Retry),
            (talk, r#""status":"callBackLater","feedback":"Call Tomorrow Morning","remarks":"driving now","call_duration":21"#, "completed", 21, Queue::Callback { after_hours: 3 }),
            (talk, r#""status":"callBackLater","feedback":"Call Back","remarks":null,"call_duration":null"#, "completed", 21, Queue::Callback { after_hours: 1 }),
            (talk, r#""status":"notInterested","feedback":"Not Interested","remarks":null,"call_duration":null"#, "completed", 21, Queue::Gone),
            (Outcome::Rejected, r#""status":"invalid","feedback":"Invalid Number","remarks":null,"call_duration":null"#, "missed", 0, Queue::Gone),
            (Outcome::DriverNoAnswer, r#""status":"pending","feedback":"Call Back","remarks":null,"call_duration":null"#, "missed", 0, Queue::Retry),
        ];
        for (i, (outcome, fields, status, duration, queue)) in cases.into_iter().enumerate() {
            let driver = format!("D{i}");
            sim.push_outcome(outcome);
            let resp = send("click_to_call", format!(r#"{{"caller_id":3,"driver_id":"{driver}","driver_mobile":"91987654321{i}"}}"#))
                .await
                .expect("send");
            assert_eq!(resp.status(), StatusCode::OK, "{driver}");
            let v: Value = resp.json().await.expect("json");
            let rid = v["data"]["request_id"].as_str().expect("request_id").to_string();
            let call = db.store.call_by_reference(&rid).await.expect("q").expect("call");
            let ended = common::settle(&db.store, call.id).await;
            assert_eq!(ended.status.as_deref(), Some(status), "{fields}");

            let before = chrono::Utc::now();
            let resp = send("update_feedback", format!(r#"{{"reference_id":"{rid}",{fields}}}"#)).await.expect("send");
            assert_eq!(resp.status(), StatusCode::OK, "{fields}");
            let v: Value = resp.json().await.expect("json");
            assert_eq!(v["message"], json!("Feedback updated successfully"), "{v}");
            let sent: Value = serde_json::from_str(&format!("{{{fields}}}")).expect("fields");
            let row = db.store.call(call.id).await.expect("q").expect("call");
            assert_eq!(row.status.as_deref(), Some(status), "the app's class never moves the status: {fields}");
            assert_eq!(v["data"]["status"], json!(status));
            assert_eq!(row.feedback.as_deref(), sent["feedback"].as_str(), "stored as sent");
            assert_eq!(row.remarks.as_deref(), Some(sent["remarks"].as_str().unwrap_or("")), "{fields}");
            assert_eq!(row.call_duration, Some(duration), "null keeps TeleCMI's seconds: {fields}");

            let entry = db.store.queue_entry(&driver).await.expect("queue");
            match queue {
                Queue::Gone => assert!(entry.is_none(), "{fields}: {entry:?}"),
                Queue::Retry => {
                    let e = entry.expect("still queued");
                    assert_eq!(e.priority, 1, "{fields}");
                    let wait = e.due_at.and_utc() - before;
                    assert!((29..=31).contains(&wait.num_minutes()), "{fields}: due in {wait}");
                    assert_eq!(e.last_outcome.as_deref(), sent["feedback"].as_str());
                }
                Queue::Callback { after_hours } => {
                    let e = entry.expect("still queued");
                    assert_eq!(e.priority, 0, "a callback is listed first: {fields}");
                    let wait = e.due_at.and_utc() - before;
                    assert!(wait.num_minutes() >= after_hours * 60 - 1 && wait.num_days() < 3, "{fields}: due in {wait}");
                }
            }
            let closed = db.store.driver_closed_reason(&driver).await.expect("driver");
            let want = (sent["status"] == json!("invalid")).then(|| "invalid number".to_string());
            assert_eq!(closed, want, "only `invalid` marks the number wrong: {fields}");
        }
        // Re-importing the driver with the same number does not queue them again; a new number does.
        let d6 = |mobile: &str| fixtures::driver("D6", "Driver 6", mobile, Some(3));
        let now = chrono::Utc::now();
        db.store.import_drivers(&[d6("919876543216")], now).await.expect("import");
        assert!(db.store.queue_entry("D6").await.expect("q").is_none(), "a wrong number stays closed");
        db.store.import_drivers(&[d6("919876543299")], now).await.expect("import");
        assert!(db.store.queue_entry("D6").await.expect("q").is_some(), "a corrected number reopens the driver");
        assert_eq!(db.store.driver_closed_reason("D6").await.expect("driver"), None);
    })
    .await;
}
