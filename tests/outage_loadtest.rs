//! The load test running through a database outage (issue 26): a private MariaDB server paused
//! (SIGSTOP) or shut down and restarted while a team works. Nothing may be lost or duplicated,
//! and every call must end with the status and talk time TeleCMI reported.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::private_mariadb::PrivateMariaDb;

fn start_loadtest(db: &PrivateMariaDb, dir: &std::path::Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_calldesk"))
        .arg("loadtest")
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("CALLDESK_LOG_DIR", dir.join("logs"))
        .env("CALLDESK_DATA_DIR", dir.join("data"))
        .env_remove("TELECMI_APP_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start calldesk loadtest")
}

/// The number after `label` on its report line.
fn figure(report: &str, label: &str) -> u64 {
    let line =
        report.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{label}? {report}"));
    line.trim_start()[label.len()..].split_whitespace().next().and_then(|n| n.parse().ok()).expect(line)
}

/// Sleeps until `at` after `t0`.
fn at(t0: Instant, secs: u64) {
    std::thread::sleep((t0 + Duration::from_secs(secs)).saturating_duration_since(Instant::now()));
}

/// Waits for the run and judges it: the outage was felt (the agents retried), and still nothing
/// was lost, duplicated or ended wrong.
fn judge(child: Child, db: &PrivateMariaDb) {
    let out = child.wait_with_output().expect("loadtest ran");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let context = format!("{report}\n--- stderr\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("calls placed"), "no report: {context}\n--- server\n{}", db.log());
    assert!(figure(&report, "calls placed") >= 10, "{context}");
    assert_eq!(figure(&report, "double claims"), 0, "{context}");
    assert_eq!(figure(&report, "lost outcomes"), 0, "{context}");
    assert_eq!(figure(&report, "duplicated outcomes"), 0, "{context}");
    assert_eq!(figure(&report, "wrong call endings"), 0, "{context}");
    assert_eq!(figure(&report, "webhooks unacknowledged"), 0, "{context}");
    assert_eq!(figure(&report, "calls never ended"), 0, "{context}");
    assert!(report.contains("database away, retried"), "the outage was not felt by the agents: {context}");
}

/// SIGSTOP for 12 s mid-run (a hung host: connections open, nothing answered), then SIGCONT;
/// the agents work through the API, as the old app's clients do.
#[test]
fn a_paused_database_loses_nothing_under_load() {
    let Some(db) = PrivateMariaDb::start(&[]) else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let t0 = Instant::now();
    let child =
        start_loadtest(&db, dir.path(), &["--agents", "6", "--minutes", "0.6", "--think-ms", "300", "--step-ms", "250"]);
    at(t0, 10);
    db.pause();
    at(t0, 22);
    db.resume();
    judge(child, &db);
}

/// A real shutdown of the server mid-run, 10 s down, and a restart; the agents are consoles in
/// child processes of their own (the team host's shape).
#[test]
fn a_restarted_database_loses_nothing_under_load() {
    let Some(mut db) = PrivateMariaDb::start(&[]) else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let t0 = Instant::now();
    let child = start_loadtest(
        &db,
        dir.path(),
        &["--agents", "6", "--processes", "3", "--minutes", "0.6", "--think-ms", "300", "--step-ms", "250"],
    );
    at(t0, 12);
    db.stop();
    at(t0, 22);
    db.restart();
    judge(child, &db);
}
