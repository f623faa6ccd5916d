//! The do-not-call list on SQLite and MariaDB: every dial path refuses a listed number before a
//! row is written or TeleCMI is asked, listed drivers leave the queue (and come back when the
//! number is removed), and the outcome "Asked not to be called" lists the number and closes the
//! driver in the same transaction as the feedback.

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};

use calldesk::commands::tokens;
use calldesk::coord::dialer::{CallKind, DialError};
use calldesk::domain::{DO_NOT_CALL, DO_NOT_CALL_REASON, FeedbackCatalog, Phone};
use calldesk::store::{DncAdded, DncAdder, Store, SubmitFeedback};
use calldesk::telecmi::simulator::Outcome;
use common::{Rig, each_backend, rig, settle};

fn cli() -> DncAdder {
    DncAdder { caller_id: None, name: "cli".into() }
}

/// Lists driver `i`'s number (`91987654321i` in the rig), written another way.
async fn list(store: &Store, i: usize, reason: &str) {
    let phone = Phone::parse(&format!("+91 98765 4321{i}")).expect("phone");
    let added = store.dnc_add(&phone, Some(reason), &cli(), chrono::Utc::now()).await.expect("add");
    assert!(matches!(added, DncAdded::Added(_)), "{added:?}");
}

async fn click_to_call(r: &Rig, driver: &str, mobile: &str) -> (StatusCode, Value) {
    let token = tokens::generate();
    r.db.store.insert_token(3, &calldesk::domain::token::hash(&token), chrono::Utc::now()).await.expect("token");
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/telecmi_production_api.php?action=click_to_call", r.addr))
        .bearer_auth(token)
        .json(&json!({"caller_id": 3, "driver_id": driver, "driver_mobile": mobile}))
        .send()
        .await
        .expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_dial_path_refuses_a_listed_number_before_anything_is_written_or_dialed() {
    each_backend(|db| async move {
        let r = rig(db, 20).await;
        let s = &r.db.store;
        list(s, 1, "asked by email").await;
        for kind in [CallKind::Telecmi, CallKind::Manual] {
            match r.dialer.place_call(3, "D1", None, kind).await {
                Err(e @ DialError::DoNotCall(_)) => {
                    let m = e.to_string();
                    assert!(m.contains("+91 98765 43211 is on the do-not-call list"), "{m}");
                    assert!(m.contains("added by cli") && m.contains("asked by email"), "since, who and why: {m}");
                    assert_eq!(e.http_status(), 403);
                }
                other => panic!("{kind:?}: {other:?}"),
            }
        }
        // The old API, over HTTP: 403 in the old envelope, whatever format the number comes in.
        for mobile in ["919876543211", "09876543211", "+91 98765-43211"] {
            let (status, v) = click_to_call(&r, "D1", mobile).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
            assert_eq!(v["success"], json!(false));
            let m = v["message"].as_str().unwrap_or_default();
            assert!(m.contains("do-not-call list") && m.contains("asked by email"), "{v}");
        }
        // Another driver dialed on the listed number (the API sends the number to ring) is refused too.
        let (status, v) = click_to_call(&r, "D2", "9876543211").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
        assert!(s.driver_calls("D1", 10).await.expect("calls").is_empty(), "no call_logs row");
        assert!(s.driver_calls("D2", 10).await.expect("calls").is_empty(), "no call_logs row");
        assert!(r.sim.placed().is_empty(), "TeleCMI was never asked: {:?}", r.sim.placed());
        assert_eq!(s.queue_entry("D1").await.expect("q").map(|q| q.attempts), Some(0), "no attempt counted");

        // Taken off the list, the number can be called again.
        s.dnc_remove(&Phone::parse("9876543211").expect("phone")).await.expect("remove").expect("was listed");
        r.sim.push_outcome(Outcome::Answered { talk_secs: 5 });
        let call = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect("placed");
        assert_eq!(r.sim.placed().len(), 1);
        settle(s, call.id).await;
    })
    .await;
}

#[tokio::test]
async fn listed_drivers_leave_the_queue_and_its_counts_and_come_back_when_removed() {
    each_backend(|db| async move {
        let r = rig(db, 60_000).await;
        let s = &r.db.store;
        let now = chrono::Utc::now();
        let due = |s: Store| async move {
            let rows = s.due_queue(3, chrono::Utc::now(), &Default::default(), None, 50, None).await.expect("queue");
            rows.into_iter().map(|e| e.driver_id).collect::<Vec<_>>()
        };
        assert_eq!(due(s.clone()).await.len(), 10);
        list(s, 0, "national DNC register").await;
        list(s, 5, "asked").await;
        let ids = due(s.clone()).await;
        assert!(!ids.contains(&"D0".to_string()) && !ids.contains(&"D5".to_string()), "{ids:?}");
        assert_eq!(ids.len(), 8);
        assert_eq!(s.queue_counts(3, now).await.expect("counts"), (8, 8));
        let sizes = s.queue_sizes(now).await.expect("sizes");
        assert_eq!(sizes.iter().find(|r| r.0 == 3).map(|r| r.1), Some(8), "{sizes:?}");
        let until = now + chrono::Duration::minutes(5);
        assert!(!s.claim("D0", 4, until, now).await.expect("claim"), "a listed driver is never claimed");
        assert!(s.claim("D1", 4, until, now).await.expect("claim"));
        // Search and the card still find them, marked with the reason.
        let hits = s.search_drivers(3, "98765 43210", 10).await.expect("search");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].standing(now), calldesk::store::Standing::DoNotCall);
        assert_eq!(hits[0].dnc_reason.as_deref(), Some("national DNC register"));
        assert_eq!(hits[0].dnc_by.as_deref(), Some("cli"));
        let card = s.driver_hit("D5").await.expect("hit").expect("driver");
        assert!(card.dnc_since.is_some());
        // Removing the number gives the driver back their place.
        s.dnc_remove(&Phone::parse("919876543210").expect("phone")).await.expect("remove");
        let ids = due(s.clone()).await;
        assert_eq!(ids.first().map(String::as_str), Some("D0"), "back where they were: {ids:?}");
        assert_eq!(s.queue_counts(3, now).await.expect("counts"), (9, 9));
    })
    .await;
}

