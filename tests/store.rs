//! The store API on SQLite and on a real MariaDB server, through the same test code.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::webhooks::event;
use common::{each_backend, fixtures};

use calldesk::domain::{CallStatus, Driver, FeedbackCatalog, Leg, Provider, QueueDecision, Role, Signal};
use calldesk::store::{ApplyOutcome, CallFilter, CallPage, FeedbackDraft, NewCall, Store, StoreError, SubmitFeedback};

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).single().expect("time")
}

/// A driver with a TMID, in Pune.
fn driver(id: &str, name: &str, mobile: &str, caller: Option<i64>) -> Driver {
    Driver {
        tmid: Some(format!("TM{id}")),
        city: Some("Pune".into()),
        state: Some("MH".into()),
        ..fixtures::driver(id, name, mobile, caller)
    }
}

async fn seed(store: &Store) {
    let drivers: Vec<Driver> = (1..=25)
        .map(|i| {
            driver(
                &format!("D{i:02}"),
                &format!("Driver {i:02}"),
                &format!("9198765432{i:02}"),
                Some(if i <= 20 { 3 } else { 4 }),
            )
        })
        .collect();
    fixtures::seed(store, &[(3, "Pooja"), (4, "Ravi")], &drivers, t0()).await;
}

/// A call by Pooja (3); a TeleCMI one as her TeleCMI user.
fn new_call(d: &Driver, provider: Provider) -> NewCall {
    match provider {
        Provider::Telecmi => fixtures::telecmi_call(d, 3, "5003_33336628"),
        _ => fixtures::call_to(d, 3, provider),
    }
}

#[tokio::test]
async fn migrations_create_the_schema_and_rerun_cleanly() {
    each_backend(|db| async move {
        db.store.migrate().await.expect("second migrate is a no-op");
        db.store.ping().await.expect("ping");
        assert_eq!(db.store.count_calls(&CallFilter::default()).await.expect("count"), 0);
        let again = Store::open(&db.url).await.expect("reopen");
        again.migrate().await.expect("migrate again");
    })
    .await;
}

#[tokio::test]
async fn callers_and_tokens() {
    each_backend(|db| async move {
        let s = &db.store;
        s.add_caller(3, "Pooja", Role::Agent, t0()).await.expect("add");
        s.add_caller(3, "Pooja S", Role::Supervisor, t0()).await.expect("rename");
        s.add_caller(3, "Pooja S", Role::Supervisor, t0()).await.expect("same again");
        let c = s.caller(3).await.expect("get").expect("exists");
        assert_eq!((c.name.as_str(), c.role.as_str()), ("Pooja S", "supervisor"));
        assert_eq!(s.callers().await.expect("list").len(), 1);
        assert!(s.caller(99).await.expect("get").is_none());

        s.insert_token(3, "aa".repeat(32).as_str(), t0()).await.expect("token");
        assert_eq!(s.caller_for_token(&"aa".repeat(32)).await.expect("lookup"), Some(3));
        assert_eq!(s.caller_for_token(&"bb".repeat(32)).await.expect("lookup"), None);
        assert_eq!(s.revoke_tokens(3, t0()).await.expect("revoke"), 1);
        assert_eq!(s.caller_for_token(&"aa".repeat(32)).await.expect("lookup"), None);
    })
    .await;
}

