//! Test harness: runs the same test body against a real SQLite file and, when a server is
//! configured (`CALLDESK_TEST_MYSQL_URL`, set by `.ci/run`), a fresh MariaDB database.
#![allow(dead_code)]

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
    let admin = sqlx::mysql::MySqlPoolOptions::new().max_connections(1).connect(&base).await.expect("connect to the MariaDB test server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4"))).execute(&admin).await.expect("create test database");
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
