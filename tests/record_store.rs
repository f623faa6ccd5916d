//! The record's rules where every path meets them, on SQLite and MariaDB (issue 22): no second
//! call to a driver whose wrap-up is unsaved (the store refuses it for the console, another agent
//! and the old API alike), an older outcome never overrides the queue a newer call decided, a
//! manual call the agent ended is no longer live, and remarks from two places are both kept.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::each_backend;
use common::fixtures::{self, call_to, manual_call};

use calldesk::coord::dialer::{CallKind, DialError};
use calldesk::domain::{CallStatus, FeedbackCatalog, Provider, QueueDecision};
use calldesk::store::{FeedbackDraft, Store, StoreError, SubmitFeedback};

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).single().expect("time")
}

async fn seed(store: &Store) {
    fixtures::seed(store, &[(3, "Pooja"), (4, "Ravi")], &fixtures::drivers(1..=3, 3), t0()).await;
}

fn outcome(call_id: i64, feedback: &str) -> SubmitFeedback {
    SubmitFeedback { call_id, status: Some(CallStatus::Completed), feedback: feedback.into(), ..Default::default() }
}

#[tokio::test]
async fn a_driver_whose_wrap_up_is_unsaved_cannot_be_dialed_by_anyone() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let d = s.driver("D1").await.expect("get").expect("driver");
        let first = s.start_call(&manual_call(&d, 3), t0()).await.expect("start");
        // The agent pressed e: the wrap-up began (a draft), the call is over but not saved.
        let draft = FeedbackDraft { call_log_id: first.id, caller_id: 3, ..Default::default() };
        s.save_draft(&draft, t0() + Duration::seconds(40)).await.expect("draft");
        assert!(s.live_calls(Some(3)).await.expect("live").is_empty(), "ended by the agent: not live");
        for caller in [3, 4] {
            match s.start_call(&manual_call(&d, caller), t0() + Duration::minutes(5)).await {
                Err(StoreError::WrapupOwed(c)) => assert_eq!(c.id, first.id),
                other => panic!("caller {caller}: expected the owed wrap-up, got {other:?}"),
            }
        }
        // Another driver is free.
        let d2 = s.driver("D2").await.expect("get").expect("driver");
        s.start_call(&manual_call(&d2, 3), t0() + Duration::minutes(5)).await.expect("another driver");
        // Saved: the driver may be called again.
        s.submit_first_feedback(&outcome(first.id, "Busy Right Now"), &FeedbackCatalog::default(), t0())
            .await
            .expect("save");
        s.start_call(&manual_call(&d, 3), t0() + Duration::minutes(6)).await.expect("after the save");
    })
    .await;
}

#[tokio::test]
async fn a_missed_telecmi_call_without_an_outcome_blocks_the_next_dial() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let d = s.driver("D3").await.expect("get").expect("driver");
        let c = call_to(&d, 3, Provider::Telecmi);
        let call = s.start_call(&c, t0()).await.expect("start");
        common::set_status(&db, call.id, "missed").await;
        let e = s.start_call(&c, t0() + Duration::minutes(2)).await.expect_err("owed");
        assert!(matches!(e, StoreError::WrapupOwed(ref owed) if owed.id == call.id), "{e:?}");
        // A week later it is history (the old system left many rows without feedback).
        s.start_call(&c, t0() + Duration::days(8)).await.expect("a week on");
    })
    .await;
}

