//! Many consoles on one database: atomic claims under a race, and status changes reaching another
//! process's console through the shared event table within a second.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use calldesk::coord::bus::Source;
use calldesk::coord::dialer::CallKind;
use calldesk::domain::{Driver, Role};
use calldesk::store::{NewCall, Store};
use calldesk::telecmi::simulator::Outcome;
use common::{each_backend, fixtures, rig};

async fn seed(store: &Store, n: usize) {
    let drivers: Vec<Driver> = (0..n)
        .map(|i| fixtures::driver(&format!("R{i}"), &format!("Racer {i}"), &format!("9198000000{i:02}"), Some(3)))
        .collect();
    fixtures::seed(store, &[(3, "Pooja")], &drivers, Utc::now()).await;
}

#[tokio::test]
async fn twenty_concurrent_claimers_never_share_a_driver() {
    each_backend(|db| async move {
        seed(&db.store, 5).await;
        // Each claimer has its own connection pool, as separate consoles would.
        let mut handles = Vec::new();
        for claimer in 100..120i64 {
            let store = Store::connect(&db.url).await.expect("connect");
            handles.push(tokio::spawn(async move {
                let mut won = Vec::new();
                for d in 0..5 {
                    let now = Utc::now();
                    if store
                        .claim(&format!("R{d}"), claimer, now + chrono::Duration::minutes(5), now)
                        .await
                        .expect("claim")
                    {
                        won.push(d);
                    }
                }
                store.close().await;
                (claimer, won)
            }));
        }
        let mut winners = vec![Vec::new(); 5];
        for h in handles {
            let (claimer, won) = h.await.expect("task");
            for d in won {
                winners[d].push(claimer);
            }
        }
        for (d, w) in winners.iter().enumerate() {
            assert_eq!(w.len(), 1, "driver R{d} claimed by {w:?}");
            let q = db.store.queue_entry(&format!("R{d}")).await.expect("q").expect("queued");
            assert_eq!(q.driver_id, format!("R{d}"));
        }
        // The holder sees it; a lapsed claim can be taken over.
        let holder = winners[0][0];
        let now = Utc::now();
        assert!(
            db.store.claim("R0", holder, now + chrono::Duration::minutes(5), now).await.expect("reclaim"),
            "re-claim by the holder"
        );
        let later = now + chrono::Duration::minutes(6);
        assert!(
            db.store.claim("R0", 999, later + chrono::Duration::minutes(5), later).await.expect("takeover"),
            "a lapsed claim expires"
        );
    })
    .await;
}

#[tokio::test]
async fn a_driver_being_called_is_not_offered_to_another_agent() {
    each_backend(|db| async move {
        seed(&db.store, 2).await;
        db.store.add_caller(4, "Ravi", Role::Agent, Utc::now()).await.expect("caller");
        let d = db.store.driver("R0").await.expect("q").expect("driver");
        let call = |caller: i64| NewCall { min_gap: chrono::Duration::seconds(0), ..fixtures::manual_call(&d, caller) };
        let c = db.store.start_call(&call(3), Utc::now()).await.expect("Pooja dials");
        db.store.mark_failed(c.id, "line dropped").await.expect("fail");
        let e = db.store.start_call(&call(4), Utc::now()).await.expect_err("Ravi may not");
        assert!(e.to_string().contains("being called by another agent"), "{e}");
        // Pooja's queue still shows her driver; a console of another caller would not list it.
        let mine = db.store.due_queue(3, Utc::now(), &Default::default(), None, 10, None).await.expect("q");
        assert!(mine.iter().any(|e| e.driver_id == "R0"));
        db.store.release("R0", 3).await.expect("release");
        db.store.start_call(&call(4), Utc::now()).await.expect("after release");
    })
    .await;
}

/// One agent claims a driver from a search while another dials the same driver from their queue,
/// and a third saves an outcome: every store call ends in an answer (won, lost, refused), never in
/// a database error such as MariaDB's deadlock 1213. The dial and the save lock the driver before
/// its queue row; a claim that took them the other way round deadlocked against the dial.
#[tokio::test]
async fn claims_racing_dials_and_saves_of_the_same_drivers_never_fail() {
    each_backend(|db| async move {
        const DRIVERS: usize = 4;
        const ROUNDS: usize = 40;
        const CLAIMERS: i64 = 4;
        seed(&db.store, DRIVERS).await;
        for id in (4..7).chain(100..100 + CLAIMERS) {
            db.store.add_caller(id, &format!("Agent {id}"), Role::Agent, Utc::now()).await.expect("caller");
        }
        let catalog = calldesk::domain::FeedbackCatalog::default();
        let mut handles = Vec::new();
        for who in 0..CLAIMERS + 3 {
            let store = Store::connect(&db.url).await.expect("connect");
            let catalog = catalog.clone();
            handles.push(tokio::spawn(async move {
                let mut failures = Vec::new();
                for round in 0..ROUNDS {
                    for i in 0..DRIVERS {
                        // Each agent walks the drivers from its own end, so pairs meet everywhere.
                        let d = if who % 2 == 1 { DRIVERS - 1 - i } else { (i + round + who as usize) % DRIVERS };
                        let driver = store.driver(&format!("R{d}")).await.expect("read").expect("driver");
                        let now = Utc::now();
                        match who {
                            _ if who < CLAIMERS => {
                                if let Err(e) =
                                    store.claim(&driver.id, 100 + who, now + chrono::Duration::minutes(5), now).await
                                {
                                    failures.push(format!("claim R{d}: {e}"));
                                }
                                let _ = store.release(&driver.id, 100 + who).await;
                            }
                            _ => {
                                let call = NewCall {
                                    min_gap: chrono::Duration::seconds(0),
                                    ..fixtures::manual_call(&driver, who - CLAIMERS + 4)
                                };
                                match store.start_call(&call, now).await {
                                    Ok(c) => {
                                        let save = calldesk::store::SubmitFeedback {
                                            call_id: c.id,
                                            feedback: calldesk::domain::feedback::RINGING_BUSY.into(),
                                            remarks: "race".into(),
                                            status: Some(calldesk::domain::CallStatus::Completed),
                                            ..Default::default()
                                        };
                                        if let Err(e) = store.submit_feedback(&save, &catalog, now).await {
                                            failures.push(format!("save R{d}: {e}"));
                                        }
                                    }
                                    // Refusals are answers: another agent holds the driver, or
                                    // their call to it is live.
                                    Err(calldesk::store::StoreError::Invalid(_)) => {}
                                    Err(e) => failures.push(format!("dial R{d}: {e}")),
                                }
                            }
                        }
                    }
                }
                store.close().await;
                failures
            }));
        }
        let mut failures = Vec::new();
        for h in handles {
            failures.extend(h.await.expect("task"));
        }
        assert!(failures.is_empty(), "{} store call(s) failed under the race: {failures:#?}", failures.len());
    })
    .await;
}

