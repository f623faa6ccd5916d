//! `calldesk loadtest` through the real binary, small, on each backend: it runs agents against
//! the simulator and one listener (in one process, and in several: the team host's shape), and
//! its report finds no double claim and nothing lost.

mod common;

use std::process::{Command, Output};

use calldesk::domain::Role;
use common::{TestDb, each_backend};

fn loadtest(db: &TestDb, log_dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calldesk"))
        .arg("loadtest")
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("CALLDESK_LOG_DIR", log_dir)
        .env_remove("TELECMI_APP_SECRET")
        .output()
        .expect("run calldesk loadtest")
}

/// The number after `label` on its report line.
fn figure(report: &str, label: &str) -> u64 {
    let line =
        report.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{label}? {report}"));
    line.trim_start()[label.len()..].split_whitespace().next().and_then(|n| n.parse().ok()).expect(line)
}

#[tokio::test]
async fn a_small_team_places_calls_with_no_double_claim_and_nothing_lost() {
    each_backend(|db| async move {
        let logs = tempfile::tempdir().expect("tmp");
        let out =
            loadtest(&db, logs.path(), &["--agents", "4", "--minutes", "0.1", "--think-ms", "100", "--step-ms", "50"]);
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{report}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(report.contains("PASS"), "{report}");
        assert_eq!(figure(&report, "double claims"), 0, "{report}");
        assert_eq!(figure(&report, "lost outcomes"), 0, "{report}");
        assert_eq!(figure(&report, "duplicated outcomes"), 0, "{report}");
        let placed = figure(&report, "calls placed");
        let saved = figure(&report, "outcomes saved");
        assert!(placed >= 4, "every agent dials in 6 s: {report}");
        assert_eq!(saved, placed, "{report}");
        // The report's figures are the database's: every saved outcome is on its call.
        let rows = db.store.loadtest_calls().await.expect("calls");
        assert_eq!(rows.len() as u64, figure(&report, "call_logs rows"), "{report}");
        let with_outcome = rows.iter().filter(|r| r.feedback.is_some()).count() as u64;
        assert_eq!(with_outcome, saved, "{report}");
        // Two agents did race for the same drivers (the neighbour's queue every other turn).
        let callers: std::collections::HashSet<_> = rows.iter().filter_map(|r| r.caller_id).collect();
        assert_eq!(callers.len(), 4, "{report}");
    })
    .await;
}

/// The team host's shape: the agents in child processes of their own (one console each, or a few),
/// each with its own pools on the one database, beside the process that runs `serve`'s listener
/// and the supervisor.
#[tokio::test]
async fn a_team_in_several_processes_on_one_database_loses_nothing() {
    each_backend(|db| async move {
        let logs = tempfile::tempdir().expect("tmp");
        let args = ["--agents", "6", "--processes", "3", "--minutes", "0.25", "--think-ms", "100", "--step-ms", "50"];
        let out = loadtest(&db, logs.path(), &args);
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{report}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(report.contains("PASS") && report.contains("(3 processes, as consoles)"), "{report}");
        assert_eq!(figure(&report, "double claims"), 0, "{report}");
        assert_eq!(figure(&report, "lost outcomes"), 0, "{report}");
        assert_eq!(figure(&report, "duplicated outcomes"), 0, "{report}");
        assert_eq!(figure(&report, "database locked"), 0, "{report}");
        // Three children, each a process of its own, none of them the one that judged the run.
        assert_eq!(figure(&report, "agent processes"), 3, "{report}");
        let line = report.lines().find(|l| l.contains("agent processes")).expect("pids line");
        let (children, parent) =
            line.split_once("(pids ").and_then(|(_, r)| r.split_once("; this process ")).expect(line);
        let parent: u32 = parent.trim_end_matches(')').parse().expect(line);
        let children: std::collections::HashSet<u32> =
            children.split_whitespace().map(|p| p.parse().expect(line)).collect();
        assert_eq!(children.len(), 3, "three distinct pids: {report}");
        assert!(!children.contains(&parent) && parent != std::process::id(), "{report}");
        let placed = figure(&report, "calls placed");
        assert!(placed >= 6, "every agent dials in 15 s: {report}");
        assert_eq!(figure(&report, "outcomes saved"), placed, "{report}");
        // What the children reported is what the database holds, every agent's calls among them.
        let rows = db.store.loadtest_calls().await.expect("calls");
        assert_eq!(rows.len() as u64, figure(&report, "call_logs rows"), "{report}");
        assert_eq!(rows.iter().filter(|r| r.feedback.is_some()).count() as u64, placed, "{report}");
        let callers: std::collections::HashSet<_> = rows.iter().filter_map(|r| r.caller_id).collect();
        assert_eq!(callers.len(), 6, "{report}");
    })
    .await;
}

#[tokio::test]
async fn a_database_in_use_is_refused_and_left_as_it_was() {
    each_backend(|db| async move {
        db.store.add_caller(3, "Pooja", Role::Agent, chrono::Utc::now()).await.expect("caller");
        let logs = tempfile::tempdir().expect("tmp");
        let out = loadtest(&db, logs.path(), &["--agents", "2", "--minutes", "0.05"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains("needs an empty database") && err.contains("1 caller(s)"), "{err}");
        assert_eq!(db.store.row_counts().await.expect("counts"), (1, 0, 0), "nothing written");
    })
    .await;
}
