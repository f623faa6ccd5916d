//! `calldesk report --day DATE [--format csv|json]`: what each agent did that day, in the team's
//! time zone — calls, connected, positive outcomes against the target, talk and break time,
//! calls that never rang the driver, and the saved outcomes by group. What a manager opens in a
//! spreadsheet each evening.

use std::io::Write;

use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::export::{day_range, neutralise};
use crate::domain::FeedbackCatalog;
use crate::store::{AgentDay, Store, outcome_groups};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// One row per agent with a header row (cells a spreadsheet would run as a formula start with `'`)
    Csv,
    /// One object: the day, the zone, each agent, and the team's totals
    Json,
}

/// The fixed columns, before one column per outcome group.
const COLUMNS: [&str; 11] = [
    "day",
    "agent_id",
    "agent",
    "calls",
    "connected",
    "connect_rate_pct",
    "positive",
    "target",
    "talk_secs",
    "break_secs",
    "not_placed",
];

#[derive(Serialize)]
struct Report<'a> {
    day: String,
    zone: String,
    agents: &'a [AgentDay],
    team: AgentDay,
}

/// The day's report for every agent, in `format`, to `out`.
pub async fn write(
    store: &Store,
    day: NaiveDate,
    zone: Tz,
    catalog: &FeedbackCatalog,
    format: ReportFormat,
    out: impl Write,
) -> anyhow::Result<usize> {
    let (Some(from), Some(until)) = day_range(Some(day), Some(day), zone).map_err(anyhow::Error::msg)? else {
        anyhow::bail!("{day} has no start in {zone}");
    };
    // Today's report stops now: the running break counts up to this moment.
    let until = until.min(Utc::now()).max(from);
    let days = store.agent_days(from, until, catalog).await?;
    let mut out = std::io::BufWriter::new(out);
    match format {
        ReportFormat::Csv => {
            let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(&mut out);
            let groups = outcome_groups();
            let header: Vec<&str> = COLUMNS.iter().copied().chain(groups.iter().copied()).collect();
            w.write_record(&header)?;
            for a in &days {
                w.write_record(cells(day, a))?;
            }
            w.flush()?;
        }
        ReportFormat::Json => {
            let team = total(&days);
            serde_json::to_writer_pretty(
                &mut out,
                &Report { day: day.to_string(), zone: zone.name().to_string(), agents: &days, team },
            )?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(days.len())
}

/// One agent's CSV row.
fn cells(day: NaiveDate, a: &AgentDay) -> Vec<String> {
    let rate = if a.calls > 0 { format!("{:.1}", a.connected as f64 * 100.0 / a.calls as f64) } else { String::new() };
    let mut v = vec![
        day.to_string(),
        a.caller_id.to_string(),
        neutralise(&crate::domain::text::strip_controls(&a.name)).into_owned(),
        a.calls.to_string(),
        a.connected.to_string(),
        rate,
        a.positive.to_string(),
        a.target.map(|t| t.to_string()).unwrap_or_default(),
        a.talk_secs.to_string(),
        a.break_secs.to_string(),
        a.not_placed.to_string(),
    ];
    v.extend(a.outcomes.iter().map(|(_, n)| n.to_string()));
    v
}

/// The team's totals (targets added up where set).
fn total(days: &[AgentDay]) -> AgentDay {
    let mut t = AgentDay {
        name: "Team".into(),
        outcomes: outcome_groups().iter().map(|g| ((*g).into(), 0)).collect(),
        ..AgentDay::default()
    };
    for a in days {
        t.calls += a.calls;
        t.connected += a.connected;
        t.positive += a.positive;
        t.target = match (t.target, a.target) {
            (None, x) | (x, None) => x.or(t.target),
            (Some(x), Some(y)) => Some(x + y),
        };
        t.talk_secs += a.talk_secs;
        t.break_secs += a.break_secs;
        t.not_placed += a.not_placed;
        for (slot, (_, n)) in t.outcomes.iter_mut().zip(&a.outcomes) {
            slot.1 += n;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_and_the_team_total() {
        let a = AgentDay {
            caller_id: 3,
            name: "=Pooja".into(),
            calls: 8,
            connected: 3,
            positive: 1,
            target: Some(5),
            talk_secs: 300,
            break_secs: 600,
            not_placed: 2,
            outcomes: vec![("Connected".into(), 3), ("Not Connected".into(), 4), ("Other".into(), 1)],
        };
        let day = NaiveDate::from_ymd_opt(2026, 12, 5).expect("date");
        assert_eq!(
            cells(day, &a),
            ["2026-12-05", "3", "'=Pooja", "8", "3", "37.5", "1", "5", "300", "600", "2", "3", "4", "1"]
        );
        let b = AgentDay { caller_id: 4, target: None, calls: 0, ..a.clone() };
        let t = total(&[a, b]);
        assert_eq!((t.calls, t.connected, t.target, t.talk_secs), (8, 6, Some(5), 600));
        assert_eq!(cells(day, &AgentDay { calls: 0, ..t })[5], "", "no calls, no rate");
    }
}
