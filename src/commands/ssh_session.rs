//! `calldesk ssh session --key FINGERPRINT`: the forced command sshd runs for a key that
//! `calldesk ssh authorized-keys` knows. Who the user is comes from the key alone: the caller the
//! key belongs to, read again here (a key removed since the login's lookup opens nothing).
//! `CALLDESK_USER_ID` from anywhere is overridden; a command the client asked sshd to run
//! (`ssh host cat .env`, scp, sftp) is refused. An agent gets the console, a supervisor the board.
//!
//! On the team host the consoles take no webhooks of their own and do not reconcile:
//! `calldesk serve` does both for everyone ([`Hosting::Team`]).

use std::io::IsTerminal;

use anyhow::Context as _;

use super::session::{Hosting, run_console};
use crate::config::Config;
use crate::console::state::TelephonyMode;
use crate::domain::ssh_key;
use crate::domain::text::strip_controls;

/// Why a login opens nothing, in one line for the user's terminal.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The client asked to run a command.
    Command(String),
    /// No terminal (`ssh -T`, or a command-less pipe).
    NoTerminal,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Command(cmd) => write!(
                f,
                "calldesk: this login opens your console only; it runs no command (asked to run {cmd:?}): \
                 connect with `ssh -t HOST` and nothing after it"
            ),
            Self::NoTerminal => {
                write!(f, "calldesk: the console needs a terminal: connect with `ssh -t HOST` (not -T, no command)")
            }
        }
    }
}

/// What sshd's environment asks for: refused unless it is a plain interactive login.
/// `original_command` is `SSH_ORIGINAL_COMMAND` (set when the client named a command).
pub fn check_login(original_command: Option<&str>, terminal: bool) -> Result<(), Refusal> {
    if let Some(cmd) = original_command {
        // Shown back shortened and without control characters (it is the client's text).
        let shown: String = strip_controls(cmd).chars().take(60).collect();
        return Err(Refusal::Command(shown));
    }
    if !terminal {
        return Err(Refusal::NoTerminal);
    }
    Ok(())
}

pub async fn run(fingerprint: &str, mut config: Config) -> anyhow::Result<std::process::ExitCode> {
    let asked = std::env::var("SSH_ORIGINAL_COMMAND").ok();
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if let Err(refusal) = check_login(asked.as_deref(), terminal) {
        tracing::warn!(fingerprint, refusal = ?refusal, "ssh session refused");
        eprintln!("{refusal}");
        return Ok(std::process::ExitCode::FAILURE);
    }
    anyhow::ensure!(ssh_key::is_fingerprint(fingerprint), "not a key fingerprint: {:?}", strip_controls(fingerprint));
    let store = super::open_session_store(&config).await?;
    let Some(key) = store.ssh_key(fingerprint).await? else {
        store.close().await;
        tracing::warn!(fingerprint, "ssh session: the key is no longer registered");
        anyhow::bail!("this key ({fingerprint}) is no longer registered: ask your admin (calldesk caller key add)");
    };
    let caller = store
        .caller(key.caller_id)
        .await?
        .with_context(|| format!("caller {} of key {fingerprint} is not registered", key.caller_id))?;
    // The key decides who this is, whatever CALLDESK_USER_ID says in `.env` or anywhere else.
    config.user_id = Some(caller.id);
    tracing::info!(caller = caller.id, fingerprint, supervisor = caller.is_supervisor(), "ssh session opens");
    if caller.is_supervisor() {
        store.close().await;
        super::session::supervise(config).await?;
    } else {
        let mode = if config.telecmi.is_some() { TelephonyMode::Telecmi } else { TelephonyMode::ManualOnly };
        run_console(config, store, caller.id, mode, None, Hosting::Team).await?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_runs_no_command() {
        assert_eq!(check_login(None, true), Ok(()));
        assert_eq!(check_login(Some("cat .env"), true), Err(Refusal::Command("cat .env".into())));
        // An empty command is still a command (`ssh host ''`).
        assert!(matches!(check_login(Some(""), true), Err(Refusal::Command(_))));
        assert_eq!(check_login(None, false), Err(Refusal::NoTerminal));
        let Err(r) = check_login(Some("echo \x1b[2Jhi"), true) else { panic!() };
        assert!(!r.to_string().contains('\x1b'), "{r}");
    }
}
