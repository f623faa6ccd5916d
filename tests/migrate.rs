//! `calldesk migrate` through the real binary: empty SQLite, empty MariaDB, and a MariaDB that
//! already holds the old system's `call_logs` with rows.

mod common;

use std::process::Command;

use calldesk::store::{CallFilter, CallPage, Store};

const OLD_DDL: &str = "CREATE TABLE `call_logs` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `reference_id` varchar(255) DEFAULT NULL,
  `caller_id` int(11) DEFAULT NULL,
  `driver_id` varchar(50) DEFAULT NULL,
  `driver_mobile` varchar(20) DEFAULT NULL,
  `driver_name` varchar(255) DEFAULT NULL,
  `driver_tmid` varchar(50) DEFAULT NULL,
  `call_type` enum('ivr','manual') DEFAULT 'manual',
  `status` varchar(50) DEFAULT 'initiated',
  `provider` enum('telecmi','manual','myoperator') DEFAULT 'manual',
  `telecmi_user_id` varchar(100) DEFAULT NULL,
  `feedback` text DEFAULT NULL,
  `remarks` text DEFAULT NULL,
  `call_duration` int(11) DEFAULT 0,
  `created_at` timestamp NOT NULL DEFAULT current_timestamp(),
  `updated_at` timestamp NULL DEFAULT NULL ON UPDATE current_timestamp(),
  PRIMARY KEY (`id`),
  KEY `idx_reference_id` (`reference_id`),
  KEY `idx_caller_id` (`caller_id`),
  KEY `idx_driver_id` (`driver_id`),
  KEY `idx_provider` (`provider`),
  KEY `idx_created_at` (`created_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

type OldRow = (i64, Option<String>, Option<String>, Option<i32>);

fn migrate(url: &str, log_dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_calldesk"))
        .arg("migrate")
        .env("DATABASE_URL", url)
        .env("CALLDESK_LOG_DIR", log_dir)
        .env_remove("TELECMI_APP_ID")
        .env_remove("TELECMI_APP_SECRET")
        .output()
        .expect("run calldesk")
}

const TABLES: [&str; 8] = [
    "call_logs",
    "callers",
    "drivers",
    "call_queue",
    "webhook_events",
    "api_tokens",
    "feedback_drafts",
    "calldesk_settings",
];

#[tokio::test]
async fn migrate_creates_the_schema_on_an_empty_sqlite_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("empty.db").display());
    let out = migrate(&url, dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));
    let pool = sqlx::SqlitePool::connect(&url).await.expect("open");
    for t in TABLES {
        let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind(t)
            .fetch_one(&pool)
            .await
            .expect("q");
        assert_eq!(n.0, 1, "table {t}");
    }
    let idx: (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'call_logs' AND name LIKE 'idx_%'",
    )
    .fetch_one(&pool)
    .await
    .expect("q");
    assert!(idx.0 >= 5, "the five call_logs indexes");
    // The enum CHECKs hold.
    let bad = sqlx::query("INSERT INTO call_logs (call_type) VALUES ('video')").execute(&pool).await;
    assert!(bad.is_err(), "call_type outside ('ivr','manual') is refused");
    // The updated_at trigger fires.
    sqlx::query("INSERT INTO call_logs (status) VALUES ('initiated')").execute(&pool).await.expect("insert");
    sqlx::query("UPDATE call_logs SET status = 'ringing'").execute(&pool).await.expect("update");
    let (u,): (Option<String>,) = sqlx::query_as("SELECT updated_at FROM call_logs").fetch_one(&pool).await.expect("q");
    assert!(u.is_some());
}

#[tokio::test]
async fn a_bad_database_url_is_one_line_naming_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = migrate("postgres://nope", dir.path());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "configuration error: DATABASE_URL: must start with sqlite:// or mysql://");
}

#[tokio::test]
async fn migrate_on_mariadb_creates_the_schema_and_keeps_old_rows() {
    let Some(empty_url) = common::mysql_url().await else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let out = migrate(&empty_url, dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pool = sqlx::MySqlPool::connect(&empty_url).await.expect("open");
    for t in TABLES {
        let n: (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
        )
        .bind(t)
        .fetch_one(&pool)
        .await
        .expect("q");
        assert_eq!(n.0, 1, "table {t}");
    }
    pool.close().await;

    // A database the old PHP system has been writing to.
    let Some(old_url) = common::mysql_url().await else { return };
    let pool = sqlx::MySqlPool::connect(&old_url).await.expect("open");
    sqlx::query(OLD_DDL).execute(&pool).await.expect("old table");
    sqlx::query(
        "INSERT INTO call_logs (reference_id, caller_id, driver_id, driver_mobile, driver_name, driver_tmid, call_type, status, provider, \
         telecmi_user_id, feedback, remarks, call_duration, created_at) VALUES \
         ('telecmi_abc123', 3, 'driver_123', '919876543210', 'John Doe', 'TM123456', 'ivr', 'completed', 'telecmi', '5003_1', 'Interested', 'wants details', 120, '2025-11-13 10:30:00'), \
         (NULL, 3, 'driver_9', '919800000009', 'Old Manual', NULL, 'manual', 'initiated', 'myoperator', NULL, NULL, NULL, 0, '2025-11-12 09:00:00')",
    )
    .execute(&pool)
    .await
    .expect("old rows");
    let before: Vec<OldRow> =
        sqlx::query_as("SELECT id, reference_id, feedback, call_duration FROM call_logs ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("q");

    let out = migrate(&old_url, dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after: Vec<OldRow> =
        sqlx::query_as("SELECT id, reference_id, feedback, call_duration FROM call_logs ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("q");
    assert_eq!(before, after, "old rows untouched");
    let (upd,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM call_logs WHERE updated_at IS NOT NULL")
        .fetch_one(&pool)
        .await
        .expect("q");
    assert_eq!(upd, 0, "migration did not touch the rows");

    // calldesk reads them through its own API.
    let store = Store::open(&old_url).await.expect("store");
    let rows = store
        .list_calls(
            &CallFilter { caller_id: Some(3), ..Default::default() },
            CallPage { before_id: None, offset: None, limit: 10 },
        )
        .await
        .expect("list");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].reference_id.as_deref(), Some("telecmi_abc123"));
    assert_eq!(rows[1].provider.as_deref(), Some("telecmi"));
    assert_eq!(rows[0].provider.as_deref(), Some("myoperator"));
    assert_eq!(rows[1].created_at.format("%Y-%m-%d %H:%M:%S").to_string(), "2025-11-13 10:30:00");
}