#[tokio::test]
async fn import_queues_assigned_drivers_and_pages_by_keyset() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        assert_eq!(s.queue_counts(3, t0()).await.expect("counts"), (20, 20));
        assert_eq!(s.queue_counts(4, t0()).await.expect("counts"), (5, 5));

        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = s.due_queue(3, t0(), &Default::default(), after.as_ref(), 7, None).await.expect("page");
            if page.is_empty() {
                break;
            }
            after = page.last().map(|e| e.cursor());
            seen.extend(page.into_iter().map(|e| e.driver_id));
        }
        assert_eq!(seen.len(), 20);
        assert_eq!(seen.first().map(String::as_str), Some("D01"));
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "stable order, no duplicates across pages");

        let filtered = s.due_queue(3, t0(), &Default::default(), None, 50, Some("driver 1")).await.expect("filter");
        assert_eq!(filtered.len(), 10, "Driver 10..19");
        let by_mobile =
            s.due_queue(3, t0(), &Default::default(), None, 50, Some("919876543207")).await.expect("filter");
        assert_eq!(by_mobile.iter().map(|e| e.driver_id.as_str()).collect::<Vec<_>>(), ["D07"]);
        let by_tmid = s.due_queue(3, t0(), &Default::default(), None, 50, Some("tmd05")).await.expect("filter");
        assert_eq!(by_tmid.len(), 1);
        assert!(
            s.due_queue(3, t0(), &Default::default(), None, 50, Some("%")).await.expect("filter").is_empty(),
            "% is literal"
        );

        // Not yet due drivers are not listed; re-import reassigns.
        assert!(
            s.due_queue(3, t0() - Duration::seconds(1), &Default::default(), None, 50, None)
                .await
                .expect("early")
                .is_empty()
        );
        let out = s
            .import_drivers(&[driver("D01", "Driver 01 renamed", "919876543201", Some(4))], t0())
            .await
            .expect("re-import");
        assert_eq!((out.inserted, out.updated, out.queued), (0, 1, 0));
        assert_eq!(s.queue_counts(4, t0()).await.expect("counts").0, 6);
        assert_eq!(s.driver("D01").await.expect("driver").map(|d| d.name), Some("Driver 01 renamed".into()));
    })
    .await;
}

#[tokio::test]
async fn a_call_is_logged_before_dialing_and_double_dials_are_refused() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let d = s.driver("D02").await.expect("get").expect("driver");
        let call = s.start_call(&new_call(&d, Provider::Telecmi), t0()).await.expect("start");
        assert_eq!(call.status.as_deref(), Some("initiated"));
        assert_eq!(call.call_type.as_deref(), Some("ivr"));
        assert_eq!(call.provider.as_deref(), Some("telecmi"));
        assert_eq!(call.driver_tmid.as_deref(), Some("TMD02"));
        assert_eq!(call.created_at, t0());
        let e = s.start_call(&new_call(&d, Provider::Telecmi), t0() + Duration::seconds(5)).await.expect_err("live");
        assert!(e.to_string().contains("still in progress"), "{e}");

        s.mark_failed(call.id, "TeleCMI refused: Authentication Failed").await.expect("fail");
        // A failed dial rang nobody: retrying by hand right away is allowed.
        let manual = s
            .start_call(&new_call(&d, Provider::Manual), t0() + Duration::seconds(10))
            .await
            .expect("retry after failure");
        assert_eq!(manual.call_type.as_deref(), Some("manual"));
        assert_eq!(s.queue_entry("D02").await.expect("q").map(|q| q.attempts), Some(2));
        // A call that ended normally still blocks a redial for 30 s.
        let d11 = s.driver("D11").await.expect("get").expect("driver");
        let ended = s.start_call(&new_call(&d11, Provider::Manual), t0()).await.expect("start");
        s.submit_feedback(
            &SubmitFeedback {
                call_id: ended.id,
                status: Some(CallStatus::Missed),
                feedback: "Ringing / Call Busy".into(),
                ..Default::default()
            },
            &FeedbackCatalog::default(),
            t0(),
        )
        .await
        .expect("submit");
        let e =
            s.start_call(&new_call(&d11, Provider::Manual), t0() + Duration::seconds(10)).await.expect_err("too soon");
        assert!(e.to_string().contains("wait 20s"), "{e}");
        let abandoned =
            s.start_call(&new_call(&d11, Provider::Manual), t0() + Duration::seconds(31)).await.expect("after the gap");
        assert!(abandoned.call_status().is_live());
        // Never wrapped up: it blocks a redial for a while, not forever.
        assert!(s.start_call(&new_call(&d11, Provider::Manual), t0() + Duration::minutes(90)).await.is_err());
        s.start_call(&new_call(&d11, Provider::Manual), t0() + Duration::hours(3))
            .await
            .expect("abandoned call lapses");

        let failed = s.call(call.id).await.expect("get").expect("call");
        assert_eq!(failed.status.as_deref(), Some("failed"));
        assert_eq!(failed.remarks.as_deref(), Some("TeleCMI refused: Authentication Failed"));
        s.set_reference(manual.id, "req-1").await.expect("ref");
        assert_eq!(s.call_by_reference("req-1").await.expect("by ref").map(|c| c.id), Some(manual.id));
        assert_eq!(s.live_calls(Some(3)).await.expect("live").len(), 3, "the manual retry and two D11 redials");
        assert_eq!(s.live_calls(Some(4)).await.expect("live").len(), 0);
    })
    .await;
}

