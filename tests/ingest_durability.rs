//! Nothing acknowledged is lost: the real `calldesk serve` takes a burst of concurrent webhooks,
//! is killed with SIGKILL in the middle of it, and every webhook it answered 200 is found stored
//! afterwards, with each call's status what its stored events make it.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use common::{TestDb, each_backend, fixtures};

use calldesk::domain::status::resolve;
use calldesk::domain::{CallStatus, Leg};
use calldesk::store::Store;
use calldesk::telecmi::webhook;

const CALLS: usize = 250;
const CONNECTIONS: usize = 32;
const TOKEN: &str = "durability-webhook-token-0123456789";
const USER: &str = "5003_33336628";

/// One call's webhooks as TeleCMI sends them (live events, then both legs' reports).
fn script(call_id: i64, mobile: &str) -> Vec<String> {
    let extra = serde_json::json!({ "calldesk_call_id": call_id.to_string() }).to_string();
    let rid = format!("req-{call_id}-durability");
    let event = |leg: &str, status: &str| {
        serde_json::json!({"call_id": format!("c-{call_id}"), "leg": leg, "type": "event", "user": USER,
            "cmiuuid": format!("c-{call_id}-{leg}"), "direction": "outbound", "callerid": "912240000000",
            "app_id": 33336628, "time": 1_650_635_340_436_i64, "extra_params": extra, "request_id": rid,
            "status": status, "to": mobile})
        .to_string()
    };
    let cdr = |leg: &str, secs: u32| {
        serde_json::json!({"call_id": format!("c-{call_id}"), "leg": leg, "type": "cdr", "appid": 33336628,
            "to": mobile.parse::<u64>().unwrap_or(0), "cmiuuid": format!("c-{call_id}-{leg}"), "status": "answered",
            "user": USER, "time": "1650630551178", "direction": "outbound", "answeredsec": secs,
            "hangup_reason": "recv_bye", "request_id": rid, "extra_params": extra})
        .to_string()
    };
    vec![
        event("a", "started"),
        event("a", "answered"),
        event("b", "started"),
        event("b", "answered"),
        event("b", "hangup"),
        event("a", "hangup"),
        cdr("b", 40 + (call_id % 20) as u32),
        cdr("a", 90),
    ]
}

/// The dedup keys stored, read straight from the tables.
async fn stored_keys(db: &TestDb) -> HashSet<String> {
    let sql = "SELECT dedup_key FROM webhook_events";
    let rows: Vec<(String,)> = if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.expect("keys");
        pool.close().await;
        rows
    } else {
        let pool = sqlx::MySqlPool::connect(&db.url).await.expect("mysql");
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.expect("keys");
        pool.close().await;
        rows
    };
    rows.into_iter().map(|(k,)| k).collect()
}

fn serve(db: &TestDb, dir: &std::path::Path, port: u16) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_calldesk"))
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("CALLDESK_LOG_DIR", dir.join("logs"))
        .env("WEBHOOK_ADDR", format!("127.0.0.1:{port}"))
        .env("WEBHOOK_TOKEN", TOKEN)
        .env("CALLING_HOURS", common::ALL_DAY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start calldesk serve")
}

