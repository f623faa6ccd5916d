//! Agents' states (ready, or on a break with a reason) as stored changes, the day's break time
//! worked out from them, and each caller's daily target.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{Result, Store, StoreError, db_time, with_pool};
use crate::domain::presence::break_seconds;
use crate::domain::{Presence, PresenceChange};

type Row = (i64, String, Option<String>, NaiveDateTime);

fn change((caller_id, state, reason, since): Row) -> PresenceChange {
    PresenceChange { caller_id, presence: Presence::from_stored(&state, reason), since: since.and_utc() }
}

/// Each caller's newest change at or before a time (`?` bound to it).
const LATEST_BEFORE: &str = "SELECT a.caller_id, a.state, a.reason, a.started_at FROM agent_states a \
     WHERE a.id = (SELECT b.id FROM agent_states b WHERE b.caller_id = a.caller_id AND b.started_at < ? \
     ORDER BY b.started_at DESC, b.id DESC LIMIT 1)";

impl Store {
    /// Records that `caller` became `presence` at `at`.
    #[tracing::instrument(skip_all, err)]
    pub async fn set_presence(&self, caller: i64, presence: &Presence, at: DateTime<Utc>) -> Result<()> {
        with_pool!(self, |p, d| {
            sqlx::query("INSERT INTO agent_states (caller_id, state, reason, started_at) VALUES (?, ?, ?, ?)")
                .bind(caller)
                .bind(presence.as_str())
                .bind(presence.reason())
                .bind(db_time(at))
                .execute(p)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// The caller's state now, as last stored (`None`: never stored — ready).
    #[tracing::instrument(skip_all, err)]
    pub async fn presence(&self, caller: i64) -> Result<Option<PresenceChange>> {
        let row: Option<Row> = with_pool!(self, |p, d| {
            sqlx::query_as(
                "SELECT caller_id, state, reason, started_at FROM agent_states WHERE caller_id = ? \
                 ORDER BY started_at DESC, id DESC LIMIT 1",
            )
            .bind(caller)
            .fetch_optional(p)
            .await
        })?;
        Ok(row.map(change))
    }

    /// Every caller's state as last stored before `now` (callers who never stored one are absent).
    #[tracing::instrument(skip_all, err)]
    pub async fn presences(&self, now: DateTime<Utc>) -> Result<Vec<PresenceChange>> {
        // A second ahead: a change stored this very second counts as now.
        let until = db_time(now + chrono::Duration::seconds(1));
        let rows: Vec<Row> = with_pool!(self, |p, d| sqlx::query_as(LATEST_BEFORE).bind(until).fetch_all(p).await)?;
        Ok(rows.into_iter().map(change).collect())
    }

    /// Seconds each caller spent on break in `[from, until)` (callers with none are absent).
    #[tracing::instrument(skip_all, err)]
    pub async fn break_seconds(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<(i64, i64)>> {
        let (f, u) = (db_time(from), db_time(until));
        let (before, inside): (Vec<Row>, Vec<Row>) = with_pool!(self, |p, d| {
            let before = sqlx::query_as(LATEST_BEFORE).bind(f).fetch_all(p).await?;
            let inside = sqlx::query_as(
                "SELECT caller_id, state, reason, started_at FROM agent_states \
                 WHERE started_at >= ? AND started_at < ? ORDER BY caller_id, started_at, id",
            )
            .bind(f)
            .bind(u)
            .fetch_all(p)
            .await?;
            Ok::<_, sqlx::Error>((before, inside))
        })?;
        let mut by_caller: BTreeMap<i64, Vec<PresenceChange>> = BTreeMap::new();
        for c in before.into_iter().chain(inside).map(change) {
            by_caller.entry(c.caller_id).or_default().push(c);
        }
        Ok(by_caller
            .into_iter()
            .map(|(id, changes)| (id, break_seconds(&changes, from, until)))
            .filter(|(_, secs)| *secs > 0)
            .collect())
    }

    /// Sets the caller's daily target (calls with a positive outcome).
    #[tracing::instrument(skip_all, err)]
    pub async fn set_daily_target(&self, caller: i64, target: u32) -> Result<()> {
        let n = with_pool!(self, |p, d| {
            sqlx::query("UPDATE callers SET daily_target = ? WHERE id = ?")
                .bind(target)
                .bind(caller)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        if n == 0 && self.caller(caller).await?.is_none() {
            return Err(StoreError::NotFound(format!("caller {caller} is not registered (calldesk caller add)")));
        }
        Ok(())
    }

    /// The caller's daily target, if one is set.
    #[tracing::instrument(skip_all, err)]
    pub async fn daily_target(&self, caller: i64) -> Result<Option<i64>> {
        let row: Option<(Option<i64>,)> = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT daily_target FROM callers WHERE id = ?").bind(caller).fetch_optional(p).await
        })?;
        Ok(row.and_then(|(t,)| t))
    }

    /// Every caller's daily target (callers without one are absent).
    #[tracing::instrument(skip_all, err)]
    pub async fn daily_targets(&self) -> Result<BTreeMap<i64, i64>> {
        let rows: Vec<(i64, i64)> = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT id, daily_target FROM callers WHERE daily_target IS NOT NULL").fetch_all(p).await
        })?;
        Ok(rows.into_iter().collect())
    }
}
