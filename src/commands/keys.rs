//! `calldesk caller key add|list|remove` (callers' SSH public keys) and `calldesk ssh
//! authorized-keys` (sshd's `AuthorizedKeysCommand`: a known key gets the forced command bound to
//! its caller). Public keys only: nothing here prints a secret.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use chrono_tz::Tz;

use super::open_store;
use crate::config::Config;
use crate::domain::ssh_key::{self, PublicKey};
use crate::domain::text::{plural, strip_controls};
use crate::store::{IfMissing, KeyAdded, SshKey, Store};

#[derive(Debug, clap::Subcommand)]
pub enum KeyCmd {
    /// Give a caller an SSH public key (one OpenSSH `.pub` line) to log in to the team host with
    Add {
        /// The caller's id
        id: i64,
        /// The public key file, e.g. id_ed25519.pub
        #[arg(value_name = "FILE.pub")]
        file: PathBuf,
    },
    /// The SSH keys, every caller's or one's, with their SHA256 fingerprints
    List {
        /// Only this caller's keys
        id: Option<i64>,
    },
    /// Remove a key by its fingerprint (as `caller key list` shows it: SHA256:…)
    Remove { fingerprint: String },
}

#[derive(Debug, clap::Subcommand)]
pub enum SshCmd {
    /// For sshd's `AuthorizedKeysCommand … %t %k`: a known key gets one `restrict,pty,command="…"`
    /// line bound to its caller; an unknown key gets nothing (and sshd refuses it)
    AuthorizedKeys {
        /// The key's type (sshd's %t)
        #[arg(value_name = "TYPE")]
        key_type: String,
        /// The key's base64 blob (sshd's %k)
        #[arg(value_name = "BASE64")]
        base64: String,
    },
    /// Check the team host's setup: this binary's path (sshd's rules), the service account, its
    /// .env (mode 600), the database and its keys, and (as root) sshd's settings for the account;
    /// each problem with its fix. Exit code 1 when something is wrong
    Check(super::ssh_check::CheckArgs),
    /// The forced command `ssh authorized-keys` names for a key: opens the console of the key's
    /// caller (the supervisor view for a supervisor). The caller comes from the key, never from
    /// CALLDESK_USER_ID; a command the client asked to run is refused
    Session {
        /// The key's fingerprint (SHA256:…), as the forced command names it
        #[arg(long, value_name = "FINGERPRINT")]
        key: String,
    },
}

pub async fn key(what: KeyCmd, config: &Config) -> anyhow::Result<ExitCode> {
    match what {
        KeyCmd::Add { id, file } => {
            anyhow::ensure!(id > 0, "caller id must be a positive number");
            // The file first: a bad one opens no database.
            let key = read_key(&file)?;
            let store = open_store(config, IfMissing::Refuse).await?;
            match store.add_ssh_key(id, &key, Utc::now()).await? {
                KeyAdded::Added(k) => {
                    tracing::info!(caller = id, fingerprint = %k.fingerprint, "SSH key added");
                    println!("caller {id}: key {} {} added{}", k.key_type, k.fingerprint, comment(&k));
                    Ok(ExitCode::SUCCESS)
                }
                KeyAdded::Taken(k) if k.caller_id == id => {
                    anyhow::bail!("caller {id} has this key already ({}): nothing changed", k.fingerprint)
                }
                KeyAdded::Taken(k) => anyhow::bail!(
                    "this key ({}) belongs to caller {}: a key logs in as one caller only; \
                     remove it there first (calldesk caller key remove {}) or use another key",
                    k.fingerprint,
                    k.caller_id,
                    k.fingerprint
                ),
                KeyAdded::UnknownCaller => {
                    anyhow::bail!("caller {id} is not registered (calldesk caller add {id} NAME)")
                }
            }
        }
        KeyCmd::List { id } => {
            let store = open_store(config, IfMissing::Refuse).await?;
            print!("{}", table(&store.ssh_keys(id).await?, id, config.zone()));
            Ok(ExitCode::SUCCESS)
        }
        KeyCmd::Remove { fingerprint } => {
            let fingerprint = fingerprint.trim();
            anyhow::ensure!(
                ssh_key::is_fingerprint(fingerprint),
                "{:?} is not a fingerprint: give it as `calldesk caller key list` shows it (SHA256: and 43 characters)",
                strip_controls(fingerprint)
            );
            let store = open_store(config, IfMissing::Refuse).await?;
            match store.remove_ssh_key(fingerprint).await? {
                Some(k) => {
                    tracing::info!(caller = k.caller_id, fingerprint = %k.fingerprint, "SSH key removed");
                    println!("key {} of caller {} removed{}", k.fingerprint, k.caller_id, comment(&k));
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    anyhow::bail!("no key {fingerprint}: nothing removed (calldesk caller key list shows the keys)")
                }
            }
        }
    }
}