#[tokio::test]
async fn events_apply_forward_only_and_once() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let d = s.driver("D03").await.expect("get").expect("driver");
        let call = s.start_call(&new_call(&d, Provider::Telecmi), t0()).await.expect("start");
        let id = call.id;
        let steps = [
            (event(id, Leg::A, "event", "started", Signal::Started, None), "ringing"),
            (event(id, Leg::B, "event", "answered", Signal::Answered, None), "connected"),
            (event(id, Leg::A, "event", "started", Signal::Started, None), "connected"), // duplicate
            (event(id, Leg::B, "event", "hangup", Signal::Hangup, None), "completed"),
            (event(id, Leg::B, "cdr", "answered", Signal::Report { answered: true }, Some(42)), "completed"),
            (event(id, Leg::A, "cdr", "answered", Signal::Report { answered: true }, Some(99)), "completed"),
        ];
        let mut dup = 0;
        for (ev, want) in steps {
            match s.apply_event(&ev, t0()).await.expect("apply") {
                ApplyOutcome::Applied { call, .. } => assert_eq!(call.status.as_deref(), Some(want)),
                ApplyOutcome::Duplicate => dup += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(dup, 1);
        let c = s.call(id).await.expect("get").expect("call");
        assert_eq!(c.call_duration, Some(42), "duration from leg B only");
        assert_eq!(s.call_events(id).await.expect("events").len(), 5);

        // A late "started" never reopens a completed call.
        let late = event(id, Leg::B, "event", "started", Signal::Started, None);
        assert!(matches!(s.apply_event(&late, t0()).await.expect("apply"), ApplyOutcome::Applied { .. }));
        assert_eq!(s.call(id).await.expect("get").and_then(|c| c.status), Some("completed".into()));

        // Unknown call: kept for audit, acknowledged.
        let mut stray = event(999_999, Leg::B, "cdr", "missed", Signal::Report { answered: false }, None);
        stray.dedup_key = "stray".into();
        assert_eq!(s.apply_event(&stray, t0()).await.expect("apply"), ApplyOutcome::Unmatched);
        assert!(s.last_event_at().await.expect("last").is_some());
    })
    .await;
}

