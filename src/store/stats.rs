//! The day's numbers: the old system's monitoring queries, for the stats view and supervisors.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Result, Store, db_time, with_pool};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
    pub avg_duration: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FeedbackCount {
    pub feedback: String,
    pub count: i64,
}

/// One day's totals (days in the time zone given by `offset_minutes`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayStats {
    pub date: NaiveDate,
    pub total_calls: i64,
    pub completed: i64,
    pub failed: i64,
    pub avg_duration: Option<f64>,
}

impl DayStats {
    /// Completed calls as a share of all calls, 0–100.
    pub fn success_rate(&self) -> f64 {
        if self.total_calls == 0 { 0.0 } else { self.completed as f64 * 100.0 / self.total_calls as f64 }
    }
}

/// Counts for a time range.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub by_status: Vec<StatusCount>,
    pub by_feedback: Vec<FeedbackCount>,
    pub total: i64,
    pub avg_duration: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct DayRow {
    day: String,
    total_calls: i64,
    completed: i64,
    failed: i64,
    avg_duration: Option<f64>,
}

impl Store {
    /// Counts and average duration by status, and counts by feedback, for calls created in
    /// `[from, until)`, of one caller or everyone.
    #[tracing::instrument(skip_all, err)]
    pub async fn stats(&self, caller: Option<i64>, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Stats> {
        let who = if caller.is_some() { " AND caller_id = ?" } else { "" };
        let status_sql = format!(
            "SELECT COALESCE(status, 'initiated') AS status, COUNT(*) AS count, CAST(AVG(call_duration) AS DOUBLE) AS avg_duration \
             FROM call_logs WHERE created_at >= ? AND created_at < ?{who} GROUP BY COALESCE(status, 'initiated') ORDER BY count DESC"
        );
        let fb_sql = format!(
            "SELECT feedback, COUNT(*) AS count FROM call_logs WHERE created_at >= ? AND created_at < ? \
             AND feedback IS NOT NULL AND feedback <> ''{who} GROUP BY feedback ORDER BY count DESC, feedback"
        );
        let (from, until) = (db_time(from), db_time(until));
        let (by_status, by_feedback) = with_pool!(self, |p, d| {
            let mut q1 =
                sqlx::query_as::<_, StatusCount>(sqlx::AssertSqlSafe(status_sql.as_str())).bind(from).bind(until);
            let mut q2 =
                sqlx::query_as::<_, FeedbackCount>(sqlx::AssertSqlSafe(fb_sql.as_str())).bind(from).bind(until);
            if let Some(c) = caller {
                q1 = q1.bind(c);
                q2 = q2.bind(c);
            }
            let a = q1.fetch_all(p).await?;
            let b = q2.fetch_all(p).await?;
            Ok::<_, sqlx::Error>((a, b))
        })?;
        let total = by_status.iter().map(|s| s.count).sum();
        let weighted: f64 = by_status.iter().map(|s| s.avg_duration.unwrap_or(0.0) * s.count as f64).sum();
        let avg_duration = (total > 0).then(|| weighted / total as f64);
        Ok(Stats { by_status, by_feedback, total, avg_duration })
    }

    /// Per-day totals, completed, failed and average duration from `from` on, newest day first;
    /// days are local days `offset_minutes` ahead of UTC.
    #[tracing::instrument(skip_all, err)]
    pub async fn daily_stats(
        &self,
        caller: Option<i64>,
        from: DateTime<Utc>,
        offset_minutes: i32,
    ) -> Result<Vec<DayStats>> {
        let who = if caller.is_some() { " AND caller_id = ?" } else { "" };
        let day_expr = if self.is_mysql() {
            "CAST(DATE(DATE_ADD(created_at, INTERVAL ? MINUTE)) AS CHAR)"
        } else {
            "date(created_at, printf('%+d minutes', ?))"
        };
        let sql = format!(
            "SELECT {day_expr} AS day, COUNT(*) AS total_calls, \
             COUNT(CASE WHEN status = 'completed' THEN 1 END) AS completed, \
             COUNT(CASE WHEN status = 'failed' THEN 1 END) AS failed, \
             CAST(AVG(call_duration) AS DOUBLE) AS avg_duration \
             FROM call_logs WHERE created_at >= ?{who} GROUP BY day ORDER BY day DESC"
        );
        let rows = with_pool!(self, |p, d| {
            let mut q =
                sqlx::query_as::<_, DayRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(offset_minutes).bind(db_time(from));
            if let Some(c) = caller {
                q = q.bind(c);
            }
            q.fetch_all(p).await
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(DayStats {
                    date: NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").ok()?,
                    total_calls: r.total_calls,
                    completed: r.completed,
                    failed: r.failed,
                    avg_duration: r.avg_duration,
                })
            })
            .collect())
    }
}
