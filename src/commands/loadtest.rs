//! `calldesk loadtest`: a team on one database. In one process it starts the TeleCMI simulator,
//! the listener + API that `calldesk serve` runs, N agents each with its own connection pool (a
//! console each) and a supervisor with its own pool, then judges the run from the database.
//!
//! Each agent loops: read its due queue (or, every other turn, its neighbour's, as a search
//! would, so two agents race for the same drivers), claim the first driver, dial through the
//! API's `click_to_call` with its bearer token, follow the call in the database until TeleCMI's
//! webhooks end it, save an outcome through `update_feedback`, think, repeat.

mod report;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};

use crate::config::{Config, Secret, TelecmiCreds};
use crate::coord::bus::{Bus, new_bus};
use crate::coord::dialer::Dialer;
use crate::domain::feedback::RINGING_BUSY;
use crate::domain::{CallStatus, CallingHours, Driver, Role};
use crate::store::{CLAIM_FOR, IfMissing, Store};
use crate::telecmi::simulator::Simulator;

pub use report::Report;

/// First caller id the load test registers (agents are `FIRST_CALLER..`, the supervisor after).
pub const FIRST_CALLER: i64 = 9001;
/// Prefix of every caller name and driver id the load test writes.
pub const PREFIX: &str = "lt-";

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub agents: usize,
    pub duration: Duration,
    /// An agent's pause after saving an outcome (a human's wrap-up and reading, compressed).
    pub think: Duration,
    /// The simulator's pause between two webhooks of a call.
    pub step: Duration,
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
    eprintln!(
        "loadtest: {} agents, {} drivers, {:.0} s on {} (think {} ms, webhook step {} ms)",
        plan.agents,
        plan.drivers_per_agent() * plan.agents,
        plan.duration.as_secs_f64(),
        setup.label(),
        plan.think.as_millis(),
        plan.step.as_millis()
    );

    let ledger: Shared<Ledger> = Arc::default();
    let lag = report::LagProbe::start(&bus);
    let questions_before = setup.server_questions().await?;
    let t0 = Instant::now();
    let tasks = spawn_agents(&url, &api, &agents, tokens, &plan, t0 + plan.duration, &ledger).await?;
    let sup_store = Store::connect(&url).await?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sup = tokio::spawn(report::supervise(sup_store, config.zone(), lag.clone(), stop.clone()));
    for t in tasks {
        t.await?;
    }
    let agents_done = t0.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let lags = sup.await??;
    let questions_after = setup.server_questions().await?;
    let rows = setup.loadtest_calls().await?;
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
    });
    server_store.close().await;
    setup.close().await;
    Ok(report)
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

/// Starts one task per agent (each with its own pool, its neighbour the next agent), working
/// until `deadline`.
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
        let agent = Agent {
            id: *id,
            neighbour: agents[(i + 1) % agents.len()],
            token,
            store: Store::connect(url).await?,
            http: http.clone(),
            api: api.to_string(),
            think: plan.think,
            ledger: ledger.clone(),
        };
        tasks.push(tokio::spawn(agent.run(deadline)));
    }
    Ok(tasks)
}

/// The outcome an agent saves for a call that ended as `end`: an answered call is a fixed
/// interview for drivers whose id ends in 0, 2 or 4, else not interested; any other (or none)
/// ringing/busy, to be called back.
fn outcome_for(end: Option<CallStatus>, driver: &str) -> (&'static str, &'static str) {
    match end {
        Some(CallStatus::Completed) if driver.ends_with(['0', '2', '4']) => ("connected", "Interview Fixed"),
        Some(CallStatus::Completed) => ("connected", "Not Interested"),
        _ => ("callBack", RINGING_BUSY),
    }
}

/// One simulated agent with its own pool, as a console has.
struct Agent {
    id: i64,
    neighbour: i64,
    token: String,
    store: Store,
    http: reqwest::Client,
    api: String,
    think: Duration,
    ledger: Shared<Ledger>,
}

impl Agent {
    async fn run(self, deadline: Instant) {
        let mut turn = 0u64;
        while Instant::now() < deadline {
            turn += 1;
            // Every other turn the neighbour's queue, as a driver found by search: two agents
            // then race for the same drivers, which is what the claim must settle.
            let whose = if turn.is_multiple_of(2) { self.neighbour } else { self.id };
            if let Err(e) = self.turn(whose).await {
                lock(&self.ledger).error(e);
            }
            tokio::time::sleep(self.think).await;
        }
        self.store.close().await;
    }