/// `calldesk ssh …`.
pub async fn ssh(what: SshCmd, config: &Config) -> anyhow::Result<ExitCode> {
    match what {
        SshCmd::AuthorizedKeys { key_type, base64 } => authorized_keys(&key_type, &base64, config).await,
        SshCmd::Check(args) => super::ssh_check::run(args).await,
        SshCmd::Session { key } => super::ssh_session::run(&key, config.clone()).await,
    }
}

/// Prints the forced-command line for a known key, nothing for any other (sshd then refuses the
/// key). One primary-key read; no migration, no database created.
async fn authorized_keys(key_type: &str, base64: &str, config: &Config) -> anyhow::Result<ExitCode> {
    // Not a key calldesk could have stored: nothing to say, and sshd refuses it.
    let Ok(key) = PublicKey::from_parts(key_type, base64) else {
        tracing::info!("ssh authorized-keys: not a supported key; refused");
        return Ok(ExitCode::SUCCESS);
    };
    let store = Store::connect_existing(&config.database_url).await?;
    let found = store.ssh_key(&key.fingerprint).await;
    store.close().await;
    let Some(stored) = found? else {
        tracing::info!(fingerprint = %key.fingerprint, "ssh authorized-keys: unknown key; refused");
        return Ok(ExitCode::SUCCESS);
    };
    let exe = std::env::current_exe().context("cannot tell where this binary is")?;
    let exe = exe.to_str().context("this binary's path is not UTF-8: sshd cannot be given it")?;
    let line = ssh_key::authorized_line(exe, &key)
        .context("this binary's path holds a control character: sshd cannot be given it")?;
    tracing::info!(caller = stored.caller_id, fingerprint = %key.fingerprint, "ssh authorized-keys: key known");
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}

/// The one key of a `.pub` file, or why not, naming the file and line.
fn read_key(file: &Path) -> anyhow::Result<PublicKey> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    PublicKey::parse_file(&text).map_err(|(line, e)| anyhow::anyhow!("{}:{line}: {e}", file.display()))
}

fn comment(k: &SshKey) -> String {
    if k.comment.is_empty() { String::new() } else { format!(" ({})", strip_controls(&k.comment)) }
}

/// The keys as aligned columns under a header, then a count.
pub fn table(keys: &[SshKey], caller: Option<i64>, tz: Tz) -> String {
    if keys.is_empty() {
        let whose = caller.map_or(String::new(), |c| format!(" for caller {c}"));
        return format!("No SSH keys{whose}: add one with `calldesk caller key add ID FILE.pub`.\n");
    }
    let id_w = keys.iter().map(|k| k.caller_id.to_string().len()).max().unwrap_or(0).max("CALLER".len());
    let type_w = keys.iter().map(|k| k.key_type.len()).max().unwrap_or(0).max("TYPE".len());
    let fp_w = keys.iter().map(|k| k.fingerprint.len()).max().unwrap_or(0).max("FINGERPRINT".len());
    let mut s =
        format!("{:>id_w$}  {:<type_w$}  {:<fp_w$}  {:<16}  COMMENT\n", "CALLER", "TYPE", "FINGERPRINT", "ADDED");
    for k in keys {
        let added = k.added_at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
        let comment = strip_controls(&k.comment);
        let line = format!(
            "{:>id_w$}  {:<type_w$}  {:<fp_w$}  {added:<16}  {comment}",
            k.caller_id, k.key_type, k.fingerprint
        );
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s.push_str(&format!("{}.\n", plural(keys.len(), "key")));
    s
}
