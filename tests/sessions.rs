//! Sessions on SQLite and MariaDB: one agent, one console (a second login takes over; a silent
//! one is ended as lost; a session taken over cannot dial), and the attendance the supervisor
//! board shows (online, offline since, a killed console offline once silent).

mod common;

use chrono::{Duration, Utc};

use calldesk::domain::session::{Attendance, EndReason, STALE_AFTER, SessionKind};
use calldesk::store::{Beat, NewSession, StoreError};
use common::{each_backend, fixtures};

fn console(caller: i64, origin: &str) -> NewSession {
    NewSession { caller_id: caller, kind: SessionKind::Console, origin: origin.into(), host: "h".into(), pid: 42 }
}

#[tokio::test]
async fn a_second_login_takes_over_and_the_first_cannot_dial() {
    each_backend(|db| async move {
        let s = &db.store;
        let t0 = fixtures::now();
        let ds = fixtures::drivers(1..=2, 3);
        fixtures::seed(s, &[(3, "Pooja"), (4, "Meera")], &ds, t0).await;

        let (first, taken) = s.open_session(&console(3, "ssh from 10.0.0.5"), t0).await.expect("open");
        assert!(taken.is_empty());
        // Another caller's console is no one's to take over.
        let (other, taken) = s.open_session(&console(4, "local"), t0).await.expect("open");
        assert!(taken.is_empty());
        assert_eq!(s.heartbeat(first.id, t0 + Duration::seconds(5)).await.expect("beat"), Beat::Current);

        // The same caller signs in again: the first is taken over (still open until it closes).
        let t1 = t0 + Duration::seconds(10);
        let (second, taken) = s.open_session(&console(3, "ssh from 10.0.0.9"), t1).await.expect("open");
        assert_eq!(taken.iter().map(|t| t.id).collect::<Vec<_>>(), vec![first.id]);
        assert!(taken[0].is_open(), "a fresh session closes itself, saving its draft");
        assert_eq!(taken[0].taken_over_by, Some(second.id));
        match s.heartbeat(first.id, t1 + Duration::seconds(1)).await.expect("beat") {
            Beat::TakenOver(by) => assert_eq!((by.id, by.origin.as_str()), (second.id, "ssh from 10.0.0.9")),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.heartbeat(other.id, t1).await.expect("beat"), Beat::Current);

        // The session taken over may not dial, even before it noticed; the new one may.
        let old = calldesk::store::NewCall { session: Some(first.id), ..fixtures::manual_call(&ds[0], 3) };
        match s.start_call(&old, t1).await {
            Err(StoreError::SessionReplaced(m)) => assert!(m.contains("signed in elsewhere"), "{m}"),
            other => panic!("{other:?}"),
        }
        let new = calldesk::store::NewCall { session: Some(second.id), ..fixtures::manual_call(&ds[0], 3) };
        s.start_call(&new, t1).await.expect("the new console dials");

        s.end_session(first.id, EndReason::TakenOver, t1 + Duration::seconds(2)).await.expect("end");
        // Ended once: a second end keeps the first reason.
        s.end_session(first.id, EndReason::Quit, t1 + Duration::seconds(3)).await.expect("end");
        let ended = s.session(first.id).await.expect("read").expect("row");
        assert_eq!(ended.end_reason.as_deref(), Some("taken_over"));
        assert_eq!(
            s.heartbeat(first.id, t1 + Duration::seconds(9)).await.expect("beat"),
            Beat::TakenOver(s.session(second.id).await.expect("read").expect("row"))
        );
        // An ended session (quit) dials nothing either.
        s.end_session(other.id, EndReason::Quit, t1).await.expect("end");
        let from_ended = calldesk::store::NewCall { session: Some(other.id), ..fixtures::manual_call(&ds[1], 4) };
        assert!(matches!(s.start_call(&from_ended, t1).await, Err(StoreError::SessionReplaced(_))));
    })
    .await;
}

#[tokio::test]
async fn a_silent_console_is_lost_and_its_agent_offline() {
    each_backend(|db| async move {
        let s = &db.store;
        let t0 = Utc::now() - Duration::minutes(10);
        fixtures::seed(s, &[(3, "Pooja"), (4, "Meera"), (5, "Ravi")], &[], t0).await;
        let (a, _) = s.open_session(&console(3, "local"), t0).await.expect("open");
        let (b, _) = s.open_session(&console(4, "local"), t0).await.expect("open");
        let t1 = t0 + Duration::seconds(20);
        assert_eq!(s.heartbeat(a.id, t1).await.expect("beat"), Beat::Current);
        assert_eq!(s.heartbeat(b.id, t1).await.expect("beat"), Beat::Current);
        let at = |now| async move {
            let mut v = s.attendance(now).await.expect("attendance");
            v.sort_by_key(|(c, _)| *c);
            v
        };
        let seen = at(t1 + Duration::seconds(1)).await;
        assert_eq!(
            seen,
            vec![(3, Attendance::Online { since: db_secs(t0) }), (4, Attendance::Online { since: db_secs(t0) })]
        );

        // Caller 3 quits; caller 4's console is killed (no more heartbeats).
        let t2 = t1 + Duration::seconds(10);
        s.end_session(a.id, EndReason::Quit, t2).await.expect("end");
        let seen = at(t2 + Duration::seconds(1)).await;
        assert_eq!(seen[0], (3, Attendance::Offline { since: Some(db_secs(t2)) }));
        assert!(seen[1].1.is_online(), "silent for 11 s only");
        let late = t1 + STALE_AFTER + Duration::seconds(1);
        let seen = at(late).await;
        assert_eq!(seen[1], (4, Attendance::Offline { since: Some(db_secs(t1)) }), "silent past STALE_AFTER");
        // Ravi never opened one: absent (the board says offline, never seen).
        assert!(seen.iter().all(|(c, _)| *c != 5));

        // Caller 4 signs in again: the killed session is ended as lost at its last heartbeat.
        let (_, taken) = s.open_session(&console(4, "local"), late).await.expect("open");
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].end_reason.as_deref(), Some("lost"));
        assert_eq!(taken[0].ended_at.map(|t| t.and_utc()), Some(db_secs(t1)));
        assert!(at(late + Duration::seconds(1)).await[1].1.is_online());

        // Supervisors' boards do not take each other over.
        let board = NewSession { kind: SessionKind::Supervise, ..console(5, "local") };
        let (first, _) = s.open_session(&board, late).await.expect("open");
        let (_, taken) = s.open_session(&board, late).await.expect("open");
        assert!(taken.is_empty());
        assert_eq!(s.heartbeat(first.id, late).await.expect("beat"), Beat::Current);
    })
    .await;
}

/// Times as stored (whole seconds).
fn db_secs(t: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    calldesk::store::db_time(t).and_utc()
}
