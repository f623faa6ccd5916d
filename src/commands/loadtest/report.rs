//! The load test's supervisor (its lag probe) and its verdict from the agents' records and the
//! database.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use chrono_tz::Tz;
use tokio::sync::broadcast::error::RecvError;

use super::{Ledger, lock};
use crate::coord::bus::{Bus, Source};
use crate::domain::CallStatus;
use crate::store::{LoadtestCall, Store};
use crate::supervise::snapshot::{self, Snapshot};
use crate::supervise::state::SuperView;
use crate::supervise::update::{self, Action, Effect};

/// The supervisor must see a change within this.
pub const LAG_GOAL: Duration = Duration::from_secs(1);

fn rank(s: CallStatus) -> u8 {
    match s {
        CallStatus::Initiated => 0,
        CallStatus::Ringing => 1,
        CallStatus::Connected => 2,
        _ => 3,
    }
}

/// A webhook's change of a call, as the server committed it.
struct Change {
    call_id: i64,
    rank: u8,
    at: Instant,
}

/// Hears the server's bus: every call change a webhook committed, with the moment it did.
#[derive(Clone)]
pub struct LagProbe {
    pending: Arc<Mutex<Vec<Change>>>,
    /// Changes the probe missed (bus overrun) and changes the supervisor never saw.
    missed: Arc<AtomicU64>,
}

impl LagProbe {
    pub fn start(bus: &Bus) -> Self {
        let probe = Self { pending: Arc::default(), missed: Arc::default() };
        let mut rx = super::subscribe(bus);
        let p = probe.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(u) if u.source == Source::Webhook => {
                        let c = Change { call_id: u.call.id, rank: rank(u.call.call_status()), at: Instant::now() };
                        lock(&p.pending).push(c);
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(n)) => {
                        p.missed.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        });
        probe
    }

    /// Changes the supervisor never saw (or the probe could not time).
    pub fn unseen(&self) -> u64 {
        self.missed.load(Ordering::Relaxed) + lock(&self.pending).len() as u64
    }

    /// Settles every change committed before `started` that `snap` shows: the call is live at
    /// that status or later, or no longer live (it ended). Returns their lags to `seen`.
    fn settle(&self, snap: &Snapshot, started: Instant, seen: Instant, lags: &mut Vec<Duration>) {
        let live: HashMap<i64, u8> = snap.live.iter().map(|c| (c.id, rank(c.call_status()))).collect();
        lock(&self.pending).retain(|c| {
            let shown = c.at <= started && live.get(&c.call_id).is_none_or(|r| *r >= c.rank);
            if shown {
                lags.push(seen.saturating_duration_since(c.at));
            }
            !shown
        });
    }
}

/// How long the supervisor's reads may keep failing before the load test gives up: longer than
/// the outage of a minute the team must ride through (a restart, a failover).
const FAILING_AT_MOST: Duration = Duration::from_secs(180);

/// The supervisor console on its own pool, with the console's own read rules
/// ([`update::update`]): it follows the event feed, reads on every change and every second, one
/// read at a time. Reads run inline here (the console spawns them), so the changes heard during a
/// read are taken together after it, as the console's one follow-up read would. Runs until
/// `stop` and then until every change is seen (at most 5 s more); a read that fails (the database
/// away) is tried again on the next tick. Returns the lags.
pub async fn supervise(store: Store, tz: Tz, probe: LagProbe, stop: Arc<AtomicBool>) -> anyhow::Result<Vec<Duration>> {
    let bus = crate::coord::bus::new_bus();
    let mut updates = bus.subscribe();
    let feed = tokio::spawn(crate::coord::feed::follow(store.clone(), bus.clone(), crate::coord::feed::POLL));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    // Reads run inline here: ticks missed meanwhile are skipped, as the console drops them.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut view = SuperView::new(Utc::now(), tz, store.label().to_string(), "loadtest".into());
    let mut reads: Vec<Effect> = Vec::new();
    let mut lags = Vec::new();
    let mut stopped_at: Option<Instant> = None;
    let mut failing_since: Option<Instant> = None;
    loop {
        let action = if let Some(Effect::LoadSnapshot { previous }) = reads.pop() {
            let started = Instant::now();
            let result = snapshot::load(&store, Utc::now(), tz, &view.catalog, &previous).await;
            if let Ok(snap) = &result {
                probe.settle(snap, started, Instant::now(), &mut lags);
            }
            Action::SnapshotLoaded { result: result.map(Box::new).map_err(|e| e.to_string()), at: Utc::now() }
        } else {
            tokio::select! {
                _ = tick.tick() => Action::Tick(Utc::now()),
                u = updates.recv() => {
                    if matches!(u, Err(RecvError::Closed)) {
                        continue;
                    }
                    // Heard together: the console's one read covers them all.
                    while updates.try_recv().is_ok() {}
                    Action::CallsChanged
                }
            }
        };
        if let Err(e) = note_read(&action, &mut failing_since) {
            feed.abort();
            return Err(e);
        }
        reads.extend(update::update(&mut view, action));
        if stop.load(Ordering::Relaxed) && reads.is_empty() {
            let at = *stopped_at.get_or_insert_with(Instant::now);
            if lock(&probe.pending).is_empty() || at.elapsed() > Duration::from_secs(5) {
                break;
            }
        }
    }
    feed.abort();
    store.close().await;
    Ok(lags)
}

