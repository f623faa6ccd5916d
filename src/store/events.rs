//! The provider events (TeleCMI webhooks) as stored, read back: a call's timeline, the pages the
//! feed follows, the live calls no event was heard of lately. They are stored by [`super::ingest`].

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use super::calls::CALL_COLUMNS;
use super::{Result, Store, db_time, with_pool};
use crate::domain::CallLog;

/// A stored event, for a call's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: i64,
    pub received_at: NaiveDateTime,
    pub call_log_id: Option<i64>,
    pub kind: String,
    pub leg: String,
    pub status: String,
}

impl Store {
    /// The stored events of a call, oldest first.
    #[tracing::instrument(skip_all, err)]
    pub async fn call_events(&self, call_id: i64) -> Result<Vec<StoredEvent>> {
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, StoredEvent>(
                "SELECT id, received_at, call_log_id, kind, leg, status FROM webhook_events WHERE call_log_id = ? ORDER BY id LIMIT 200",
            )
            .bind(call_id)
            .fetch_all(p)
            .await
        })?)
    }

    /// Live calls whose last sign of life (their newest event, or their start) is older than
    /// `stale_before`: candidates for reconciliation.
    #[tracing::instrument(skip_all, err)]
    pub async fn stale_live_calls(&self, stale_before: DateTime<Utc>) -> Result<Vec<CallLog>> {
        let sql = format!(
            "{CALL_COLUMNS} c WHERE c.status IN ('initiated', 'ringing', 'connected') AND c.provider = 'telecmi' \
             AND c.created_at < ? AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.call_log_id = c.id AND e.received_at >= ?) \
             ORDER BY c.id LIMIT 100"
        );
        let t = db_time(stale_before);
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql.as_str())).bind(t).bind(t).fetch_all(p).await
        })?)
    }

    /// TeleCMI calls placed before `since` and closed since then (by the agent's wrap-up) with no
    /// talk time and no report of leg B stored: closed while TeleCMI's reports could not arrive
    /// (an outage), so the CDR lists may still have their talk time and recording.
    #[tracing::instrument(skip_all, err)]
    pub async fn closed_unreported(&self, since: DateTime<Utc>) -> Result<Vec<CallLog>> {
        let sql = format!(
            "{CALL_COLUMNS} c WHERE c.status IN ('completed', 'missed') AND c.provider = 'telecmi' \
             AND c.created_at < ? AND c.updated_at >= ? AND COALESCE(c.call_duration, 0) = 0 \
             AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.call_log_id = c.id AND e.leg = 'b' \
             AND e.kind IN ('cdr', 'reconcile')) ORDER BY c.id LIMIT 100"
        );
        let t = db_time(since);
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql.as_str())).bind(t).bind(t).fetch_all(p).await
        })?)
    }

    /// The TeleCMI calls agent `user` placed to `mobile` from `from` to `to`, oldest first: the
    /// calls a CDR-list record (matched on agent, number and start only) may belong to.
    #[tracing::instrument(skip_all, err)]
    pub async fn calls_to_number(
        &self,
        user: &str,
        mobile: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CallLog>> {
        let sql = format!(
            "{CALL_COLUMNS} c WHERE c.created_at >= ? AND c.created_at <= ? AND c.driver_mobile = ? \
             AND c.telecmi_user_id = ? AND c.provider = 'telecmi' ORDER BY c.created_at, c.id LIMIT 200"
        );
        let (from, to) = (db_time(from), db_time(to));
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(from)
                .bind(to)
                .bind(mobile)
                .bind(user)
                .fetch_all(p)
                .await
        })?)
    }

    /// When the last webhook arrived, if ever.
    #[tracing::instrument(skip_all, err)]
    pub async fn last_event_at(&self) -> Result<Option<NaiveDateTime>> {
        let row: Option<(NaiveDateTime,)> = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT received_at FROM webhook_events ORDER BY id DESC LIMIT 1").fetch_optional(p).await
        })?;
        Ok(row.map(|(t,)| t))
    }
}

impl Store {
    /// Events stored after `after_id`, oldest first (how consoles on a shared database hear about
    /// webhooks another process received).
    #[tracing::instrument(skip_all, err)]
    pub async fn events_after(&self, after_id: i64, limit: u32) -> Result<Vec<StoredEvent>> {
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, StoredEvent>(
                "SELECT id, received_at, call_log_id, kind, leg, status FROM webhook_events WHERE id > ? ORDER BY id LIMIT ?",
            )
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await
        })?)
    }

    /// The stored events with these ids (those committed so far), oldest first: how the feed
    /// picks up an event whose lower id committed after a higher one.
    #[tracing::instrument(skip_all, err)]
    pub async fn events_by_ids(&self, ids: &[i64]) -> Result<Vec<StoredEvent>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let sql = format!(
            "SELECT id, received_at, call_log_id, kind, leg, status FROM webhook_events WHERE id IN ({marks}) ORDER BY id"
        );
        Ok(with_pool!(self, |p, d| {
            let mut q = sqlx::query_as::<_, StoredEvent>(sqlx::AssertSqlSafe(sql.as_str()));
            for id in ids {
                q = q.bind(*id);
            }
            q.fetch_all(p).await
        })?)
    }

    /// How many events are stored with `after < id < before`: one number the feed compares with
    /// what it delivered of that range, to learn whether an id below its newest committed late.
    #[tracing::instrument(skip_all, err)]
    pub async fn count_events_between(&self, after: i64, before: i64) -> Result<i64> {
        let row: (i64,) = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT COUNT(*) FROM webhook_events WHERE id > ? AND id < ?")
                .bind(after)
                .bind(before)
                .fetch_one(p)
                .await
        })?;
        Ok(row.0)
    }

    /// The ids stored with `after < id < before`, in order (ids only: the feed fetches the rows
    /// it has not delivered with [`Self::events_by_ids`]).
    #[tracing::instrument(skip_all, err)]
    pub async fn event_ids_between(&self, after: i64, before: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT id FROM webhook_events WHERE id > ? AND id < ? ORDER BY id")
                .bind(after)
                .bind(before)
                .fetch_all(p)
                .await
        })?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The newest event's id (0 when none).
    #[tracing::instrument(skip_all, err)]
    pub async fn max_event_id(&self) -> Result<i64> {
        let row: (Option<i64>,) =
            with_pool!(self, |p, d| sqlx::query_as("SELECT MAX(id) FROM webhook_events").fetch_one(p).await)?;
        Ok(row.0.unwrap_or(0))
    }
}