#[tokio::test]
async fn webhooks_received_by_the_server_reach_another_console_within_a_second() {
    each_backend(|db| async move {
        let url = db.url.clone();
        let r = rig(db, 50).await;
        // "Another console": its own connection and bus, fed only by the shared event table.
        let other = Store::connect(&url).await.expect("connect");
        let other_bus = calldesk::coord::bus::new_bus();
        let mut other_rx = other_bus.subscribe();
        let feed = tokio::spawn(calldesk::coord::feed::follow(other, other_bus.clone(), calldesk::coord::feed::POLL));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut server_rx = r.bus.subscribe();
        r.sim.push_outcome(Outcome::Answered { talk_secs: 3 });
        let call = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect("placed");
        let seen_at = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut worst = Duration::ZERO;
        for _ in 0..4 {
            // When the server stored and announced a webhook…
            let started = loop {
                let u = tokio::time::timeout(Duration::from_secs(5), server_rx.recv())
                    .await
                    .expect("server update")
                    .expect("recv");
                if u.source == Source::Webhook && u.call.id == call.id {
                    break (Instant::now(), u.leg.clone(), u.provider_status.clone());
                }
            };
            // …the other console hears the same event.
            loop {
                let u = tokio::time::timeout(Duration::from_secs(2), other_rx.recv())
                    .await
                    .expect("within the deadline")
                    .expect("recv");
                if u.call.id == call.id && u.leg == started.1 && u.provider_status == started.2 {
                    let lag = started.0.elapsed();
                    worst = worst.max(lag);
                    seen_at.lock().expect("lock").push(lag);
                    break;
                }
            }
        }
        feed.abort();
        eprintln!("event feed lag (worst of 4): {worst:?}");
        assert!(worst < Duration::from_secs(1), "status reached the other console in {worst:?}");
    })
    .await;
}

/// MariaDB's own deadlock error (two transactions taking two rows in opposite orders) is the one
/// the store runs a transaction again for.
#[tokio::test]
async fn a_real_mariadb_deadlock_is_recognised() {
    each_backend(|db| async move {
        if !db.url.starts_with("mysql:") {
            return; // SQLite has one writer: no deadlock to break.
        }
        use sqlx::Connection;
        let mut setup = sqlx::MySqlConnection::connect(&db.url).await.expect("connect");
        sqlx::raw_sql("CREATE TABLE dl (id INT PRIMARY KEY); INSERT INTO dl VALUES (1), (2)")
            .execute(&mut setup)
            .await
            .expect("table");
        let (mut a, mut b) = (
            sqlx::MySqlConnection::connect(&db.url).await.expect("a"),
            sqlx::MySqlConnection::connect(&db.url).await.expect("b"),
        );
        sqlx::query("BEGIN").execute(&mut a).await.expect("begin a");
        sqlx::query("BEGIN").execute(&mut b).await.expect("begin b");
        sqlx::query("SELECT id FROM dl WHERE id = 1 FOR UPDATE").execute(&mut a).await.expect("a takes 1");
        sqlx::query("SELECT id FROM dl WHERE id = 2 FOR UPDATE").execute(&mut b).await.expect("b takes 2");
        let a_wants_2 = tokio::spawn(async move {
            let r = sqlx::query("SELECT id FROM dl WHERE id = 2 FOR UPDATE").execute(&mut a).await.map(|_| ());
            drop(sqlx::query("ROLLBACK").execute(&mut a).await);
            r
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let b_wants_1 = sqlx::query("SELECT id FROM dl WHERE id = 1 FOR UPDATE").execute(&mut b).await.map(|_| ());
        drop(sqlx::query("ROLLBACK").execute(&mut b).await);
        let a_result = a_wants_2.await.expect("task");
        let victim = [b_wants_1, a_result].into_iter().find_map(Result::err).expect("MariaDB broke the deadlock");
        let e = calldesk::store::StoreError::from(victim);
        assert!(e.is_deadlock(), "{e}");
    })
    .await;
}
