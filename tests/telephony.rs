//! Every simulated outcome through the real client, the real listener and the store, on SQLite
//! and MariaDB; the webhook listener's answers to bad requests.

mod common;

use calldesk::coord::bus::Source;
use calldesk::coord::dialer::{CallKind, DialError};
use calldesk::telecmi::simulator::Outcome;
use common::{each_backend, rig, settle};

#[tokio::test]
async fn each_outcome_ends_in_the_right_call_log_row() {
    each_backend(|db| async move {
        let r = rig(db, 15).await;
        let cases = [
            (Outcome::Answered { talk_secs: 42 }, "completed", 42),
            (Outcome::DriverNoAnswer, "missed", 0),
            (Outcome::AgentNoAnswer, "missed", 0),
            (Outcome::Rejected, "missed", 0),
            (Outcome::Duplicate, "completed", 30),
            (Outcome::OutOfOrder, "completed", 30),
        ];
        for (i, (outcome, status, duration)) in cases.into_iter().enumerate() {
            r.sim.push_outcome(outcome);
            let call = r.dialer.place_call(3, &format!("D{i}"), None, CallKind::Telecmi).await.expect("placed");
            // Webhooks may race ahead of TeleCMI's HTTP answer: the call is live, maybe already ringing.
            assert!(call.call_status().is_live(), "{outcome:?}: {:?}", call.status);
            let placed = r.sim.placed().last().cloned().expect("simulator saw the call");
            assert_eq!(call.reference_id.as_deref(), Some(placed.request_id.as_str()), "reference_id = request_id");
            assert_eq!(placed.user_id, "5003_33336628");
            assert_eq!(placed.body["to"], serde_json::json!(919_876_543_210u64 + i as u64), "`to` is a JSON number");
            assert_eq!(placed.body["webrtc"], serde_json::json!(false));
            assert_eq!(placed.body["followme"], serde_json::json!(true));
            assert_eq!(placed.extra_params["calldesk_call_id"], serde_json::json!(call.id.to_string()));
            let done = settle(&r.db.store, call.id).await;
            assert_eq!(done.status.as_deref(), Some(status), "{outcome:?}");
            assert_eq!(done.call_duration, Some(duration), "{outcome:?}");
            assert_eq!((done.call_type.as_deref(), done.provider.as_deref()), (Some("ivr"), Some("telecmi")));
            assert_eq!(done.telecmi_user_id.as_deref(), Some("5003_33336628"));
            assert_eq!(done.driver_tmid, Some(format!("TM{i}")));
        }
        // Duplicates were acknowledged and stored once.
        let dup_call = r.db.store.call_by_reference(&r.sim.placed()[4].request_id).await.expect("q").expect("call");
        assert_eq!(r.db.store.call_events(dup_call.id).await.expect("events").len(), 8);
    })
    .await;
}

#[tokio::test]
async fn refused_calls_are_marked_failed_and_timed_out_calls_unconfirmed() {
    each_backend(|db| async move {
        let r = rig(db, 10).await;
        r.sim.push_outcome(Outcome::AuthFailure);
        let e = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect_err("auth");
        let DialError::Provider { message, call } = e else { panic!("{e:?}") };
        assert!(message.contains("authentication failed"), "{message}");
        assert_eq!(call.status.as_deref(), Some("failed"));
        assert!(call.remarks.as_deref().unwrap_or("").contains("407"));
        assert!(!message.contains(common::SECRET));
        // Nobody was rung, so the driver is not left claimed: another agent may call at once.
        r.dialer.place_call(4, "D1", None, CallKind::Manual).await.expect("claim released after the failure");

        r.sim.push_outcome(Outcome::InvalidUser);
        let e = r.dialer.place_call(3, "D2", None, CallKind::Telecmi).await.expect_err("404");
        assert!(e.to_string().contains("code 404"), "{e}");
        assert_eq!(e.http_status(), 500);
        // Nobody was rung: the refused dial does not use up one of the driver's attempts.
        assert_eq!(r.db.store.queue_attempts("D2").await.expect("attempts"), Some(0));

        r.sim.push_outcome(Outcome::Timeout);
        let started = std::time::Instant::now();
        let e = r.dialer.place_call(3, "D3", None, CallKind::Telecmi).await.expect_err("timeout");
        assert!(started.elapsed() < std::time::Duration::from_secs(12));
        // A timeout is not a refusal: the call may still ring, so it stays live and unconfirmed.
        assert_eq!(e.http_status(), 504);
        let DialError::Unconfirmed { message, call } = e else { panic!("{e:?}") };
        assert!(message.contains("did not answer within 10 s") && message.contains("may still ring"), "{message}");
        assert_eq!(call.status.as_deref(), Some("initiated"));
        assert!(call.is_unconfirmed());
    })
    .await;
}

