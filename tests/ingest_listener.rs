//! The listener's side of group commit: a burst is stored once each and told in order, a webhook
//! is answered only after the commit holding it, and the SQLite log stays short under a steady
//! stream.

mod common;

use std::collections::HashSet;

use common::webhooks::{USER, call, event, t0};
use common::{TestDb, each_backend};

use calldesk::domain::{Leg, ProviderEvent, Signal};

/// calldesk's webhook route on `db` (as `calldesk serve` mounts it), its bus, and its URL.
async fn listener(db: &TestDb) -> (calldesk::coord::bus::Bus, String) {
    let bus = calldesk::coord::bus::new_bus();
    let token = "ingest-test-token-0123456789";
    let state = calldesk::server::AppState::new(
        db.store.clone(),
        bus.clone(),
        calldesk::config::Secret::new(token.to_string()),
        Some(common::APP_ID),
    );
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    tokio::spawn(calldesk::server::serve(tcp, calldesk::server::router(state), std::future::pending()));
    (bus, format!("http://{addr}/webhook/telecmi/{token}"))
}

/// A live event of our call `id` in TeleCMI's format, under TeleCMI's request id `rid`.
fn body(id: i64, rid: &str, leg: &str, status: &str) -> String {
    serde_json::json!({"type": "event", "leg": leg, "status": status, "request_id": rid, "user": USER,
        "extra_params": serde_json::json!({"calldesk_call_id": id.to_string()}).to_string(), "app_id": common::APP_ID})
    .to_string()
}

/// Posts every body at once; the HTTP status of each, in order.
async fn post_all(url: &str, bodies: &[String]) -> Vec<u16> {
    let http = reqwest::Client::new();
    let sends = bodies.iter().map(|b| {
        let req = http.post(url).header("content-type", "application/json").body(b.clone());
        async move { req.send().await.expect("post").status().as_u16() }
    });
    futures::future::join_all(sends).await
}

#[tokio::test]
async fn a_burst_is_stored_once_each_and_told_in_order() {
    each_backend(|db| async move {
        let (bus, url) = listener(&db).await;
        let mut rx = bus.subscribe();
        let mut bodies = vec![];
        for n in 0..40 {
            let c = call(&db.store, n).await;
            for (leg, status) in [("a", "started"), ("b", "answered"), ("b", "hangup")] {
                bodies.push(body(c.id, &format!("R{n}"), leg, status));
            }
            bodies.push(body(c.id, &format!("R{n}"), "a", "started")); // resent
        }
        let statuses = post_all(&url, &bodies).await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let stored = db.store.events_after(0, 1000).await.expect("events");
        assert_eq!(stored.len(), 120, "three per call, the resent one once");
        // Told once each, after storing, in the order the events were stored.
        let mut told = vec![];
        let mut last_told = std::collections::BTreeMap::new();
        while let Ok(u) = rx.try_recv() {
            told.push(u.event_id.expect("event id"));
            last_told.insert(u.call.id, u.call);
        }
        assert_eq!(told, stored.iter().map(|e| e.id).collect::<Vec<_>>());
        // What was told of each call last is the row as stored, every column (updated_at too).
        for (id, call) in last_told {
            let row = db.store.call(id).await.expect("read").expect("call");
            assert_eq!(call, row, "call {id} as told and as stored");
            assert!(row.updated_at.is_some(), "a webhook's change stamps updated_at");
        }
        for n in 0..40 {
            let c = db.store.call_by_reference(&format!("R{n}")).await.expect("call").expect("learnt its request id");
            assert_eq!(c.status.as_deref(), Some("completed"), "call {n}");
        }
    })
    .await;
}