    fn count(&self, n: u64) {
        lock(&self.ledger).store_calls += n;
    }

    async fn turn(&self, whose: i64) -> Result<(), String> {
        let now = Utc::now();
        self.count(1);
        let page = self
            .store
            .due_queue(whose, now, &Default::default(), None, 5, None)
            .await
            .map_err(|e| format!("queue: {e}"))?;
        let Some(next) = page.into_iter().next() else { return Ok(()) };
        self.count(1);
        let held = self
            .store
            .claim(&next.driver_id, self.id, now + CLAIM_FOR, now)
            .await
            .map_err(|e| format!("claim: {e}"))?;
        if !held {
            lock(&self.ledger).claims_lost += 1;
            return Ok(());
        }
        let from = Instant::now();
        let body = json!({"caller_id": self.id, "driver_id": next.driver_id, "driver_mobile": next.mobile});
        let (status, reply) = self.post("click_to_call", &body).await?;
        let reference = reply["data"]["request_id"].as_str().unwrap_or_default().to_string();
        if status != 200 || reference.is_empty() {
            return self.dial_refused(&next.driver_id, from, status, &reply).await;
        }
        lock(&self.ledger).placed += 1;
        let end = self.follow(&reference).await?;
        let (class, feedback) = outcome_for(end, &next.driver_id);
        if end.is_none() {
            lock(&self.ledger).unfinished += 1;
        }
        let until = Instant::now();
        lock(&self.ledger).holds.push(Hold { agent: self.id, driver: next.driver_id.clone(), from, until });
        let body = json!({"caller_id": self.id, "reference_id": reference, "status": class, "feedback": feedback,
            "remarks": "loadtest"});
        let (status, reply) = self.post("update_feedback", &body).await?;
        if status != 200 {
            return Err(format!("update_feedback {status}: {}", reply["message"]));
        }
        lock(&self.ledger).saved.push(Saved { agent: self.id, reference, feedback: feedback.into() });
        Ok(())
    }

    /// The API refused the dial (e.g. dialed moments ago by another agent from a stale page):
    /// the driver is given back, and the refusal counted (a 200 without a reference or a 5xx is
    /// an error).
    async fn dial_refused(&self, driver: &str, from: Instant, status: u16, reply: &Value) -> Result<(), String> {
        let until = Instant::now();
        self.count(1);
        let released = self.store.release(driver, self.id).await;
        let mut l = lock(&self.ledger);
        l.holds.push(Hold { agent: self.id, driver: driver.to_string(), from, until });
        if status == 200 || status >= 500 {
            l.error(format!("click_to_call {status}: {}", reply["message"]));
        } else {
            l.dial_refused += 1;
            let why =
                l.refusals.entry(status).or_insert_with(|| (0, reply["message"].as_str().unwrap_or("").to_string()));
            why.0 += 1;
        }
        released.map_err(|e| format!("release: {e}"))
    }

    /// Follows the call in the database until it ends (the console's feed polls as often);
    /// `None` if it did not end within a minute.
    async fn follow(&self, reference: &str) -> Result<Option<CallStatus>, String> {
        let give_up = Instant::now() + Duration::from_secs(60);
        while Instant::now() < give_up {
            tokio::time::sleep(crate::coord::feed::POLL).await;
            self.count(1);
            let call = self.store.call_by_reference(reference).await.map_err(|e| format!("follow: {e}"))?;
            if let Some(c) = call.filter(|c| !c.call_status().is_live()) {
                return Ok(Some(c.call_status()));
            }
        }
        Ok(None)
    }

    async fn post(&self, action: &str, body: &Value) -> Result<(u16, Value), String> {
        let r = self
            .http
            .post(format!("{}?action={action}", self.api))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| format!("{action}: {e}"))?;
        let status = r.status().as_u16();
        let v = r.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, v))
    }
}

/// The bus the server publishes on, for the lag probe.
pub(crate) fn subscribe(bus: &Bus) -> tokio::sync::broadcast::Receiver<crate::coord::bus::CallUpdate> {
    bus.subscribe()
}
