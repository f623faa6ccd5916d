//! Callers, their API tokens, and drivers (with the import that queues them).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Result, Store, db_time, with_pool};
use crate::domain::{Driver, Role};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Caller {
    pub id: i64,
    pub name: String,
    pub role: String,
}

impl Caller {
    pub fn is_supervisor(&self) -> bool {
        self.role == Role::Supervisor.as_str()
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    pub inserted: u64,
    pub updated: u64,
    pub queued: u64,
    /// Of `queued`, those with an empty `assigned_to`: the team pool's.
    pub pooled: u64,
    /// Assigned drivers left out of the queue because a saved outcome (or a wrong number)
    /// finished them; `--requeue` queues them again.
    pub kept_finished: u64,
    /// Drivers who asked not to be called: they stay closed, `--requeue` or not, and a new number
    /// of theirs goes on the do-not-call list.
    pub kept_do_not_call: u64,
    /// Rows refused (a repeat in the file, a mobile of another driver, or a bad row).
    pub refused: u64,
}

impl Store {
    /// Registers `id` as a caller, or renames / re-roles an existing one.
    #[tracing::instrument(skip_all, err)]
    pub async fn add_caller(&self, id: i64, name: &str, role: Role, now: DateTime<Utc>) -> Result<()> {
        with_pool!(self, |p, d| {
            let mut tx = p.begin_with(d.begin_write).await?;
            let updated = sqlx::query("UPDATE callers SET name = ?, role = ? WHERE id = ?")
                .bind(name)
                .bind(role.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                // MySQL reports 0 rows for an update that changed nothing, so insert-if-missing.
                let sql = format!("{} INTO callers (id, name, role, created_at) VALUES (?, ?, ?, ?)", d.insert_ignore);
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(name)
                    .bind(role.as_str())
                    .bind(db_time(now))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err)]
    pub async fn caller(&self, id: i64) -> Result<Option<Caller>> {
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, Caller>("SELECT id, name, role FROM callers WHERE id = ?")
                .bind(id)
                .fetch_optional(p)
                .await
        })?)
    }

    #[tracing::instrument(skip_all, err)]
    pub async fn callers(&self) -> Result<Vec<Caller>> {
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, Caller>("SELECT id, name, role FROM callers ORDER BY id").fetch_all(p).await
        })?)
    }

    /// Stores the hash of a new API token for `caller`.
    #[tracing::instrument(skip_all, err)]
    pub async fn insert_token(&self, caller: i64, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
        with_pool!(self, |p, d| {
            sqlx::query("INSERT INTO api_tokens (caller_id, token_hash, created_at) VALUES (?, ?, ?)")
                .bind(caller)
                .bind(token_hash)
                .bind(db_time(now))
                .execute(p)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// The caller owning an unrevoked token with this hash.
    #[tracing::instrument(skip_all, err)]
    pub async fn caller_for_token(&self, token_hash: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT caller_id FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL")
                .bind(token_hash)
                .fetch_optional(p)
                .await
        })?;
        Ok(row.map(|(c,)| c))
    }

    /// Revokes every token of `caller`; returns how many.
    #[tracing::instrument(skip_all, err)]
    pub async fn revoke_tokens(&self, caller: i64, now: DateTime<Utc>) -> Result<u64> {
        let r = with_pool!(self, |p, d| {
            sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE caller_id = ? AND revoked_at IS NULL")
                .bind(db_time(now))
                .bind(caller)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(r)
    }

    /// Why the driver was closed for good (e.g. their number is wrong), if they were.
    #[tracing::instrument(skip_all, err)]
    pub async fn driver_closed_reason(&self, id: &str) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT closed_reason FROM drivers WHERE id = ?").bind(id).fetch_optional(p).await
        })?;
        Ok(row.and_then(|(r,)| r))
    }

    #[tracing::instrument(skip_all, err)]
    pub async fn driver(&self, id: &str) -> Result<Option<Driver>> {
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, Driver>(
                "SELECT id, name, mobile, tmid, city, state, assigned_to, timezone FROM drivers WHERE id = ?",
            )
            .bind(id)
            .fetch_optional(p)
            .await
        })?)
    }

    /// The drivers (id) holding any of these mobiles, as `(mobile, id)` pairs.
    #[tracing::instrument(skip_all, fields(mobiles = mobiles.len()), err)]
    pub async fn drivers_with_mobiles(&self, mobiles: &[String]) -> Result<Vec<(String, String)>> {
        let mut found = Vec::new();
        for chunk in mobiles.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("SELECT mobile, id FROM drivers WHERE mobile IN ({marks})");
            let rows: Vec<(String, String)> = with_pool!(self, |p, d| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for m in chunk {
                    q = q.bind(m);
                }
                q.fetch_all(p).await
            })?;
            found.extend(rows);
        }
        Ok(found)
    }

    /// [`Store::import_drivers_with`] without `requeue`: finished drivers stay finished.
    pub async fn import_drivers(&self, drivers: &[Driver], now: DateTime<Utc>) -> Result<ImportOutcome> {
        self.import_drivers_with(drivers, false, now).await
    }

    /// Imports `drivers` as the rows of one file (line 1 is the first driver) under the rules of
    /// [`Store::import_driver_batches`]; refused rows are only counted (`refused`).
    pub async fn import_drivers_with(
        &self,
        drivers: &[Driver],
        requeue: bool,
        now: DateTime<Utc>,
    ) -> Result<ImportOutcome> {
        let rows = drivers.iter().cloned().enumerate().map(|(i, d)| (i as u64 + 1, d)).collect();
        let batch = super::ImportBatch { rows, refused: Vec::new() };
        self.import_driver_batches(futures::stream::iter([batch]), requeue, now, |line, reason| {
            tracing::warn!(line, reason, "import row refused");
        })
        .await
    }
}
