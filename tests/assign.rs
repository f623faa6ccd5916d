//! Moving queued drivers between agents (`calldesk assign` and the store under it), on SQLite and
//! MariaDB: what may not move stays (in a call, claimed, owing a wrap-up), moves are recorded, and
//! under fifty agents racing for claims no driver held by a console ever moves and none is dropped.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Duration, Utc};

use calldesk::domain::{Driver, Role};
use calldesk::store::{CLAIM_FOR, MoveRequest, Store, StoreError};
use common::{TestDb, each_backend, fixtures};

/// (driver id, queue's caller, claimed by) of every queue row, by driver id.
async fn queue_rows(db: &TestDb) -> Vec<(String, i64, Option<i64>)> {
    let sql = "SELECT driver_id, caller_id, claimed_by FROM call_queue ORDER BY driver_id";
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.expect("rows");
        pool.close().await;
        rows
    } else {
        let pool = sqlx::MySqlPool::connect(&db.url).await.expect("mysql");
        let rows: Vec<(String, i32, Option<i32>)> = sqlx::query_as(sql).fetch_all(&pool).await.expect("rows");
        pool.close().await;
        rows.into_iter().map(|(d, c, b)| (d, i64::from(c), b.map(i64::from))).collect()
    }
}

fn req(from: i64, to: i64, count: Option<usize>, city: Option<&str>) -> MoveRequest {
    MoveRequest { from, to, count, city: city.map(Into::into), by: Some(9) }
}

