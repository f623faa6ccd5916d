//! The team host's `.env`: the `calldesk ssh …` commands read the service account's `$HOME/.env`,
//! never one in the current directory.
//!
//! What sshd gives `AuthorizedKeysCommand` (OpenSSH 9.2p1, Debian 12, seen by experiment with a
//! script in its place): the working directory is `/` (sshd's own, whatever directory it was
//! started from); the environment is only `USER`, `LOGNAME`, `HOME` (the
//! `AuthorizedKeysCommandUser`'s, from the passwd entry), `PATH=/usr/local/bin:/usr/bin:/bin:/usr/games`
//! and `LANG` when sshd itself has one (never the client's, and nothing else of sshd's
//! environment); stdin is `/dev/null`; the arguments are `%t %k`. The forced command (`ssh
//! session`) runs through the account's login shell in its home directory, with `HOME`, `USER`,
//! `SHELL`, `PATH`, `MAIL`, `SSH_CONNECTION`… plus whatever `AcceptEnv` lets the client send
//! (Debian's default `AcceptEnv LANG LC_*` does pass the client's `LANG` through).
//! So `./.env` would be `/.env` for one and the home's for the other: both read `$HOME/.env`.
//!
//! The `.env` wins over the environment here (unlike the other commands): a variable a client
//! manages to send (a loose `AcceptEnv`) cannot redirect the database or TeleCMI.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The current account's home: `$HOME`, else the passwd entry.
pub fn home() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf())
}

/// `HOME/.env`.
pub fn env_path(home: &Path) -> PathBuf {
    home.join(".env")
}

/// Loads `$HOME/.env` over the environment. `Ok(None)`: read (or not there: sshd then runs on the
/// environment and defaults, and `calldesk ssh check` says so); `Ok(Some(warning))`: read, but
/// its mode lets others read it (a warning for the log: logins go on, `ssh check` fails on it);
/// `Err(line)`: a malformed file, as one configuration-error line.
pub fn load() -> Result<Option<String>, String> {
    let Some(home) = home() else { return Ok(None) };
    let path = env_path(&home);
    match dotenvy::from_path_override(&path) {
        Ok(()) => {}
        Err(e) if e.not_found() => return Ok(None),
        Err(e) => return Err(format!("configuration error: {}: {}", path.display(), describe(&e))),
    }
    let mode = std::fs::metadata(&path).map(|m| m.mode()).unwrap_or(0);
    Ok(mode_problem(mode).map(|p| format!("{} {p}: chmod 600 {}", path.display(), path.display())))
}

/// A `.env` error in one line that never echoes a value (dotenvy's own message quotes the whole
/// line, a password with it, and spans two lines): the key of the line that does not parse.
pub fn describe(e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::LineParse(line, at) => {
            let key = line.split('=').next().unwrap_or("").trim();
            let key: String = key.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
            format!(
                "the line of {key:?} does not parse (at character {}): KEY=value, a value with spaces or # in quotes, every quote closed",
                at + 1
            )
        }
        other => other.to_string().replace('\n', " "),
    }
}

/// What is wrong with a secret file's mode, if anything: any group or other bit.
pub fn mode_problem(mode: u32) -> Option<String> {
    let loose = mode & 0o077;
    if loose == 0 {
        return None;
    }
    let who = match (loose & 0o070 != 0, loose & 0o007 != 0) {
        (true, true) => "its group and everyone",
        (true, false) => "its group",
        _ => "everyone",
    };
    Some(format!("is mode {:03o}: open to {who} (it holds the database password and the TeleCMI secret)", mode & 0o777))
}

#[cfg(test)]
mod tests {
    use super::{describe, mode_problem};

    #[test]
    fn a_malformed_line_is_named_by_its_key_never_its_value() {
        let e = dotenvy::from_read_iter("DATABASE_URL='mysql://u:pa55@db/x\n".as_bytes())
            .find_map(Result::err)
            .expect("a parse error");
        let said = describe(&e);
        assert!(said.starts_with("the line of \"DATABASE_URL\" does not parse"), "{said}");
        assert!(!said.contains("pa55") && !said.contains('\n'), "{said}");
    }

    #[test]
    fn only_the_owner_may_have_bits() {
        assert_eq!(mode_problem(0o100600), None);
        assert_eq!(mode_problem(0o400), None);
        assert!(mode_problem(0o640).is_some_and(|p| p.contains("mode 640") && p.contains("its group")));
        assert!(mode_problem(0o604).is_some_and(|p| p.contains("everyone") && !p.contains("group")));
        assert!(mode_problem(0o644).is_some_and(|p| p.contains("its group and everyone")));
        assert!(mode_problem(0o602).is_some());
    }
}
