//! Callers, their API tokens, and drivers (with the import that queues them).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use super::{Result, Store, db_time, with_pool};
use crate::domain::{DO_NOT_CALL_REASON, Driver, Role, WRONG_NUMBER_REASON};

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

/// What one import batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    pub inserted: u64,
    pub updated: u64,
    pub queued: u64,
    /// Assigned drivers left out of the queue because a saved outcome (or a wrong number)
    /// finished them; `--requeue` queues them again.
    pub kept_finished: u64,
    /// Drivers who asked not to be called: they stay closed, `--requeue` or not, and a new number
    /// of theirs goes on the do-not-call list.
    pub kept_do_not_call: u64,
}

// A row without a time zone keeps the driver's (a file without the column changes no zone).
const UPSERT_DRIVER_SQLITE: &str = "INSERT INTO drivers (id, name, mobile, tmid, city, state, assigned_to, created_at, timezone) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, mobile = excluded.mobile, \
     tmid = excluded.tmid, city = excluded.city, state = excluded.state, assigned_to = excluded.assigned_to, \
     timezone = COALESCE(excluded.timezone, drivers.timezone)";
const UPSERT_DRIVER_MYSQL: &str = "INSERT INTO drivers (id, name, mobile, tmid, city, state, assigned_to, created_at, timezone) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), mobile = VALUES(mobile), \
     tmid = VALUES(tmid), city = VALUES(city), state = VALUES(state), assigned_to = VALUES(assigned_to), \
     timezone = COALESCE(VALUES(timezone), timezone)";

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

    /// Inserts or updates drivers in one transaction; a driver assigned to a caller is queued for
    /// them (due now) unless already queued, and a re-assigned driver moves to the new caller's queue.
    /// A driver a saved outcome finished (or whose number was marked wrong) is not queued again
    /// unless `requeue` is set; a wrong number replaced by a new one reopens the driver. A driver
    /// who asked not to be called is never reopened nor queued, and a new number of theirs is listed.
    #[tracing::instrument(skip_all, fields(rows = drivers.len()), err)]
    pub async fn import_drivers_with(
        &self,
        drivers: &[Driver],
        requeue: bool,
        now: DateTime<Utc>,
    ) -> Result<ImportOutcome> {
        let now = db_time(now);
        let mut out = ImportOutcome::default();
        with_pool!(self, |p, d| {
            let upsert = if self.is_mysql() { UPSERT_DRIVER_MYSQL } else { UPSERT_DRIVER_SQLITE };
            let mut tx = p.begin_with(d.begin_write).await?;
            for drv in drivers {
                let existed: Option<(String, Option<String>, Option<NaiveDateTime>)> =
                    sqlx::query_as("SELECT mobile, closed_reason, finished_at FROM drivers WHERE id = ?")
                        .bind(&drv.id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let finished = match &existed {
                    // A number marked wrong and now replaced: the driver can be called again (one who
                    // asked not to be called stays closed, whatever their number).
                    Some((mobile, Some(r), _)) if r == WRONG_NUMBER_REASON && *mobile != drv.mobile => false,
                    Some((_, closed, finished_at)) => closed.is_some() || finished_at.is_some(),
                    None => false,
                };
                // Asked not to be called: closed for good here, whatever the file or `--requeue` says.
                let asked = existed.as_ref().is_some_and(|(_, c, _)| c.as_deref() == Some(DO_NOT_CALL_REASON));
                if let Some((mobile, _, _)) = existed.as_ref().filter(|_| asked) {
                    out.kept_do_not_call += 1;
                    if *mobile != drv.mobile {
                        let why = format!("driver {} asked not to be called; number from an import", drv.id);
                        super::dnc::insert_listed_in_tx!(
                            tx,
                            d,
                            &drv.mobile,
                            Some(why.as_str()),
                            None::<i64>,
                            "import",
                            now
                        );
                    }
                }
                let reopen = !asked
                    && existed.as_ref().is_some_and(|(_, c, f)| c.is_some() || f.is_some())
                    && (requeue || !finished);
                if reopen {
                    sqlx::query(
                        "UPDATE drivers SET closed_reason = NULL, closed_at = NULL, finished_at = NULL, \
                         finished_outcome = NULL WHERE id = ?",
                    )
                    .bind(&drv.id)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(upsert)
                    .bind(&drv.id)
                    .bind(&drv.name)
                    .bind(&drv.mobile)
                    .bind(&drv.tmid)
                    .bind(&drv.city)
                    .bind(&drv.state)
                    .bind(drv.assigned_to)
                    .bind(now)
                    .bind(&drv.timezone)
                    .execute(&mut *tx)
                    .await?;
                if existed.is_some() {
                    out.updated += 1;
                } else {
                    out.inserted += 1;
                }
                let Some(caller) = drv.assigned_to else { continue };
                if asked {
                    continue;
                }
                if finished && !requeue {
                    out.kept_finished += 1;
                    continue;
                }
                let sql = format!(
                    "{} INTO call_queue (driver_id, caller_id, priority, due_at, attempts) VALUES (?, ?, 1, ?, 0)",
                    d.insert_ignore
                );
                let q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&drv.id)
                    .bind(caller)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if q.rows_affected() > 0 {
                    out.queued += 1;
                } else {
                    sqlx::query("UPDATE call_queue SET caller_id = ?, claimed_by = NULL, claimed_until = NULL WHERE driver_id = ? AND caller_id <> ?")
                        .bind(caller)
                        .bind(&drv.id)
                        .bind(caller)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await
        })?;
        Ok(out)
    }
}