#[tokio::test]
async fn every_acknowledged_webhook_survives_kill_9_mid_burst() {
    each_backend(|db| async move {
        let dir = tempfile::tempdir().expect("tmp");
        let mut calls = vec![];
        for n in 0..CALLS {
            let d = fixtures::driver(&format!("D{n:04}"), &format!("Driver {n}"), &format!("91987{n:07}"), None);
            calls
                .push(db.store.start_call(&fixtures::telecmi_call(&d, 3, USER), Utc::now()).await.expect("start call"));
        }
        // Round by round: the burst holds every stage of many calls at once.
        let scripts: Vec<Vec<String>> =
            calls.iter().map(|c| script(c.id, c.driver_mobile.as_deref().unwrap_or_default())).collect();
        let bodies: Arc<Vec<String>> =
            Arc::new((0..8).flat_map(|round| scripts.iter().map(move |s| s[round].clone())).collect());
        let total = bodies.len();

        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let mut server = serve(&db, dir.path(), port);
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().expect("client");
        let mut up = false;
        for _ in 0..100 {
            if http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok_and(|r| r.status().is_success())
            {
                up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(up, "calldesk serve did not come up");

        let next = Arc::new(AtomicUsize::new(0));
        let acked = Arc::new(std::sync::Mutex::new(Vec::<usize>::new()));
        let acks = Arc::new(AtomicUsize::new(0));
        let url = format!("http://127.0.0.1:{port}/webhook/telecmi/{TOKEN}");
        let mut workers = vec![];
        for _ in 0..CONNECTIONS {
            let (http, url, next, acked, acks, bodies) =
                (http.clone(), url.clone(), next.clone(), acked.clone(), acks.clone(), bodies.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(body) = bodies.get(i) else { break };
                    let sent =
                        http.post(&url).header("content-type", "application/json").body(body.clone()).send().await;
                    if sent.is_ok_and(|r| r.status().as_u16() == 200) {
                        acked.lock().expect("acked").push(i);
                        acks.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }));
        }
        // SIGKILL once a third of the burst is acknowledged: requests are in flight, batches open.
        while acks.load(Ordering::SeqCst) < total / 3 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        server.kill().expect("kill -9");
        let _ = server.wait();
        let at_kill = acks.load(Ordering::SeqCst);
        for w in workers {
            w.await.expect("worker");
        }
        let acked = acked.lock().expect("acked").clone();
        assert!(acked.len() < total, "the kill came after the burst: {} of {total} acknowledged", acked.len());
        assert!(acked.len() >= at_kill, "acknowledged before the kill: {at_kill}");

        let stored = stored_keys(&db).await;
        eprintln!(
            "[{}] {total} sent, {at_kill} acknowledged at the kill, {} in all, {} stored",
            db.name,
            acked.len(),
            stored.len()
        );
        let lost: Vec<String> = acked
            .iter()
            .map(|&i| webhook::parse(bodies[i].as_bytes()).expect("parse").dedup_key)
            .filter(|k| !stored.contains(k))
            .collect();
        assert!(
            lost.is_empty(),
            "[{}] {} acknowledged webhooks lost of {}: {:?}",
            db.name,
            lost.len(),
            acked.len(),
            &lost[..lost.len().min(5)]
        );
        assert!(stored.len() >= acked.len(), "stored {} < acknowledged {}", stored.len(), acked.len());

        // Every call is exactly what its stored events make it: no event stored without its
        // effect, no effect without its event.
        let store = Store::open(&db.url).await.expect("reopen");
        for c in &calls {
            let events = store.call_events(c.id).await.expect("events");
            let mut want = CallStatus::Initiated;
            let mut duration = 0;
            let by_key: BTreeMap<_, _> = events.iter().map(|e| (e.id, e)).collect();
            for e in by_key.values() {
                let leg = match e.leg.as_str() {
                    "a" => Leg::A,
                    "b" => Leg::B,
                    _ => Leg::Unknown,
                };
                let probe = serde_json::json!({"type": e.kind, "status": e.status, "leg": e.leg}).to_string();
                if let Some(signal) = webhook::parse(probe.as_bytes()).expect("probe").signal {
                    want = resolve(want, leg, signal);
                }
                if e.kind == "cdr" && leg == Leg::B {
                    duration = 40 + (c.id % 20);
                }
            }
            let got = store.call(c.id).await.expect("call").expect("exists");
            assert_eq!(got.status.as_deref(), Some(want.as_str()), "call {} after {events:?}", c.id);
            assert_eq!(got.call_duration, Some(duration), "call {}", c.id);
        }
        store.close().await;
    })
    .await;
}