/// A failed read is shown and read again, as on the board (a failover drops the connection
/// under it); only reads failing for [`FAILING_AT_MOST`] end the load test.
fn note_read(action: &Action, failing_since: &mut Option<Instant>) -> anyhow::Result<()> {
    match action {
        Action::SnapshotLoaded { result: Ok(_), .. } => *failing_since = None,
        Action::SnapshotLoaded { result: Err(e), .. } => {
            let since = *failing_since.get_or_insert_with(Instant::now);
            tracing::warn!("loadtest supervisor: read failed: {e}");
            eprintln!("supervisor: a read failed ({e}); reading again");
            anyhow::ensure!(
                since.elapsed() <= FAILING_AT_MOST,
                "the supervisor's reads failed for {FAILING_AT_MOST:?}: {e}"
            );
        }
        _ => {}
    }
    Ok(())
}

/// What [`judge`] weighs.
pub struct Inputs {
    pub agents: usize,
    pub elapsed: Duration,
    pub ledger: Ledger,
    pub rows: Vec<LoadtestCall>,
    pub lags: Vec<Duration>,
    pub unseen: u64,
    /// MariaDB's `Questions` delta over the run (all clients).
    pub questions: Option<i64>,
    pub backend: String,
    /// Log lines (of every process of the run) that name SQLite's lock ([`LogMarks`]).
    pub locked_in_logs: u64,
    /// Calls that do not end as TeleCMI said (status, talk time), one line each.
    pub wrong_ends: Vec<String>,
    /// Webhooks TeleCMI (the simulator) sent that were not answered 2xx in time.
    pub unacknowledged: u64,
}

/// The verdict of a run.
#[derive(Debug, Clone)]
pub struct Report {
    pub backend: String,
    pub agents: usize,
    pub seconds: f64,
    pub placed: u64,
    pub saved: u64,
    pub call_rows: usize,
    pub claims_lost: u64,
    pub dial_refused: u64,
    pub refusals: BTreeMap<u16, (u64, String)>,
    pub unfinished: u64,
    pub errors: BTreeMap<String, u64>,
    /// Two agents holding one driver at once, from the agents' own records.
    pub double_claims_agents: u64,
    /// Calls to one driver by different agents overlapping in `call_logs`.
    pub double_claims_db: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// Calls placed at TeleCMI whose row does not end with the status and talk time it reported.
    pub wrong_ends: Vec<String>,
    /// Webhooks not answered 2xx within TeleCMI's timeout: each may be lost (no retry is promised).
    pub unacknowledged: u64,
    pub lag_samples: usize,
    pub lag_unseen: u64,
    pub lag_p50: Duration,
    pub lag_p99: Duration,
    pub lag_max: Duration,
    pub store_calls_per_agent_s: f64,
    pub questions_per_agent_s: Option<f64>,
    /// Outcomes saved per minute, the whole team.
    pub calls_per_min: f64,
    pub dial_p50: Duration,
    pub dial_p99: Duration,
    pub save_p50: Duration,
    pub save_p99: Duration,
    pub save_max: Duration,
    /// Errors the agents met that were SQLite's lock ("database is locked", SQLITE_BUSY).
    pub locked_errors: u64,
    pub locked_in_logs: u64,
    /// The child processes the agents ran in (empty: all in this process).
    pub pids: Vec<u32>,
}

