//! Cost per agent (issue 24, point 8): N real `calldesk console` processes on one host, each in
//! its own pseudo-terminal (tmux, on a socket of the bench's own), measured from /proc:
//!
//! - memory per console: VmRSS, and PSS (the shared binary's pages divided among the consoles
//!   that map them: what one more agent costs the host), goal ≤ 16 MiB;
//! - threads per console;
//! - CPU per console, idle and while the agent works (a key every second, a reload every fifth),
//!   from the scheduler's own clock of every thread (`/proc/PID/task/*/schedstat`), goal idle
//!   ≤ 0.1% of a core;
//! - database connections per console, goal ≤ 2: on MariaDB the process's TCP sockets to the
//!   server's port (its `/proc/PID/fd` sockets looked up in `/proc/net/tcp`), cross-checked
//!   with the server's own process list; on SQLite the descriptors open on the database file.
//!
//! One supervisor board runs beside them and is reported on its own line.
//!
//! `cargo bench --bench console_cost` (50 consoles) or `cargo bench --bench console_cost -- --quick`
//! (8). SQLite always; MariaDB when `CALLDESK_TEST_MYSQL_URL` is set.

#[path = "support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use support::{Better, Report};

const BIN: &str = env!("CARGO_BIN_EXE_calldesk");
/// Drivers in each agent's queue.
const QUEUE: usize = 20;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    if !Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success()) {
        assert!(!std::env::var("CI").is_ok_and(|v| v == "true" || v == "1"), "CI is set but tmux is missing");
        println!("\n*** SKIPPED the console cost bench: tmux is not installed ***\n");
        return;
    }
    let n = support::size(50, 8);
    let window = Duration::from_secs(if support::quick() { 8 } else { 20 });
    let mut report = Report::default();
    let dir = tempfile::tempdir().expect("tmp");

    let sqlite = Target::Sqlite(dir.path().join("cost.db"));
    measure(&mut report, &sqlite, n, window, dir.path()).await;

    match support::mysql_base() {
        Some(base) => {
            let db = format!("cost_{}", std::process::id());
            admin(&base, &format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4")).await;
            let target = Target::MySql { base: base.clone(), db: db.clone() };
            measure(&mut report, &target, n, window, dir.path()).await;
            admin(&base, &format!("DROP DATABASE `{db}`")).await;
        }
        None => println!(
            "\n*** SKIPPED the MariaDB half of the console cost bench: CALLDESK_TEST_MYSQL_URL is not set ***\n"
        ),
    }
    report.finish();
}

/// The database the consoles share.
enum Target {
    Sqlite(PathBuf),
    MySql { base: String, db: String },
}

impl Target {
    fn name(&self) -> &'static str {
        match self {
            Target::Sqlite(_) => "SQLite",
            Target::MySql { .. } => "MariaDB",
        }
    }

    fn url(&self) -> String {
        match self {
            Target::Sqlite(p) => format!("sqlite://{}", p.display()),
            Target::MySql { base, db } => format!("{base}/{db}"),
        }
    }

    /// The database connections process `pid` holds now.
    fn connections(&self, pid: u32) -> usize {
        match self {
            Target::Sqlite(path) => open_on(pid, path),
            Target::MySql { base, .. } => tcp_to(pid, port_of(base)),
        }
    }
}

async fn admin(base: &str, sql: &str) {
    use sqlx::Connection;
    let mut c = sqlx::MySqlConnection::connect(base).await.expect("connect to the MariaDB server");
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.expect(sql);
    c.close().await.expect("close");
}