/// Answered only after the commit: an event whose commit fails (SQLite checks deferred foreign
/// keys at COMMIT; MariaDB has no such check, so this is SQLite only) is answered 503 and not
/// stored, and the webhooks batched with it are stored and answered 200. A listener answering
/// before its commit would have said 200 for the lost event.
#[tokio::test]
async fn a_webhook_is_answered_only_after_its_commit() {
    let db = common::sqlite_db().await;
    let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
    for ddl in [
        "CREATE TABLE poison (call_log_id INTEGER REFERENCES call_logs (id) DEFERRABLE INITIALLY DEFERRED)",
        "CREATE TRIGGER poison AFTER INSERT ON webhook_events WHEN NEW.dedup_key LIKE 'poison%' \
         BEGIN INSERT INTO poison VALUES (-1); END",
    ] {
        sqlx::query(ddl).execute(&pool).await.expect("poison at commit");
    }
    pool.close().await;
    let (bus, url) = listener(&db).await;
    let mut rx = bus.subscribe();
    let mut bodies = vec![];
    for n in 0..30 {
        let c = call(&db.store, n).await;
        let rid = if n % 10 == 3 { format!("poison-{n}") } else { format!("R{n}") };
        bodies.push(body(c.id, &rid, "a", "started"));
        bodies.push(body(c.id, &format!("R{n}"), "b", "answered"));
    }
    let statuses = post_all(&url, &bodies).await;
    let stored: HashSet<String> = db
        .store
        .events_after(0, 1000)
        .await
        .expect("events")
        .into_iter()
        .map(|e| format!("{}:{}", e.call_log_id.unwrap_or_default(), e.leg))
        .collect();
    for (b, status) in bodies.iter().zip(&statuses) {
        let ev = calldesk::telecmi::webhook::parse(b.as_bytes()).expect("parse");
        let key = format!("{}:{}", ev.call_log_id.unwrap_or_default(), ev.leg.as_str());
        if ev.dedup_key.starts_with("poison") {
            assert_eq!(*status, 503, "a webhook whose commit failed was answered {status}");
            assert!(!stored.contains(&key), "{key}");
        } else {
            assert_eq!(*status, 200, "{}", ev.dedup_key);
            assert!(stored.contains(&key), "{key} acknowledged but not stored");
        }
    }
    let mut told = 0;
    while rx.try_recv().is_ok() {
        told += 1;
    }
    assert_eq!(told, 57, "only what was stored is told");
}

/// On a SQLite file the webhook writer keeps the write-ahead log short under a steady stream of
/// batches, with no pause between them (its checkpoints run on a thread of their own and the
/// writer finishes them: `store::wal`): about 15 MiB of events go through here from four streams
/// at once, and the log stays far below. A writer that left the log to grow (a checkpoint
/// deferred to look fast, or one that never finishes while the writer is busy) fails this.
#[tokio::test]
async fn the_sqlite_log_stays_short_under_a_steady_stream() {
    each_backend(|db| async move {
        let Some(dir) = db.dir.clone() else { return }; // MariaDB has no such log
        let c = call(&db.store, 1).await;
        let payload = format!("{{\"pad\":\"{}\"}}", "x".repeat(4000));
        let streams = (0..4).map(|stream| {
            let (store, payload) = (db.store.clone(), payload.clone());
            async move {
                for round in 0..30 {
                    let evs: Vec<ProviderEvent> = (0..30)
                        .map(|i| {
                            let status = format!("s{stream}-{round}-{i}");
                            let mut e = event(c.id, Leg::A, "event", &status, Signal::Started, None);
                            e.payload = payload.clone();
                            e
                        })
                        .collect();
                    let received: Vec<_> = evs.iter().map(|e| (e, t0())).collect();
                    for r in store.apply_events(&received).await {
                        r.expect("stored");
                    }
                }
            }
        });
        // The log file is cut back when it starts over, so its size is watched all along.
        let log_size = {
            let dir = dir.path().to_path_buf();
            move || {
                std::fs::read_dir(&dir)
                    .expect("dir")
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with("-wal"))
                    .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                    .max()
                    .unwrap_or(0)
            }
        };
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watcher = {
            let (done, log_size) = (done.clone(), log_size.clone());
            std::thread::spawn(move || {
                let mut most = 0;
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    most = most.max(log_size());
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                most
            })
        };
        futures::future::join_all(streams).await;
        done.store(true, std::sync::atomic::Ordering::Release);
        let wal = watcher.join().expect("watcher").max(log_size());
        eprintln!("the log reached {:.1} MiB", wal as f64 / f64::from(1 << 20));
        assert!(wal < 8 << 20, "the log grew to {:.1} MiB", wal as f64 / f64::from(1 << 20));
    })
    .await;
}
