//! The board's rules, without drawing or reading: who is past an alert threshold, the order the
//! agents are listed in (alerts first), the selection that follows an agent across refreshes, and
//! what the move dialog's typed count means.

use chrono::{DateTime, Duration, Utc};

use super::snapshot::{AgentRow, AgentState};

/// `IDLE_ALERT_MINUTES` and `BREAK_ALERT_MINUTES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub idle: Duration,
    pub on_break: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self::minutes(10, 30)
    }
}

impl Thresholds {
    pub fn minutes(idle: u32, on_break: u32) -> Self {
        Self { idle: Duration::minutes(i64::from(idle)), on_break: Duration::minutes(i64::from(on_break)) }
    }
}

/// Whether `row` is past its threshold at `now`: online and idle (not in a call, a wrap-up or a
/// break) for at least `idle`, or on a break for at least `on_break`. Offline is no alert.
pub fn alerted(row: &AgentRow, now: DateTime<Utc>, t: Thresholds) -> bool {
    let Some(since) = row.since else { return false };
    match row.state {
        AgentState::Idle => now - since >= t.idle,
        AgentState::Break => now - since >= t.on_break,
        AgentState::OnCall | AgentState::WrapUp | AgentState::Offline => false,
    }
}

/// The order the board lists `rows` in, as indices: alerts first, then everyone else; within
/// each, by name (any letter case), then id — an order that does not move with the seconds.
pub fn order(rows: &[AgentRow], now: DateTime<Utc>, t: Thresholds) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    idx.sort_by_cached_key(|i| {
        let r = &rows[*i];
        (!alerted(r, now, t), r.caller.name.to_lowercase(), r.caller.id)
    });
    idx
}

/// How many of `rows` are past a threshold.
pub fn alert_count(rows: &[AgentRow], now: DateTime<Utc>, t: Thresholds) -> usize {
    rows.iter().filter(|r| alerted(r, now, t)).count()
}

/// The agent selected after moving `step` rows from `selected` in the board's order (the
/// selection is an agent's id, so it follows the agent when the rows move). An agent no longer
/// on the board, or none selected yet, gives the first row.
pub fn step(rows: &[AgentRow], order: &[usize], selected: Option<i64>, step: isize) -> Option<i64> {
    let ids: Vec<i64> = order.iter().filter_map(|i| rows.get(*i)).map(|r| r.caller.id).collect();
    let Some(pos) = selected.and_then(|id| ids.iter().position(|x| *x == id)) else {
        return ids.first().copied();
    };
    let last = ids.len().saturating_sub(1);
    let to = pos.saturating_add_signed(step).min(last);
    ids.get(to).copied()
}

/// Where the selected agent is in the board's order.
pub fn position(rows: &[AgentRow], order: &[usize], selected: Option<i64>) -> Option<usize> {
    let id = selected?;
    order.iter().position(|i| rows.get(*i).is_some_and(|r| r.caller.id == id))
}

/// The first row shown so that row `pos` is among the `visible` rows shown.
pub fn first_shown(pos: Option<usize>, visible: usize) -> usize {
    pos.map_or(0, |p| (p + 1).saturating_sub(visible.max(1)))
}

/// The longest count the dialog takes (six digits: more than any queue).
pub const COUNT_DIGITS: usize = 6;

/// The dialog's typed count: empty is every driver that may move; 0 moves nothing and is refused.
pub fn parse_count(typed: &str) -> Result<Option<usize>, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    match typed.parse::<usize>() {
        Ok(0) => Err("0 moves nothing: type how many, or leave it empty for all".into()),
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(format!("{typed:?} is not a whole number")),
    }
}

