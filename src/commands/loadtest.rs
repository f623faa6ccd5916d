//! `calldesk loadtest`: a team on one database. It starts the TeleCMI simulator, the listener +
//! API that `calldesk serve` runs, N agents each with its own connection pool (a console each)
//! and a supervisor with its own pool, then judges the run from the database.
//!
//! Each agent loops: read its due queue (or, every other turn, its neighbour's, as a search
//! would, so two agents race for the same drivers), claim the first driver, dial, follow the call
//! in the database until TeleCMI's webhooks end it, save an outcome, think, repeat. In one
//! process (the default) the agents dial through the API's `click_to_call` with their bearer
//! tokens and save through `update_feedback`; with `--processes P` they run in P child processes
//! ([`team`]) and dial and save as consoles do, each through its own dialer and store.

mod agent;
mod report;
mod team;
mod truth;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::config::{Config, Secret, TelecmiCreds};
use crate::coord::bus::{Bus, new_bus};
use crate::coord::dialer::Dialer;
use crate::domain::{CallingHours, Driver, Role};
use crate::store::{IfMissing, Store};
use crate::telecmi::simulator::Simulator;

pub use report::Report;
pub use team::{CHILD_COMMAND, child};

/// First caller id the load test registers (agents are `FIRST_CALLER..`, the supervisor after).
pub const FIRST_CALLER: i64 = 9001;
/// Prefix of every caller name and driver id the load test writes.
pub const PREFIX: &str = "lt-";

/// How long the verdict waits for the run's calls to end (their last webhooks, a spool applied).
const SETTLE_WITHIN: Duration = Duration::from_secs(60);

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub agents: usize,
    pub duration: Duration,
    /// An agent's pause after saving an outcome (a human's wrap-up and reading, compressed).
    pub think: Duration,
    /// The simulator's pause between two webhooks of a call.
    pub step: Duration,
    /// Child processes the agents run in (0: all in this process, through the API).
    pub processes: usize,
}

impl Plan {
    /// Drivers per agent: more than an agent can call in the run, so no queue runs dry.
    fn drivers_per_agent(&self) -> usize {
        let cycle = (self.think + self.step * 6).as_secs_f64().max(0.2);
        ((self.duration.as_secs_f64() / cycle) * 2.0).ceil() as usize + 20
    }
}

/// The time an agent held a driver: from its claim succeeding to the moment it started to give
/// the driver back (saving the outcome, or releasing after a refused dial). Inside the database's
/// own claim, so two agents' spans overlapping means two claims overlapped.
#[derive(Debug, Clone)]
pub(crate) struct Hold {
    pub agent: i64,
    pub driver: String,
    pub from: Instant,
    pub until: Instant,
}

/// An outcome the API said it saved.
#[derive(Debug, Clone)]
pub(crate) struct Saved {
    pub agent: i64,
    pub reference: String,
    pub feedback: String,
}

/// What the agents recorded.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub holds: Vec<Hold>,
    pub saved: Vec<Saved>,
    pub placed: u64,
    pub claims_lost: u64,
    pub dial_refused: u64,
    /// Why the API refused dials: HTTP status → (count, one message as the API gave it).
    pub refusals: BTreeMap<u16, (u64, String)>,
    pub unfinished: u64,
    pub errors: BTreeMap<String, u64>,
    /// Store calls each agent made (each is one or a few SQL statements).
    pub store_calls: u64,
    /// How long each dial took (the API's `click_to_call`, or the console's dialer).
    pub dial_latency: Vec<Duration>,
    /// How long each outcome took to save.
    pub save_latency: Vec<Duration>,
    /// The child processes the agents ran in (none in one process).
    pub pids: Vec<u32>,
}

impl Ledger {
    fn error(&mut self, what: impl Into<String>) {
        *self.errors.entry(what.into()).or_default() += 1;
    }
}