/// Agents 1..=n, each with a queue of [`QUEUE`] drivers, and supervisor n+1.
async fn prepare(target: &Target, n: usize, dir: &Path) {
    let url = target.url();
    let store = calldesk::store::Store::open(&url).await.expect("store");
    for id in 1..=n as i64 {
        store.add_caller(id, &format!("Agent {id}"), calldesk::domain::Role::Agent, Utc::now()).await.expect("caller");
    }
    store.add_caller(n as i64 + 1, "Boss", calldesk::domain::Role::Supervisor, Utc::now()).await.expect("supervisor");
    store.close().await;
    let mut csv = String::from("id,name,mobile,tmid,city,state,assigned_to\n");
    for a in 1..=n {
        for k in 0..QUEUE {
            let i = a * 1000 + k;
            csv.push_str(&format!("D{i:06},Driver {a}-{k},91{:010},TM{i},Pune,MH,{a}\n", 6_000_000_000u64 + i as u64));
        }
    }
    let path = dir.join("drivers.csv");
    std::fs::write(&path, csv).expect("csv");
    let out = Command::new(BIN)
        .args(["import", "drivers"])
        .arg(&path)
        .env("DATABASE_URL", &url)
        .env("CALLDESK_LOG_DIR", dir.join("logs"))
        .output()
        .expect("run calldesk import");
    assert!(out.status.success(), "import: {}", String::from_utf8_lossy(&out.stderr));
}

