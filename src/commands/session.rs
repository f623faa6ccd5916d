//! Starting the long-running commands: the console (with its embedded webhook listener and
//! reconciliation), the demo (the console against the simulator on a throwaway database), and
//! the headless server.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;

use crate::config::{Config, Origin, Secret, TelecmiCreds};
use crate::console::effects::EffectCtx;
use crate::console::state::{Identity, TelephonyMode};
use crate::coord::bus::{Bus, new_bus};
use crate::coord::dialer::Dialer;
use crate::coord::outage::Outage;
use crate::coord::session::Live;
use crate::domain::Role;
use crate::domain::session::{EndReason, SessionKind};
use crate::server::{self, AppState};
use crate::store::NewSession;
use crate::store::{IfMissing, Store};
use crate::telecmi::simulator::Simulator;

/// The sample drivers `calldesk demo` loads (synthetic names and numbers).
pub const DEMO_DRIVERS: &str = include_str!("../../assets/drivers.csv");
pub const DEMO_CALLER: i64 = 3;

/// A running webhook listener. It serves until [`Listener::stop`] (dropping it leaves it serving).
pub struct Listener {
    pub addr: std::net::SocketAddr,
    pub token: Secret,
    /// When the database went away and came back, as the listener saw it (the reconciler acts on it).
    pub outage: Outage,
    shutdown: Arc<tokio::sync::Notify>,
    served: tokio::task::JoinHandle<()>,
}

/// How long a stopping listener waits for the requests it is answering.
const LISTENER_STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Listener {
    /// Takes no new connections and waits (at most [`LISTENER_STOP_WAIT`]) for the requests in
    /// flight to be answered: after this no request reaches the database.
    pub async fn stop(mut self) {
        self.shutdown.notify_one();
        if tokio::time::timeout(LISTENER_STOP_WAIT, &mut self.served).await.is_err() {
            tracing::warn!("the listener did not finish its requests in time; stopped");
            stop_task(self.served).await;
        }
    }
}

/// Stops a background task and waits until it has (a transaction it was in is rolled back).
async fn stop_task(task: tokio::task::JoinHandle<()>) {
    task.abort();
    let _ = task.await;
}

/// Binds the listener (webhook, health, events, and the API when `api` is set) and serves it in
/// the background.
pub async fn start_listener(
    store: &Store,
    config: &Config,
    bus: &Bus,
    dialer: Option<Dialer>,
) -> anyhow::Result<Listener> {
    let token = server::webhook_token(store, config.webhook_token.as_ref()).await?;
    // Webhooks naming another TeleCMI app are refused; without credentials there is nothing to compare.
    let app_id = config.telecmi.as_ref().map(|c| c.app_id.as_str());
    let outage = Outage::new();
    let spool = server::spool::Settings::new(config.data_dir.clone());
    let spool = server::spool::Spooler::open(&spool, store.clone(), bus.clone(), outage.clone())?;
    let state = AppState::new(store.clone(), bus.clone(), token.clone(), app_id).with_spool(spool);
    let mut app = server::router(state.clone());
    if let Some(d) = dialer {
        app = app.merge(server::api::router(state, d));
    }
    let listener = server::bind(config.webhook_addr).await.map_err(|e| anyhow::anyhow!("configuration error: {e}"))?;
    let addr = listener.local_addr()?;
    let shutdown = Arc::new(tokio::sync::Notify::new());
    let stop = shutdown.clone();
    let served = tokio::spawn(async move {
        if let Err(e) = server::serve(listener, app, async move { stop.notified().await }).await {
            tracing::error!("listener stopped: {e}");
        }
    });
    tracing::info!(%addr, "listening for TeleCMI webhooks at /webhook/telecmi/<token>");
    Ok(Listener { addr, token, outage, shutdown, served })
}

/// The console's embedded listener: what it stores is announced on the console's own `bus`, so it
/// reaches the screen in the next frame (the event feed repeats it; the console shows it once).
pub async fn console_listener(store: &Store, config: &Config, bus: &Bus) -> anyhow::Result<Listener> {
    start_listener(store, config, bus, None).await
}

/// Only a process with its own listener (`serve`, a console with `Hosting::Own`) that can ask
/// TeleCMI reconciles: a manual-only console on a team database must
/// not mark the server's calls failed before the server has checked TeleCMI's CDR lists.
fn spawn_reconciler(
    store: &Store,
    dialer: &Dialer,
    config: &Config,
    listener: &Listener,
) -> Option<tokio::task::JoinHandle<()>> {
    dialer.client.as_ref()?;
    Some(tokio::spawn(crate::coord::reconcile::run(
        store.clone(),
        dialer.client.clone(),
        dialer.bus.clone(),
        crate::coord::reconcile::Policy::from_config(config),
        std::time::Duration::from_secs(60),
        listener.outage.clone(),
    )))
}

