//! `calldesk assign --from ID --to ID [--count N] [--city NAME]`: moves queued drivers from one
//! agent to another (the rules are the store's: [`crate::store::MoveRequest`]).

use chrono::Utc;

use super::open_store;
use crate::config::Config;
use crate::domain::text::strip_controls;
use crate::store::{IfMissing, MoveRequest, Store, move_summary};

#[derive(Debug, clap::Args)]
pub struct AssignArgs {
    /// The agent whose queued drivers move
    #[arg(long, value_name = "ID")]
    pub from: i64,
    /// The agent who gets them
    #[arg(long, value_name = "ID")]
    pub to: i64,
    /// At most this many, the first in queue order (default: every driver that may move)
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
    /// Only drivers of this city (any letter case)
    #[arg(long, value_name = "NAME")]
    pub city: Option<String>,
}

pub async fn run(args: AssignArgs, config: &Config) -> anyhow::Result<std::process::ExitCode> {
    anyhow::ensure!(args.from > 0 && args.to > 0, "caller ids are positive numbers");
    anyhow::ensure!(args.from != args.to, "--from and --to are the same agent: nothing to move");
    anyhow::ensure!(args.count != Some(0), "--count 0 moves nothing: give a positive number or leave it out");
    let city = args.city.as_deref().map(|c| strip_controls(c.trim())).filter(|c| !c.is_empty());
    let store = open_store(config, IfMissing::Refuse).await?;
    let from = name_of(&store, args.from).await?;
    let to = name_of(&store, args.to).await?;
    let req = MoveRequest { from: args.from, to: args.to, count: args.count, city: city.clone(), by: None };
    let report = store.move_drivers(&req, Utc::now()).await?;
    tracing::info!(from = args.from, to = args.to, moved = report.moved.len(), left = report.left(), "drivers moved");
    println!("{}", move_summary(&report, &from, &to, city.as_deref(), "--count"));
    Ok(std::process::ExitCode::SUCCESS)
}

async fn name_of(store: &Store, id: i64) -> anyhow::Result<String> {
    let c = store.caller(id).await?.ok_or_else(|| anyhow::anyhow!("caller {id} is not registered"))?;
    Ok(format!("{} ({})", strip_controls(&c.name), c.id))
}