#[tokio::test]
async fn events_find_calls_by_request_id_or_user_and_number() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let d4 = s.driver("D04").await.expect("get").expect("driver");
        let d5 = s.driver("D05").await.expect("get").expect("driver");
        let a = s.start_call(&new_call(&d4, Provider::Telecmi), t0()).await.expect("start");
        let b = s.start_call(&new_call(&d5, Provider::Telecmi), t0()).await.expect("start");
        s.set_reference(a.id, "REQ-A").await.expect("ref");
        let mut ev = event(0, Leg::B, "event", "answered", Signal::Answered, None);
        ev.call_log_id = None;
        ev.request_id = Some("REQ-A".into());
        ev.dedup_key = "REQ-A|b|event|answered".into();
        match s.apply_event(&ev, t0()).await.expect("apply") {
            ApplyOutcome::Applied { call, before, .. } => {
                assert_eq!((call.id, before), (a.id, CallStatus::Initiated));
                assert_eq!(call.status.as_deref(), Some("connected"));
            }
            other => panic!("{other:?}"),
        }
        let mut old = event(0, Leg::Unknown, "cdr", "missed", Signal::Report { answered: false }, None);
        old.call_log_id = None;
        old.telecmi_user = Some("5003_33336628".into());
        old.number = Some(d5.mobile.clone());
        old.dedup_key = "old|cdr|missed".into();
        match s.apply_event(&old, t0()).await.expect("apply") {
            ApplyOutcome::Applied { call, .. } => assert_eq!((call.id, call.status.as_deref()), (b.id, Some("missed"))),
            other => panic!("{other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn feedback_removes_or_requeues_the_driver_in_one_transaction() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let catalog = FeedbackCatalog::default();
        let now = t0();

        // Connected outcome: driver leaves the queue.
        let d = s.driver("D06").await.expect("get").expect("driver");
        let c = s.start_call(&new_call(&d, Provider::Manual), now).await.expect("start");
        let draft =
            FeedbackDraft { call_log_id: c.id, caller_id: 3, remarks: Some("half typed".into()), ..Default::default() };
        s.save_draft(&draft, now).await.expect("draft");
        let wrap = s.unfinished_wrapups(3, now - Duration::days(1)).await.expect("unfinished");
        assert_eq!(wrap.len(), 1);
        assert_eq!(wrap[0].1.as_ref().and_then(|d| d.remarks.clone()), Some("half typed".into()));
        let (call, decision) = s
            .submit_feedback(
                &SubmitFeedback {
                    call_id: c.id,
                    status: Some(CallStatus::Completed),
                    feedback: "Interview Fixed".into(),
                    remarks: "Monday 10am".into(),
                    call_duration: Some(95),
                },
                &catalog,
                now,
            )
            .await
            .expect("submit");
        assert_eq!(decision, QueueDecision::Remove);
        assert_eq!(
            (call.status.as_deref(), call.feedback.as_deref(), call.call_duration),
            (Some("completed"), Some("Interview Fixed"), Some(95))
        );
        assert!(s.queue_entry("D06").await.expect("q").is_none());
        assert!(s.unfinished_wrapups(3, now - Duration::days(1)).await.expect("unfinished").is_empty(), "draft gone");

        // Call Back Later: requeued as a callback, listed before fresh drivers once due.
        let d = s.driver("D07").await.expect("get").expect("driver");
        let c = s.start_call(&new_call(&d, Provider::Manual), now).await.expect("start");
        let (_, decision) = s
            .submit_feedback(
                &SubmitFeedback {
                    call_id: c.id,
                    status: Some(CallStatus::Completed),
                    feedback: "Busy Right Now".into(),
                    ..Default::default()
                },
                &catalog,
                now,
            )
            .await
            .expect("submit");
        let QueueDecision::Requeue { due_at, callback: true } = decision else { panic!("{decision:?}") };
        assert!(
            s.due_queue(3, now, &Default::default(), None, 50, None)
                .await
                .expect("q")
                .iter()
                .all(|e| e.driver_id != "D07"),
            "not due yet"
        );
        let later = s.due_queue(3, due_at, &Default::default(), None, 50, None).await.expect("q");
        assert_eq!(
            later.first().map(|e| (e.driver_id.as_str(), e.last_outcome.as_deref())),
            Some(("D07", Some("Busy Right Now")))
        );

        // Not Connected: retried until attempts run out.
        let d = s.driver("D08").await.expect("get").expect("driver");
        let mut t = now;
        for attempt in 1..=3 {
            let c = s.start_call(&new_call(&d, Provider::Manual), t).await.expect("start");
            let (call, decision) = s
                .submit_feedback(
                    &SubmitFeedback {
                        call_id: c.id,
                        status: Some(CallStatus::Missed),
                        feedback: "Ringing / Call Busy".into(),
                        ..Default::default()
                    },
                    &catalog,
                    t,
                )
                .await
                .expect("submit");
            assert_eq!(call.status.as_deref(), Some("missed"));
            if attempt < 3 {
                assert!(matches!(decision, QueueDecision::Requeue { callback: false, .. }), "attempt {attempt}");
                assert!(s.queue_entry("D08").await.expect("q").is_some());
            } else {
                assert_eq!(decision, QueueDecision::Remove);
                assert!(s.queue_entry("D08").await.expect("q").is_none());
            }
            t += Duration::minutes(31);
        }

        // Bad input changes nothing.
        let d = s.driver("D09").await.expect("get").expect("driver");
        let c = s.start_call(&new_call(&d, Provider::Manual), now).await.expect("start");
        for bad in [
            SubmitFeedback { call_id: c.id, feedback: "".into(), ..Default::default() },
            SubmitFeedback { call_id: c.id, feedback: "Others".into(), remarks: "x".repeat(501), ..Default::default() },
            SubmitFeedback { call_id: c.id, feedback: "Others".into(), call_duration: Some(-1), ..Default::default() },
        ] {
            assert!(s.submit_feedback(&bad, &catalog, now).await.is_err());
        }
        let e = s
            .submit_feedback(
                &SubmitFeedback { call_id: 987_654, feedback: "Others".into(), ..Default::default() },
                &catalog,
                now,
            )
            .await
            .expect_err("unknown");
        assert!(e.to_string().contains("not found"));
        assert_eq!(s.call(c.id).await.expect("get").and_then(|c| c.feedback), None);
        assert!(s.queue_entry("D09").await.expect("q").is_some());
    })
    .await;
}

