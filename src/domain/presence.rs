//! The agent's own state — ready, or on a break with a reason — and the day's break time. In a
//! call and in wrap-up are not chosen by the agent: they follow from the live call and the open
//! wrap-up, and are worked out where those are known.

use chrono::{DateTime, Utc};

/// Why an agent may take a break (data: the list shown in the break picker, in this order).
pub const BREAK_REASONS: &[&str] = &["tea", "lunch", "training", "meeting"];

/// What the agent chose: to take calls, or a break for a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Ready,
    Break(String),
}

impl Presence {
    /// The stored `state` column.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Break(_) => "break",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Ready => None,
            Self::Break(r) => Some(r),
        }
    }

    /// From the stored `state` and `reason` (an unknown state reads as ready: it never blocks calls).
    pub fn from_stored(state: &str, reason: Option<String>) -> Self {
        if state == "break" { Self::Break(reason.unwrap_or_default()) } else { Self::Ready }
    }
}

/// One stored change of an agent's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceChange {
    pub caller_id: i64,
    pub presence: Presence,
    pub since: DateTime<Utc>,
}

/// The key that picks each reason in the break picker: its first letter not taken by an earlier
/// reason (tea t, lunch l, training r, meeting m), or none.
pub fn reason_keys(reasons: &[&str]) -> Vec<Option<char>> {
    let mut taken = Vec::new();
    reasons
        .iter()
        .map(|r| {
            let k = r.chars().map(|c| c.to_ascii_lowercase()).find(|c| c.is_ascii_alphabetic() && !taken.contains(c));
            taken.extend(k);
            k
        })
        .collect()
}

/// Seconds spent on break in `[from, until)` by one caller, from their changes sorted by time
/// (the last change before `from`, if any, says what state the window opened in).
pub fn break_seconds(changes: &[PresenceChange], from: DateTime<Utc>, until: DateTime<Utc>) -> i64 {
    let mut total = 0;
    for (i, c) in changes.iter().enumerate() {
        if !matches!(c.presence, Presence::Break(_)) {
            continue;
        }
        let end = changes.get(i + 1).map_or(until, |n| n.since).min(until);
        let start = c.since.max(from);
        total += (end - start).num_seconds().max(0);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).single().expect("time")
    }

    fn change(h: u32, m: u32, p: Presence) -> PresenceChange {
        PresenceChange { caller_id: 3, presence: p, since: at(h, m) }
    }

    #[test]
    fn break_time_counts_only_breaks_inside_the_window() {
        let lunch = Presence::Break("lunch".into());
        let changes = [
            change(0, 0, Presence::Break("tea".into())), // began before the window: counts from its start
            change(1, 0, Presence::Ready),
            change(5, 0, lunch.clone()),
            change(5, 30, Presence::Ready),
            change(9, 0, lunch),
        ];
        let secs = break_seconds(&changes, at(0, 30), at(9, 10));
        assert_eq!(secs, Duration::minutes(30 + 30 + 10).num_seconds());
        assert_eq!(break_seconds(&[], at(0, 0), at(1, 0)), 0);
    }

    #[test]
    fn each_reason_gets_its_own_letter() {
        assert_eq!(reason_keys(BREAK_REASONS), vec![Some('t'), Some('l'), Some('r'), Some('m')]);
    }
}