type Shared<T> = Arc<Mutex<T>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs the load test on `config.database_url` and returns its report.
pub async fn run(mut config: Config, plan: Plan) -> anyhow::Result<Report> {
    anyhow::ensure!(plan.agents > 0, "--agents must be at least 1");
    let url = config.database_url.clone();
    let setup = super::open_store(&config, IfMissing::Create).await?;
    ensure_empty(&setup).await?;
    let started = Utc::now();
    let sim = simulate_telecmi(&mut config, plan.step).await?;
    let agents: Vec<i64> = (0..plan.agents as i64).map(|i| FIRST_CALLER + i).collect();
    config.telecmi_agents = agents.iter().map(|id| (*id, format!("{}", 50_000 + id))).collect();
    let tokens = seed(&setup, &agents, &plan, started).await?;
    // The listener + API of `calldesk serve`, on its own pool and bus.
    let server_store = Store::connect(&url).await?;
    let config = Arc::new(config);
    let bus = new_bus();
    let dialer = Dialer::new(server_store.clone(), config.clone(), bus.clone())?;
    let listener = super::session::start_listener(&server_store, &config, &bus, Some(dialer)).await?;
    sim.set_webhook_url(format!("http://{}/webhook/telecmi/{}", listener.addr, listener.token.expose()));
    let api = format!("http://{}{}", listener.addr, crate::server::api::PATH);
    announce(&plan, setup.label());
    let ledger: Shared<Ledger> = Arc::default();
    let lag = report::LagProbe::start(&bus);
    let questions_before = setup.server_questions().await?;
    let logs_before = report::LogMarks::take(&config.log_dir);
    // The board and each agent on a screen's pool (PoolSize::Session), as in a team.
    let sup_store = Store::connect_existing(&url).await?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sup = tokio::spawn(report::supervise(sup_store, config.zone(), lag.clone(), stop.clone()));
    let agents_done = run_agents(&config, &api, &agents, tokens, &plan, &ledger).await?;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let lags = sup.await??;
    let questions_after = setup.server_questions().await?;
    // The run's last webhooks (and any spooled while the database was away) land first.
    let rows = truth::settle(&setup, SETTLE_WITHIN).await?;
    let wrong_ends = truth::wrong(&truth::ended(&sim.placed()), &rows);
    let ledger = std::mem::take(&mut *lock(&ledger));
    let report = report::judge(report::Inputs {
        agents: plan.agents,
        elapsed: agents_done,
        ledger,
        rows,
        lags,
        unseen: lag.unseen(),
        questions: questions_before.zip(questions_after).map(|(a, b)| b - a),
        backend: setup.label().to_string(),
        locked_in_logs: logs_before.locked_since(),
        wrong_ends,
        unacknowledged: sim.unacknowledged(),
    });
    listener.stop().await;
    server_store.close().await;
    setup.close().await;
    Ok(report)
}

/// One line on stderr: what runs, on what.
fn announce(plan: &Plan, label: &str) {
    let shape = match plan.processes {
        0 => "in this process, through the API".to_string(),
        p => format!("in {} processes, as consoles", p.min(plan.agents)),
    };
    eprintln!(
        "loadtest: {} agents ({shape}), {} drivers, {:.0} s on {label} (think {} ms, webhook step {} ms)",
        plan.agents,
        plan.drivers_per_agent() * plan.agents,
        plan.duration.as_secs_f64(),
        plan.think.as_millis(),
        plan.step.as_millis()
    );
}

/// Runs the agents until the plan's end, in this process or in child processes; returns how
/// long they worked.
async fn run_agents(
    config: &Config,
    api: &str,
    agents: &[i64],
    tokens: Vec<String>,
    plan: &Plan,
    ledger: &Shared<Ledger>,
) -> anyhow::Result<Duration> {
    if plan.processes == 0 {
        let t0 = Instant::now();
        let tasks = spawn_agents(&config.database_url, api, agents, tokens, plan, t0 + plan.duration, ledger).await?;
        for t in tasks {
            t.await?;
        }
        return Ok(t0.elapsed());
    }
    let jobs = team::slices(agents, plan.processes)
        .into_iter()
        .map(|slice| team::Job::new(config, slice, plan.think))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let t0 = team::run_children(&config.database_url, &config.log_dir, jobs, plan.duration, ledger).await?;
    Ok(t0.elapsed())
}

