//! Reads `calldesk loadtest` needs to judge a run: whether the database is empty, every call
//! row, and MariaDB's own count of statements.

use chrono::{DateTime, Utc};

use super::{Backend, Result, Store, with_pool};

/// One `call_logs` row, as the load test checks it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoadtestCall {
    pub id: i64,
    pub caller_id: Option<i64>,
    pub driver_id: Option<String>,
    pub reference_id: Option<String>,
    pub status: Option<String>,
    pub feedback: Option<String>,
    /// Talk time in seconds, as TeleCMI reported it.
    pub call_duration: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Store {
    /// How many callers, drivers and call logs the database holds.
    #[tracing::instrument(skip_all, err)]
    pub async fn row_counts(&self) -> Result<(i64, i64, i64)> {
        let row: (i64, i64, i64) = with_pool!(self, |p, d| {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM callers), (SELECT COUNT(*) FROM drivers), (SELECT COUNT(*) FROM call_logs)",
            )
            .fetch_one(p)
            .await
        })?;
        Ok(row)
    }

    /// Every call log, by driver then id.
    #[tracing::instrument(skip_all, err)]
    pub async fn loadtest_calls(&self) -> Result<Vec<LoadtestCall>> {
        let rows = with_pool!(self, |p, d| {
            sqlx::query_as::<_, LoadtestCall>(
                "SELECT id, caller_id, driver_id, reference_id, status, feedback, call_duration, created_at, updated_at \
                 FROM call_logs ORDER BY driver_id, id",
            )
            .fetch_all(p)
            .await
        })?;
        Ok(rows)
    }

    /// MariaDB's `Questions` counter (statements the server ran, all clients); `None` on SQLite.
    #[tracing::instrument(skip_all, err)]
    pub async fn server_questions(&self) -> Result<Option<i64>> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::MySql(p) => {
                let row: Option<(String, String)> =
                    sqlx::query_as("SHOW GLOBAL STATUS LIKE 'Questions'").fetch_optional(p).await?;
                Ok(row.and_then(|(_, v)| v.parse().ok()))
            }
        }
    }
}