/// Stops what uses the database in the background, newest work last, and only then closes the
/// pool: a task still at work would meet a closed pool ("attempted to acquire a connection on
/// a closed pool", logged as an error). The listener first (no new webhooks or API calls), then
/// the event feed and reconciliation, then the draft writer with what it still holds.
async fn shut_down(
    store: &Store,
    listener: Option<Listener>,
    tasks: impl IntoIterator<Item = tokio::task::JoinHandle<()>>,
    drafts: Option<&crate::console::effects::DraftWriter>,
    session: Option<(Live, EndReason)>,
) {
    if let Some(l) = listener
        && tokio::time::timeout(SHUTDOWN_STEP, l.stop()).await.is_err()
    {
        tracing::warn!("the webhook listener did not stop in time (requests waiting on the database)");
    }
    for t in tasks {
        stop_task(t).await;
    }
    if let Some(d) = drafts {
        d.close(SHUTDOWN_STEP).await;
    }
    // Last: a console taken over ends its row only once its draft is written (the new login
    // waits for exactly that). A database that does not answer (paused, unreachable) must not
    // keep a closing console alive: its session then shows as lost once its heartbeat is stale.
    if let Some((live, reason)) = session
        && tokio::time::timeout(SHUTDOWN_STEP, live.end(reason)).await.is_err()
    {
        tracing::warn!("the session's end was not written: the database did not answer");
    }
    match tokio::time::timeout(SHUTDOWN_STEP, store.close()).await {
        Ok(()) => tracing::info!("stopped; database closed"),
        Err(_) => tracing::warn!("stopped; the database did not answer, its connections were dropped"),
    }
}

/// How long each step of [`shut_down`] may wait for the database.
const SHUTDOWN_STEP: std::time::Duration = std::time::Duration::from_secs(3);

/// `calldesk` / `calldesk console`.
pub async fn console(config: Config) -> anyhow::Result<()> {
    crate::tui::terminal::require_terminal()?;
    let caller = config.require_user()?;
    let store = super::open_session_store(&config).await?;
    let mode = if config.telecmi.is_some() { TelephonyMode::Telecmi } else { TelephonyMode::ManualOnly };
    run_console(config, store, caller, mode, None, Hosting::Own).await
}

/// Where a console's webhooks come in and who reconciles its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hosting {
    /// Its own listener on WEBHOOK_ADDR and its own reconciliation (a console alone on a laptop).
    Own,
    /// The team host's `calldesk serve` takes the webhooks and reconciles; the console follows
    /// the database (fifty consoles on one host cannot all listen on one port, nor all ask
    /// TeleCMI about the same calls).
    Team,
}

pub(crate) async fn run_console(
    config: Config,
    store: Store,
    caller: i64,
    mode: TelephonyMode,
    sim: Option<&Simulator>,
    hosting: Hosting,
) -> anyhow::Result<()> {
    let me = store
        .caller(caller)
        .await?
        .with_context(|| format!("caller {caller} is not registered: run `calldesk caller add {caller} NAME` first"))?;
    let config = Arc::new(config);
    // First the session: a console of this agent still open elsewhere saves its draft and closes
    // (freeing its listener's port too) before this one reads the draft or binds the port.
    // The signals first: a Ctrl+C or a dropped line while signing in ends the new session too.
    let mut signals = crate::tui::terminal::Signals::new()?;
    let session = open_session(&store, me.id, SessionKind::Console, config.zone(), &mut signals).await?;
    let bus = new_bus();
    let dialer = Dialer::new(store.clone(), config.clone(), bus.clone())
        .map(|d| Dialer { session: Some(session.session.id), ..d });
    // Webhooks this console's own listener stores reach the screen at once, on the console's bus;
    // the event feed below brings those another process stored (and repeats ours, which the
    // console recognises by event id and shows once).
    let listener = match (hosting, dialer) {
        (Hosting::Own, Ok(dialer)) => console_listener(&store, &config, &bus).await.map(|l| (Some(l), dialer)),
        (Hosting::Team, Ok(dialer)) => Ok((None, dialer)),
        (_, Err(e)) => Err(e.into()),
    };
    let (listener, dialer) = match listener {
        Ok(started) => started,
        Err(e) => {
            session.end(EndReason::Failed).await;
            return Err(e);
        }
    };
    if let (Some(sim), Some(listener)) = (sim, &listener) {
        // The simulator learns the listener's port only now that it is bound.
        sim.set_webhook_url(format!("http://{}/webhook/telecmi/{}", listener.addr, listener.token.expose()));
    }
    let reconciler = listener.as_ref().and_then(|l| spawn_reconciler(&store, &dialer, &config, l));
    let signals = signals.with_takeover(session.taken_over());
    // Webhooks stored by this console's listener or by a team's `calldesk serve` arrive here.
    let feed =
        tokio::spawn(crate::coord::feed::follow_paced(store.clone(), bus.clone(), crate::coord::feed::Pace::CONSOLE));
    let drafts = draft_writer(&store, &config, me.id, session.session.id);
    let identity = identity(&me, mode, &dialer, listener.as_ref(), &store);
    let ctx = EffectCtx {
        store: store.clone(),
        dialer,
        catalog: config.catalog(),
        caller_id: me.id,
        tz: config.zone(),
        drafts: drafts.clone(),
        saves: Default::default(),
    };
    // Returns once the work it started has finished.
    let result = crate::console::run(identity, ctx, signals).await;
    let reason = result.as_ref().map_or(EndReason::Failed, |e| e.reason());
    shut_down(&store, listener, reconciler.into_iter().chain([feed]), Some(&drafts), Some((session, reason))).await;
    result.map(|_| ())
}