impl Report {
    pub fn double_claims(&self) -> u64 {
        self.double_claims_agents + self.double_claims_db
    }

    /// The goals: no double claim, nothing lost or duplicated, supervisor p99 under 1 s
    /// (and the run did place calls and the supervisor did see changes).
    pub fn misses(&self) -> Vec<String> {
        let mut m = Vec::new();
        if self.placed == 0 {
            m.push("no call was placed".into());
        }
        if self.double_claims() > 0 {
            m.push(format!("{} double claim(s)", self.double_claims()));
        }
        if self.lost > 0 {
            m.push(format!("{} lost outcome(s)", self.lost));
        }
        if self.duplicated > 0 {
            m.push(format!("{} duplicated outcome(s)", self.duplicated));
        }
        if self.unacknowledged > 0 {
            m.push(format!("{} webhook(s) not acknowledged", self.unacknowledged));
        }
        if !self.wrong_ends.is_empty() {
            m.push(format!("{} call(s) not ending as TeleCMI said", self.wrong_ends.len()));
        }
        if self.lag_samples == 0 {
            m.push("the supervisor saw no change".into());
        } else if self.lag_p99 >= LAG_GOAL {
            m.push(format!("supervisor lag p99 {} ≥ {}", ms(self.lag_p99), ms(LAG_GOAL)));
        }
        m
    }
}

impl Report {
    /// Whether the record is true: double claims, lost and duplicated outcomes, webhooks not
    /// acknowledged, calls not ending as TeleCMI said.
    fn fmt_record(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  double claims           {} (agents' records {}, overlapping calls in call_logs {})",
            self.double_claims(),
            self.double_claims_agents,
            self.double_claims_db
        )?;
        writeln!(f, "  lost outcomes           {}", self.lost)?;
        writeln!(f, "  duplicated outcomes     {}", self.duplicated)?;
        writeln!(
            f,
            "  webhooks unacknowledged {} (not answered 2xx within 5 s: TeleCMI promises no retry)",
            self.unacknowledged
        )?;
        writeln!(
            f,
            "  wrong call endings      {} (status or talk time not as TeleCMI reported)",
            self.wrong_ends.len()
        )?;
        for w in self.wrong_ends.iter().take(5) {
            writeln!(f, "    {w}")?;
        }
        Ok(())
    }

