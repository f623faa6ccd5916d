//! Calls whose status is not TeleCMI's word: unconfirmed click-to-calls and calls calldesk closed
//! itself (side table `call_provisional`; `call_logs` keeps the old system's columns).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use super::tx::{Tx, with_conn};
use super::{Result, Store, StoreError, db_time, with_pool};
use crate::domain::{CallLog, CallStatus};

/// The click-to-call request got no answer: the call may still ring.
pub const UNCONFIRMED: &str = "unconfirmed";
/// calldesk closed the call without TeleCMI's word; TeleCMI's own report corrects it.
pub const PROVISIONAL: &str = "provisional";

/// One row of `call_provisional`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Provisional {
    pub call_log_id: i64,
    /// [`UNCONFIRMED`] or [`PROVISIONAL`].
    pub state: String,
    /// The status the call had before calldesk set its own.
    pub prior_status: String,
    /// The remarks calldesk wrote.
    pub reason: String,
    pub since: NaiveDateTime,
}

impl Provisional {
    pub fn is_unconfirmed(&self) -> bool {
        self.state == UNCONFIRMED
    }
}

/// (status, driver_id, caller_id, remarks) of a call being closed.
type CallRow = (String, Option<String>, Option<i64>, Option<String>);

const SELECT: &str = "SELECT call_log_id, state, prior_status, reason, since FROM call_provisional";