/// The console's draft writer. What is typed into a wrap-up is kept on this host as well (a file
/// in `CALLDESK_DATA_DIR`): a crash, a kill or a dropped line while the database is away loses
/// none of it.
fn draft_writer(store: &Store, config: &Config, caller: i64, session: i64) -> crate::console::effects::DraftWriter {
    let local = crate::store::draft_file::DraftFile::new(&config.data_dir, store.label(), caller);
    crate::console::effects::DraftWriter::start_for_session(store.clone(), Some(session)).keeping_locally(local)
}

/// Who the console is and how it dials, for its screens.
fn identity(
    me: &crate::store::Caller,
    mode: TelephonyMode,
    dialer: &Dialer,
    listener: Option<&Listener>,
    store: &Store,
) -> Identity {
    let telecmi_refusal = dialer.telecmi_refusal(me.id);
    Identity {
        caller_id: me.id,
        caller_name: me.name.clone(),
        // A caller TeleCMI is refused to (not in TELECMI_AGENTS) dials by hand only.
        mode: if telecmi_refusal.is_some() && mode == TelephonyMode::Telecmi {
            TelephonyMode::ManualOnly
        } else {
            mode
        },
        telecmi_refusal,
        webhook_addr: listener.map_or_else(|| "via calldesk serve".to_string(), |l| l.addr.to_string()),
        database: store.label().to_string(),
    }
}

/// Opens this screen's session. An agent's new console takes over the caller's open one: it waits
/// (saying so) until that one has saved its draft and closed, so the draft it loads is the last.
/// A signal during that wait (Ctrl+C, the line dropping) ends the new session and stops there.
async fn open_session(
    store: &Store,
    caller: i64,
    kind: SessionKind,
    tz: chrono_tz::Tz,
    signals: &mut crate::tui::terminal::Signals,
) -> anyhow::Result<Live> {
    let new = NewSession {
        caller_id: caller,
        kind,
        origin: crate::domain::session::origin(std::env::var("SSH_CONNECTION").ok().as_deref()),
        host: hostname(),
        pid: std::process::id(),
    };
    let (live, replaced) = Live::open(store, new, tz).await?;
    let open: Vec<_> = replaced.iter().filter(|s| s.is_open()).collect();
    if let Some(first) = open.first() {
        eprintln!(
            "Signing in: your console {} (since {}) is saving its draft and closing…",
            crate::domain::text::strip_controls(&first.origin),
            first.started().with_timezone(&tz).format("%H:%M")
        );
        let ended = tokio::select! {
            n = crate::coord::session::wait_for(store, &replaced) => n,
            ending = signals.next_ending() => {
                tracing::info!(?ending, "stopped while signing in");
                live.end(ending.reason()).await;
                anyhow::bail!("stopped while signing in");
            }
        };
        if ended < open.len() {
            eprintln!("It did not answer: its draft as last saved is kept.");
        }
    }
    Ok(live)
}

/// This host's name, for the sessions list (empty when it cannot be read).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| crate::domain::text::strip_controls(s.trim()))
        .unwrap_or_default()
}

