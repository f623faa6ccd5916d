//! Test harness: runs the same test body against a real SQLite file and, when a server is
//! configured (`CALLDESK_TEST_MYSQL_URL`, set by `.ci/run`), a fresh MariaDB database.
#![allow(dead_code)]

pub mod e2e;
pub mod fixtures;
pub mod private_mariadb;
pub mod tmux;
pub mod webhooks;

use std::future::Future;
use std::io::Write;

use calldesk::store::Store;

/// A database for one test; dropping it leaves the files/databases to the throwaway server.
#[derive(Clone)]
pub struct TestDb {
    pub name: &'static str,
    pub url: String,
    pub store: Store,
    /// Keeps the SQLite folder alive; shared so a test body that uses only some fields
    /// (closures capture fields, not whole values) cannot delete it under the store.
    pub dir: Option<std::sync::Arc<tempfile::TempDir>>,
}

/// A fresh MySQL database URL on the test server, or `None` (loudly) when none is configured.
/// In CI a missing server is a failure, never a skip.
pub async fn mysql_url() -> Option<String> {
    let Ok(base) = std::env::var("CALLDESK_TEST_MYSQL_URL") else {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("CI is set but CALLDESK_TEST_MYSQL_URL is not: the MariaDB tests must run in CI");
        }
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED the MariaDB half of this test: CALLDESK_TEST_MYSQL_URL is not set \
             (run `source .ci/mariadb.sh` to start a server) ***"
        );
        return None;
    };
    let base = base.trim_end_matches('/').to_string();
    let db = format!("cd_test_{}", &calldesk::commands::tokens::generate()[3..19]);
    let admin = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .expect("connect to the MariaDB test server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4")))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    Some(format!("{base}/{db}"))
}

pub async fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("calldesk.db").display());
    let store = Store::open(&url).await.expect("open sqlite");
    TestDb { name: "sqlite", url, store, dir: Some(std::sync::Arc::new(dir)) }
}

pub async fn mysql_db() -> Option<TestDb> {
    let url = mysql_url().await?;
    let store = Store::open(&url).await.expect("open mysql");
    Some(TestDb { name: "mariadb", url, store, dir: None })
}

/// Every backend available here: SQLite always, MariaDB when configured.
pub async fn backends() -> Vec<TestDb> {
    let mut v = vec![sqlite_db().await];
    if let Some(m) = mysql_db().await {
        v.push(m);
    }
    v
}

/// Runs `body` once per backend, naming the backend when it fails.
pub async fn each_backend<F, Fut>(body: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    use futures::FutureExt;
    for db in backends().await {
        let name = db.name;
        if let Err(panic) = std::panic::AssertUnwindSafe(body(db.clone())).catch_unwind().await {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            panic!("[{name}] {msg}");
        }
    }
}

/// The pieces of a telephony test: a real listener on loopback, the simulator posting to it,
/// and a dialer whose TeleCMI client talks to the simulator.
pub struct Rig {
    pub db: TestDb,
    pub sim: calldesk::telecmi::simulator::Simulator,
    pub dialer: calldesk::coord::dialer::Dialer,
    pub bus: calldesk::coord::bus::Bus,
    pub addr: std::net::SocketAddr,
    pub token: String,
}

/// `CALLING_HOURS` for tests that are not about calling hours (they run at any hour).
pub const ALL_DAY: &str = "00:00-24:00";

pub const APP_ID: &str = "33336628";
pub const SECRET: &str = "sim-secret-Zq8xK2vL9";

pub fn test_config(base_url: &str) -> calldesk::config::Config {
    calldesk::config::Config::from_raw(test_settings(base_url)).expect("test config")
}