#[tokio::test]
async fn an_older_outcome_never_overrides_the_queue_a_newer_call_decided() {
    each_backend(|db| async move {
        let s = &db.store;
        let catalog = FeedbackCatalog::default();
        seed(s).await;
        let d = s.driver("D1").await.expect("get").expect("driver");
        // A manual call left on the line (never ended) lapses after two hours; a new call goes out.
        let old = s.start_call(&manual_call(&d, 3), t0()).await.expect("old");
        let new = s.start_call(&manual_call(&d, 3), t0() + Duration::hours(3)).await.expect("new");
        let (_, decision) = s
            .submit_first_feedback(&outcome(new.id, "Call Tomorrow Morning"), &catalog, t0() + Duration::hours(3))
            .await
            .expect("newer saved");
        let QueueDecision::Requeue { due_at, callback: true } = decision else { panic!("{decision:?}") };
        // The older call's wrap-up is saved afterwards: recorded, but the queue stays.
        let (saved, decision) = s
            .submit_first_feedback(&outcome(old.id, "Not Interested"), &catalog, t0() + Duration::hours(4))
            .await
            .expect("older saved");
        assert_eq!(decision, QueueDecision::Kept { newer_call: new.id });
        assert_eq!(saved.feedback.as_deref(), Some("Not Interested"));
        let q = s.queue_entry("D1").await.expect("q").expect("still queued");
        assert_eq!(q.due_at.and_utc(), due_at, "the callback the newer call set stands");
    })
    .await;
}

#[tokio::test]
async fn remarks_saved_elsewhere_and_typed_in_a_wrap_up_are_both_kept() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let d = s.driver("D2").await.expect("get").expect("driver");
        let call = s.start_call(&manual_call(&d, 3), t0()).await.expect("start");
        let mut api = outcome(call.id, "Not Interested");
        api.remarks = "said no on the app".into();
        s.submit_feedback(&api, &FeedbackCatalog::default(), t0()).await.expect("api save");
        let c = s.add_remarks(call.id, 3, "  wants a call in March ").await.expect("added");
        assert_eq!(c.remarks.as_deref(), Some("said no on the app · wants a call in March"));
        assert_eq!(c.feedback.as_deref(), Some("Not Interested"), "the saved outcome stands");
        // Another agent cannot add to it; too long is refused and changes nothing.
        assert!(s.add_remarks(call.id, 4, "mine").await.is_err());
        let e = s.add_remarks(call.id, 3, &"x".repeat(480)).await.expect_err("too long");
        assert!(e.to_string().contains("do not fit"), "{e}");
        let c = s.call(call.id).await.expect("get").expect("call");
        assert_eq!(c.remarks.as_deref(), Some("said no on the app · wants a call in March"));
    })
    .await;
}

/// The old API's click_to_call meets the same rule: HTTP 409 naming the call.
#[tokio::test]
async fn the_dialer_refuses_an_owed_wrap_up_with_the_call_and_whose_it_is() {
    each_backend(|db| async move {
        let r = common::rig(db, 10).await;
        let s = &r.db.store;
        let call = r.dialer.place_call(3, "D4", None, CallKind::Manual).await.expect("placed");
        let draft = FeedbackDraft { call_log_id: call.id, caller_id: 3, ..Default::default() };
        s.save_draft(&draft, Utc::now()).await.expect("draft");
        let later = Utc::now() + Duration::minutes(1);
        let e = r.dialer.place_call_at(3, "D4", None, CallKind::Manual, later).await.expect_err("owed");
        assert!(matches!(e, DialError::WrapupOwed { .. }), "{e:?}");
        assert_eq!(e.http_status(), 409);
        let text = e.to_string();
        assert!(
            text.contains("Driver 4") && text.contains(&format!("#{}", call.id)) && text.contains("yours"),
            "{text}"
        );
        let e = r.dialer.place_call_at(4, "D4", None, CallKind::Manual, later).await.expect_err("owed");
        assert!(e.to_string().contains("waits for Pooja's wrap-up"), "{e}");
    })
    .await;
}

async fn exec(db: &common::TestDb, sql: &str) {
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&pool).await.expect("exec");
        pool.close().await;
    } else {
        let pool = sqlx::MySqlPool::connect(&db.url).await.expect("mysql");
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&pool).await.expect("exec");
        pool.close().await;
    }
}

