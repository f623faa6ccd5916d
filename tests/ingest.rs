//! Group commit of webhooks: a batch applies each event exactly as it would alone (duplicates,
//! out-of-order events of one call, provisional marks, request ids learnt on the way), a bad event
//! fails alone. The listener's side is in `ingest_listener.rs`.

mod common;

use chrono::{Duration, Utc};
use common::webhooks::{USER, call, event, t0};
use common::{TestDb, each_backend};

use calldesk::domain::{CallLog, CallStatus, Leg, ProviderEvent, Signal};
use calldesk::store::{ApplyOutcome, Store};

/// What an outcome says, without the event ids (which differ between two runs).
fn summary(o: &ApplyOutcome) -> String {
    match o {
        ApplyOutcome::Applied { call, before, .. } => format!(
            "applied {before} -> {} dur={:?} remarks={:?} ref={:?}",
            call.status.as_deref().unwrap_or("-"),
            call.call_duration,
            call.remarks,
            call.reference_id
        ),
        other => format!("{other:?}").replace(char::is_numeric, ""),
    }
}

/// The call's stored state that webhooks change, and its events (leg, status).
async fn state(s: &Store, id: i64) -> String {
    let c = s.call(id).await.expect("call").expect("exists");
    let events: Vec<String> = s
        .call_events(id)
        .await
        .expect("events")
        .into_iter()
        .map(|e| format!("{}:{}:{}", e.kind, e.leg, e.status))
        .collect();
    let mark = s.provisional(id).await.expect("mark").map(|p| p.state);
    let rec = s.recording(id).await.expect("rec").map(|r| r.filename);
    format!(
        "{} dur={:?} remarks={:?} ref={:?} mark={mark:?} rec={rec:?} events={events:?}",
        c.status.as_deref().unwrap_or("-"),
        c.call_duration,
        c.remarks,
        c.reference_id
    )
}

/// The same events, for the call `to` instead of `from` (keys and ids rewritten).
fn retarget(evs: &[ProviderEvent], from: i64, to: i64) -> Vec<ProviderEvent> {
    evs.iter()
        .map(|e| {
            let mut e = e.clone();
            e.dedup_key =
                e.dedup_key.replace(&format!("c{from}|"), &format!("c{to}|")).replace("REQ-X", &format!("REQ-{to}"));
            if e.call_log_id == Some(from) {
                e.call_log_id = Some(to);
            }
            e.request_id = e.request_id.map(|r| r.replace("REQ-X", &format!("REQ-{to}")));
            e
        })
        .collect()
}

/// Applies `evs` one by one to one fresh call and as ONE batch to another: the outcomes and the
/// stored calls must be the same.
async fn batch_matches_one_by_one(
    s: &Store,
    n: usize,
    evs: Vec<ProviderEvent>,
    prepare: impl AsyncFn(&Store, &CallLog),
) {
    let (alone, together) = (call(s, n).await, call(s, n + 1).await);
    prepare(s, &alone).await;
    prepare(s, &together).await;
    let one_by_one = retarget(&evs, 0, alone.id);
    let mut want = vec![];
    for ev in &one_by_one {
        want.push(summary(&s.apply_event(ev, t0()).await.expect("apply")));
    }
    let batched = retarget(&evs, 0, together.id);
    let received: Vec<_> = batched.iter().map(|e| (e, t0())).collect();
    let got: Vec<String> =
        s.apply_events(&received).await.into_iter().map(|r| summary(&r.expect("batch apply"))).collect();
    let unref = |x: String, id: i64| x.replace(&format!("REQ-{id}"), "REQ");
    assert_eq!(
        got.into_iter().map(|x| unref(x, together.id)).collect::<Vec<_>>(),
        want.into_iter().map(|x| unref(x, alone.id)).collect::<Vec<_>>(),
        "outcomes"
    );
    assert_eq!(
        unref(state(s, together.id).await, together.id),
        unref(state(s, alone.id).await, alone.id),
        "stored call"
    );
}

