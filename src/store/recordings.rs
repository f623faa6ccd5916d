//! Calls TeleCMI recorded (side table `call_recordings`; `call_logs` keeps the old system's
//! columns): the file name its play endpoint serves, one per call.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::{Result, Store, with_pool};

/// One row of `call_recordings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Recording {
    pub call_log_id: i64,
    /// TeleCMI's file name (what `/v2/play?file=` takes), checked when it arrived.
    pub filename: String,
    pub received_at: NaiveDateTime,
}

/// Stores a call's recording once, after `INSERT IGNORE`/`INSERT OR IGNORE`: the first report
/// wins and a resent one changes nothing. Binds: call id, file name, time.
pub(super) const INSERT_TAIL: &str = "INTO call_recordings (call_log_id, filename, received_at) VALUES (?, ?, ?)";
/// One more row for [`INSERT_TAIL`] (rows are taken in order: the first for a call wins).
pub(super) const VALUES: &str = "(?, ?, ?)";

impl Store {
    /// The call's recording, if TeleCMI reported one.
    #[tracing::instrument(skip_all, err)]
    pub async fn recording(&self, call_id: i64) -> Result<Option<Recording>> {
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, Recording>(
                "SELECT call_log_id, filename, received_at FROM call_recordings WHERE call_log_id = ?",
            )
            .bind(call_id)
            .fetch_optional(p)
            .await
        })?)
    }

    /// Which of these calls were recorded (for the call log and the driver card).
    #[tracing::instrument(skip_all, err)]
    pub async fn recorded_among(&self, call_ids: &[i64]) -> Result<HashSet<i64>> {
        let mut found = HashSet::new();
        // Pages of a few hundred keep the statement small on either backend.
        for chunk in call_ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("SELECT call_log_id FROM call_recordings WHERE call_log_id IN ({marks})");
            let rows: Vec<(i64,)> = with_pool!(self, |p, d| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await
            })?;
            found.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(found)
    }
}