#[tokio::test]
async fn a_failure_inside_the_feedback_transaction_changes_nothing() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let d = s.driver("D10").await.expect("get").expect("driver");
        let c = s.start_call(&new_call(&d, Provider::Manual), t0()).await.expect("start");
        // Break the last statement of the transaction: the drafts table disappears.
        let raw = Store::connect(&db.url).await.expect("raw");
        raw_exec(&db.url, "DROP TABLE feedback_drafts").await;
        let r = s
            .submit_feedback(
                &SubmitFeedback {
                    call_id: c.id,
                    status: Some(CallStatus::Completed),
                    feedback: "Not Interested".into(),
                    remarks: "typed".into(),
                    call_duration: Some(5),
                },
                &FeedbackCatalog::default(),
                t0(),
            )
            .await;
        assert!(r.is_err(), "submit must fail");
        let after = s.call(c.id).await.expect("get").expect("call");
        assert_eq!((after.feedback, after.status.as_deref()), (None, Some("initiated")));
        assert!(s.queue_entry("D10").await.expect("q").is_some(), "driver still queued");
        raw.close().await;
    })
    .await;
}

async fn raw_exec(url: &str, sql: &'static str) {
    if url.starts_with("mysql") {
        let p = sqlx::MySqlPool::connect(url).await.expect("connect");
        sqlx::query(sql).execute(&p).await.expect("exec");
        p.close().await;
    } else {
        let p = sqlx::SqlitePool::connect(url).await.expect("connect");
        sqlx::query(sql).execute(&p).await.expect("exec");
        p.close().await;
    }
}

#[tokio::test]
async fn call_logs_filter_page_and_count() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let catalog = FeedbackCatalog::default();
        for i in 1..=12 {
            let d = s.driver(&format!("D{i:02}")).await.expect("get").expect("driver");
            let at = t0() + Duration::minutes(i);
            let c = s
                .start_call(&new_call(&d, if i % 2 == 0 { Provider::Telecmi } else { Provider::Manual }), at)
                .await
                .expect("start");
            let (status, fb) = if i % 3 == 0 {
                (CallStatus::Missed, "Ringing / Call Busy")
            } else {
                (CallStatus::Completed, "Interview Fixed")
            };
            s.submit_feedback(
                &SubmitFeedback {
                    call_id: c.id,
                    status: Some(status),
                    feedback: fb.into(),
                    call_duration: Some(i * 10),
                    ..Default::default()
                },
                &catalog,
                at,
            )
            .await
            .expect("submit");
        }
        let all = CallFilter { caller_id: Some(3), ..Default::default() };
        assert_eq!(s.count_calls(&all).await.expect("count"), 12);
        let missed = CallFilter { status: Some("missed".into()), ..all.clone() };
        assert_eq!(s.count_calls(&missed).await.expect("count"), 4);
        let tele = CallFilter { provider: Some("telecmi".into()), ..all.clone() };
        assert_eq!(s.count_calls(&tele).await.expect("count"), 6);
        let fb = CallFilter { feedback: Some("Interview Fixed".into()), ..all.clone() };
        assert_eq!(s.count_calls(&fb).await.expect("count"), 8);
        let window = CallFilter {
            from: Some(t0() + Duration::minutes(3)),
            until: Some(t0() + Duration::minutes(6)),
            ..all.clone()
        };
        assert_eq!(s.count_calls(&window).await.expect("count"), 3);

        let p1 = s.list_calls(&all, CallPage { before_id: None, offset: None, limit: 5 }).await.expect("p1");
        let p2 = s
            .list_calls(&all, CallPage { before_id: p1.last().map(|c| c.id), offset: None, limit: 5 })
            .await
            .expect("p2");
        let p2o =
            s.list_calls(&all, CallPage { before_id: None, offset: Some(5), limit: 5 }).await.expect("p2 by offset");
        assert_eq!(p1.len(), 5);
        assert!(p1.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        assert_eq!(p2.iter().map(|c| c.id).collect::<Vec<_>>(), p2o.iter().map(|c| c.id).collect::<Vec<_>>());
        assert!(p2[0].id < p1[4].id);
        assert!(p1[0].updated_at.is_some(), "updated_at set on update");
    })
    .await;
}