#[tokio::test]
async fn a_batch_holding_a_duplicate_stores_it_once() {
    each_backend(|db| async move {
        let s = &db.store;
        let c = call(s, 1).await;
        let started = event(c.id, Leg::A, "event", "started", Signal::Started, None);
        let answered = event(c.id, Leg::B, "event", "answered", Signal::Answered, None);
        let batch = [(&started, t0()), (&started, t0()), (&answered, t0()), (&started, t0())];
        let got: Vec<_> = s.apply_events(&batch).await.into_iter().map(|r| r.expect("apply")).collect();
        assert!(matches!(&got[0], ApplyOutcome::Applied { call, .. } if call.status.as_deref() == Some("ringing")));
        assert_eq!(got[1], ApplyOutcome::Duplicate);
        assert!(matches!(&got[2], ApplyOutcome::Applied { call, .. } if call.status.as_deref() == Some("connected")));
        assert_eq!(got[3], ApplyOutcome::Duplicate);
        assert_eq!(s.call_events(c.id).await.expect("events").len(), 2);
        // And a key stored by an earlier batch is a duplicate in a later one.
        let again = s.apply_events(&[(&answered, t0())]).await;
        assert_eq!(again.into_iter().map(|r| r.expect("apply")).collect::<Vec<_>>(), vec![ApplyOutcome::Duplicate]);
        batch_matches_one_by_one(s, 10, vec![started.clone(), started.clone(), answered.clone()], async |_, _| {})
            .await;
    })
    .await;
}

#[tokio::test]
async fn two_events_of_one_call_out_of_order_in_one_batch() {
    each_backend(|db| async move {
        let s = &db.store;
        let c = call(s, 1).await;
        // The report first, then the live events it overtook: the status never moves back.
        let report = event(c.id, Leg::B, "cdr", "answered", Signal::Report { answered: true }, Some(42));
        let answered = event(c.id, Leg::B, "event", "answered", Signal::Answered, None);
        let started = event(c.id, Leg::A, "event", "started", Signal::Started, None);
        let batch = [(&report, t0()), (&answered, t0()), (&started, t0())];
        let got: Vec<_> = s.apply_events(&batch).await.into_iter().map(|r| r.expect("apply")).collect();
        let status = |o: &ApplyOutcome| match o {
            ApplyOutcome::Applied { call, before, .. } => (*before, call.status.clone().unwrap_or_default()),
            other => panic!("{other:?}"),
        };
        assert_eq!(status(&got[0]), (CallStatus::Initiated, "completed".into()));
        assert_eq!(status(&got[1]), (CallStatus::Completed, "completed".into()));
        assert_eq!(status(&got[2]), (CallStatus::Completed, "completed".into()));
        let stored = s.call(c.id).await.expect("call").expect("exists");
        assert_eq!((stored.status.as_deref(), stored.call_duration), (Some("completed"), Some(42)));

        // Each event of a batch reports the call as it was right after it.
        let c2 = call(s, 2).await;
        let steps = [
            event(c2.id, Leg::A, "event", "started", Signal::Started, None),
            event(c2.id, Leg::B, "event", "answered", Signal::Answered, None),
            event(c2.id, Leg::B, "event", "hangup", Signal::Hangup, None),
        ];
        let batch: Vec<_> = steps.iter().map(|e| (e, t0())).collect();
        let got: Vec<_> = s.apply_events(&batch).await.into_iter().map(|r| status(&r.expect("apply")).1).collect();
        assert_eq!(got, ["ringing", "connected", "completed"]);

        // Whatever the order, a batch ends where the same events one by one end.
        let z = 0;
        let script = [
            event(z, Leg::B, "cdr", "missed", Signal::Report { answered: false }, None),
            event(z, Leg::A, "event", "started", Signal::Started, None),
            event(z, Leg::B, "event", "hangup", Signal::Hangup, None),
            event(z, Leg::B, "cdr", "answered", Signal::Report { answered: true }, Some(17)),
            event(z, Leg::A, "cdr", "answered", Signal::Report { answered: true }, Some(99)),
        ];
        batch_matches_one_by_one(s, 20, script.to_vec(), async |_, _| {}).await;
        let mut rev = script.to_vec();
        rev.reverse();
        batch_matches_one_by_one(s, 30, rev, async |_, _| {}).await;
    })
    .await;
}

