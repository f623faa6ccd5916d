//! Fixing mistakes: correcting a driver's name or mobile (the old value kept), moving a driver to
//! the end of the queue or snoozing them, and cancelling a dial started by mistake.

use chrono::{DateTime, Utc};

use super::provisional::mark_provisional;
use super::tx::{Tx, with_conn};
use super::{Result, Store, StoreError, db_time, with_pool};
use crate::domain::{CallLog, CallStatus, DO_NOT_CALL_REASON};

/// One correction: (field, old value, new value, when).
pub type DriverEdit = (String, Option<String>, Option<String>, chrono::NaiveDateTime);

/// What a cancelled dial's row says.
pub const CANCELLED: &str = "cancelled by agent";

/// A driver of no one (the team pool's) whose queue row is now `caller`'s becomes theirs in
/// `drivers` too (binds: caller, driver id, caller). Used by a snooze and by the dial.
pub(super) const ADOPT_FROM_POOL: &str = "UPDATE drivers SET assigned_to = ? WHERE id = ? AND assigned_to IS NULL \
     AND EXISTS (SELECT 1 FROM call_queue q WHERE q.driver_id = drivers.id AND q.caller_id = ?)";

impl Store {
    /// Sets `field` (`name` or `mobile`, already validated) of a driver and records the old value.
    /// A new mobile of a driver who asked not to be called goes on the do-not-call list too.
    #[tracing::instrument(skip_all, err)]
    pub async fn edit_driver(
        &self,
        driver_id: &str,
        field: &str,
        value: &str,
        by: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let column = match field {
            "name" => "name",
            "mobile" => "mobile",
            other => return Err(StoreError::Invalid(format!("cannot edit a driver's {other}"))),
        };
        let mut tx = self.begin_write().await?;
        let old = set_driver_field(&mut tx, driver_id, column, value).await?;
        if column == "mobile" && old != value {
            list_new_number_if_asked(&mut tx, driver_id, &old, value, by, now).await?;
        }
        with_conn!(tx, |c, d| {
            sqlx::query(
                "INSERT INTO driver_edits (driver_id, field, old_value, new_value, edited_by, edited_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(driver_id)
            .bind(column)
            .bind(&old)
            .bind(value)
            .bind(by)
            .bind(db_time(now))
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// The corrections made to a driver, newest first: (field, old value, new value, when).
    #[tracing::instrument(skip_all, err)]
    pub async fn driver_edits(&self, driver_id: &str) -> Result<Vec<DriverEdit>> {
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as(
                "SELECT field, old_value, new_value, edited_at FROM driver_edits WHERE driver_id = ? ORDER BY id DESC LIMIT 50",
            )
            .bind(driver_id)
            .fetch_all(p)
            .await
        })?)
    }

    /// Moves `caller`'s queued driver to `due_at` (the end of today's queue when that is now), as
    /// an ordinary entry (not a callback, not a snooze), releasing any claim. `false` if not queued.
    #[tracing::instrument(skip_all, err)]
    pub async fn reschedule(&self, driver_id: &str, caller: i64, due_at: DateTime<Utc>) -> Result<bool> {
        self.move_in_queue(driver_id, caller, due_at, None).await
    }

    /// Snoozes `caller`'s queued driver until `until`: [`Self::reschedule`], marked as a snooze
    /// (`call_queue.snoozed_until`) so the lists say so. `false` if not queued.
    #[tracing::instrument(skip_all, err)]
    pub async fn snooze(&self, driver_id: &str, caller: i64, until: DateTime<Utc>) -> Result<bool> {
        self.move_in_queue(driver_id, caller, until, Some(db_time(until))).await
    }

    /// A driver of no one (the pool's) becomes `caller`'s in `drivers` too, as their queue row
    /// did: search and the card then find them as the agent's.
    pub(crate) async fn adopt_from_pool(&self, driver_id: &str, caller: i64) -> Result<()> {
        with_pool!(self, |p, d| {
            sqlx::query(ADOPT_FROM_POOL).bind(caller).bind(driver_id).bind(caller).execute(p).await.map(|_| ())
        })?;
        Ok(())
    }

    async fn move_in_queue(
        &self,
        driver_id: &str,
        caller: i64,
        due_at: DateTime<Utc>,
        snoozed_until: Option<chrono::NaiveDateTime>,
    ) -> Result<bool> {
        // A driver of the team pool (offered to every agent) can be skipped too — it stays the
        // pool's, later for everyone — unless another agent is dialing them; snoozed, they become
        // the agent's (a snooze is the agent's own reminder).
        let snooze = snoozed_until.is_some();
        let r = with_pool!(self, |p, d| {
            sqlx::query(
                "UPDATE call_queue SET due_at = ?, priority = 1, snoozed_until = ?, claimed_by = NULL, \
                 claimed_until = NULL, caller_id = CASE WHEN ? THEN ? ELSE caller_id END \
                 WHERE driver_id = ? AND (caller_id = ? OR (caller_id = ? AND (claimed_by IS NULL \
                 OR claimed_by = ? OR claimed_until < ?)))",
            )
            .bind(db_time(due_at))
            .bind(snoozed_until)
            .bind(snooze)
            .bind(caller)
            .bind(driver_id)
            .bind(caller)
            .bind(super::POOL)
            .bind(caller)
            .bind(db_time(Utc::now()))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        if snooze && r > 0 {
            self.adopt_from_pool(driver_id, caller).await?;
        }
        Ok(r > 0)
    }

    /// Cancels `caller`'s live call started by mistake: the row becomes `failed` with remarks
    /// "cancelled by agent" and that outcome (so no wrap-up waits), provisionally (TeleCMI's own
    /// report, if the call did go out, still corrects the status); the driver gets the attempt back
    /// and this caller's claim is released. `None` unless the call is this caller's and nobody has
    /// answered yet (initiated or ringing).
    #[tracing::instrument(skip_all, err)]
    pub async fn cancel_dial(&self, call_id: i64, caller: i64, now: DateTime<Utc>) -> Result<Option<CallLog>> {
        let mut tx = self.begin_write().await?;
        let row: Option<(String, Option<String>)> = with_conn!(tx, |c, d| {
            let sql = format!(
                "SELECT COALESCE(status, 'initiated'), driver_id FROM call_logs WHERE id = ? AND caller_id = ?{}",
                d.for_update
            );
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(call_id).bind(caller).fetch_optional(&mut *c).await?
        });
        let Some((status, driver_id)) = row else { return Ok(None) };
        // Only before anyone answered: a connected call is a conversation, not a mistake.
        if !matches!(status.parse::<CallStatus>(), Ok(CallStatus::Initiated | CallStatus::Ringing)) {
            return Ok(None);
        }
        with_conn!(tx, |c, d| {
            sqlx::query("UPDATE call_logs SET status = 'failed', feedback = ?, remarks = ? WHERE id = ?")
                .bind("Cancelled by Agent")
                .bind(CANCELLED)
                .bind(call_id)
                .execute(&mut *c)
                .await?;
        });
        mark_provisional(&mut tx, call_id, &status, CANCELLED, now).await?;
        if let Some(driver) = driver_id {
            with_conn!(tx, |c, d| {
                sqlx::query(
                    "UPDATE call_queue SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
                     claimed_by = NULL, claimed_until = NULL WHERE driver_id = ? AND claimed_by = ?",
                )
                .bind(driver)
                .bind(caller)
                .execute(&mut *c)
                .await?;
            });
        }
        tx.commit().await?;
        self.call(call_id).await
    }
}

/// Sets the driver's `column` to `value`; the value it had (`NotFound` when there is no such driver).
async fn set_driver_field(tx: &mut Tx<'_>, driver_id: &str, column: &str, value: &str) -> Result<String> {
    let select = format!("SELECT {column} FROM drivers WHERE id = ?");
    let update = format!("UPDATE drivers SET {column} = ? WHERE id = ?");
    with_conn!(tx, |c, d| {
        let old: Option<(String,)> =
            sqlx::query_as(sqlx::AssertSqlSafe(select.as_str())).bind(driver_id).fetch_optional(&mut *c).await?;
        let Some((old,)) = old else {
            return Err(StoreError::NotFound(format!("driver {driver_id} not found")));
        };
        sqlx::query(sqlx::AssertSqlSafe(update.as_str())).bind(value).bind(driver_id).execute(&mut *c).await?;
        Ok(old)
    })
}

/// A driver who asked not to be called: their new number is listed too.
async fn list_new_number_if_asked(
    tx: &mut Tx<'_>,
    driver_id: &str,
    old: &str,
    value: &str,
    by: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    with_conn!(tx, |c, d| {
        let closed: Option<(Option<String>,)> = sqlx::query_as("SELECT closed_reason FROM drivers WHERE id = ?")
            .bind(driver_id)
            .fetch_optional(&mut *c)
            .await?;
        if closed.and_then(|(r,)| r).as_deref() == Some(DO_NOT_CALL_REASON) {
            let name = super::dnc::adder_name_in_tx!(c, Some(by));
            let why = format!("driver {driver_id} asked not to be called; number changed from {old}");
            super::dnc::insert_listed_in_tx!(c, d, value, Some(why.as_str()), Some(by), &name, db_time(now));
        }
    });
    Ok(())
}
