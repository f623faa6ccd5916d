//! Bulk import of drivers against the `sqlite3` CLI on the same rows and schema, in one run:
//! the baseline is `.import --csv` into a staging table plus one `INSERT … SELECT` each into
//! `drivers` and `call_queue` of a database `calldesk migrate` created; then `calldesk import
//! drivers` (release build) loads the same file into a fresh migrated database. Reports the time
//! ratio (goal ≤ 2) and the import's peak RSS (goal ≤ 64 MiB, VmHWM polled from /proc), and the
//! MariaDB import time when `CALLDESK_TEST_MYSQL_URL` is set.
//!
//! `cargo bench --bench import` (1M drivers), `-- --quick` (100k). Needs `/usr/bin/sqlite3`
//! (Debian package `sqlite3`).

#[path = "support/mod.rs"]
mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{Better, Report};

const CALDESK: &str = env!("CARGO_BIN_EXE_calldesk");
const SQLITE3: &str = "/usr/bin/sqlite3";
const CALLERS: i64 = 20;

fn main() {
    let n = support::size(1_000_000, 100_000);
    if !Path::new(SQLITE3).exists() {
        eprintln!("the baseline needs {SQLITE3}: install the Debian package `sqlite3`");
        std::process::exit(1);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("drivers.csv");
    write_drivers(&csv, n);
    let size = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    println!("import: {n} drivers, {:.1} MiB of CSV", size as f64 / (1024.0 * 1024.0));

    let base_db = dir.path().join("baseline.db");
    let base = baseline(&base_db, &csv);
    let ours_db = dir.path().join("calldesk.db");
    let url = format!("sqlite://{}", ours_db.display());
    prepare(&url, dir.path());
    let (ours, peak) = timed_import(&url, &csv, dir.path());
    let loaded = sqlite_count(&ours_db, "drivers");
    assert_eq!(loaded, n as i64, "calldesk loaded every driver");
    assert_eq!(sqlite_count(&base_db, "drivers"), n as i64, "the baseline loaded every driver");

    let mut report = Report::default();
    report.info("sqlite3 .import + INSERT … SELECT", base.as_secs_f64(), "s");
    report.info("calldesk import (SQLite)", ours.as_secs_f64(), "s");
    report.figure("import time / sqlite3 baseline", ours.as_secs_f64() / base.as_secs_f64(), "×", 2.0, Better::Lower);
    report.figure("import peak RSS", peak, "MiB", 64.0, Better::Lower);
    if let Some(base_url) = support::mysql_base() {
        let (t, peak) = mariadb(&base_url, &csv, dir.path());
        report.info("calldesk import (MariaDB)", t.as_secs_f64(), "s");
        report.info("calldesk import (MariaDB) / sqlite3 baseline", t.as_secs_f64() / base.as_secs_f64(), "×");
        report.info("calldesk import (MariaDB) peak RSS", peak, "MiB");
    }
    report.finish();
}

/// `n` drivers as a recruiting team's export would hold them: numbers written every usual way,
/// most assigned to one of the callers, a few with their own time zone.
fn write_drivers(path: &Path, n: usize) {
    const FIRST: [&str; 12] =
        ["Ramesh", "Suresh", "Mahesh", "Rajesh", "Amit", "Sunil", "Vijay", "Manoj", "Ravi", "Imran", "Harpreet", "राजू"];
    const LAST: [&str; 8] = ["Kumar", "Singh", "Sharma", "Yadav", "Patel", "Reddy", "Khan", "Gill"];
    const PLACES: [(&str, &str); 6] =
        [("Pune", "MH"), ("Nagpur", "MH"), ("Delhi", "DL"), ("Jaipur", "RJ"), ("Ludhiana", "PB"), ("Chennai", "TN")];
    let mut rng = StdRng::seed_from_u64(12);
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("csv"));
    writeln!(w, "id,name,mobile,tmid,city,state,assigned_to,timezone").expect("write");
    // Distinct numbers in a shuffled order: i ↦ i·a mod a prime is one-to-one below it.
    const PRIME: u64 = 3_999_999_979;
    for i in 0..n {
        let m = 6_000_000_000 + (i as u64 + 1) * 2_654_435_761 % PRIME;
        let mobile = match i % 4 {
            0 => m.to_string(),
            1 => format!("+91 {}-{:05}", m / 100_000, m % 100_000),
            2 => format!("0{m}"),
            _ => format!("91{m}"),
        };
        let (city, state) = PLACES[rng.random_range(0..PLACES.len())];
        let caller = if rng.random_bool(0.8) { rng.random_range(1..=CALLERS).to_string() } else { String::new() };
        let zone = if rng.random_bool(0.05) { "Asia/Dubai" } else { "" };
        writeln!(
            w,
            "DRV{i:07},{} {},{mobile},TM{},{city},{state},{caller},{zone}",
            FIRST[rng.random_range(0..FIRST.len())],
            LAST[rng.random_range(0..LAST.len())],
            rng.random_range(100_000..1_000_000),
        )
        .expect("write");
    }
    w.flush().expect("flush");
}

