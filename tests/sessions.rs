//! Sessions on SQLite and MariaDB: one agent, one console (a second login takes over; a silent
//! one is ended as lost; a session taken over cannot dial; two logins at once both open), and the
//! attendance the supervisor board shows (online, offline since, a killed console offline once
//! silent). Session times are the database's clock: "silent for a minute" is written into the
//! rows (`age`), as a console killed a minute ago would have left them.

mod common;

use calldesk::domain::session::{Attendance, EndReason, SessionKind};
use calldesk::store::{Beat, NewSession, StoreError};
use common::{TestDb, each_backend, fixtures};

fn console(caller: i64, origin: &str) -> NewSession {
    NewSession { caller_id: caller, kind: SessionKind::Console, origin: origin.into(), host: "h".into(), pid: 42 }
}

/// Moves a session's times `secs` into the past (its heartbeat stopped that long ago).
async fn age(db: &TestDb, id: i64, secs: i64) {
    let (sqlite, mysql) = (
        "UPDATE console_sessions SET started_at = datetime(started_at, '-' || ? || ' seconds'), \
         last_seen_at = datetime(last_seen_at, '-' || ? || ' seconds') WHERE id = ?",
        "UPDATE console_sessions SET started_at = started_at - INTERVAL ? SECOND, \
         last_seen_at = last_seen_at - INTERVAL ? SECOND WHERE id = ?",
    );
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        sqlx::query(sqlite).bind(secs).bind(secs).bind(id).execute(&pool).await.expect("age");
        pool.close().await;
    } else {
        let pool = sqlx::MySqlPool::connect(&db.url).await.expect("mysql");
        sqlx::query(mysql).bind(secs).bind(secs).bind(id).execute(&pool).await.expect("age");
        pool.close().await;
    }
}

#[tokio::test]
async fn a_second_login_takes_over_and_the_first_cannot_dial() {
    each_backend(|db| async move {
        let s = &db.store;
        let t = fixtures::now();
        let ds = fixtures::drivers(1..=2, 3);
        fixtures::seed(s, &[(3, "Pooja"), (4, "Meera")], &ds, t).await;

        let (first, taken) = s.open_session(&console(3, "ssh from 10.0.0.5")).await.expect("open");
        assert!(taken.is_empty());
        // Another caller's console is no one's to take over.
        let (other, taken) = s.open_session(&console(4, "local")).await.expect("open");
        assert!(taken.is_empty());
        assert_eq!(s.heartbeat(first.id).await.expect("beat"), Beat::Current);

        // The same caller signs in again: the first is taken over (still open until it closes).
        let (second, taken) = s.open_session(&console(3, "ssh from 10.0.0.9")).await.expect("open");
        assert_eq!(taken.iter().map(|t| t.id).collect::<Vec<_>>(), vec![first.id]);
        assert!(taken[0].is_open(), "a fresh session closes itself, saving its draft");
        assert_eq!(taken[0].taken_over_by, Some(second.id));
        match s.heartbeat(first.id).await.expect("beat") {
            Beat::TakenOver(by) => assert_eq!((by.id, by.origin.as_str()), (second.id, "ssh from 10.0.0.9")),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.heartbeat(other.id).await.expect("beat"), Beat::Current);
        assert!(!s.session_ended(first.id).await.expect("read"), "taken over, still writing its draft");

        // The session taken over may not dial, even before it noticed; the new one may.
        let old = calldesk::store::NewCall { session: Some(first.id), ..fixtures::manual_call(&ds[0], 3) };
        match s.start_call(&old, t).await {
            Err(StoreError::SessionReplaced(m)) => assert!(m.contains("signed in elsewhere"), "{m}"),
            other => panic!("{other:?}"),
        }
        let new = calldesk::store::NewCall { session: Some(second.id), ..fixtures::manual_call(&ds[0], 3) };
        s.start_call(&new, t).await.expect("the new console dials");

        s.end_session(first.id, EndReason::TakenOver).await.expect("end");
        // Ended once: a second end keeps the first reason.
        s.end_session(first.id, EndReason::Quit).await.expect("end");
        let ended = s.session(first.id).await.expect("read").expect("row");
        assert_eq!(ended.end_reason.as_deref(), Some("taken_over"));
        assert!(s.session_ended(first.id).await.expect("read"));
        // An ended session (quit) dials nothing either.
        s.end_session(other.id, EndReason::Quit).await.expect("end");
        let from_ended = calldesk::store::NewCall { session: Some(other.id), ..fixtures::manual_call(&ds[1], 4) };
        assert!(matches!(s.start_call(&from_ended, t).await, Err(StoreError::SessionReplaced(_))));
    })
    .await;
}