/// A tmux server of the bench's own, killed on drop (the test suite uses the default one).
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(tag: &str) -> Self {
        Self { socket: format!("cd-cost-{}-{tag}", std::process::id()) }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn start(&self, name: &str, shell: &str) {
        let ok = self
            .cmd()
            .args(["new-session", "-d", "-s", name, "-x", "120", "-y", "40"])
            .arg(shell)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux new-session {name}");
    }

    /// The process the pane's shell runs (the shell stays to keep the screen of one that fails).
    fn pid(&self, name: &str) -> Option<u32> {
        let out = self.cmd().args(["display-message", "-p", "-t", name, "#{pane_pid}"]).output().ok()?;
        let shell: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
        children.split_whitespace().next()?.parse().ok()
    }

    fn screen(&self, name: &str) -> String {
        self.cmd()
            .args(["capture-pane", "-p", "-t", name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn key(&self, name: &str, key: &str) {
        let _ = self.cmd().args(["send-keys", "-t", name, key]).status();
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // The socket file stays behind a killed server: removed too.
        let socket = self.cmd().args(["display-message", "-p", "#{socket_path}"]).output().ok();
        let _ = self.cmd().arg("kill-server").status();
        if let Some(out) = socket.filter(|o| o.status.success()) {
            let _ = std::fs::remove_file(String::from_utf8_lossy(&out.stdout).trim());
        }
    }
}

/// One console (or the board) under measurement.
struct Proc {
    name: String,
    pid: u32,
}

/// What one process showed over a window.
#[derive(Clone, Copy, Default)]
struct Sample {
    rss_mib: f64,
    pss_mib: f64,
    threads: f64,
    cpu_pct: f64,
    conns: f64,
}

async fn measure(report: &mut Report, target: &Target, n: usize, window: Duration, dir: &Path) {
    let name = target.name();
    println!("\n== {name}: {n} consoles and one supervisor, {} s windows ==", window.as_secs());
    let t = Instant::now();
    prepare(target, n, dir).await;
    let tmux = Tmux::new(&name.to_lowercase());
    let url = target.url();
    let logs = dir.join("logs");
    let shell = |id: usize, cmd: &str| {
        format!(
            "DATABASE_URL='{url}' CALLDESK_USER_ID={id} WEBHOOK_ADDR=127.0.0.1:0 CALLING_HOURS=00:00-24:00 \
             CALLDESK_LOG_DIR='{}' {BIN} {cmd} || {{ echo 'calldesk exited'; sleep 600; }}",
            logs.display()
        )
    };
    for id in 1..=n {
        tmux.start(&format!("a{id}"), &shell(id, "console"));
    }
    tmux.start("boss", &shell(n + 1, "supervise"));
    let consoles = ready(&tmux, (1..=n).map(|id| (format!("a{id}"), format!("Driver {id}-"))).collect()).await;
    let boss = ready(&tmux, vec![("boss".to_string(), "Agent 1".to_string())]).await;
    println!("{n} consoles on screen in {:.1} s (database prepared first)", t.elapsed().as_secs_f64());
    // Let start-up work (first loads, connections opening) finish before the idle window.
    tokio::time::sleep(Duration::from_secs(if support::quick() { 3 } else { 8 })).await;

    let all: Vec<&Proc> = consoles.iter().chain(boss.iter()).collect();
    let idle = sample(target, &all, window, |_| {}).await;
    let mut second = 0usize;
    let working = sample(target, &all, window, |procs| {
        second += 1;
        for p in procs.iter().filter(|p| p.name != "boss") {
            let key = if second.is_multiple_of(5) {
                "r"
            } else if second.is_multiple_of(2) {
                "Up"
            } else {
                "Down"
            };
            tmux.key(&p.name, key);
        }
    })
    .await;
    if let Target::MySql { base, db } = target {
        let total = server_connections(base, db).await;
        report.info(
            &format!("{name}: connections the server lists for the database (all {} processes)", all.len()),
            total as f64,
            "",
        );
    }
    let n_c = consoles.len();
    let (idle_c, idle_b) = (&idle[..n_c], &idle[n_c..]);
    let (work_c, work_b) = (&working[..n_c], &working[n_c..]);
    print_table(name, idle_c, work_c, idle_b, work_b);

    let med = |v: &[Sample], f: fn(&Sample) -> f64| median(v.iter().map(f).collect());
    let max = |v: &[Sample], f: fn(&Sample) -> f64| v.iter().map(f).fold(0.0, f64::max);
    report.figure(
        &format!("{name}: PSS per console, idle (median)"),
        med(idle_c, |s| s.pss_mib),
        "MiB",
        16.0,
        Better::Lower,
    );
    report.info(&format!("{name}: VmRSS per console, idle (median)"), med(idle_c, |s| s.rss_mib), "MiB");
    report.figure(
        &format!("{name}: CPU per console, idle (median)"),
        med(idle_c, |s| s.cpu_pct),
        "% of a core",
        0.1,
        Better::Lower,
    );
    report.info(&format!("{name}: CPU per console, working (median)"), med(work_c, |s| s.cpu_pct), "% of a core");
    report.figure(
        &format!("{name}: database connections per console (max, idle or working)"),
        max(idle_c, |s| s.conns).max(max(work_c, |s| s.conns)),
        "",
        2.0,
        Better::Lower,
    );
    report.info(
        &format!("{name}: database connections of the supervisor (max)"),
        max(idle_b, |s| s.conns).max(max(work_b, |s| s.conns)),
        "",
    );
}

/// Waits until each session's screen shows its text; a console that exited or never got there
/// fails the bench with its screen.
async fn ready(tmux: &Tmux, sessions: Vec<(String, String)>) -> Vec<Proc> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut out = Vec::new();
    for (name, text) in sessions {
        loop {
            let screen = tmux.screen(&name);
            if screen.contains(&text) {
                break;
            }
            assert!(Instant::now() < deadline, "{name} did not show {text:?}; its screen:\n{screen}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let pid = tmux.pid(&name).expect("pane pid");
        out.push(Proc { name, pid });
    }
    out
}

/// Samples every process over `window`, calling `each_second` once a second meanwhile.
async fn sample(
    target: &Target,
    procs: &[&Proc],
    window: Duration,
    mut each_second: impl FnMut(&[&Proc]),
) -> Vec<Sample> {
    let start: Vec<(Instant, u64)> = procs.iter().map(|p| (Instant::now(), cpu_ns(p.pid))).collect();
    let mut conns = vec![0usize; procs.len()];
    let end = Instant::now() + window;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(1)).await;
        each_second(procs);
        for (c, p) in conns.iter_mut().zip(procs) {
            *c = (*c).max(target.connections(p.pid));
        }
    }
    procs
        .iter()
        .zip(start)
        .zip(conns)
        .map(|((p, (t0, c0)), conns)| {
            let alive = Path::new(&format!("/proc/{}", p.pid)).exists();
            assert!(alive, "{} (pid {}) exited during the window", p.name, p.pid);
            let cpu = cpu_ns(p.pid).saturating_sub(c0) as f64 / 1e9;
            Sample {
                rss_mib: status_kb(p.pid, "VmRSS:") / 1024.0,
                pss_mib: rollup_kb(p.pid, "Pss:") / 1024.0,
                threads: status_kb(p.pid, "Threads:"),
                cpu_pct: 100.0 * cpu / t0.elapsed().as_secs_f64(),
                conns: conns as f64,
            }
        })
        .collect()
}

fn print_table(name: &str, idle_c: &[Sample], work_c: &[Sample], idle_b: &[Sample], work_b: &[Sample]) {
    println!("{name}, per process          median  max     (idle | working)");
    let row = |label: &str, idle: &[Sample], work: &[Sample], f: fn(&Sample) -> f64, unit: &str| {
        let m = |v: &[Sample]| (median(v.iter().map(f).collect()), v.iter().map(f).fold(0.0, f64::max));
        let ((im, ix), (wm, wx)) = (m(idle), m(work));
        println!("  {label:<24} {im:>7.2} {ix:>7.2} | {wm:>7.2} {wx:>7.2}  {unit}");
    };
    for (who, idle, work) in [("console", idle_c, work_c), ("supervisor", idle_b, work_b)] {
        row(&format!("{who} VmRSS"), idle, work, |s| s.rss_mib, "MiB");
        row(&format!("{who} PSS"), idle, work, |s| s.pss_mib, "MiB");
        row(&format!("{who} threads"), idle, work, |s| s.threads, "");
        row(&format!("{who} CPU"), idle, work, |s| s.cpu_pct, "% of a core");
        row(&format!("{who} db connections"), idle, work, |s| s.conns, "");
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A numeric field of `/proc/PID/status` (kB for sizes).
fn status_kb(pid: u32, field: &str) -> f64 {
    field_of(&std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default(), field)
}

/// A field of `/proc/PID/smaps_rollup` in kB.
fn rollup_kb(pid: u32, field: &str) -> f64 {
    field_of(&std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default(), field)
}

fn field_of(text: &str, field: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// CPU time of every thread of `pid` now, in ns, as the scheduler counts it.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
        .sum()
}

/// The targets of `pid`'s open descriptors.
fn fds(pid: u32) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return Vec::new() };
    dir.flatten().filter_map(|e| std::fs::read_link(e.path()).ok()).collect()
}

/// Descriptors `pid` holds on the SQLite file `path` (one per connection).
fn open_on(pid: u32, path: &Path) -> usize {
    fds(pid).iter().filter(|t| t.as_path() == path).count()
}

/// `pid`'s TCP connections to a server on `port`.
fn tcp_to(pid: u32, port: u16) -> usize {
    let inodes: HashSet<String> = fds(pid)
        .iter()
        .filter_map(|t| t.to_str()?.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_string))
        .collect();
    let mut n = 0;
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(remote), Some(inode)) = (cols.get(2), cols.get(9)) else { continue };
            let rport = remote.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            if rport == Some(port) && inodes.contains(*inode) {
                n += 1;
            }
        }
    }
    n
}

fn port_of(url: &str) -> u16 {
    let after_at = url.rsplit('@').next().unwrap_or(url);
    let host_port = after_at.split('/').next().unwrap_or("");
    host_port.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(3306)
}

/// Connections the server lists for database `db`.
async fn server_connections(base: &str, db: &str) -> i64 {
    use sqlx::Connection;
    let mut c = sqlx::MySqlConnection::connect(base).await.expect("connect");
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM information_schema.processlist WHERE db = ?")
        .bind(db)
        .fetch_one(&mut c)
        .await
        .expect("processlist");
    c.close().await.expect("close");
    n
}