/// Starts one task per agent (each with its own pool, its neighbour the next agent), working
/// until `deadline`, dialing and saving through the API.
async fn spawn_agents(
    url: &str,
    api: &str,
    agents: &[i64],
    tokens: Vec<String>,
    plan: &Plan,
    deadline: Instant,
    ledger: &Shared<Ledger>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let mut tasks = Vec::new();
    for (i, (id, token)) in agents.iter().zip(tokens).enumerate() {
        let agent = agent::Agent {
            id: *id,
            neighbour: agents[(i + 1) % agents.len()],
            store: Store::connect_existing(url).await?,
            via: agent::Via::Api { http: http.clone(), api: api.to_string(), token },
            think: plan.think,
            ledger: ledger.clone(),
        };
        tasks.push(tokio::spawn(agent.run(deadline)));
    }
    Ok(tasks)
}

/// Refuses a database that holds any caller, driver or call: the run writes its own.
async fn ensure_empty(setup: &Store) -> anyhow::Result<()> {
    let (callers, drivers, calls) = setup.row_counts().await?;
    anyhow::ensure!(
        callers + drivers + calls == 0,
        "calldesk loadtest writes its own callers, drivers and calls, so it needs an empty database; \
         {} holds {callers} caller(s), {drivers} driver(s) and {calls} call log(s). Create an empty one \
         (e.g. `CREATE DATABASE calldesk_lt` or a new sqlite:// file) and point --database-url at it",
        setup.label()
    );
    Ok(())
}

/// Starts the simulator as TeleCMI, with this run's own credentials, and points `config` at it
/// (a listener on a free loopback port, calls allowed at any hour).
async fn simulate_telecmi(config: &mut Config, step: Duration) -> anyhow::Result<Simulator> {
    let secret = crate::commands::tokens::generate();
    let sim = Simulator::start("10000001", &secret, step).await?;
    sim.set_time_scale(0.01);
    config.telecmi = Some(TelecmiCreds { app_id: "10000001".into(), secret: Secret::new(secret) });
    config.telecmi_base_url = sim.base_url();
    config.webhook_addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.webhook_token = Some(Secret::new(crate::commands::tokens::generate_webhook_token()));
    config.schedule.hours = CallingHours::ALWAYS;
    Ok(sim)
}

/// Writes the callers (`agents`, then the supervisor), an API token each agent (returned, in
/// order) and the drivers, assigned to the agents round-robin.
async fn seed(
    setup: &Store,
    agents: &[i64],
    plan: &Plan,
    started: chrono::DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    let mut tokens = Vec::new();
    for id in agents {
        setup.add_caller(*id, &format!("{PREFIX}agent-{id}"), Role::Agent, started).await?;
        let token = crate::commands::tokens::generate();
        setup.insert_token(*id, &crate::domain::token::hash(&token), started).await?;
        tokens.push(token);
    }
    let supervisor = FIRST_CALLER + plan.agents as i64;
    setup.add_caller(supervisor, &format!("{PREFIX}supervisor"), Role::Supervisor, started).await?;
    let pool: Vec<Driver> = (0..plan.drivers_per_agent() * plan.agents)
        .map(|i| Driver {
            id: format!("{PREFIX}{i:06}"),
            name: format!("Load Driver {i}"),
            mobile: format!("91{}", 9_000_000_000u64 + i as u64),
            tmid: None,
            city: None,
            state: None,
            assigned_to: Some(agents[i % agents.len()]),
            timezone: None,
        })
        .collect();
    for chunk in pool.chunks(1000) {
        setup.import_drivers(chunk, started).await?;
    }
    Ok(tokens)
}

/// The bus the server publishes on, for the lag probe.
pub(crate) fn subscribe(bus: &Bus) -> tokio::sync::broadcast::Receiver<crate::coord::bus::CallUpdate> {
    bus.subscribe()
}