#[tokio::test]
async fn a_batch_clears_marks_and_learns_request_ids_as_one_by_one_would() {
    each_backend(|db| async move {
        let s = &db.store;
        // An unconfirmed dial: the first event with a signal clears the mark and our remark; the
        // request id learnt from the first event finds the call for the next (which has no id).
        let mut first = event(0, Leg::A, "event", "started", Signal::Started, None);
        first.request_id = Some("REQ-X".into());
        let mut by_ref = event(0, Leg::B, "event", "answered", Signal::Answered, None);
        by_ref.call_log_id = None;
        by_ref.request_id = Some("REQ-X".into());
        by_ref.dedup_key = "REQ-X|b|event|answered".into();
        let mut report = event(0, Leg::B, "cdr", "answered", Signal::Report { answered: true }, Some(30));
        report.recording = Some("rec-1.mp3".into());
        let unconfirmed = async |s: &Store, c: &CallLog| {
            let (_, marked) = s.mark_unconfirmed(c.id, calldesk::domain::UNCONFIRMED_REMARK, t0()).await.expect("mark");
            assert!(marked);
        };
        batch_matches_one_by_one(s, 1, vec![first.clone(), by_ref.clone(), report.clone()], unconfirmed).await;
        // A call closed provisionally: TeleCMI's report corrects it, from the status before.
        let closed = async |s: &Store, c: &CallLog| {
            s.close_provisionally(c.id, "no word from TeleCMI", t0()).await.expect("close").expect("closed");
        };
        batch_matches_one_by_one(s, 3, vec![report.clone(), first.clone()], closed).await;
        // Older payloads (no ids) find the newest live call of the user to the number.
        let legacy = |status: &str, signal: Signal| {
            let mut e = event(0, Leg::Unknown, "event", status, signal, None);
            e.call_log_id = None;
            e.telecmi_user = Some(USER.into());
            e.dedup_key = format!("legacy|{status}|REQ-X");
            e
        };
        let alone = call(s, 5).await;
        let mut evs = vec![legacy("hangup", Signal::Hangup), legacy("started", Signal::Started)];
        for e in &mut evs {
            e.number = alone.driver_mobile.clone();
            e.dedup_key = e.dedup_key.replace("REQ-X", &alone.id.to_string());
        }
        let got: Vec<_> = s
            .apply_events(&evs.iter().map(|e| (e, t0())).collect::<Vec<_>>())
            .await
            .into_iter()
            .map(|r| summary(&r.expect("apply")))
            .collect();
        assert_eq!(got[0], "applied initiated -> missed dur=Some(0) remarks=None ref=None");
        // The call the first event closed is no longer live: the second finds none (as it would
        // had the first been stored on its own).
        assert_eq!(got[1], "Unmatched");
    })
    .await;
}

#[tokio::test]
async fn a_batch_finds_calls_by_id_first_and_by_request_id_only_where_the_id_finds_none() {
    each_backend(|db| async move {
        let s = &db.store;
        let (a, b) = (call(s, 1).await, call(s, 2).await);
        // Call b learns TeleCMI's request id from a webhook of its own.
        let mut learn = event(b.id, Leg::A, "event", "started", Signal::Started, None);
        learn.request_id = Some("REQ-B".into());
        s.apply_event(&learn, t0()).await.expect("learn");

        // Our id wins over a request id that names another call.
        let mut by_id = event(a.id, Leg::A, "event", "started", Signal::Started, None);
        by_id.request_id = Some("REQ-B".into());
        // No id: the request id finds b.
        let mut by_ref = event(b.id, Leg::B, "event", "answered", Signal::Answered, None);
        by_ref.call_log_id = None;
        by_ref.request_id = Some("REQ-B".into());
        // An id that names no call: the request id still finds its call (a request id no event
        // without an id in the batch carries).
        let c = call(s, 3).await;
        let mut learn_c = event(c.id, Leg::A, "event", "started", Signal::Started, None);
        learn_c.request_id = Some("REQ-C".into());
        s.apply_event(&learn_c, t0()).await.expect("learn");
        let mut stale_id = event(c.id, Leg::B, "cdr", "answered", Signal::Report { answered: true }, Some(61));
        stale_id.call_log_id = Some(c.id + 1_000_000);
        stale_id.request_id = Some("REQ-C".into());
        let batch = [(&by_id, t0()), (&by_ref, t0()), (&stale_id, t0())];
        let got: Vec<_> = s.apply_events(&batch).await.into_iter().map(|r| r.expect("apply")).collect();
        let on = |o: &ApplyOutcome| match o {
            ApplyOutcome::Applied { call, .. } => (call.id, call.status.clone().unwrap_or_default()),
            other => panic!("{other:?}"),
        };
        assert_eq!(on(&got[0]), (a.id, "ringing".into()));
        assert_eq!(on(&got[1]), (b.id, "connected".into()));
        assert_eq!(on(&got[2]), (c.id, "completed".into()));
        let stored = s.call(c.id).await.expect("call").expect("exists");
        assert_eq!((stored.status.as_deref(), stored.call_duration), (Some("completed"), Some(61)));
    })
    .await;
}