/// `calldesk demo`: a throwaway SQLite file, the sample drivers, the simulator as TeleCMI.
/// The demo's database is always its own: an explicit `--database-url` is refused (the user
/// meant a real database and would lose their work in a throwaway one), an environment value
/// (often from a `.env` kept for `calldesk console`) is ignored with a note.
pub async fn demo(mut config: Config, database_url: Origin, calling_hours: Origin) -> anyhow::Result<()> {
    match database_url {
        Origin::Flag => anyhow::bail!(
            "calldesk demo always runs on a throwaway SQLite file, so --database-url is refused; \
             to work on that database run `calldesk console --database-url …`"
        ),
        Origin::Env => {
            tracing::info!("DATABASE_URL ignored by the demo");
            eprintln!(
                "note: the demo ignores DATABASE_URL (from the environment or .env) and uses a throwaway SQLite file"
            );
        }
        Origin::Default => {}
    }
    crate::tui::terminal::require_terminal()?;
    if calling_hours == Origin::Default {
        // A demo tried at night would refuse every call: it dials at any hour unless
        // CALLING_HOURS is given (set it to see the calling window at work).
        config.schedule.hours = crate::domain::CallingHours::ALWAYS;
    }
    let dir = tempfile::Builder::new().prefix("calldesk-demo-").tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let store = Store::open(&url).await?;
    store.add_caller(DEMO_CALLER, "Pooja (demo)", Role::Agent, Utc::now()).await?;
    let callers = std::collections::HashSet::from([DEMO_CALLER]);
    let rows = crate::commands::import::Rows::new(DEMO_DRIVERS.as_bytes(), &config.country_code, callers)
        .map_err(|e| anyhow::anyhow!(e))?;
    crate::commands::import::import(&store, rows, false, || {}, |_, _| {}).await?;
    let secret = crate::commands::tokens::generate();
    let sim = Simulator::start("10000001", &secret, std::time::Duration::from_millis(1500)).await?;
    config.database_url = url;
    // The demo's drafts go with its database.
    config.data_dir = dir.path().to_path_buf();
    config.telecmi = Some(TelecmiCreds { app_id: "10000001".into(), secret: Secret::new(secret) });
    config.telecmi_base_url = sim.base_url();
    config.telecmi_agents = std::collections::BTreeMap::from([(DEMO_CALLER, "5003".to_string())]);
    // Port 0: the demo never clashes with a real console's listener.
    config.webhook_addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.webhook_token = Some(Secret::new(crate::commands::tokens::generate_webhook_token()));
    let result = run_console(config, store, DEMO_CALLER, TelephonyMode::Simulated, Some(&sim), Hosting::Own).await;
    drop(dir);
    result
}

/// `calldesk serve`: the listener and the API, headless, until Ctrl+C.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let store = super::open_store(&config, IfMissing::Refuse).await?;
    let config = Arc::new(config);
    let bus = new_bus();
    let dialer = Dialer::new(store.clone(), config.clone(), bus.clone())?;
    let listener = start_listener(&store, &config, &bus, Some(dialer.clone())).await?;
    let reconciler = spawn_reconciler(&store, &dialer, &config, &listener);
    eprintln!("calldesk serving on http://{} ({})", listener.addr, store.label());
    // For the operator's eyes only (never logged): TeleCMI's dashboard needs the whole URL.
    eprintln!("TeleCMI webhook URL (behind your TLS proxy): /webhook/telecmi/{}", listener.token.expose());
    // Ctrl+C, or SIGTERM from systemd/docker/kill: the same ordered shutdown.
    let mut signals = crate::tui::terminal::Signals::new()?;
    let name = signals.next().await;
    tracing::info!("serve stopping on {name}");
    eprintln!("stopping");
    shut_down(&store, Some(listener), reconciler, None, None).await;
    Ok(())
}

/// `calldesk supervise`: the board, for a caller registered with `--role supervisor`.
pub async fn supervise(config: Config) -> anyhow::Result<()> {
    let id = config.require_user()?;
    let store = super::open_session_store(&config).await?;
    let me = store.caller(id).await?.with_context(|| {
        format!("caller {id} is not registered: run `calldesk caller add {id} NAME --role supervisor` first")
    })?;
    anyhow::ensure!(
        me.is_supervisor(),
        "caller {id} ({}) is an agent; the supervisor console needs a supervisor (`calldesk caller add {id} NAME --role supervisor`)",
        me.name
    );
    let mut signals = crate::tui::terminal::Signals::new()?;
    let session = open_session(&store, me.id, SessionKind::Supervise, config.zone(), &mut signals).await?;
    let setup = crate::supervise::Setup {
        me: me.id,
        viewer: format!("{} ({})", me.name, me.id),
        tz: config.zone(),
        catalog: std::sync::Arc::new(config.catalog()),
        alerts: crate::supervise::board::Thresholds::minutes(config.idle_alert_minutes, config.break_alert_minutes),
    };
    let result = crate::supervise::run(store.clone(), setup, signals).await;
    session.end(result.as_ref().map_or(EndReason::Failed, |e| e.reason())).await;
    store.close().await;
    result.map(|_| ())
}
