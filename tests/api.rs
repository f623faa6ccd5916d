//! The old system's API against the real server on loopback: every status code and shape, and
//! the token rules it lacked.

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};

use calldesk::commands::tokens;
use calldesk::telecmi::simulator::Outcome;
use common::{Rig, each_backend, rig};

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
    r.db.store.insert_token(3, &tokens::hash(&pooja), now).await.expect("token");
    r.db.store.insert_token(4, &tokens::hash(&ravi), now).await.expect("token");
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
        r.dialer.place_call(3, "D2", None, calldesk::dialer::CallKind::Manual).await.expect("manual");
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
