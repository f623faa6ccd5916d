//! `calldesk assign --from ID --to ID [--count N] [--city NAME]`: moves queued drivers from one
//! agent to another (the rules are the store's: [`crate::store::MoveRequest`]).

use chrono::Utc;

use super::open_store;
use crate::config::Config;
use crate::domain::text::{plural, strip_controls};
use crate::store::{IfMissing, MoveReport, MoveRequest, Store};

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
    println!("{}", summary(&report, &from, &to, city.as_deref()));
    Ok(std::process::ExitCode::SUCCESS)
}

async fn name_of(store: &Store, id: i64) -> anyhow::Result<String> {
    let c = store.caller(id).await?.ok_or_else(|| anyhow::anyhow!("caller {id} is not registered"))?;
    Ok(format!("{} ({})", strip_controls(&c.name), c.id))
}

/// What a move did, in words: how many moved, how many stayed and why.
pub fn summary(r: &MoveReport, from: &str, to: &str, city: Option<&str>) -> String {
    let of = city.map_or(String::new(), |c| format!(" of {c}"));
    let mut s = if r.moved.is_empty() && r.left() == 0 {
        format!("{from} has no queued drivers{of}: nothing moved.")
    } else {
        format!("Moved {}{of} from {from} to {to}.", plural(r.moved.len(), "driver"))
    };
    let mut why = Vec::new();
    if r.in_call > 0 {
        why.push(format!("{} in a call", r.in_call));
    }
    if r.claimed > 0 {
        why.push(format!("{} being dialed (claimed by a console)", r.claimed));
    }
    if r.wrapup_owed > 0 {
        why.push(format!("{} waiting for a wrap-up", r.wrapup_owed));
    }
    if r.beyond_count > 0 {
        why.push(format!("{} beyond --count", r.beyond_count));
    }
    if !why.is_empty() {
        s.push_str(&format!(" {} stayed with {from}: {}.", r.left(), why.join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_moved_and_why_the_rest_stayed() {
        let r = MoveReport {
            moved: vec!["D1".into(), "D2".into()],
            in_call: 1,
            claimed: 0,
            wrapup_owed: 2,
            beyond_count: 4,
        };
        assert_eq!(
            summary(&r, "Pooja (3)", "Ravi (5)", Some("Pune")),
            "Moved 2 drivers of Pune from Pooja (3) to Ravi (5). 7 stayed with Pooja (3): 1 in a call, \
             2 waiting for a wrap-up, 4 beyond --count."
        );
        assert_eq!(
            summary(&MoveReport::default(), "Pooja (3)", "Ravi (5)", None),
            "Pooja (3) has no queued drivers: nothing moved."
        );
        let one = MoveReport { moved: vec!["D1".into()], ..MoveReport::default() };
        assert_eq!(summary(&one, "A (1)", "B (2)", None), "Moved 1 driver from A (1) to B (2).");
    }
}