    /// The pace and what slowed it: outcomes per minute, dial and save latency, SQLite's lock,
    /// the agents' processes.
    fn fmt_pace(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  outcomes per minute     {:.0} (the whole team)", self.calls_per_min)?;
        writeln!(f, "  dial latency            p50 {}  p99 {}", ms(self.dial_p50), ms(self.dial_p99))?;
        writeln!(
            f,
            "  outcome save latency    p50 {}  p99 {}  max {}",
            ms(self.save_p50),
            ms(self.save_p99),
            ms(self.save_max)
        )?;
        writeln!(
            f,
            "  database locked         {} (agents' errors; {} log lines of all processes name SQLITE_BUSY / \"database is locked\")",
            self.locked_errors, self.locked_in_logs
        )?;
        if !self.pids.is_empty() {
            let pids: Vec<String> = self.pids.iter().map(u32::to_string).collect();
            let me = std::process::id();
            writeln!(f, "  agent processes         {} (pids {}; this process {me})", self.pids.len(), pids.join(" "))?;
        }
        Ok(())
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loadtest on {}: {} agents for {:.1} s", self.backend, self.agents, self.seconds)?;
        if self.pids.is_empty() {
            writeln!(f, " (one process, through the API)")?;
        } else {
            writeln!(f, " ({} processes, as consoles)", self.pids.len())?;
        }
        writeln!(f, "  calls placed            {}", self.placed)?;
        writeln!(f, "  outcomes saved          {}", self.saved)?;
        writeln!(f, "  call_logs rows          {}", self.call_rows)?;
        writeln!(f, "  claims refused          {} (another agent held the driver: as it should be)", self.claims_lost)?;
        writeln!(
            f,
            "  dials refused by API    {} (an answer, not a failure: e.g. the driver was dialed moments ago)",
            self.dial_refused
        )?;
        for (status, (n, example)) in &self.refusals {
            writeln!(f, "    HTTP {status} ×{n}, e.g. \"{example}\"")?;
        }
        writeln!(f, "  calls never ended       {}", self.unfinished)?;
        self.fmt_pace(f)?;
        self.fmt_record(f)?;
        writeln!(
            f,
            "  supervisor lag          p50 {}  p99 {}  max {}  ({} changes, {} unseen)",
            ms(self.lag_p50),
            ms(self.lag_p99),
            ms(self.lag_max),
            self.lag_samples,
            self.lag_unseen
        )?;
        writeln!(f, "  store calls/s per agent {:.1} (counted in each agent's console)", self.store_calls_per_agent_s)?;
        match self.questions_per_agent_s {
            Some(q) => writeln!(
                f,
                "  queries/s per console   {q:.1} (MariaDB Questions delta, all clients incl. serve and supervisor, / agents / s)"
            )?,
            None => writeln!(f, "  queries/s per console   n/a (MariaDB only)")?,
        }
        for (e, n) in &self.errors {
            writeln!(f, "  error ×{n}: {e}")?;
        }
        let misses = self.misses();
        if misses.is_empty() {
            write!(
                f,
                "PASS: 0 double claims, 0 lost, 0 duplicated, every call ending as TeleCMI said, supervisor p99 < {}",
                ms(LAG_GOAL)
            )
        } else {
            write!(f, "FAIL: {}", misses.join("; "))
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Two agents' holds of one driver that overlap in time.
fn overlapping_holds(ledger: &Ledger) -> u64 {
    let mut by_driver: HashMap<&str, Vec<&super::Hold>> = HashMap::new();
    for h in &ledger.holds {
        by_driver.entry(h.driver.as_str()).or_default().push(h);
    }
    let mut n = 0;
    for holds in by_driver.values() {
        for (i, a) in holds.iter().enumerate() {
            for b in &holds[i + 1..] {
                if a.agent != b.agent && a.from < b.until && b.from < a.until {
                    n += 1;
                }
            }
        }
    }
    n
}

/// Calls to one driver by different callers where the later one began before the earlier one's
/// last change (its outcome): both were being worked at once.
fn overlapping_calls(rows: &[LoadtestCall]) -> u64 {
    let mut n = 0;
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.driver_id == b.driver_id
            && a.caller_id != b.caller_id
            && b.created_at < a.updated_at.unwrap_or(a.created_at)
        {
            n += 1;
        }
    }
    n
}

/// Outcomes the agents saved that are not on their call (lost), and outcomes saved twice, on
/// two rows, or in the database with no agent having saved them (duplicated).
fn lost_and_duplicated(ledger: &Ledger, rows: &[LoadtestCall]) -> (u64, u64) {
    let by_ref: HashMap<&str, Vec<&LoadtestCall>> = rows.iter().fold(HashMap::new(), |mut m, r| {
        if let Some(rf) = r.reference_id.as_deref() {
            m.entry(rf).or_default().push(r);
        }
        m
    });
    let mut lost = 0;
    let mut duplicated = 0;
    let mut saved_refs = HashSet::new();
    for s in &ledger.saved {
        if !saved_refs.insert(s.reference.as_str()) {
            duplicated += 1;
        }
        let stored = by_ref.get(s.reference.as_str()).map_or(&[][..], Vec::as_slice);
        let agent_ok =
            stored.iter().any(|r| r.caller_id == Some(s.agent) && r.feedback.as_deref() == Some(&s.feedback));
        if !agent_ok {
            lost += 1;
        }
    }
    // One reference on two rows, or an outcome in the database no agent saved.
    duplicated += by_ref.values().map(|v| v.len().saturating_sub(1) as u64).sum::<u64>();
    duplicated += rows
        .iter()
        .filter(|r| r.feedback.as_deref().is_some_and(|f| !f.is_empty()))
        .filter(|r| !r.reference_id.as_deref().is_some_and(|rf| saved_refs.contains(rf)))
        .count() as u64;
    (lost, duplicated)
}

pub fn judge(i: Inputs) -> Report {
    let secs = i.elapsed.as_secs_f64().max(0.001);
    let (lost, duplicated) = lost_and_duplicated(&i.ledger, &i.rows);
    let mut lags = i.lags;
    lags.sort();
    let mut dials = i.ledger.dial_latency.clone();
    dials.sort();
    let mut saves = i.ledger.save_latency.clone();
    saves.sort();
    let locked_errors = i.ledger.errors.iter().filter(|(e, _)| names_the_lock(e)).map(|(_, n)| n).sum();
    Report {
        backend: i.backend,
        agents: i.agents,
        seconds: secs,
        placed: i.ledger.placed,
        saved: i.ledger.saved.len() as u64,
        call_rows: i.rows.len(),
        claims_lost: i.ledger.claims_lost,
        dial_refused: i.ledger.dial_refused,
        refusals: i.ledger.refusals.clone(),
        unfinished: i.ledger.unfinished,
        double_claims_agents: overlapping_holds(&i.ledger),
        double_claims_db: overlapping_calls(&i.rows),
        lost,
        duplicated,
        wrong_ends: i.wrong_ends,
        unacknowledged: i.unacknowledged,
        lag_samples: lags.len(),
        lag_unseen: i.unseen,
        lag_p50: percentile(&lags, 0.50),
        lag_p99: percentile(&lags, 0.99),
        lag_max: lags.last().copied().unwrap_or_default(),
        store_calls_per_agent_s: i.ledger.store_calls as f64 / i.agents as f64 / secs,
        questions_per_agent_s: i.questions.map(|q| q as f64 / i.agents as f64 / secs),
        calls_per_min: i.ledger.saved.len() as f64 * 60.0 / secs,
        dial_p50: percentile(&dials, 0.50),
        dial_p99: percentile(&dials, 0.99),
        save_p50: percentile(&saves, 0.50),
        save_p99: percentile(&saves, 0.99),
        save_max: saves.last().copied().unwrap_or_default(),
        locked_errors,
        locked_in_logs: i.locked_in_logs,
        pids: i.ledger.pids.clone(),
        errors: i.ledger.errors,
    }
}

/// Whether an error's text is SQLite's lock: `SQLITE_BUSY` (5) or `SQLITE_LOCKED` (6) and their
/// extended codes, as sqlx and rusqlite word them.
pub fn names_the_lock(e: &str) -> bool {
    e.contains("database is locked")
        || e.contains("database table is locked")
        || e.contains("SQLITE_BUSY")
        || e.contains("(code: 5)")
        || e.contains("(code: 517)")
        || e.contains("(code: 261)")
}

/// The length of every log file in the log folder when the run started: what was written after
/// is the run's (every process of the run logs to the same folder).
pub struct LogMarks {
    dir: std::path::PathBuf,
    lengths: HashMap<std::path::PathBuf, u64>,
}

impl LogMarks {
    pub fn take(dir: &std::path::Path) -> Self {
        let lengths = log_files(dir).into_iter().collect();
        Self { dir: dir.to_path_buf(), lengths }
    }

    /// Lines written since [`LogMarks::take`] that name SQLite's lock.
    pub fn locked_since(&self) -> u64 {
        use std::io::{Read, Seek, SeekFrom};
        let mut n = 0;
        for (path, _) in log_files(&self.dir) {
            let from = self.lengths.get(&path).copied().unwrap_or(0);
            let Ok(mut f) = std::fs::File::open(&path) else { continue };
            let mut bytes = Vec::new();
            if f.seek(SeekFrom::Start(from)).is_ok() && f.read_to_end(&mut bytes).is_ok() {
                n += String::from_utf8_lossy(&bytes).lines().filter(|l| names_the_lock(l)).count() as u64;
            }
        }
        n
    }
}

fn log_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("calldesk"))
        .filter_map(|e| Some((e.path(), e.metadata().ok()?.len())))
        .collect()
}
