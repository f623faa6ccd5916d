//! What TeleCMI (the simulator) made of each call, against what the database holds at the end of
//! a run: every call placed must end with the status and talk time TeleCMI reported, whatever
//! happened to the database meanwhile.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::domain::CallStatus;
use crate::store::{LoadtestCall, Store};
use crate::telecmi::simulator::{Outcome, PlacedCall};

/// A call TeleCMI placed and how it ended there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ended {
    pub call_id: i64,
    pub status: &'static str,
    pub talk: i64,
}

/// How each placed call ended, by the simulator's script (the outcomes the load test uses; the
/// others are not judged).
pub(crate) fn ended(placed: &[PlacedCall]) -> Vec<Ended> {
    placed
        .iter()
        .filter_map(|p| {
            let call_id = p.extra_params["calldesk_call_id"].as_str()?.parse().ok()?;
            let (status, talk) = match p.outcome {
                Outcome::Answered { talk_secs } => ("completed", i64::from(talk_secs)),
                Outcome::DriverNoAnswer | Outcome::AgentNoAnswer | Outcome::Rejected => ("missed", 0),
                _ => return None,
            };
            Some(Ended { call_id, status, talk })
        })
        .collect()
}

/// The calls whose row is missing or ends otherwise than TeleCMI said, one line each.
pub(crate) fn wrong(truth: &[Ended], rows: &[LoadtestCall]) -> Vec<String> {
    let by_id: HashMap<i64, &LoadtestCall> = rows.iter().map(|r| (r.id, r)).collect();
    truth
        .iter()
        .filter_map(|t| {
            let Some(row) = by_id.get(&t.call_id) else {
                return Some(format!("call {}: placed at TeleCMI, no row", t.call_id));
            };
            let (status, talk) = (row.status.as_deref().unwrap_or(""), row.call_duration.unwrap_or(0));
            (status != t.status || talk != t.talk)
                .then(|| format!("call {}: {status} {talk} s, TeleCMI said {} {} s", t.call_id, t.status, t.talk))
        })
        .collect()
}

/// Waits (up to `within`) until no call of the run is live: the last webhooks of the run, and
/// those spooled during an outage, are applied by then.
pub(crate) async fn settle(store: &Store, within: Duration) -> anyhow::Result<Vec<LoadtestCall>> {
    let until = Instant::now() + within;
    loop {
        let rows = store.loadtest_calls().await;
        if let Ok(rows) = &rows {
            let live = rows.iter().any(|r| {
                r.status.as_deref().and_then(|s| s.parse::<CallStatus>().ok()).is_some_and(CallStatus::is_live)
            });
            if !live || Instant::now() >= until {
                return Ok(rows.clone());
            }
        } else if Instant::now() >= until {
            return Ok(rows?);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn row(id: i64, status: &str, talk: i64) -> LoadtestCall {
        LoadtestCall {
            id,
            caller_id: Some(1),
            driver_id: Some("D".into()),
            reference_id: None,
            status: Some(status.into()),
            feedback: None,
            call_duration: Some(talk),
            created_at: Utc::now(),
            updated_at: None,
        }
    }

    #[test]
    fn a_call_ending_otherwise_than_telecmi_said_is_named() {
        let truth = [
            Ended { call_id: 1, status: "completed", talk: 42 },
            Ended { call_id: 2, status: "missed", talk: 0 },
            Ended { call_id: 3, status: "completed", talk: 30 },
            Ended { call_id: 4, status: "completed", talk: 25 },
        ];
        let rows = [row(1, "completed", 42), row(2, "missed", 0), row(3, "completed", 0), row(4, "connected", 0)];
        assert_eq!(
            wrong(&truth, &rows),
            vec![
                "call 3: completed 0 s, TeleCMI said completed 30 s".to_string(),
                "call 4: connected 0 s, TeleCMI said completed 25 s".to_string(),
            ]
        );
        assert_eq!(wrong(&truth[..1], &[]), vec!["call 1: placed at TeleCMI, no row".to_string()]);
    }
}
