//! The agent console: crossterm events, a clock tick, call updates from the bus and finished
//! effects all become [`Action`]s; `update` changes the state; the views draw it.

pub mod action;
mod breaks;
mod commands;
mod dialing;
pub mod effects;
mod finder;
mod fixes;
pub mod lists;
mod lookup_state;
mod results;
pub mod state;
pub mod update;
pub mod views;
pub mod wrapup;

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;

use action::{Action, Effect};
use effects::EffectCtx;
use state::{App, Identity};

/// Refuses to start without a terminal, in words (instead of a panic deep in crossterm).
pub fn require_terminal() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    anyhow::ensure!(
        std::io::stdin().is_terminal() && std::io::stdout().is_terminal(),
        "the console needs a terminal: run calldesk in a terminal window (for a headless server use `calldesk serve`)"
    );
    Ok(())
}

/// Runs the console until the agent quits or a signal (SIGTERM, SIGHUP, SIGINT) stops it. The
/// terminal is restored on every exit path the process can act on: quit, signal, error, and panic
/// (ratatui's `init` installs a panic hook that restores it before the panic message).
///
/// It returns only once the work it started has finished (at most [`FINISH_WAIT`]): the caller
/// may then stop the rest and close the database.
pub async fn run(identity: Identity, ctx: EffectCtx) -> anyhow::Result<()> {
    require_terminal()?;
    let signals = Signals::new()?;
    let mut inflight = JoinSet::new();
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, identity, ctx, signals, &mut inflight).await;
    // After a dropped SSH line (SIGHUP) the terminal is gone: restoring it fails, and must not
    // panic (that would abort the ordered shutdown and its last draft).
    if let Err(e) = ratatui::try_restore() {
        tracing::info!("terminal not restored (gone?): {e}");
    }
    finish(inflight).await;
    result
}

/// How long a quit waits for work in flight (a save, a call being placed: TeleCMI's answer takes
/// up to [`crate::telecmi::TOTAL_TIMEOUT`]).
pub const FINISH_WAIT: Duration = Duration::from_secs(12);

/// Waits for the effects still running at quit, so none meets a closed database; after
/// [`FINISH_WAIT`] the rest are stopped (a transaction cut short is rolled back).
pub(crate) async fn finish(mut inflight: JoinSet<()>) {
    async fn all(set: &mut JoinSet<()>) {
        while set.join_next().await.is_some() {}
    }
    if tokio::time::timeout(Duration::from_secs(1), all(&mut inflight)).await.is_ok() {
        return;
    }
    // The screen is gone: say why the prompt does not come back at once.
    {
        use std::io::Write;
        // (The terminal may be gone: a failed write is no reason to stop.)
        let _ = writeln!(std::io::stderr(), "calldesk: finishing {} request(s) still in flight…", inflight.len());
    }
    if tokio::time::timeout(FINISH_WAIT, all(&mut inflight)).await.is_err() {
        tracing::warn!(left = inflight.len(), "work still running at quit was stopped");
        inflight.shutdown().await;
    }
}

/// The signals that end the console (and the supervisor screen) cleanly.
pub(crate) struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    pub(crate) fn new() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    pub(crate) async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    identity: Identity,
    ctx: EffectCtx,
    mut signals: Signals,
    inflight: &mut JoinSet<()>,
) -> anyhow::Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Action>();
    let mut bus = ctx.dialer.bus.subscribe();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut app = App::new(identity, ctx.catalog.clone(), Utc::now(), ctx.tz);
    let size = terminal.size()?;
    update::update(&mut app, Action::Resize { width: size.width, height: size.height });
    for e in [Effect::LoadStartup, Effect::LoadPresence, Effect::LoadProgress] {
        effects::spawn(&ctx, e, &tx, inflight);
    }
    loop {
        while inflight.try_join_next().is_some() {}
        terminal.draw(|f| views::render(&app, f))?;
        let first = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => Action::Key(k),
                Some(Ok(Event::Resize(width, height))) => Action::Resize { width, height },
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            _ = tick.tick() => Action::Tick(Utc::now()),
            name = signals.next() => Action::Signal(name),
            u = bus.recv() => match u {
                Ok(u) => Action::CallUpdated(Box::new(u)),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!("console missed {n} call updates; reloading");
                    Action::Command(crate::tui::keys::Command::Refresh)
                }
                Err(RecvError::Closed) => continue,
            },
            Some(a) = rx.recv() => a,
        };
        // Every batch reads the clock first: a form opens, and keys arrive, at their own moment
        // (a form's first second is measured between the two), finer than the ticks.
        let mut batch = vec![Action::Clock(Utc::now())];
        // Drain whatever else has arrived (a burst of webhooks) and draw once.
        batch.push(first);
        while let Ok(a) = rx.try_recv() {
            batch.push(a);
        }
        while let Ok(u) = bus.try_recv() {
            batch.push(Action::CallUpdated(Box::new(u)));
        }
        for action in batch {
            let fx = update::update(&mut app, action);
            if app.quit {
                // Last words (the draft) are written before the screen goes away.
                for e in fx {
                    effects::run(&ctx, e).await;
                }
                return Ok(());
            }
            for e in fx {
                effects::spawn(&ctx, e, &tx, inflight);
            }
        }
    }
    Ok(())
}