#[tokio::test]
async fn what_may_not_move_stays_and_moves_are_recorded() {
    each_backend(|db| async move {
        let s = &db.store;
        let t = fixtures::now();
        let mut ds = fixtures::drivers(1..=7, 3);
        ds[5].city = Some("Pune".into());
        ds[6].city = Some("pune".into());
        fixtures::seed(s, &[(3, "Pooja"), (5, "Ravi")], &ds, t).await;
        s.add_caller(9, "Meera", Role::Supervisor, t).await.expect("supervisor");
        // D1: a call ringing; D2: claimed by Pooja's console; D3: its call ended, no outcome yet.
        let live = s.start_call(&fixtures::telecmi_call(&ds[0], 3, "5003_1"), t).await.expect("call");
        common::set_status(&db, live.id, "ringing").await;
        assert!(s.claim("D2", 3, t + CLAIM_FOR, t).await.expect("claim"));
        let ended = s.start_call(&fixtures::telecmi_call(&ds[2], 3, "5003_1"), t).await.expect("call");
        common::set_status(&db, ended.id, "completed").await;
        // start_call claims its driver: give those claims back (a console does after the call).
        s.release("D1", 3).await.expect("release");
        s.release("D3", 3).await.expect("release");

        let r = s.move_drivers(&req(3, 5, Some(2), None), t + Duration::seconds(1)).await.expect("move");
        assert_eq!(r.moved, vec!["D4".to_string(), "D5".to_string()], "the first free ones in queue order");
        assert_eq!((r.in_call, r.claimed, r.wrapup_owed, r.beyond_count), (1, 1, 1, 2));
        let rows = queue_rows(&db).await;
        let owner = |id: &str| rows.iter().find(|r| r.0 == id).map(|r| r.1);
        assert_eq!([owner("D1"), owner("D2"), owner("D3")], [Some(3); 3]);
        assert_eq!([owner("D4"), owner("D5"), owner("D6")], [Some(5), Some(5), Some(3)]);
        assert_eq!(s.driver("D4").await.expect("read").expect("D4").assigned_to, Some(5));
        let moves = s.driver_moves("D4").await.expect("moves");
        assert_eq!(moves.len(), 1);
        assert_eq!((moves[0].from, moves[0].to, moves[0].by), (3, 5, Some(9)));

        // A city, in any letter case: D6 and D7.
        let r = s.move_drivers(&req(3, 5, None, Some("PUNE")), t).await.expect("move");
        assert_eq!(r.moved, vec!["D6".to_string(), "D7".to_string()]);
        assert_eq!(r.left(), 0, "the held ones are not in Pune");
        // To a supervisor, to oneself, to a stranger: refused, nothing moved.
        for (to, why) in [(9, "supervisor"), (3, "already"), (77, "not registered")] {
            match s.move_drivers(&req(3, to, None, None), t).await {
                Err(StoreError::Invalid(m)) => assert!(m.contains(why), "{m}"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            queue_rows(&db).await,
            rows.into_iter()
                .map(|mut r| {
                    if r.0 == "D6" || r.0 == "D7" {
                        r.1 = 5;
                    }
                    r
                })
                .collect::<Vec<_>>()
        );
    })
    .await;
}

/// Fifty agents claim, hold and release drivers (their own and their neighbours', as a search
/// would) while a supervisor moves drivers between them: a driver held by a console is never
/// moved under it, and every driver is in exactly one queue at the end.
#[tokio::test]
async fn moves_under_fifty_racing_agents_take_no_held_driver_and_drop_none() {
    each_backend(|db| async move {
        const AGENTS: i64 = 50;
        const PER_AGENT: usize = 8;
        let t0 = Utc::now();
        let s = &db.store;
        let mut drivers: Vec<Driver> = Vec::new();
        for a in 0..AGENTS {
            s.add_caller(100 + a, &format!("Agent {a}"), Role::Agent, t0).await.expect("caller");
            for i in 0..PER_AGENT {
                let n = a as usize * PER_AGENT + i;
                drivers.push(fixtures::driver(&format!("R{n:04}"), "Racer", &format!("9199{n:08}"), Some(100 + a)));
            }
        }
        s.import_drivers(&drivers, t0 - Duration::minutes(1)).await.expect("import");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let held_and_moved = Arc::new(AtomicUsize::new(0));
        let claims = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for a in 0..AGENTS {
            let store = Store::connect(&db.url).await.expect("agent's own pool");
            let (stop, bad, claims) = (stop.clone(), held_and_moved.clone(), claims.clone());
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let me = 100 + a;
                let mut turn = 0;
                while !stop.load(Ordering::Relaxed) {
                    turn += 1;
                    let whose = if turn % 2 == 0 { me } else { 100 + (a + 1) % AGENTS };
                    let now = Utc::now();
                    let sched = calldesk::domain::Schedule::default();
                    let page = store.due_queue(whose, now, &sched, None, 3, None).await.expect("queue");
                    let Some(e) = page.first() else {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        continue;
                    };
                    if !store.claim(&e.driver_id, me, now + CLAIM_FOR, now).await.expect("claim") {
                        continue;
                    }
                    claims.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(std::time::Duration::from_millis(15)).await;
                    // Still ours: a move resets the claim of what it moves.
                    let rows = queue_rows(&db).await;
                    let row = rows.iter().find(|r| r.0 == e.driver_id).expect("still queued");
                    if row.2 != Some(me) {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                    store.release(&e.driver_id, me).await.expect("release");
                }
                store.close().await;
            }));
        }
        let sup = Store::connect(&db.url).await.expect("supervisor's pool");
        let mut moved = 0;
        for round in 0..40 {
            let from = 100 + (round * 7) % AGENTS;
            let to = 100 + (round * 13 + 1) % AGENTS;
            if from == to {
                continue;
            }
            let r = sup.move_drivers(&req(from, to, Some(5), None), Utc::now()).await;
            match r {
                Ok(r) => moved += r.moved.len(),
                Err(e) => panic!("move {from}→{to}: {e}"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.expect("agent");
        }
        sup.close().await;
        assert!(moved > 20, "the supervisor moved drivers: {moved}");
        assert!(claims.load(Ordering::Relaxed) > 50, "the agents raced: {}", claims.load(Ordering::Relaxed));
        assert_eq!(held_and_moved.load(Ordering::Relaxed), 0, "a driver held by a console was moved under it");
        let rows = queue_rows(&db).await;
        assert_eq!(rows.len(), drivers.len(), "every driver still queued, once");
        for (id, caller, _) in &rows {
            let d = s.driver(id).await.expect("read").expect("driver");
            assert_eq!(d.assigned_to, Some(*caller), "{id}: the driver's agent is the queue's");
        }
    })
    .await;
}

/// The command as an admin types it: what moved, what stayed and why, and its refusals.
#[test]
fn calldesk_assign_says_what_moved() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_calldesk"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("CALLDESK_LOG_DIR", dir.path().join("logs"))
            .output()
            .expect("run");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(run(&["caller", "add", "3", "Pooja"]).0);
    assert!(run(&["caller", "add", "5", "Ravi"]).0);
    let csv = dir.path().join("d.csv");
    std::fs::write(
        &csv,
        "id,name,mobile,tmid,city,state,assigned_to\nD1,A,919800000001,,Pune,MH,3\nD2,B,919800000002,,Pune,MH,3\n\
         D3,C,919800000003,,Nagpur,MH,3\n",
    )
    .expect("csv");
    assert!(run(&["import", "drivers", csv.to_str().expect("utf-8")]).0);
    let (ok, out, err) = run(&["assign", "--from", "3", "--to", "5", "--count", "1", "--city", "pune"]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "Moved 1 driver of pune from Pooja (3) to Ravi (5). 1 stayed with Pooja (3): 1 beyond --count."
    );
    let (ok, out, _) = run(&["assign", "--from", "3", "--to", "5"]);
    assert!(ok);
    assert_eq!(out.trim(), "Moved 2 drivers from Pooja (3) to Ravi (5).");
    let (ok, out, _) = run(&["assign", "--from", "3", "--to", "5"]);
    assert!(ok);
    assert_eq!(out.trim(), "Pooja (3) has no queued drivers: nothing moved.");
    let (ok, _, err) = run(&["assign", "--from", "3", "--to", "3"]);
    assert!(!ok && err.contains("same agent"), "{err}");
    let (ok, _, err) = run(&["assign", "--from", "3", "--to", "8"]);
    assert!(!ok && err.contains("caller 8 is not registered"), "{err}");
}
