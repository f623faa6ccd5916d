//! Finding drivers and their history: search over all of a caller's drivers (due or not), a
//! driver's calls newest first, and the upcoming callbacks and retries.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use super::calls::CALL_COLUMNS;
use super::search::{like_pattern, number_key};
use super::{Result, Store, db_time, with_pool};
use crate::domain::CallLog;

/// A driver found by search, with their place in the queue if they have one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DriverHit {
    pub driver_id: String,
    pub name: String,
    pub mobile: String,
    pub tmid: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    /// The driver's own IANA zone (`None`: the team's).
    pub timezone: Option<String>,
    /// `None`: not in the queue (done, or never queued).
    pub due_at: Option<NaiveDateTime>,
    pub priority: Option<i64>,
    pub attempts: Option<i64>,
    pub last_outcome: Option<String>,
    /// Until when the agent snoozed them (a snooze while it is still their due time).
    pub snoozed_until: Option<NaiveDateTime>,
    /// Since when their number is on the do-not-call list (`None`: it is not).
    pub dnc_since: Option<NaiveDateTime>,
    pub dnc_reason: Option<String>,
    pub dnc_by: Option<String>,
    /// Why the driver was closed for good (a wrong number, or they asked not to be called).
    pub closed_reason: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
}

/// Where a driver stands, for search hits and the driver card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Due,
    Scheduled(NaiveDateTime),
    Done,
    /// Their number is on the do-not-call list, or they asked not to be called (whatever their
    /// number): out of the queue, whatever their queue row says.
    DoNotCall,
}

impl DriverHit {
    pub fn standing(&self, now: DateTime<Utc>) -> Standing {
        if self.dnc_since.is_some() || self.asked_not_to_be_called() {
            return Standing::DoNotCall;
        }
        match self.due_at {
            None => Standing::Done,
            Some(t) if t <= now.naive_utc() => Standing::Due,
            Some(t) => Standing::Scheduled(t),
        }
    }

    /// The agent snoozed them and their due time is still the snooze's.
    pub fn is_snoozed(&self) -> bool {
        self.snoozed_until.is_some() && self.snoozed_until == self.due_at
    }

    /// Whether the driver asked not to be called (closed for good, whatever their number).
    pub fn asked_not_to_be_called(&self) -> bool {
        self.closed_reason.as_deref() == Some(crate::domain::DO_NOT_CALL_REASON)
    }

    /// As a queue row (for the call dialog).
    pub fn as_entry(&self) -> super::QueueEntry {
        super::QueueEntry {
            driver_id: self.driver_id.clone(),
            name: self.name.clone(),
            mobile: self.mobile.clone(),
            tmid: self.tmid.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            timezone: self.timezone.clone(),
            priority: self.priority.unwrap_or(1),
            due_at: self.due_at.unwrap_or_default(),
            attempts: self.attempts.unwrap_or(0),
            last_outcome: self.last_outcome.clone(),
            // Search does not read the calling window; the dial checks it.
            waiting: false,
            pool: false,
            snoozed_until: self.snoozed_until,
        }
    }
}

const HIT_COLUMNS: &str = "SELECT d.id AS driver_id, d.name, d.mobile, d.tmid, d.city, d.state, d.timezone, q.due_at, q.priority, \
     q.attempts, q.last_outcome, q.snoozed_until, n.added_at AS dnc_since, n.reason AS dnc_reason, n.added_by_name AS dnc_by, \
     d.closed_reason, d.closed_at FROM drivers d LEFT JOIN call_queue q ON q.driver_id = d.id LEFT JOIN dnc_numbers n ON n.number = d.mobile";

impl Store {
    /// Up to `limit` of `caller`'s drivers (due, scheduled or done) whose name or TMID contains
    /// `query`, or whose number matches it in any format.
    #[tracing::instrument(skip_all, err)]
    pub async fn search_drivers(&self, caller: i64, query: &str, limit: u32) -> Result<Vec<DriverHit>> {
        let query = query.trim();
        let text = like_pattern(query);
        let number = number_key(query).map(|n| like_pattern(&n));
        let sql = format!(
            "{HIT_COLUMNS} WHERE d.assigned_to = ? AND (d.name LIKE ? ESCAPE '!' OR d.tmid LIKE ? ESCAPE '!' \
             OR d.id = ? OR d.mobile LIKE ? ESCAPE '!') ORDER BY d.name, d.id LIMIT ?"
        );
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, DriverHit>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(caller)
                .bind(text.as_str())
                .bind(text.as_str())
                .bind(query)
                .bind(number.as_deref().unwrap_or(text.as_str()))
                .bind(i64::from(limit))
                .fetch_all(p)
                .await
        })?)
    }

    /// One driver as a search hit (details and place in the queue).
    #[tracing::instrument(skip_all, err)]
    pub async fn driver_hit(&self, driver_id: &str) -> Result<Option<DriverHit>> {
        let sql = format!("{HIT_COLUMNS} WHERE d.id = ?");
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, DriverHit>(sqlx::AssertSqlSafe(sql.as_str())).bind(driver_id).fetch_optional(p).await
        })?)
    }

    /// A driver's calls, newest first (index `idx_driver_id`), at most `limit`.
    #[tracing::instrument(skip_all, err)]
    pub async fn driver_calls(&self, driver_id: &str, limit: u32) -> Result<Vec<CallLog>> {
        let sql = format!("{CALL_COLUMNS} WHERE driver_id = ? ORDER BY id DESC LIMIT ?");
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(driver_id)
                .bind(i64::from(limit))
                .fetch_all(p)
                .await
        })?)
    }

    /// `caller`'s drivers due after `now` (callbacks and retries), soonest first, the page after
    /// `after` (due time, driver id). Drivers on the do-not-call list are left out.
    #[tracing::instrument(skip_all, err)]
    pub async fn upcoming(
        &self,
        caller: i64,
        now: DateTime<Utc>,
        after: Option<(NaiveDateTime, String)>,
        limit: u32,
    ) -> Result<Vec<DriverHit>> {
        let seek = if after.is_some() { " AND (q.due_at > ? OR (q.due_at = ? AND q.driver_id > ?))" } else { "" };
        let sql = format!(
            "{HIT_COLUMNS} WHERE q.caller_id = ? AND q.due_at > ?{seek} AND n.number IS NULL \
             ORDER BY q.due_at, q.driver_id LIMIT ?"
        );
        let now = db_time(now);
        Ok(with_pool!(self, |p, d| {
            let mut q = sqlx::query_as::<_, DriverHit>(sqlx::AssertSqlSafe(sql.as_str())).bind(caller).bind(now);
            if let Some((t, id)) = &after {
                q = q.bind(*t).bind(*t).bind(id.as_str());
            }
            q.bind(i64::from(limit)).fetch_all(p).await
        })?)
    }
}
