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

/// A running load test whose stderr is read as it comes, so the outage can be timed from the
/// moment its agents start (its setup may take long on a busy machine).
struct Run {
    child: Child,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Run {
    fn start(db: &PrivateMariaDb, dir: &std::path::Path, args: &[&str]) -> Self {
        let mut child = start_loadtest(db, dir, args);
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (pipe, sink) = (child.stderr.take().expect("stderr"), stderr.clone());
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                s.push_str(&line);
                s.push('\n');
            }
        });
        Self { child, stderr }
    }

    /// The moment the agents started (the run's announcement on stderr).
    fn agents_started(&self) -> Instant {
        let until = Instant::now() + Duration::from_secs(120);
        loop {
            if self.stderr().contains("loadtest: ") {
                return Instant::now();
            }
            assert!(Instant::now() < until, "the load test did not start: {}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// Waits for the run and judges it: the outage fell inside it (webhooks were spooled), and still
/// nothing was lost, duplicated or ended wrong.
fn judge(run: Run, db: &PrivateMariaDb, dir: &std::path::Path) {
    let Run { child, stderr } = run;
    let out = child.wait_with_output().expect("loadtest ran");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = stderr.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let context = format!("{report}\n--- stderr\n{stderr}");
    assert!(report.contains("calls placed"), "no report: {context}\n--- server\n{}", db.log());
    assert!(figure(&report, "calls placed") >= 10, "{context}");
    assert_eq!(figure(&report, "double claims"), 0, "{context}");
    assert_eq!(figure(&report, "lost outcomes"), 0, "{context}");
    assert_eq!(figure(&report, "duplicated outcomes"), 0, "{context}");
    assert_eq!(figure(&report, "wrong call endings"), 0, "{context}");
    assert_eq!(figure(&report, "webhooks unacknowledged"), 0, "{context}");
    assert_eq!(figure(&report, "calls never ended"), 0, "{context}");
    // The outage fell inside the run: webhooks came while the database was away, and were spooled.
    assert!(logs_of(dir).contains("webhook spooled"), "no webhook was spooled: the outage missed the run: {context}");
}

/// Every log line the run wrote.
fn logs_of(dir: &std::path::Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir.join("logs")).into_iter().flatten().flatten() {
        all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    all
}

/// SIGSTOP for 12 s mid-run (a hung host: connections open, nothing answered), then SIGCONT;
/// the agents work through the API, as the old app's clients do.
#[test]
fn a_paused_database_loses_nothing_under_load() {
    let Some(db) = PrivateMariaDb::start(&[]) else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let run =
        Run::start(&db, dir.path(), &["--agents", "6", "--minutes", "0.6", "--think-ms", "300", "--step-ms", "250"]);
    let t0 = run.agents_started();
    at(t0, 8);
    db.pause();
    at(t0, 20);
    db.resume();
    judge(run, &db, dir.path());
}

/// A real shutdown of the server mid-run, 10 s down, and a restart; the agents are consoles in
/// child processes of their own (the team host's shape).
#[test]
fn a_restarted_database_loses_nothing_under_load() {
    let Some(mut db) = PrivateMariaDb::start(&[]) else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let run = Run::start(
        &db,
        dir.path(),
        &["--agents", "6", "--processes", "3", "--minutes", "0.6", "--think-ms", "300", "--step-ms", "250"],
    );
    let t0 = run.agents_started();
    at(t0, 8);
    db.stop();
    at(t0, 18);
    db.restart();
    judge(run, &db, dir.path());
}
