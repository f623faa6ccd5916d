//! The team pool on SQLite and MariaDB: drivers imported with an empty `assigned_to` are every
//! agent's, offered after each agent's own, claimed by one agent at a time, and the dialing
//! agent's from the dial on.

mod common;

use chrono::Duration;

use calldesk::domain::Schedule;
use calldesk::store::{CLAIM_FOR, POOL};
use common::{each_backend, fixtures};

#[tokio::test]
async fn pool_drivers_come_after_ones_own_and_go_to_whoever_dials_them() {
    each_backend(|db| async move {
        let s = &db.store;
        let t = fixtures::now();
        let mut ds = fixtures::drivers(1..=6, 3);
        // D4..D6 belong to no one: the pool.
        for d in &mut ds[3..] {
            d.assigned_to = None;
        }
        ds[1].assigned_to = Some(5);
        s.add_caller(3, "Pooja", calldesk::domain::Role::Agent, t).await.expect("caller");
        s.add_caller(5, "Ravi", calldesk::domain::Role::Agent, t).await.expect("caller");
        let out = s.import_drivers(&ds, t - Duration::minutes(5)).await.expect("import");
        assert_eq!((out.queued, out.pooled), (6, 3));
        let sched = Schedule::default();
        let ids = |rows: Vec<calldesk::store::QueueEntry>| {
            rows.into_iter().map(|e| (e.driver_id, e.pool)).collect::<Vec<_>>()
        };
        let pooja = ids(s.due_queue(3, t, &sched, None, 10, None).await.expect("queue"));
        let p = |id: &str, pool| (id.to_string(), pool);
        assert_eq!(pooja, vec![p("D1", false), p("D3", false), p("D4", true), p("D5", true), p("D6", true)]);
        assert_eq!(s.queue_counts(3, t).await.expect("counts"), (5, 5), "the pool counts as hers");
        // Paged two at a time, across the own/pool boundary, nothing skipped or repeated.
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = s.due_queue(3, t, &sched, after.as_ref(), 2, None).await.expect("page");
            let Some(last) = page.last() else { break };
            after = Some(last.cursor());
            paged.extend(ids(page));
        }
        assert_eq!(paged, pooja);

        // Both race for D4: one claim wins; the other's queue no longer offers it.
        let won3 = s.claim("D4", 3, t + CLAIM_FOR, t).await.expect("claim");
        let won5 = s.claim("D4", 5, t + CLAIM_FOR, t).await.expect("claim");
        assert!(won3 && !won5);
        let ravi = ids(s.due_queue(5, t, &sched, None, 10, None).await.expect("queue"));
        assert_eq!(ravi, vec![p("D2", false), p("D5", true), p("D6", true)]);
        // Pooja still sees it (her claim); dialing makes it hers for good.
        s.start_call(&fixtures::manual_call(&ds[3], 3), t).await.expect("dial");
        let row = s.queue_entry("D4").await.expect("read").expect("queued");
        assert_eq!(row.driver_id, "D4");
        let owners: Vec<(i64, i64, i64, i64)> = s.queue_sizes(t).await.expect("sizes");
        let of = |c: i64| owners.iter().find(|o| o.0 == c).map_or(0, |o| o.3);
        assert_eq!((of(3), of(5), of(POOL)), (3, 1, 2), "D4 left the pool for Pooja");
    })
    .await;
}

#[test]
fn import_says_how_many_went_to_the_pool() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_calldesk"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("CALLDESK_LOG_DIR", dir.path().join("logs"))
            .output()
            .expect("run")
    };
    assert!(run(&["caller", "add", "3", "Pooja"]).status.success());
    let csv = dir.path().join("d.csv");
    std::fs::write(&csv, "id,name,mobile,tmid,city,state,assigned_to\nD1,A,919800000001,,,,3\nD2,B,919800000002,,,,\n")
        .expect("csv");
    let out = run(&["import", "drivers", csv.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 queued (1 to the team pool: no assigned_to)"), "{text}");
}

/// A pool driver can be skipped (later for everyone, still the pool's) and snoozed (then the
/// agent's, as the agent's own reminder) — but not from under another agent dialing them; a
/// dialed pool driver is the agent's in search too.
#[tokio::test]
async fn pool_drivers_can_be_skipped_snoozed_and_found_once_dialed() {
    each_backend(|db| async move {
        let s = &db.store;
        let t = fixtures::now();
        let mut ds = fixtures::drivers(1..=4, 3);
        for d in &mut ds {
            d.assigned_to = None;
        }
        s.add_caller(3, "Pooja", calldesk::domain::Role::Agent, t).await.expect("caller");
        s.add_caller(5, "Ravi", calldesk::domain::Role::Agent, t).await.expect("caller");
        s.import_drivers(&ds, t - Duration::minutes(5)).await.expect("import");
        let owner = |id: &'static str| async move { s.driver(id).await.expect("read").expect("driver").assigned_to };
        // Skip: later, still the pool's (Ravi still sees it, after the others).
        assert!(s.reschedule("D1", 3, t + Duration::hours(1)).await.expect("skip"));
        let later = s.due_queue(5, t + Duration::hours(2), &Schedule::default(), None, 10, None).await.expect("q");
        assert_eq!(later.last().map(|e| (e.driver_id.as_str(), e.pool)), Some(("D1", true)));
        assert_eq!(owner("D1").await, None);
        // Snooze: Pooja's now.
        assert!(s.snooze("D2", 3, t + Duration::hours(1)).await.expect("snooze"));
        assert_eq!(owner("D2").await, Some(3));
        let ravi = s.due_queue(5, t + Duration::hours(2), &Schedule::default(), None, 10, None).await.expect("q");
        assert!(ravi.iter().all(|e| e.driver_id != "D2"), "{ravi:?}");
        // Ravi is dialing D3: Pooja's skip does not take it from under him.
        let real = chrono::Utc::now();
        assert!(s.claim("D3", 5, real + CLAIM_FOR, real).await.expect("claim"));
        assert!(!s.reschedule("D3", 3, t + Duration::hours(1)).await.expect("skip"));
        // Dialed, D4 is Pooja's in search as well as in her queue.
        s.start_call(&fixtures::manual_call(&ds[3], 3), t).await.expect("dial");
        assert_eq!(owner("D4").await, Some(3));
    })
    .await;
}