#[tokio::test]
async fn a_silent_console_is_lost_and_its_agent_offline() {
    each_backend(|db| async move {
        let s = &db.store;
        fixtures::seed(s, &[(3, "Pooja"), (4, "Meera"), (5, "Ravi")], &[], fixtures::now()).await;
        let (a, _) = s.open_session(&console(3, "local")).await.expect("open");
        let (b, _) = s.open_session(&console(4, "local")).await.expect("open");
        let at = || async {
            let mut v = s.attendance().await.expect("attendance");
            v.sort_by_key(|(c, _)| *c);
            v
        };
        let seen = at().await;
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|(_, a)| a.is_online()), "{seen:?}");

        // Caller 3 quits; caller 4's console was killed 40 s ago (no heartbeat since).
        s.end_session(a.id, EndReason::Quit).await.expect("end");
        age(&db, b.id, 40).await;
        let seen = at().await;
        let quit = s.session(a.id).await.expect("read").expect("row").ended_at.map(|t| t.and_utc());
        assert_eq!(seen[0], (3, Attendance::Offline { since: quit }));
        let killed = s.session(b.id).await.expect("read").expect("row");
        assert_eq!(seen[1], (4, Attendance::Offline { since: Some(killed.last_seen()) }), "silent past STALE_AFTER");
        // Ravi never opened one: absent (the board says offline, never seen).
        assert!(seen.iter().all(|(c, _)| *c != 5));
        // The killed console learns at its next beat (if it ever wakes) that it is no one's.
        // Caller 4 signs in again: the killed session is ended as lost at its last heartbeat.
        let (_, taken) = s.open_session(&console(4, "local")).await.expect("open");
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].end_reason.as_deref(), Some("lost"));
        assert_eq!(taken[0].ended_at, Some(killed.last_seen_at));
        assert!(at().await[1].1.is_online());
        assert!(s.session_ended(b.id).await.expect("read"), "its late drafts are refused");

        // Supervisors' boards do not take each other over.
        let board = NewSession { kind: SessionKind::Supervise, ..console(5, "local") };
        let (first, _) = s.open_session(&board).await.expect("open");
        let (_, taken) = s.open_session(&board).await.expect("open");
        assert!(taken.is_empty());
        assert_eq!(s.heartbeat(first.id).await.expect("beat"), Beat::Current);
    })
    .await;
}

/// Twenty logins of one agent at once (a flaky line reconnecting): every one opens (MariaDB
/// queues them on the caller's row instead of failing one with a deadlock), and exactly one
/// session is left that nobody took over.
#[tokio::test]
async fn logins_at_once_all_open_and_one_is_left_current() {
    each_backend(|db| async move {
        fixtures::seed(&db.store, &[(3, "Pooja")], &[], fixtures::now()).await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = calldesk::store::Store::connect(&db.url).await.expect("pool");
            tasks.push(tokio::spawn(async move {
                let r = store.open_session(&console(3, &format!("login {i}"))).await.map(|(s, _)| s.id);
                store.close().await;
                r
            }));
        }
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(t.await.expect("task").expect("every login opens"));
        }
        let current: Vec<i64> = db
            .store
            .open_sessions(3)
            .await
            .expect("open")
            .into_iter()
            .filter(|s| s.taken_over_by.is_none())
            .map(|s| s.id)
            .collect();
        assert_eq!(current.len(), 1, "one console is the agent's: {current:?}");
        assert_eq!(Some(&current[0]), ids.iter().max(), "the newest login");
    })
    .await;
}