/// The settings of [`test_config`], for a test that changes some.
pub fn test_settings(base_url: &str) -> calldesk::config::RawSettings {
    use calldesk::config::{RawSettings, Secret};
    RawSettings {
        user_id: Some("3".into()),
        telecmi_app_id: Some(APP_ID.into()),
        telecmi_app_secret: Some(Secret::new(SECRET)),
        telecmi_base_url: Some(base_url.into()),
        telecmi_agents: Some("3:5003".into()),
        // Tests run at any hour: only the calling-hours tests narrow the window.
        calling_hours: Some(ALL_DAY.into()),
        ..RawSettings::default()
    }
}

pub async fn rig(db: TestDb, step_ms: u64) -> Rig {
    rig_with(db, step_ms, |_| {}).await
}

/// [`rig`] with some settings changed (`CALLING_HOURS`, …).
pub async fn rig_with(db: TestDb, step_ms: u64, change: impl FnOnce(&mut calldesk::config::RawSettings)) -> Rig {
    let sim = calldesk::telecmi::simulator::Simulator::start(APP_ID, SECRET, std::time::Duration::from_millis(step_ms))
        .await
        .expect("simulator");
    let mut settings = test_settings(&sim.base_url());
    change(&mut settings);
    let config = std::sync::Arc::new(calldesk::config::Config::from_raw(settings).expect("test config"));
    let bus = calldesk::coord::bus::new_bus();
    let token = "test-webhook-token-0123456789".to_string();
    let state = calldesk::server::AppState::new(
        db.store.clone(),
        bus.clone(),
        calldesk::config::Secret::new(token.clone()),
        Some(APP_ID),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let dialer = calldesk::coord::dialer::Dialer::new(db.store.clone(), config, bus.clone()).expect("dialer");
    let app = calldesk::server::router(state.clone()).merge(calldesk::server::api::router(state, dialer.clone()));
    tokio::spawn(calldesk::server::serve(listener, app, std::future::pending()));
    sim.set_webhook_url(format!("http://{addr}/webhook/telecmi/{token}"));
    let mut drivers = fixtures::drivers(0..10, 3);
    for (i, d) in drivers.iter_mut().enumerate() {
        d.tmid = Some(format!("TM{i}"));
    }
    fixtures::seed(&db.store, &[(3, "Pooja"), (4, "Ravi")], &drivers, chrono::Utc::now()).await;
    Rig { db, sim, dialer, bus, addr, token }
}

/// Waits (up to 5 s) until the call reaches a final status and no webhook has arrived for 300 ms.
pub async fn settle(store: &Store, call_id: i64) -> calldesk::domain::CallLog {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut last_events = usize::MAX;
    loop {
        let call = store.call(call_id).await.expect("call").expect("exists");
        let events = store.call_events(call_id).await.expect("events").len();
        if call.call_status().is_final() && events == last_events {
            return call;
        }
        last_events = events;
        assert!(std::time::Instant::now() < deadline, "call {call_id} never settled: {call:?}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// Writes `status` into a call row directly (a word the old PHP system left, or a state a test
/// needs), bypassing the store's rules.
pub async fn set_status(db: &TestDb, id: i64, status: &str) {
    let sql = "UPDATE call_logs SET status = ? WHERE id = ?";
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        sqlx::query(sql).bind(status).bind(id).execute(&pool).await.expect("update");
        pool.close().await;
    } else {
        let pool = sqlx::MySqlPool::connect(&db.url).await.expect("mysql");
        sqlx::query(sql).bind(status).bind(id).execute(&pool).await.expect("update");
        pool.close().await;
    }
}

/// Moves a call row's start back (a test's "a while ago").
pub async fn set_created_at(db: &TestDb, id: i64, at: &str) {
    let sql = "UPDATE call_logs SET created_at = ? WHERE id = ?";
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        sqlx::query(sql).bind(at).bind(id).execute(&pool).await.expect("update");
        pool.close().await;
    } else {
        let pool = sqlx::MySqlPool::connect(&db.url).await.expect("mysql");
        sqlx::query(sql).bind(at).bind(id).execute(&pool).await.expect("update");
        pool.close().await;
    }
}