#[tokio::test]
async fn rules_are_checked_before_any_call() {
    each_backend(|db| async move {
        let r = rig(db, 10).await;
        let e = r.dialer.place_call(4, "D1", None, CallKind::Telecmi).await.expect_err("not allowed");
        assert_eq!((e.http_status(), e.to_string().as_str()), (403, "You are not authorized to use TeleCMI calling."));
        let e = r.dialer.place_call(3, "nope", None, CallKind::Telecmi).await.expect_err("no driver");
        assert_eq!((e.http_status(), e.to_string().as_str()), (404, "Driver not found"));
        let e = r.dialer.place_call(3, "D1", Some("12345"), CallKind::Telecmi).await.expect_err("bad phone");
        assert_eq!(e.http_status(), 400);
        assert!(e.to_string().contains("10 to 15"), "{e}");
        assert!(r.sim.placed().is_empty(), "nothing reached TeleCMI");
        assert_eq!(r.db.store.count_calls(&Default::default()).await.expect("count"), 0, "nothing logged");

        // A repeated key press does not dial twice.
        r.sim.push_outcome(Outcome::Silent);
        r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect("first");
        let e = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect_err("second");
        assert_eq!(e.http_status(), 409);
        assert_eq!(r.sim.placed().len(), 1);

        // Manual calls skip the TeleCMI checks and are logged as manual.
        let m = r.dialer.place_call(4, "D5", None, CallKind::Manual).await.expect("manual");
        assert_eq!(
            (m.call_type.as_deref(), m.provider.as_deref(), m.telecmi_user_id.as_deref()),
            (Some("manual"), Some("manual"), None)
        );
    })
    .await;
}

#[tokio::test]
async fn bad_webhook_requests_get_their_codes_and_store_nothing() {
    each_backend(|db| async move {
        let r = rig(db, 10).await;
        let http = reqwest::Client::new();
        let good = format!("http://{}/webhook/telecmi/{}", r.addr, r.token);
        let sample = r#"{"type":"event","status":"started","leg":"a","request_id":"R1"}"#;
        let cases: Vec<(String, &str, Vec<u8>, u16)> = vec![
            (
                format!("http://{}/webhook/telecmi/wrong-token-0123456789", r.addr),
                "application/json",
                sample.into(),
                401,
            ),
            (format!("http://{}/webhook/telecmi/{}x", r.addr, r.token), "application/json", sample.into(), 401),
            (good.clone(), "application/json", vec![b' '; 70 * 1024], 413),
            (good.clone(), "application/json", b"{not json".to_vec(), 400),
            (good.clone(), "application/json", b"[1]".to_vec(), 400),
            (good.clone(), "application/json", br#"{"type":"event"}"#.to_vec(), 400),
            (good.clone(), "application/x-www-form-urlencoded", b"status=started".to_vec(), 415),
        ];
        for (url, ct, body, want) in cases {
            let resp = http.post(&url).header("content-type", ct).body(body).send().await.expect("send");
            let code = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            assert_eq!(code, want, "{url} {ct}: {text}");
            assert!(!text.is_empty(), "a reason is given");
        }
        assert_eq!(r.db.store.last_event_at().await.expect("q"), None, "nothing stored");

        // The documented sample for an unknown call: kept for audit, acknowledged.
        let resp = http.post(&good).header("content-type", "application/json").body(sample).send().await.expect("send");
        assert_eq!(resp.status().as_u16(), 200);
        assert!(resp.text().await.unwrap_or_default().contains("unmatched"));
        assert!(r.db.store.last_event_at().await.expect("q").is_some());

        let health = http.get(format!("http://{}/healthz", r.addr)).send().await.expect("health");
        assert_eq!(health.status().as_u16(), 200);
    })
    .await;
}

#[tokio::test]
async fn status_changes_reach_listeners_after_they_are_stored() {
    each_backend(|db| async move {
        let r = rig(db, 10).await;
        let mut rx = r.bus.subscribe();
        r.sim.push_outcome(Outcome::Answered { talk_secs: 5 });
        let call = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect("placed");
        let mut seen = Vec::new();
        while let Ok(Ok(u)) = tokio::time::timeout(std::time::Duration::from_secs(3), rx.recv()).await {
            // What the listener is told is what the store holds at that moment or later.
            let stored = r.db.store.call(u.call.id).await.expect("q").expect("call");
            assert!(stored.call_status() >= u.call.call_status() || stored.call_status().is_final());
            seen.push(u.call.status.clone().unwrap_or_default());
            if u.call.call_status().is_final()
                && u.source == Source::Webhook
                && u.provider_status.as_deref() == Some("answered")
                && u.leg.as_deref() == Some("a")
            {
                break;
            }
        }
        assert_eq!(call.id, r.db.store.call(call.id).await.expect("q").expect("c").id);
        for s in ["initiated", "ringing", "connected", "completed"] {
            assert!(seen.iter().any(|x| x == s), "{s} in {seen:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn events_stream_call_changes_to_other_programs() {
    let db = common::sqlite_db().await;
    let r = rig(db, 10).await;
    let token = calldesk::commands::tokens::generate();
    r.db.store.insert_token(3, &calldesk::domain::token::hash(&token), chrono::Utc::now()).await.expect("token");
    let mut resp = reqwest::Client::new()
        .get(format!("http://{}/events", r.addr))
        .bearer_auth(&token)
        .send()
        .await
        .expect("events");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"))
    );
    r.sim.push_outcome(Outcome::Answered { talk_secs: 2 });
    let call = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect("placed");
    let mut text = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !text.contains("\"connected\"") {
        assert!(std::time::Instant::now() < deadline, "no connected event in:\n{text}");
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), resp.chunk())
            .await
            .expect("chunk in time")
            .expect("chunk");
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap_or_default()));
    }
    assert!(text.contains("event: call"), "{text}");
    assert!(text.contains(&format!("\"id\":{}", call.id)), "{text}");
}
