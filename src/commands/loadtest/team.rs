//! The load test in several processes, the team host's shape: one console process per agent (or a
//! few agents each), every one with its own pools on the one database, beside the process that
//! runs `serve`'s listener and the supervisor.
//!
//! The parent starts `calldesk loadtest-agents` (hidden) once per slice of the agents, hands each
//! its [`Job`] as one JSON line on stdin, waits until every child says it is ready (its stores
//! are open), then tells them all to go with a second line. Each child runs its agents as
//! consoles do (its own dialer writes the call, its own store saves the draft and the outcome)
//! and ends by printing its raw figures ([`Raw`]) as one JSON line on stdout; the parent judges
//! the run from those and the database.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

use super::agent::{Agent, Via};
use super::{Hold, Ledger, Saved, Shared, lock};
use crate::config::{Config, Secret, TelecmiCreds};
use crate::coord::dialer::Dialer;
use crate::domain::{CallingHours, RetryPolicy, Schedule};
use crate::store::Store;

/// The hidden subcommand a child runs.
pub const CHILD_COMMAND: &str = "loadtest-agents";

/// What a child runs: its agents (id, neighbour), their pace, and the simulated TeleCMI.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Job {
    pub agents: Vec<(i64, i64)>,
    pub think_ms: u64,
    pub telecmi_base_url: String,
    pub app_id: String,
    pub secret: String,
    pub telecmi_agents: BTreeMap<i64, String>,
    pub country_code: String,
    pub zone: String,
    pub retry_delay_minutes: i64,
    pub max_attempts: u32,
}

impl Job {
    /// The job for `agents` under the parent's `config` (pointed at the simulator).
    pub(crate) fn new(config: &Config, agents: Vec<(i64, i64)>, think: Duration) -> anyhow::Result<Self> {
        let creds = config.telecmi.as_ref().context("the simulator's credentials are not set")?;
        Ok(Self {
            agents,
            think_ms: u64::try_from(think.as_millis()).unwrap_or(u64::MAX),
            telecmi_base_url: config.telecmi_base_url.clone(),
            app_id: creds.app_id.clone(),
            secret: creds.secret.expose().to_string(),
            telecmi_agents: config.telecmi_agents.clone(),
            country_code: config.country_code.clone(),
            zone: config.zone().name().to_string(),
            retry_delay_minutes: config.retry.delay.num_minutes(),
            max_attempts: config.retry.max_attempts,
        })
    }

    /// `config` as the parent's, for a console of this run.
    fn configure(&self, config: &mut Config) -> anyhow::Result<()> {
        config.telecmi = Some(TelecmiCreds { app_id: self.app_id.clone(), secret: Secret::new(self.secret.clone()) });
        config.telecmi_base_url = self.telecmi_base_url.clone();
        config.telecmi_agents = self.telecmi_agents.clone();
        config.country_code = self.country_code.clone();
        let zone = self.zone.parse().map_err(|e| anyhow::anyhow!("zone {}: {e}", self.zone))?;
        config.schedule = Schedule { zone, hours: CallingHours::ALWAYS };
        config.retry =
            RetryPolicy { delay: chrono::Duration::minutes(self.retry_delay_minutes), max_attempts: self.max_attempts };
        Ok(())
    }
}

/// The go signal: run this long from now.
#[derive(Debug, Serialize, Deserialize)]
struct Go {
    seconds: f64,
}

/// A child's first line: its stores are open.
#[derive(Debug, Serialize, Deserialize)]
struct Ready {
    ready: u32,
}

/// A child's figures, as it recorded them (times as seconds since the Unix epoch: one clock for
/// every process on the host).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Raw {
    pub pid: u32,
    holds: Vec<(i64, String, f64, f64)>,
    saved: Vec<(i64, String, String)>,
    placed: u64,
    claims_lost: u64,
    dial_refused: u64,
    refusals: BTreeMap<u16, (u64, String)>,
    unfinished: u64,
    errors: BTreeMap<String, u64>,
    store_calls: u64,
    dial_ms: Vec<f64>,
    save_ms: Vec<f64>,
}

