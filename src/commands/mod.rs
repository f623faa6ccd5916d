//! The non-interactive subcommands: driver import, log export, the do-not-call list, callers, API
//! tokens and call recordings.

pub mod assign;
pub mod callers;
pub mod dnc;
pub mod export;
pub mod import;
pub mod keys;
pub mod loadtest;
pub mod recording;
pub mod report;
pub mod session;
pub mod ssh_check;
pub mod ssh_session;
pub mod tokens;

use crate::config::Config;
use crate::store::{IfMissing, PoolSize, Store, StoreError};

/// Opens the configured database. A command that works on data already there
/// ([`IfMissing::Refuse`]) stops at a SQLite file that is not there, naming it, instead of
/// starting an empty database on a typo; a command that puts the first data in
/// ([`IfMissing::Create`]) creates it and says so on stderr.
pub async fn open_store(config: &Config, if_missing: IfMissing) -> anyhow::Result<Store> {
    open_store_sized(config, if_missing, PoolSize::Server).await
}

/// [`open_store`] for one person's screen (a console, the supervisor board): a small pool
/// ([`PoolSize::Session`]), so that a team's screens fit in one database server's connections.
pub async fn open_session_store(config: &Config) -> anyhow::Result<Store> {
    open_store_sized(config, IfMissing::Refuse, PoolSize::Session).await
}

async fn open_store_sized(config: &Config, if_missing: IfMissing, size: PoolSize) -> anyhow::Result<Store> {
    match Store::open_checked(&config.database_url, if_missing, size).await {
        Ok((store, created)) => {
            if let Some(path) = created {
                tracing::info!(path = %path.display(), "created a new database");
                eprintln!("created a new database at {}", path.display());
            }
            Ok(store)
        }
        // A SQLite URL holds no password: it can be shown.
        Err(StoreError::NoDatabase(path)) => Err(anyhow::anyhow!(
            "no database at {} (DATABASE_URL={}); create it with `calldesk migrate`",
            path.display(),
            config.database_url
        )),
        Err(e) => Err(e.into()),
    }
}