/// The SQLite writer keeps the calls it just committed for the next batch; whatever another
/// connection commits in between (a provisional close, an outcome saved) must be read again,
/// or the next webhook would apply to a call that no longer is.
#[tokio::test]
async fn a_call_changed_elsewhere_between_two_batches_is_read_again() {
    each_backend(|db| async move {
        let s = &db.store;
        let c = call(s, 1).await;
        let started = event(c.id, Leg::A, "event", "started", Signal::Started, None);
        s.apply_events(&[(&started, t0())]).await.pop().expect("one").expect("started");
        // Between two batches, through the pool: closed for want of news (failed, remark, mark).
        let reason = "no word from TeleCMI";
        s.close_provisionally(c.id, reason, t0()).await.expect("close").expect("closed");
        // TeleCMI's next word corrects it from the status before, and the remark and mark go.
        let answered = event(c.id, Leg::B, "event", "answered", Signal::Answered, None);
        let got = s.apply_events(&[(&answered, t0())]).await.pop().expect("one").expect("answered");
        assert_eq!(summary(&got), "applied failed -> connected dur=Some(0) remarks=None ref=None");
        assert_eq!(
            state(s, c.id).await,
            "connected dur=Some(0) remarks=None ref=None mark=None rec=None \
             events=[\"event:a:started\", \"event:b:answered\"]"
        );
        // An outcome saved elsewhere meanwhile is in the next webhook's copy of the call.
        s.close_provisionally(c.id, reason, t0()).await.expect("close again");
        let stored = s.call(c.id).await.expect("call").expect("exists");
        let hangup = event(c.id, Leg::B, "event", "hangup", Signal::Hangup, None);
        match s.apply_events(&[(&hangup, t0())]).await.pop().expect("one").expect("hangup") {
            ApplyOutcome::Applied { call, .. } => {
                assert_eq!((call.feedback.clone(), call.driver_name.clone()), (stored.feedback, stored.driver_name))
            }
            other => panic!("{other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn a_webhook_that_changes_nothing_leaves_the_row_as_it_was() {
    each_backend(|db| async move {
        let s = &db.store;
        let c = call(s, 1).await;
        let answered = event(c.id, Leg::B, "event", "answered", Signal::Answered, None);
        s.apply_event(&answered, t0()).await.expect("answered");
        // Long ago, as far as the row knows.
        let old = "2020-01-02 03:04:05";
        if db.name == "sqlite" {
            let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
            sqlx::query("UPDATE call_logs SET updated_at = ? WHERE id = ?")
                .bind(old)
                .bind(c.id)
                .execute(&pool)
                .await
                .expect("set");
            pool.close().await;
        } else {
            let pool = sqlx::MySqlPool::connect(&db.url).await.expect("mysql");
            sqlx::query("UPDATE call_logs SET updated_at = ? WHERE id = ?")
                .bind(old)
                .bind(c.id)
                .execute(&pool)
                .await
                .expect("set");
            pool.close().await;
        }
        // The same news again under another key: stored for audit, the call stays as it was,
        // and so does its `updated_at` (as MariaDB's ON UPDATE does it).
        let mut again = answered.clone();
        again.dedup_key.push_str("|again");
        let got = s.apply_events(&[(&again, t0())]).await.pop().expect("one").expect("apply");
        assert!(
            matches!(&got, ApplyOutcome::Applied { call, .. } if call.status.as_deref() == Some("connected")),
            "{got:?}"
        );
        let stored = s.call(c.id).await.expect("call").expect("exists");
        assert_eq!(stored.updated_at.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).as_deref(), Some(old));
        assert_eq!(s.call_events(c.id).await.expect("events").len(), 2);
        // A change still stamps it.
        let hangup = event(c.id, Leg::B, "event", "hangup", Signal::Hangup, None);
        s.apply_events(&[(&hangup, t0())]).await.pop().expect("one").expect("apply");
        let stored = s.call(c.id).await.expect("call").expect("exists");
        assert!(stored.updated_at.is_some_and(|t| t > Utc::now() - Duration::minutes(5)), "{:?}", stored.updated_at);
    })
    .await;
}

#[tokio::test]
async fn a_late_report_of_no_talk_does_not_erase_the_talk_time() {
    each_backend(|db| async move {
        let s = &db.store;
        let c = call(s, 1).await;
        let answered = event(c.id, Leg::B, "cdr", "answered", Signal::Report { answered: true }, Some(30));
        let missed = event(c.id, Leg::B, "cdr", "missed", Signal::Report { answered: false }, Some(0));
        s.apply_event(&answered, t0()).await.expect("answered");
        let got = s.apply_event(&missed, t0()).await.expect("missed");
        assert!(
            matches!(&got, ApplyOutcome::Applied { call, .. } if call.call_duration == Some(30)),
            "told as stored: {got:?}"
        );
        let stored = s.call(c.id).await.expect("call").expect("exists");
        assert_eq!((stored.status.as_deref(), stored.call_duration), (Some("completed"), Some(30)));
        // In one batch, and the other way round (the report of talk comes second), the same.
        let z = 0;
        let late = [
            event(z, Leg::B, "cdr", "answered", Signal::Report { answered: true }, Some(30)),
            event(z, Leg::B, "cdr", "missed", Signal::Report { answered: false }, Some(0)),
        ];
        batch_matches_one_by_one(s, 10, late.to_vec(), async |_, _| {}).await;
        let mut early = late.to_vec();
        early.reverse();
        batch_matches_one_by_one(s, 20, early, async |_, _| {}).await;
        let c2 = call(s, 30).await;
        for e in retarget(&late.iter().rev().cloned().collect::<Vec<_>>(), 0, c2.id) {
            s.apply_event(&e, t0()).await.expect("apply");
        }
        let stored = s.call(c2.id).await.expect("call").expect("exists");
        assert_eq!(stored.call_duration, Some(30), "the report of talk, coming last, gives its time");
    })
    .await;
}

/// Makes the database refuse (at insert) any event whose key starts with `poison`.
async fn poison_inserts(db: &TestDb) {
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        sqlx::query(
            "CREATE TRIGGER poison BEFORE INSERT ON webhook_events WHEN NEW.dedup_key LIKE 'poison%' \
             BEGIN SELECT RAISE(ABORT, 'poisoned event'); END",
        )
        .execute(&pool)
        .await
        .expect("trigger");
        pool.close().await;
    } else {
        let pool = sqlx::MySqlPool::connect(&db.url).await.expect("mysql");
        sqlx::query(
            "CREATE TRIGGER poison BEFORE INSERT ON webhook_events FOR EACH ROW BEGIN \
             IF NEW.dedup_key LIKE 'poison%' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poisoned event'; END IF; END",
        )
        .execute(&pool)
        .await
        .expect("trigger");
        pool.close().await;
    }
}

#[tokio::test]
async fn a_bad_event_in_a_batch_fails_alone() {
    each_backend(|db| async move {
        let s = &db.store;
        poison_inserts(&db).await;
        let c = call(s, 1).await;
        let started = event(c.id, Leg::A, "event", "started", Signal::Started, None);
        let mut bad = event(c.id, Leg::B, "event", "answered", Signal::Answered, None);
        bad.dedup_key = "poison-1".into();
        let hangup = event(c.id, Leg::A, "event", "hangup", Signal::Hangup, None);
        let got = s.apply_events(&[(&started, t0()), (&bad, t0()), (&hangup, t0())]).await;
        assert!(matches!(&got[0], Ok(ApplyOutcome::Applied { .. })), "{:?}", got[0]);
        assert!(got[1].as_ref().is_err_and(|e| e.to_string().contains("poisoned")), "{:?}", got[1]);
        assert!(matches!(&got[2], Ok(ApplyOutcome::Applied { call, .. }) if call.status.as_deref() == Some("missed")));
        let stored = s.call_events(c.id).await.expect("events");
        assert_eq!(stored.iter().map(|e| e.status.as_str()).collect::<Vec<_>>(), ["started", "hangup"]);
        // Nobody answered (the bad event was never applied): the hangup made it missed.
        assert_eq!(s.call(c.id).await.expect("call").expect("exists").status.as_deref(), Some("missed"));
    })
    .await;
}