/// An `Instant` and the wall clock at the same moment: converts between the two.
#[derive(Clone, Copy)]
struct Anchor(Instant, SystemTime);

impl Anchor {
    fn now() -> Self {
        Self(Instant::now(), SystemTime::now())
    }

    fn unix_at(self, at: Instant) -> f64 {
        let since = self.1.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        since + at.saturating_duration_since(self.0).as_secs_f64() - self.0.saturating_duration_since(at).as_secs_f64()
    }

    fn instant_at(self, unix: f64) -> Instant {
        let d = unix - self.1.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        if d >= 0.0 {
            self.0 + Duration::from_secs_f64(d)
        } else {
            self.0.checked_sub(Duration::from_secs_f64(-d)).unwrap_or(self.0)
        }
    }
}

fn ms(d: &Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Raw {
    fn of(ledger: Ledger, anchor: Anchor) -> Self {
        Self {
            pid: std::process::id(),
            holds: ledger
                .holds
                .into_iter()
                .map(|h| (h.agent, h.driver, anchor.unix_at(h.from), anchor.unix_at(h.until)))
                .collect(),
            saved: ledger.saved.into_iter().map(|s| (s.agent, s.reference, s.feedback)).collect(),
            placed: ledger.placed,
            claims_lost: ledger.claims_lost,
            dial_refused: ledger.dial_refused,
            refusals: ledger.refusals,
            unfinished: ledger.unfinished,
            errors: ledger.errors,
            store_calls: ledger.store_calls,
            dial_ms: ledger.dial_latency.iter().map(ms).collect(),
            save_ms: ledger.save_latency.iter().map(ms).collect(),
        }
    }

    /// Adds this child's figures to `ledger` (times on this process's clock via `anchor`).
    fn add_to(self, ledger: &mut Ledger, anchor: Anchor) {
        let at = |s: f64| anchor.instant_at(s);
        ledger.holds.extend(self.holds.into_iter().map(|(agent, driver, from, until)| Hold {
            agent,
            driver,
            from: at(from),
            until: at(until),
        }));
        ledger.saved.extend(self.saved.into_iter().map(|(agent, reference, feedback)| Saved {
            agent,
            reference,
            feedback,
        }));
        ledger.placed += self.placed;
        ledger.claims_lost += self.claims_lost;
        ledger.dial_refused += self.dial_refused;
        for (status, (n, example)) in self.refusals {
            ledger.refusals.entry(status).or_insert_with(|| (0, example)).0 += n;
        }
        ledger.unfinished += self.unfinished;
        for (e, n) in self.errors {
            *ledger.errors.entry(e).or_default() += n;
        }
        ledger.store_calls += self.store_calls;
        let dur = |v: f64| Duration::from_secs_f64(v.max(0.0) / 1000.0);
        ledger.dial_latency.extend(self.dial_ms.into_iter().map(dur));
        ledger.save_latency.extend(self.save_ms.into_iter().map(dur));
        ledger.pids.push(self.pid);
    }
}

/// The agents in `processes` slices of consecutive agents (as even as can be), each agent with
/// its neighbour.
pub(crate) fn slices(agents: &[i64], processes: usize) -> Vec<Vec<(i64, i64)>> {
    let n = agents.len();
    let p = processes.clamp(1, n.max(1));
    let with_neighbour: Vec<(i64, i64)> = (0..n).map(|i| (agents[i], agents[(i + 1) % n])).collect();
    (0..p).map(|k| with_neighbour[k * n / p..(k + 1) * n / p].to_vec()).collect()
}

/// One child process and its pipes.
struct Running {
    child: Child,
    stdin: ChildStdin,
    lines: tokio::io::Lines<BufReader<ChildStdout>>,
}

impl Running {
    async fn start(url: &str, log_dir: &std::path::Path, job: &Job) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("where is this calldesk binary?")?;
        let mut child = tokio::process::Command::new(exe)
            .arg(CHILD_COMMAND)
            .env("DATABASE_URL", url)
            .env("CALLDESK_LOG_DIR", log_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start a child calldesk")?;
        let mut stdin = child.stdin.take().context("child stdin")?;
        let stdout = child.stdout.take().context("child stdout")?;
        stdin.write_all(format!("{}\n", serde_json::to_string(job)?).as_bytes()).await?;
        Ok(Self { child, stdin, lines: BufReader::new(stdout).lines() })
    }

    /// The next JSON line the child prints.
    async fn read<T: for<'de> Deserialize<'de>>(&mut self, what: &str) -> anyhow::Result<T> {
        let line = self.lines.next_line().await?;
        let line = line.with_context(|| format!("a child ended before its {what} (see its error above)"))?;
        serde_json::from_str(&line).with_context(|| format!("a child's {what}: {line}"))
    }
}

/// Starts one child per slice, waits until all are ready, runs them for `duration` and adds
/// their figures to `ledger`. Returns when the last child is done (the moment the agents
/// started, for the run's length).
pub(crate) async fn run_children(
    url: &str,
    log_dir: &std::path::Path,
    jobs: Vec<Job>,
    duration: Duration,
    ledger: &Shared<Ledger>,
) -> anyhow::Result<Instant> {
    let mut children = Vec::new();
    for job in &jobs {
        children.push(Running::start(url, log_dir, job).await?);
    }
    for c in &mut children {
        let _: Ready = c.read("ready line").await?;
    }
    let t0 = Instant::now();
    let go = format!("{}\n", serde_json::to_string(&Go { seconds: duration.as_secs_f64() })?);
    for c in &mut children {
        c.stdin.write_all(go.as_bytes()).await?;
    }
    let anchor = Anchor::now();
    let waits = children.into_iter().map(|mut c| async move {
        let raw: Raw = c.read("figures").await?;
        let status = c.child.wait().await?;
        anyhow::ensure!(status.success(), "child {} ended with {status}", raw.pid);
        Ok(raw)
    });
    for raw in futures::future::join_all(waits).await {
        raw?.add_to(&mut lock(ledger), anchor);
    }
    Ok(t0)
}

/// `calldesk loadtest-agents`: a child's side. Reads its [`Job`], opens a store (and a dialer)
/// per agent, says it is ready, waits for the go, runs the agents and prints its figures.
pub async fn child(mut config: Config) -> anyhow::Result<()> {
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let job: Job = serde_json::from_str(&stdin.next_line().await?.context("no job on stdin")?)?;
    job.configure(&mut config)?;
    let config = Arc::new(config);
    let ledger: Shared<Ledger> = Arc::default();
    let mut agents = Vec::new();
    for (id, neighbour) in &job.agents {
        // A console's pool (PoolSize::Session): the connections a team's console holds.
        let store = Store::connect_existing(&config.database_url).await?;
        let dialer = Dialer::new(store.clone(), config.clone(), crate::coord::bus::new_bus())?;
        let via = Via::Console { dialer: Box::new(dialer), catalog: config.catalog() };
        let think = Duration::from_millis(job.think_ms);
        agents.push(Agent { id: *id, neighbour: *neighbour, store, via, think, ledger: ledger.clone() });
    }
    println!("{}", serde_json::to_string(&Ready { ready: std::process::id() })?);
    let go: Go = serde_json::from_str(&stdin.next_line().await?.context("no go on stdin")?)?;
    let anchor = Anchor::now();
    let deadline = Instant::now() + Duration::from_secs_f64(go.seconds);
    let tasks: Vec<_> = agents.into_iter().map(|a| tokio::spawn(a.run(deadline))).collect();
    for t in tasks {
        t.await?;
    }
    let ledger = std::mem::take(&mut *lock(&ledger));
    println!("{}", serde_json::to_string(&Raw::of(ledger, anchor))?);
    Ok(())
}
