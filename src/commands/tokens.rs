//! `calldesk token issue|revoke`: API bearer tokens, random, shown once, stored only as a hash
//! ([`crate::domain::token`] holds their shape and the hash).

use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use super::open_store;
use crate::config::Config;
use crate::domain::token;
use crate::store::IfMissing;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCmd {
    /// Print a new API bearer token for a caller (only its hash is stored)
    Issue {
        #[arg(long)]
        user: i64,
    },
    /// Revoke every token of a caller
    Revoke {
        #[arg(long)]
        user: i64,
    },
}

pub async fn run(what: TokenCmd, config: &Config) -> anyhow::Result<ExitCode> {
    let store = open_store(config, IfMissing::Refuse).await?;
    match what {
        TokenCmd::Issue { user } => {
            let caller = store
                .caller(user)
                .await?
                .with_context(|| format!("caller {user} is not registered (calldesk caller add)"))?;
            let issued = generate();
            store.insert_token(caller.id, &token::hash(&issued), Utc::now()).await?;
            tracing::info!(caller = caller.id, "API token issued");
            println!("{issued}");
            // On stderr, so stdout stays the bare token for scripts.
            eprintln!(
                "Token for caller {} ({}). This token is shown once: store it now. \
                 Revoke with `calldesk token revoke --user {}`.",
                caller.id, caller.name, caller.id
            );
        }
        TokenCmd::Revoke { user } => {
            let n = store.revoke_tokens(user, Utc::now()).await?;
            println!("{} of caller {user} revoked", crate::domain::text::plural(n, "token"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A new API token (`cd_` and 64 hex digits) from a CSPRNG seeded by the OS.
pub fn generate() -> String {
    token::api_token(&mut rand::rng())
}

/// A new secret for the webhook URL's path (`wh_` and 64 hex digits), from the same CSPRNG.
pub fn generate_webhook_token() -> String {
    token::webhook_token(&mut rand::rng())
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_tokens_are_unique() {
        let (a, b) = (super::generate(), super::generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 67);
        assert!(super::generate_webhook_token().starts_with("wh_"));
    }
}