#[tokio::test]
async fn asked_not_to_be_called_lists_the_number_and_closes_the_driver_in_one_save() {
    each_backend(|db| async move {
        let r = rig(db, 20).await;
        let s = &r.db.store;
        r.sim.push_outcome(Outcome::Answered { talk_secs: 9 });
        let call = r.dialer.place_call(3, "D3", None, CallKind::Telecmi).await.expect("placed");
        settle(s, call.id).await;
        let submit = SubmitFeedback {
            call_id: call.id,
            feedback: DO_NOT_CALL.into(),
            remarks: "said never again".into(),
            ..SubmitFeedback::default()
        };
        let (saved, _) =
            s.submit_feedback(&submit, &FeedbackCatalog::default(), chrono::Utc::now()).await.expect("saved");
        assert_eq!(saved.feedback.as_deref(), Some(DO_NOT_CALL));
        let e = s.dnc_entry(&Phone::parse("9876543213").expect("phone")).await.expect("entry").expect("listed");
        assert_eq!((e.added_by, e.added_by_name.as_str()), (Some(3), "Pooja"));
        assert_eq!(e.reason, Some(format!("asked on call {}: said never again", call.id)));
        assert_eq!(s.driver_closed_reason("D3").await.expect("reason").as_deref(), Some(DO_NOT_CALL_REASON));
        assert!(s.queue_entry("D3").await.expect("q").is_none(), "the driver left the queue");
        let due = s.due_queue(3, chrono::Utc::now(), &Default::default(), None, 50, None).await.expect("queue");
        assert!(due.iter().all(|q| q.driver_id != "D3"));
        assert!(matches!(r.dialer.place_call(3, "D3", None, CallKind::Manual).await, Err(DialError::DoNotCall(_))));
        // Removing the number does not reopen a driver who asked, nor does re-importing them,
        // with their old number or a new one, --requeue or not.
        s.dnc_remove(&Phone::parse("9876543213").expect("phone")).await.expect("remove");
        assert!(s.queue_entry("D3").await.expect("q").is_none());
        let mut d3 = s.driver("D3").await.expect("d").expect("D3");
        for (mobile, requeue) in [("919876543213", false), ("919876543213", true), ("919000000313", true)] {
            d3.mobile = mobile.into();
            let o =
                s.import_drivers_with(std::slice::from_ref(&d3), requeue, chrono::Utc::now()).await.expect("import");
            assert_eq!((o.queued, o.kept_do_not_call), (0, 1), "{mobile} requeue {requeue}: {o:?}");
            assert_eq!(s.driver_closed_reason("D3").await.expect("reason").as_deref(), Some(DO_NOT_CALL_REASON));
            assert!(s.queue_entry("D3").await.expect("q").is_none(), "{mobile} requeue {requeue}");
            assert!(matches!(r.dialer.place_call(3, "D3", None, CallKind::Manual).await, Err(DialError::DoNotCall(_))));
        }

        // The old API's update_feedback with the same text does the same.
        r.sim.push_outcome(Outcome::Answered { talk_secs: 4 });
        let call = r.dialer.place_call(3, "D4", None, CallKind::Telecmi).await.expect("placed");
        let call = settle(s, call.id).await;
        let token = tokens::generate();
        s.insert_token(3, &calldesk::domain::token::hash(&token), chrono::Utc::now()).await.expect("token");
        let body =
            json!({"reference_id": call.reference_id, "status": "connected", "feedback": "Asked not to be called"});
        let resp = reqwest::Client::new()
            .post(format!("http://{}/api/telecmi_production_api.php?action=update_feedback", r.addr))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::OK);
        let e = s.dnc_entry(&Phone::parse("9876543214").expect("phone")).await.expect("entry").expect("listed");
        assert_eq!(e.reason, Some(format!("asked on call {}", call.id)));
        assert_eq!(s.driver_closed_reason("D4").await.expect("reason").as_deref(), Some(DO_NOT_CALL_REASON));
        assert!(s.queue_entry("D4").await.expect("q").is_none());
    })
    .await;
}