#[tokio::test]
async fn statistics_match_the_old_monitoring_queries() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let catalog = FeedbackCatalog::default();
        let day1 = t0() - Duration::days(1);
        let plan = [
            (day1, CallStatus::Completed, 60, "D01"),
            (day1, CallStatus::Failed, 0, "D02"),
            (t0(), CallStatus::Completed, 120, "D03"),
            (t0(), CallStatus::Completed, 30, "D04"),
            (t0(), CallStatus::Missed, 0, "D05"),
        ];
        for (at, status, dur, id) in plan {
            let d = s.driver(id).await.expect("get").expect("driver");
            let c = s.start_call(&new_call(&d, Provider::Telecmi), at).await.expect("start");
            if status == CallStatus::Failed {
                s.mark_failed(c.id, "refused").await.expect("fail");
            } else {
                let fb = if status == CallStatus::Missed { "Ringing / Call Busy" } else { "Not Interested" };
                s.submit_feedback(
                    &SubmitFeedback {
                        call_id: c.id,
                        status: Some(status),
                        feedback: fb.into(),
                        call_duration: Some(dur),
                        ..Default::default()
                    },
                    &catalog,
                    at,
                )
                .await
                .expect("submit");
            }
        }
        let today = s.stats(Some(3), t0() - Duration::hours(1), t0() + Duration::hours(1)).await.expect("stats");
        assert_eq!(today.total, 3);
        let completed = today.by_status.iter().find(|r| r.status == "completed").expect("completed row");
        assert_eq!(completed.count, 2);
        assert_eq!(completed.avg_duration, Some(75.0));
        assert_eq!(
            today.by_feedback.iter().map(|f| (f.feedback.as_str(), f.count)).collect::<Vec<_>>(),
            [("Not Interested", 2), ("Ringing / Call Busy", 1)]
        );
        assert_eq!(today.avg_duration, Some(50.0));
        assert_eq!(
            s.stats(Some(4), t0() - Duration::hours(1), t0() + Duration::hours(1)).await.expect("stats").total,
            0
        );

        let days =
            s.daily_stats(Some(3), &calldesk::domain::hours::local_days(t0(), chrono_tz::UTC, 8)).await.expect("daily");
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].date, t0().date_naive());
        assert_eq!((days[0].total_calls, days[0].completed, days[0].failed), (3, 2, 0));
        // The day before: one talk and one dial TeleCMI refused, which rang nobody and is counted
        // apart, not as a call.
        assert_eq!((days[1].total_calls, days[1].completed, days[1].failed, days[1].not_placed), (1, 1, 0, 1));
        assert!((days[0].connect_rate() - 66.666).abs() < 0.01);
        // In Los Angeles (UTC-8) 06:00 UTC calls fall on the previous local day.
        let la = calldesk::domain::hours::local_days(t0(), chrono_tz::America::Los_Angeles, 8);
        let shifted = s.daily_stats(Some(3), &la).await.expect("daily");
        assert_eq!(shifted[0].date, t0().date_naive() - Duration::days(1));
    })
    .await;
}

#[tokio::test]
async fn settings_keep_the_first_value() {
    each_backend(|db| async move {
        let s = &db.store;
        assert_eq!(s.setting("webhook_token").await.expect("get"), None);
        assert_eq!(s.setting_or_insert("webhook_token", "first").await.expect("set"), "first");
        assert_eq!(s.setting_or_insert("webhook_token", "second").await.expect("set"), "first");
    })
    .await;
}

