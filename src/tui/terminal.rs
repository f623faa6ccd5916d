//! The terminal and the signals around both screens: refuse to start without a terminal, end
//! cleanly on SIGTERM/SIGHUP/SIGINT, restore the screen without panicking when it is gone, and
//! wait a bounded time for the work still in flight.

use std::time::Duration;

use tokio::task::JoinSet;

/// Refuses to start without a terminal, in words (instead of a panic deep in crossterm).
pub fn require_terminal() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    anyhow::ensure!(
        std::io::stdin().is_terminal() && std::io::stdout().is_terminal(),
        "the console needs a terminal: run calldesk in a terminal window (for a headless server use `calldesk serve`)"
    );
    Ok(())
}

/// Gives the terminal back. After a dropped SSH line (SIGHUP) the terminal is gone: restoring it
/// fails, and must not panic (that would abort the ordered shutdown and its last draft).
pub fn restore() {
    if let Err(e) = ratatui::try_restore() {
        tracing::info!("terminal not restored (gone?): {e}");
    }
}

/// Lets go of the screen after [`restore`]: shows the cursor where the terminal is still there,
/// and otherwise drops nothing that would write to it. (ratatui's own drop reports a cursor it
/// cannot show with `eprintln!`, which panics when the terminal is gone — a dropped SSH line, a
/// closed window — and the panic in a drop aborts the process before it records the session's
/// end and closes the database.)
pub fn release(mut terminal: ratatui::DefaultTerminal) {
    if terminal.show_cursor().is_ok() {
        drop(terminal);
    } else {
        std::mem::forget(terminal);
    }
}

/// How long a quit waits for work in flight (a save, a call being placed: TeleCMI's answer takes
/// up to [`crate::telecmi::TOTAL_TIMEOUT`]).
pub const FINISH_WAIT: Duration = Duration::from_secs(12);

/// Waits for the effects still running at quit, so none meets a closed database; after
/// [`FINISH_WAIT`] the rest are stopped (a transaction cut short is rolled back).
pub async fn finish(mut inflight: JoinSet<()>) {
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

/// Why a screen closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The user quit.
    Quit,
    /// A signal: SIGHUP (the line dropped), SIGTERM or SIGINT.
    Signal(&'static str),
    /// A newer login of the same caller took over; the words to leave on the terminal.
    TakenOver(String),
}

impl Ending {
    /// What the session's row records.
    pub fn reason(&self) -> crate::domain::session::EndReason {
        use crate::domain::session::EndReason;
        match self {
            Self::Quit => EndReason::Quit,
            Self::Signal(name) => EndReason::of_signal(name),
            Self::TakenOver(_) => EndReason::TakenOver,
        }
    }
}

/// What ends the console (and the supervisor screen) cleanly: the signals, and, for a screen with
/// a session, a newer login taking it over.
pub struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    takeover: Option<tokio::sync::watch::Receiver<Option<String>>>,
}

impl Signals {
    pub fn new() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
            takeover: None,
        })
    }

    /// Also ends when `takeover` says a newer login took the session over.
    pub fn with_takeover(mut self, takeover: tokio::sync::watch::Receiver<Option<String>>) -> Self {
        self.takeover = Some(takeover);
        self
    }

    /// The next signal's name (SIGTERM, SIGHUP, SIGINT).
    pub async fn next(&mut self) -> &'static str {
        match self.next_ending().await {
            Ending::Signal(name) => name,
            _ => "takeover",
        }
    }

    /// The next reason to close: a signal, or the session taken over.
    pub async fn next_ending(&mut self) -> Ending {
        let takeover = async {
            let Some(rx) = self.takeover.as_mut() else { return std::future::pending().await };
            loop {
                if let Some(words) = rx.borrow_and_update().clone() {
                    return words;
                }
                if rx.changed().await.is_err() {
                    // The heartbeat ended without a takeover: nothing more will come.
                    return std::future::pending().await;
                }
            }
        };
        tokio::select! {
            _ = self.term.recv() => Ending::Signal("SIGTERM"),
            _ = self.hup.recv() => Ending::Signal("SIGHUP"),
            _ = self.int.recv() => Ending::Signal("SIGINT"),
            words = takeover => Ending::TakenOver(words),
        }
    }
}