impl Store {
    /// The call's provisional mark, if calldesk (not TeleCMI) decided its current status.
    #[tracing::instrument(skip_all, err)]
    pub async fn provisional(&self, call_id: i64) -> Result<Option<Provisional>> {
        let sql = format!("{SELECT} WHERE call_log_id = ?");
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, Provisional>(sqlx::AssertSqlSafe(sql.as_str())).bind(call_id).fetch_optional(p).await
        })?)
    }

    /// Whether the call's click-to-call request is still unanswered and no webhook has come.
    #[tracing::instrument(skip_all, err)]
    pub async fn unconfirmed(&self, call_id: i64) -> Result<bool> {
        Ok(self.provisional(call_id).await?.is_some_and(|p| p.is_unconfirmed()))
    }

    /// Every call still marked provisional or unconfirmed, oldest first (for audits and supervisors).
    #[tracing::instrument(skip_all, err)]
    pub async fn provisional_calls(&self, limit: u32) -> Result<Vec<Provisional>> {
        let sql = format!("{SELECT} ORDER BY call_log_id LIMIT ?");
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, Provisional>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(i64::from(limit))
                .fetch_all(p)
                .await
        })?)
    }

    /// Marks a click-to-call whose request got no answer as unconfirmed: the row stays `initiated`
    /// (so the driver stays reserved and no second dial goes out) with `remarks` saying so. If a
    /// webhook already moved the call on, TeleCMI's word stands and nothing is marked.
    /// Returns the call as stored and whether it was marked.
    #[tracing::instrument(skip_all, fields(call_id), err)]
    pub async fn mark_unconfirmed(&self, call_id: i64, remarks: &str, now: DateTime<Utc>) -> Result<(CallLog, bool)> {
        let now = db_time(now);
        let marked = with_pool!(self, |p, d| {
            async {
                let mut tx = p.begin_with(d.begin_write).await?;
                let r = sqlx::query(
                    "UPDATE call_logs SET remarks = ? WHERE id = ? AND status = 'initiated' \
                     AND (reference_id IS NULL OR reference_id = '')",
                )
                .bind(remarks)
                .bind(call_id)
                .execute(&mut *tx)
                .await?;
                let marked = r.rows_affected() > 0;
                if marked {
                    sqlx::query("DELETE FROM call_provisional WHERE call_log_id = ?")
                        .bind(call_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO call_provisional (call_log_id, state, prior_status, reason, since) \
                         VALUES (?, 'unconfirmed', 'initiated', ?, ?)",
                    )
                    .bind(call_id)
                    .bind(remarks)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<bool, StoreError>(marked)
            }
            .await
        })?;
        let call =
            self.call(call_id).await?.ok_or_else(|| StoreError::NotFound(format!("call {call_id} not found")))?;
        Ok((call, marked))
    }

    /// Closes a live call as `failed` without TeleCMI's word (the call ceiling), provisionally:
    /// TeleCMI's own later report for the call corrects it. `reason` goes in remarks unless the
    /// agent wrote some. Returns the call when it was closed.
    #[tracing::instrument(skip_all, fields(call_id), err)]
    pub async fn close_provisionally(&self, call_id: i64, reason: &str, now: DateTime<Utc>) -> Result<Option<CallLog>> {
        let closed = self.close_inner(call_id, reason, now, None).await?;
        if closed { self.call(call_id).await } else { Ok(None) }
    }

    /// The agent says an unconfirmed click-to-call never rang: the call becomes `failed`
    /// provisionally, the driver's claim is released, and the attempt counted at dial time is
    /// given back (a call that never happened is no attempt). Only `caller`'s own unconfirmed
    /// call; returns `None` when the call is not (or no longer) unconfirmed.
    #[tracing::instrument(skip_all, fields(call_id), err)]
    pub async fn mark_not_placed(
        &self,
        call_id: i64,
        caller: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<CallLog>> {
        let closed = self.close_inner(call_id, reason, now, Some(caller)).await?;
        if closed { self.call(call_id).await } else { Ok(None) }
    }

    /// One transaction: the status check, `failed`, the remarks, the mark, and (when `not_placed_by`
    /// is set) only for that caller's unconfirmed call, with the queue given back.
    async fn close_inner(
        &self,
        call_id: i64,
        reason: &str,
        now: DateTime<Utc>,
        not_placed_by: Option<i64>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let Some((status, driver_id, caller_id, remarks)) = lock_call(&mut tx, call_id).await? else {
            return Ok(false);
        };
        if !status.parse::<CallStatus>().is_ok_and(CallStatus::is_live) {
            return Ok(false);
        }
        let mark = read_mark(&mut tx, call_id).await?;
        let was_unconfirmed = mark.as_ref().is_some_and(|(s, _)| s == UNCONFIRMED);
        if let Some(caller) = not_placed_by
            && (caller_id != Some(caller) || !was_unconfirmed || status != CallStatus::Initiated.as_str())
        {
            return Ok(false);
        }
        // Our own earlier remark gives way; the agent's words never do.
        let ours = remarks
            .as_deref()
            .is_none_or(|r| r.trim().is_empty() || mark.as_ref().is_some_and(|(_, reason)| reason == r));
        let new_remarks = if ours { Some(reason) } else { remarks.as_deref() };
        with_conn!(tx, |c, d| {
            sqlx::query("UPDATE call_logs SET status = 'failed', remarks = ? WHERE id = ?")
                .bind(new_remarks)
                .bind(call_id)
                .execute(&mut *c)
                .await?;
        });
        mark_provisional(&mut tx, call_id, &status, reason, now).await?;
        if let (Some(caller), Some(driver)) = (not_placed_by, driver_id) {
            give_back_attempt(&mut tx, &driver, caller).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// Locks the call's row: (status, driver_id, caller_id, remarks), `None` when there is no such call.
async fn lock_call(tx: &mut Tx<'_>, call_id: i64) -> Result<Option<CallRow>> {
    Ok(with_conn!(tx, |c, d| {
        let sql = format!(
            "SELECT COALESCE(status, 'initiated'), driver_id, caller_id, remarks FROM call_logs WHERE id = ?{}",
            d.for_update
        );
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(call_id).fetch_optional(&mut *c).await?
    }))
}

/// The call's mark in `call_provisional`: (state, reason).
async fn read_mark(tx: &mut Tx<'_>, call_id: i64) -> Result<Option<(String, String)>> {
    Ok(with_conn!(tx, |c, d| {
        sqlx::query_as("SELECT state, reason FROM call_provisional WHERE call_log_id = ?")
            .bind(call_id)
            .fetch_optional(&mut *c)
            .await?
    }))
}

/// Marks the call [`PROVISIONAL`] (in place of any earlier mark): calldesk set its status, which
/// was `prior`, for `reason`; TeleCMI's own later report corrects it.
pub(super) async fn mark_provisional(
    tx: &mut Tx<'_>,
    call_id: i64,
    prior: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    with_conn!(tx, |c, d| {
        sqlx::query("DELETE FROM call_provisional WHERE call_log_id = ?").bind(call_id).execute(&mut *c).await?;
        sqlx::query(
            "INSERT INTO call_provisional (call_log_id, state, prior_status, reason, since) \
             VALUES (?, 'provisional', ?, ?, ?)",
        )
        .bind(call_id)
        .bind(prior)
        .bind(reason)
        .bind(db_time(now))
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// A call that never rang the driver was no attempt: the driver gets it back, and `caller`'s
/// claim on them is released.
async fn give_back_attempt(tx: &mut Tx<'_>, driver: &str, caller: i64) -> Result<()> {
    with_conn!(tx, |c, d| {
        sqlx::query(
            // claimed_until first: MySQL assigns left to right with the new values.
            "UPDATE call_queue SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
             claimed_until = CASE WHEN claimed_by = ? THEN NULL ELSE claimed_until END, \
             claimed_by = CASE WHEN claimed_by = ? THEN NULL ELSE claimed_by END \
             WHERE driver_id = ?",
        )
        .bind(caller)
        .bind(caller)
        .bind(driver)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}