#[tokio::test]
async fn latest_calls_gives_each_callers_newest_call_and_its_draft() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let mut newest = std::collections::HashMap::new();
        for (i, caller) in [(1, 3), (21, 4), (2, 3), (22, 4)] {
            let d = s.driver(&format!("D{i:02}")).await.expect("get").expect("driver");
            let c = s
                .start_call(&NewCall { caller_id: caller, ..new_call(&d, Provider::Manual) }, t0())
                .await
                .expect("start");
            newest.insert(caller, c.id);
        }
        let draft = FeedbackDraft {
            call_log_id: newest[&4],
            caller_id: 4,
            remarks: Some("typing".into()),
            ..Default::default()
        };
        s.save_draft(&draft, t0()).await.expect("draft");
        let mut got: Vec<(i64, i64, i64)> = s
            .latest_calls()
            .await
            .expect("latest")
            .into_iter()
            .map(|l| (l.call.caller_id.unwrap_or_default(), l.call.id, l.has_draft))
            .collect();
        got.sort();
        assert_eq!(got, vec![(3, newest[&3], 0), (4, newest[&4], 1)]);
    })
    .await;
}

/// Two consoles of one agent hold a wrap-up for the same call: the first save stands, the second
/// is refused with the call as saved, and nothing of the first (outcome, remarks, queue) changes.
/// The old API's update_feedback may still change an outcome.
#[tokio::test]
async fn a_second_consoles_wrap_up_never_overwrites_a_saved_outcome() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let d = s.driver("D01").await.expect("get").expect("driver");
        let c = s.start_call(&new_call(&d, Provider::Manual), t0()).await.expect("start");
        let catalog = FeedbackCatalog::default();
        let first = SubmitFeedback {
            call_id: c.id,
            feedback: "Busy Right Now".into(),
            remarks: "Driving, Call after 6PM".into(),
            ..Default::default()
        };
        let (saved, _) = s.submit_first_feedback(&first, &catalog, t0()).await.expect("first console saves");
        let queue_before = s.queue_entry("D01").await.expect("q");
        let second = SubmitFeedback { call_id: c.id, feedback: "Interview Fixed".into(), ..Default::default() };
        match s.submit_first_feedback(&second, &catalog, t0() + Duration::seconds(5)).await {
            Err(StoreError::AlreadySaved(call)) => {
                assert_eq!(call.feedback.as_deref(), Some("Busy Right Now"));
                assert_eq!(call.remarks.as_deref(), Some("Driving, Call after 6PM"));
            }
            other => panic!("the second console's save must be refused, got {other:?}"),
        }
        let row = s.call(c.id).await.expect("read").expect("call");
        assert_eq!(row, saved, "the saved outcome is untouched");
        assert_eq!(s.queue_entry("D01").await.expect("q"), queue_before, "the callback stands");
        // The old API's update is an update.
        let (updated, _) = s.submit_feedback(&second, &catalog, t0() + Duration::seconds(9)).await.expect("api update");
        assert_eq!(updated.feedback.as_deref(), Some("Interview Fixed"));
    })
    .await;
}

/// Consoles save wrap-up drafts at once, each through its own pool: every save lands, a second
/// save replaces the first, none fails. (On MariaDB a draft saved as a delete and an insert
/// deadlocked here: each delete of a row not there held the gap the other's insert needed.)
#[tokio::test]
async fn drafts_saved_at_once_by_many_consoles_all_land() {
    each_backend(|db| async move {
        let s = &db.store;
        seed(s).await;
        let mut calls = Vec::new();
        for i in 1..=12 {
            let d = s.driver(&format!("D{i:02}")).await.expect("get").expect("driver");
            calls.push(s.start_call(&new_call(&d, Provider::Manual), t0()).await.expect("start").id);
        }
        let mut consoles = Vec::new();
        for _ in &calls {
            consoles.push(Store::connect(&db.url).await.expect("a console's pool"));
        }
        for round in ["first", "second"] {
            let saves = calls.iter().zip(&consoles).map(|(id, console)| async move {
                let draft =
                    FeedbackDraft { call_log_id: *id, caller_id: 3, remarks: Some(round.into()), ..Default::default() };
                console.save_draft(&draft, t0()).await
            });
            for saved in futures::future::join_all(saves).await {
                saved.expect("every draft saved");
            }
        }
        let wrap = s.unfinished_wrapups(3, t0() - Duration::days(1)).await.expect("unfinished");
        let drafts: Vec<_> = wrap.iter().filter_map(|(_, d)| d.as_ref()).collect();
        assert_eq!(drafts.len(), calls.len());
        assert!(drafts.iter().all(|d| d.remarks.as_deref() == Some("second")), "{drafts:?}");
        for c in consoles {
            c.close().await;
        }
    })
    .await;
}