/// the old API's update_feedback after the console's save
/// silently replaces the console's remarks.
#[tokio::test]
async fn the_old_api_changing_a_saved_outcome_keeps_the_saved_remarks() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let d = s.driver("D1").await.expect("get").expect("driver");
        let call = s.start_call(&manual_call(&d, 3), t0()).await.expect("start");
        let console = SubmitFeedback {
            call_id: call.id,
            status: Some(CallStatus::Completed),
            feedback: "Interview Fixed".into(),
            remarks: "prefers Monday 10am".into(),
            call_duration: Some(60),
        };
        s.submit_first_feedback(&console, &FeedbackCatalog::default(), t0()).await.expect("console save");
        let api = SubmitFeedback {
            call_id: call.id,
            status: None,
            feedback: "Interview Fixed".into(),
            remarks: String::new(),
            call_duration: None,
        };
        s.submit_feedback_with(&api, None, &FeedbackCatalog::default(), t0()).await.expect("api save");
        let c = s.call(call.id).await.expect("get").expect("call");
        assert!(c.remarks.as_deref().unwrap_or("").contains("prefers Monday"), "console remarks lost: {:?}", c.remarks);
    })
    .await;
}

/// a feedback-less row nobody's console lists (caller_id NULL, or an old-system agent) locks
/// the driver for everyone for 7 days; no console can open or save it.
#[tokio::test]
async fn a_row_no_console_can_open_does_not_lock_its_driver() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let d = s.driver("D2").await.expect("get").expect("driver");
        let at = (t0() - Duration::days(2)).format("%Y-%m-%d %H:%M:%S");
        exec(
            &db,
            &format!(
                "INSERT INTO call_logs (caller_id, driver_id, driver_mobile, driver_name, call_type, status, \
            provider, call_duration, created_at) VALUES (NULL, 'D2', '919876543212', 'Driver 2', 'ivr', 'completed', \
            'myoperator', 30, '{at}')"
            ),
        )
        .await;
        for caller in [3, 4] {
            assert!(s.unfinished_wrapups(caller, t0() - Duration::days(7)).await.expect("w").is_empty());
        }
        match s.start_call(&manual_call(&d, 3), t0()).await {
            Err(StoreError::WrapupOwed(c)) => panic!("driver locked by orphan call #{} that no console can open", c.id),
            other => {
                other.expect("dial");
            }
        }
    })
    .await;
}

/// a newer call that decided nothing (cancelled as logged by mistake) makes the older call's
/// real outcome "Kept": a driver who said "Not Interested" stays in the queue.
#[tokio::test]
async fn a_newer_dial_that_rang_nobody_decides_nothing() {
    each_backend(|db| async move {
        let s = &db.store;
        let catalog = FeedbackCatalog::default();
        seed(s).await;
        let d = s.driver("D3").await.expect("get").expect("driver");
        let old = s.start_call(&manual_call(&d, 3), t0()).await.expect("old");
        let new = s.start_call(&manual_call(&d, 3), t0() + Duration::hours(3)).await.expect("new");
        s.cancel_dial(new.id, 3, t0() + Duration::hours(3)).await.expect("cancel").expect("cancelled");
        let f = SubmitFeedback {
            call_id: old.id,
            status: Some(CallStatus::Completed),
            feedback: "Not Interested".into(),
            ..Default::default()
        };
        let (_, decision) = s.submit_first_feedback(&f, &catalog, t0() + Duration::hours(4)).await.expect("save");
        assert_eq!(decision, QueueDecision::Remove, "the cancelled call #{} decided nothing", new.id);
    })
    .await;
}

/// The queue shows `+91 98765 43212`; an agent types what they see into the filter.
#[tokio::test]
async fn the_queue_filter_finds_a_number_as_the_screen_shows_it() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let shown = calldesk::domain::phone::readable("919876543212");
        assert_eq!(shown, "+91 98765 43212");
        for typed in [shown.as_str(), "98765 43212", "9876543212"] {
            let rows = s.due_queue(3, t0(), &Default::default(), None, 50, Some(typed)).await.expect("queue");
            let ids: Vec<&str> = rows.iter().map(|e| e.driver_id.as_str()).collect();
            assert_eq!(ids, ["D2"], "typed {typed:?}");
        }
    })
    .await;
}