fn calldesk(url: &str, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(CALDESK);
    c.args(args).env("DATABASE_URL", url).env("CALLDESK_LOG_DIR", dir.join("logs")).env_remove("TELECMI_APP_SECRET");
    c
}

fn ok(mut c: Command) {
    let out = c.output().expect("run");
    assert!(out.status.success(), "{c:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A migrated database with the callers the file names.
fn prepare(url: &str, dir: &Path) {
    ok(calldesk(url, dir, &["migrate"]));
    for id in 1..=CALLERS {
        ok(calldesk(url, dir, &["caller", "add", &id.to_string(), &format!("Caller {id}")]));
    }
}

/// The `sqlite3` CLI into a database of the same schema: the time of the whole process.
fn baseline(db: &Path, csv: &Path) -> Duration {
    let url = format!("sqlite://{}", db.display());
    ok(calldesk(&url, db.parent().expect("dir"), &["migrate"]));
    let script = format!(
        ".import --csv {csv} cd_stage\n\
         BEGIN;\n\
         INSERT INTO drivers (id, name, mobile, tmid, city, state, assigned_to, created_at, timezone) \
         SELECT id, name, mobile, NULLIF(tmid, ''), NULLIF(city, ''), NULLIF(state, ''), \
         CAST(NULLIF(assigned_to, '') AS INTEGER), '2026-01-01 00:00:00', NULLIF(timezone, '') FROM cd_stage;\n\
         INSERT INTO call_queue (driver_id, caller_id, priority, due_at, attempts) \
         SELECT id, CAST(assigned_to AS INTEGER), 1, '2026-01-01 00:00:00', 0 FROM cd_stage WHERE assigned_to <> '';\n\
         COMMIT;\n",
        csv = csv.display()
    );
    let t = Instant::now();
    let mut child = Command::new(SQLITE3)
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sqlite3");
    child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("script");
    let out = child.wait_with_output().expect("sqlite3");
    let took = t.elapsed();
    assert!(out.status.success() && out.stderr.is_empty(), "sqlite3: {}", String::from_utf8_lossy(&out.stderr));
    took
}

/// Runs `calldesk import drivers` on `csv`: its wall time and its peak RSS in MiB. VmHWM is the
/// kernel's own high-water mark, so polling it only has to catch the process before it exits.
fn timed_import(url: &str, csv: &Path, dir: &Path) -> (Duration, f64) {
    let t = Instant::now();
    let mut child = calldesk(url, dir, &["import", "drivers", csv.to_str().expect("path")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run calldesk import");
    let mut peak = 0.0_f64;
    let status = loop {
        if let Some(mib) = support::peak_rss_mib(child.id()) {
            peak = peak.max(mib);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = t.elapsed();
    let out = child.wait_with_output().expect("output");
    assert!(status.success(), "import failed: {}", String::from_utf8_lossy(&out.stderr));
    println!("  calldesk: {}", String::from_utf8_lossy(&out.stdout).trim());
    (took, peak)
}

fn sqlite_count(db: &Path, table: &str) -> i64 {
    let out = Command::new(SQLITE3).arg(db).arg(format!("SELECT COUNT(*) FROM {table}")).output().expect("sqlite3");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(-1)
}

/// The same import into a fresh database on the MariaDB server.
fn mariadb(base: &str, csv: &Path, dir: &Path) -> (Duration, f64) {
    let name = format!("cd_bench_import_{}", std::process::id());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let admin = |sql: String| {
        rt.block_on(async {
            let pool = sqlx::MySqlPool::connect(base).await.expect("connect to MariaDB");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.expect("admin statement");
            pool.close().await;
        })
    };
    admin(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"));
    let url = format!("{base}/{name}");
    prepare(&url, dir);
    let result = timed_import(&url, csv, dir);
    admin(format!("DROP DATABASE `{name}`"));
    result
}
