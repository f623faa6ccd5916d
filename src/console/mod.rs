//! The agent console: crossterm events, a clock tick, call updates from the bus and finished
//! effects all become [`Action`]s; `update` changes the state; the views draw it. It stands on
//! [`crate::tui`] (terminal and signals, the key table, shared widgets and formatters), as the
//! supervisor does; neither screen imports the other.

pub mod action;
mod breaks;
mod commands;
mod dialing;
mod drafts;
mod driver_fixes;
pub mod effects;
mod finder;
mod finder_state;
mod form_keys;
pub mod lists;
mod prompt_state;
mod results;
mod save_retry;
mod saved;
mod seen_events;
pub mod state;
pub mod update;
pub mod views;
mod waiting_state;
pub mod wrapup;

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;

use crate::tui::terminal::{Ending, Signals, finish, require_terminal, restore};
use action::{Action, Effect};
use effects::EffectCtx;
use state::{App, Identity};

/// Runs the console until the agent quits or a signal (SIGTERM, SIGHUP, SIGINT) stops it. The
/// terminal is restored on every exit path the process can act on: quit, signal, error, and panic
/// (ratatui's `init` installs a panic hook that restores it before the panic message).
///
/// It returns only once the work it started has finished (at most [`crate::tui::terminal::FINISH_WAIT`]): the caller
/// may then stop the rest and close the database.
pub async fn run(identity: Identity, ctx: EffectCtx, signals: Signals) -> anyhow::Result<Ending> {
    require_terminal()?;
    let mut inflight = JoinSet::new();
    let mut terminal = ratatui::init();
    let mut left = None;
    let result = event_loop(&mut terminal, identity, ctx, signals, &mut inflight, &mut left).await;
    restore();
    crate::tui::terminal::release(terminal);
    // A save still waiting for the database: said where the agent looks next (the draft keeps it).
    if let Some(words) = left {
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), "{words}");
    }
    // Taken over: the reason stays on the terminal (an SSH client shows it as the line closes).
    if let Ok(Ending::TakenOver(words)) = &result {
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), "{words}");
    }
    finish(inflight).await;
    result
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    identity: Identity,
    ctx: EffectCtx,
    mut signals: Signals,
    inflight: &mut JoinSet<()>,
    left: &mut Option<String>,
) -> anyhow::Result<Ending> {
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
        if let Err(e) = terminal.draw(|f| views::render(&app, f)) {
            // The terminal is gone (a dropped line): close as on SIGHUP, writing the draft first.
            tracing::info!("terminal unwritable: {e}");
            apply(&mut app, vec![Action::Signal("SIGHUP")], &ctx, &tx, inflight).await;
            return Ok(closing(&mut app, left, Ending::Signal("SIGHUP")));
        }
        let first = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => Action::Key(k),
                Some(Ok(Event::Resize(width, height))) => Action::Resize { width, height },
                Some(Ok(_)) => continue,
                // The terminal is gone (a dropped SSH line can show here before its SIGHUP):
                // close as on SIGHUP, writing the draft first.
                Some(Err(e)) => {
                    tracing::info!("terminal unreadable: {e}");
                    Action::Signal("SIGHUP")
                }
                None => Action::Signal("SIGHUP"),
            },
            _ = tick.tick() => Action::Tick(Utc::now()),
            ending = signals.next_ending() => match ending {
                Ending::Signal(name) => Action::Signal(name),
                Ending::TakenOver(words) => Action::SignedInElsewhere(words),
                Ending::Quit => continue,
            },
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
        let batch = drain(first, &mut rx, &mut bus);
        if apply(&mut app, batch, &ctx, &tx, inflight).await {
            return Ok(closing(&mut app, left, Ending::Quit));
        }
    }
}

/// Why the console closes (`or` unless the state says), and in `left` what it leaves unsaved.
fn closing(app: &mut App, left: &mut Option<String>, or: Ending) -> Ending {
    *left = app.unsaved_words();
    app.ending.take().unwrap_or(or)
}

/// `first` and whatever else has arrived meanwhile (a burst of webhooks), to be drawn once. Every
/// batch reads the clock first: a form opens, and keys arrive, at their own moment (a form's first
/// second is measured between the two), finer than the ticks.
fn drain(
    first: Action,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Action>,
    bus: &mut tokio::sync::broadcast::Receiver<crate::coord::bus::CallUpdate>,
) -> Vec<Action> {
    let mut batch = vec![Action::Clock(Utc::now()), first];
    while let Ok(a) = rx.try_recv() {
        batch.push(a);
    }
    while let Ok(u) = bus.try_recv() {
        batch.push(Action::CallUpdated(Box::new(u)));
    }
    batch
}

/// Applies a batch, starting the effects each action asks for; returns whether the agent quit.
async fn apply(
    app: &mut App,
    batch: Vec<Action>,
    ctx: &EffectCtx,
    tx: &tokio::sync::mpsc::UnboundedSender<Action>,
    inflight: &mut JoinSet<()>,
) -> bool {
    for action in batch {
        let fx = update::update(app, action);
        if app.quit {
            // Last words (the draft) are written before the screen goes away.
            for e in fx {
                effects::run(ctx, e).await;
            }
            return true;
        }
        for e in fx {
            effects::spawn(ctx, e, tx, inflight);
        }
    }
    false
}