/// The typed count after the key `c` (digits only, at most [`COUNT_DIGITS`]); `None`: ignored.
pub fn type_digit(typed: &str, c: char) -> Option<String> {
    (c.is_ascii_digit() && typed.len() < COUNT_DIGITS).then(|| format!("{typed}{c}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Caller;

    fn row(id: i64, name: &str, state: AgentState, mins: i64, now: DateTime<Utc>) -> AgentRow {
        AgentRow {
            caller: Caller { id, name: name.into(), role: "agent".into() },
            state,
            since: Some(now - Duration::minutes(mins)),
            current: None,
            due: 0,
            callbacks_due: 0,
            queued: 0,
            break_reason: None,
            break_secs: 0,
        }
    }

    #[test]
    fn idle_or_on_a_break_past_the_threshold_is_an_alert() {
        let now = Utc::now();
        let t = Thresholds::default();
        assert!(!alerted(&row(1, "a", AgentState::Idle, 9, now), now, t));
        assert!(alerted(&row(1, "a", AgentState::Idle, 10, now), now, t), "at the threshold");
        assert!(!alerted(&row(1, "a", AgentState::Break, 29, now), now, t));
        assert!(alerted(&row(1, "a", AgentState::Break, 31, now), now, t));
        for s in [AgentState::OnCall, AgentState::WrapUp, AgentState::Offline] {
            assert!(!alerted(&row(1, "a", s, 600, now), now, t), "{s:?} is never an alert");
        }
        let mut never = row(1, "a", AgentState::Idle, 0, now);
        never.since = None;
        assert!(!alerted(&never, now, t));
        let strict = Thresholds::minutes(2, 5);
        assert!(alerted(&row(1, "a", AgentState::Idle, 3, now), now, strict));
        assert!(alerted(&row(1, "a", AgentState::Break, 6, now), now, strict));
    }

    #[test]
    fn alerts_come_first_then_names_in_a_stable_order() {
        let now = Utc::now();
        let rows = vec![
            row(4, "ravi", AgentState::OnCall, 50, now),
            row(7, "Zoya", AgentState::Break, 45, now),
            row(3, "Pooja", AgentState::Idle, 2, now),
            row(5, "Amit", AgentState::Offline, 500, now),
            row(9, "Bela", AgentState::Idle, 12, now),
            row(8, "Pooja", AgentState::WrapUp, 1, now),
        ];
        let t = Thresholds::default();
        let names = |o: Vec<usize>| o.into_iter().map(|i| rows[i].caller.id).collect::<Vec<_>>();
        assert_eq!(names(order(&rows, now, t)), [9, 7, 5, 3, 8, 4]);
        assert_eq!(alert_count(&rows, now, t), 2);
        // Pooja (3) passes her threshold eight minutes on: she joins the alerts, by name.
        assert_eq!(names(order(&rows, now + Duration::minutes(8), t)), [9, 3, 7, 5, 8, 4]);
    }

    #[test]
    fn the_selection_follows_the_agent_not_the_row() {
        let now = Utc::now();
        let t = Thresholds::default();
        let mut rows = vec![
            row(3, "Pooja", AgentState::Idle, 2, now),
            row(4, "Ravi", AgentState::OnCall, 1, now),
            row(5, "Sana", AgentState::OnCall, 1, now),
        ];
        let o = order(&rows, now, t);
        assert_eq!(step(&rows, &o, None, 1), Some(3), "nothing selected: the first row");
        let sel = step(&rows, &o, Some(3), 1);
        assert_eq!(sel, Some(4));
        assert_eq!(position(&rows, &o, sel), Some(1));
        // A refresh: Sana is now an alert and listed first; Ravi is still the one selected.
        rows[2].state = AgentState::Break;
        rows[2].since = Some(now - Duration::minutes(40));
        let o = order(&rows, now, t);
        assert_eq!(position(&rows, &o, sel), Some(2), "Ravi moved down a row and stays selected");
        assert_eq!(step(&rows, &o, sel, 1), Some(4), "the last row stays the last");
        assert_eq!(step(&rows, &o, sel, -5), Some(5), "up past the top stops at the first");
        // Ravi leaves the board: the first row is selected.
        rows.remove(1);
        let o = order(&rows, now, t);
        assert_eq!(position(&rows, &o, sel), None);
        assert_eq!(step(&rows, &o, sel, 0), Some(5));
        assert_eq!(step(&[], &[], sel, 1), None);
    }

    #[test]
    fn the_window_keeps_the_selected_row_in_sight() {
        assert_eq!(first_shown(None, 5), 0);
        assert_eq!(first_shown(Some(4), 5), 0);
        assert_eq!(first_shown(Some(5), 5), 1);
        assert_eq!(first_shown(Some(9), 0), 9);
    }

    #[test]
    fn the_dialogs_count_is_digits_and_empty_means_all() {
        assert_eq!(parse_count(""), Ok(None));
        assert_eq!(parse_count(" 12 "), Ok(Some(12)));
        assert!(parse_count("0").is_err_and(|e| e.contains("0 moves nothing")));
        assert_eq!(type_digit("1", '2').as_deref(), Some("12"));
        assert_eq!(type_digit("1", 'x'), None, "a letter is not a count");
        assert_eq!(type_digit("123456", '7'), None, "six digits at most");
    }
}
