//! Saving a call's outcome: the status (forward only), feedback, remarks and duration, with the
//! queue effect the outcome has on the driver, in one transaction.

use chrono::{DateTime, Utc};

use super::calls::{CALL_COLUMNS, SubmitFeedback};
use super::tx::{Tx, with_conn};
use super::{Result, Store, StoreError, db_time, with_pool};
use crate::domain::wrapup::{REMARKS_LIMIT, check_outcome};
use crate::domain::{CallLog, CallStatus, FeedbackCatalog, QueueDecision, QueueEffect};

impl Store {
    /// Saves the outcome in one transaction: the call's status (forward only), feedback, remarks and
    /// duration, then removes or re-queues the driver as the outcome says, then drops the draft.
    /// If any step fails nothing changes.
    #[tracing::instrument(skip_all)]
    pub async fn submit_feedback(
        &self,
        f: &SubmitFeedback,
        catalog: &FeedbackCatalog,
        now: DateTime<Utc>,
    ) -> Result<(CallLog, QueueDecision)> {
        self.submit_feedback_with(f, None, catalog, now).await
    }

    /// [`Store::submit_feedback`], with the queue effect to use when the feedback text is not in
    /// the catalogue (the old app's class of outcome). [`QueueEffect::WrongNumber`] also marks the
    /// driver's number as wrong; [`QueueEffect::DoNotCall`] puts it on the do-not-call list and
    /// closes the driver.
    #[tracing::instrument(skip_all, fields(call_id = f.call_id), err)]
    pub async fn submit_feedback_with(
        &self,
        f: &SubmitFeedback,
        fallback: Option<QueueEffect>,
        catalog: &FeedbackCatalog,
        now: DateTime<Utc>,
    ) -> Result<(CallLog, QueueDecision)> {
        super::retrying("save outcome", || self.submit_feedback_once(f, fallback, catalog, now, false)).await
    }

    /// [`Store::submit_feedback`] for a wrap-up: the first outcome of a call. If the call already
    /// has one (the same agent's other console saved it meanwhile), nothing changes and the
    /// answer is [`StoreError::AlreadySaved`] with the call as saved, so one console's form never
    /// overwrites what another saved. (The old API's `update_feedback` may still change an outcome.)
    #[tracing::instrument(skip_all, fields(call_id = f.call_id), err(level = "info"))]
    pub async fn submit_first_feedback(
        &self,
        f: &SubmitFeedback,
        catalog: &FeedbackCatalog,
        now: DateTime<Utc>,
    ) -> Result<(CallLog, QueueDecision)> {
        super::retrying("save outcome", || self.submit_feedback_once(f, None, catalog, now, true)).await
    }

    /// Adds `typed` after the remarks of call `call_id` (whose outcome was saved elsewhere while
    /// `caller` typed a wrap-up for it), so neither text is lost; the outcome stays as saved.
    /// Refused, changing nothing, when both would not fit in the 500 characters.
    #[tracing::instrument(skip_all, fields(call_id), err(level = "info"))]
    pub async fn add_remarks(&self, call_id: i64, caller: i64, typed: &str) -> Result<CallLog> {
        let typed = typed.trim();
        with_pool!(self, |p, d| {
            let mut tx = p.begin_with(d.begin_write).await?;
            let sql = format!("SELECT remarks, caller_id FROM call_logs WHERE id = ?{}", d.for_update);
            let row: Option<(Option<String>, Option<i64>)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(call_id).fetch_optional(&mut *tx).await?;
            let Some((saved, owner)) = row else {
                return Err(StoreError::NotFound(format!("call {call_id} not found")));
            };
            if owner != Some(caller) {
                return Err(StoreError::Invalid("that call belongs to another agent".into()));
            }
            let saved = saved.unwrap_or_default();
            let joined = crate::domain::wrapup::joined_remarks(&saved, typed);
            let n = joined.chars().count();
            if n > REMARKS_LIMIT {
                return Err(StoreError::Invalid(format!(
                    "your remarks do not fit after the saved ones ({n} of {REMARKS_LIMIT} characters): shorten them"
                )));
            }
            sqlx::query("UPDATE call_logs SET remarks = ? WHERE id = ?")
                .bind(&joined)
                .bind(call_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM feedback_drafts WHERE call_log_id = ?").bind(call_id).execute(&mut *tx).await?;
            tx.commit().await
        })?;
        self.call(call_id).await?.ok_or_else(|| StoreError::NotFound(format!("call {call_id} not found")))
    }

    /// One run of the save's transaction (see [`Store::submit_feedback_with`]); `first` refuses a
    /// call whose outcome is already saved.
    async fn submit_feedback_once(
        &self,
        f: &SubmitFeedback,
        fallback: Option<QueueEffect>,
        catalog: &FeedbackCatalog,
        now: DateTime<Utc>,
        first: bool,
    ) -> Result<(CallLog, QueueDecision)> {
        check_outcome(&f.feedback, &f.remarks, f.call_duration).map_err(StoreError::Invalid)?;
        let mut tx = self.begin_write().await?;
        let call = lock_call(&mut tx, f.call_id).await?;
        if first && call.already {
            // Read under the row's lock: a save racing this one is either seen here or waits.
            return Err(StoreError::AlreadySaved(Box::new(saved_call(&mut tx, f.call_id).await?)));
        }
        write_outcome(&mut tx, f, &call).await?;
        let effect = catalog.effect(&f.feedback, fallback);
        let decision = match call.driver_id.as_deref() {
            Some(driver) => apply_to_driver(&mut tx, f, effect, driver, call.caller_id, catalog, now).await?,
            None => {
                if effect == QueueEffect::DoNotCall {
                    list_driverless(&mut tx, f, call.caller_id, now).await?;
                }
                QueueDecision::Remove
            }
        };
        settle(&mut tx, f.call_id).await?;
        tx.commit().await?;
        let call =
            self.call(f.call_id).await?.ok_or_else(|| StoreError::NotFound(format!("call {} not found", f.call_id)))?;
        Ok((call, decision))
    }
}

/// What saving an outcome reads of the call, under the row's lock.
struct LockedCall {
    /// The stored status (`initiated` when empty).
    status: String,
    driver_id: Option<String>,
    caller_id: Option<i64>,
    /// An outcome is already saved (the old API's `update_feedback` may change it).
    already: bool,
}

/// Locks the call's row and reads it; `NotFound` when there is no such call.
async fn lock_call(tx: &mut Tx<'_>, call_id: i64) -> Result<LockedCall> {
    // (status, driver_id, caller_id, feedback)
    type Row = (String, Option<String>, Option<i64>, Option<String>);
    let row: Option<Row> = with_conn!(tx, |c, d| {
        let sql = format!(
            "SELECT COALESCE(status, 'initiated'), driver_id, caller_id, feedback FROM call_logs WHERE id = ?{}",
            d.for_update
        );
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(call_id).fetch_optional(&mut *c).await?
    });
    let Some((status, driver_id, caller_id, saved)) = row else {
        return Err(StoreError::NotFound(format!("call {call_id} not found")));
    };
    let already = saved.as_deref().is_some_and(|s| !s.trim().is_empty());
    Ok(LockedCall { status, driver_id, caller_id, already })
}

/// The call as saved, read inside the transaction.
async fn saved_call(tx: &mut Tx<'_>, call_id: i64) -> Result<CallLog> {
    Ok(with_conn!(tx, |c, d| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{CALL_COLUMNS} WHERE id = ?")))
            .bind(call_id)
            .fetch_one(&mut *c)
            .await?
    }))
}

/// Writes the outcome on the call's row: the status moved forward, the feedback, the remarks and
/// the duration (`None` keeps the one TeleCMI reported).
async fn write_outcome(tx: &mut Tx<'_>, f: &SubmitFeedback, call: &LockedCall) -> Result<()> {
    // A status word the old system wrote (not one of ours) has no forward rule: it stays.
    let next = match call.status.parse::<CallStatus>() {
        Ok(current) => f.status.map_or(current, |s| current.advance(s)).as_str().to_string(),
        Err(_) => call.status.clone(),
    };
    // An outcome changed after one was saved (the old API's update_feedback) keeps the
    // remarks already saved beside the new ones: a call changed elsewhere is never
    // silently overwritten.
    let remarks = if call.already {
        let before = saved_remarks(tx, f.call_id).await?;
        crate::domain::wrapup::joined_remarks(before.as_deref().unwrap_or(""), &f.remarks)
    } else {
        f.remarks.trim().to_string()
    };
    if remarks.chars().count() > REMARKS_LIMIT {
        return Err(StoreError::Invalid(format!(
            "the remarks already saved and the new ones together pass {REMARKS_LIMIT} characters: \
             send the remarks to keep in full"
        )));
    }
    with_conn!(tx, |c, d| {
        sqlx::query(
            "UPDATE call_logs SET status = ?, feedback = ?, remarks = ?, call_duration = COALESCE(?, call_duration) WHERE id = ?",
        )
        .bind(&next)
        .bind(f.feedback.trim())
        .bind(&remarks)
        .bind(f.call_duration)
        .bind(f.call_id)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// The call's saved remarks, its row locked.
async fn saved_remarks(tx: &mut Tx<'_>, call_id: i64) -> Result<Option<String>> {
    let (before,): (Option<String>,) = with_conn!(tx, |c, d| {
        let sql = format!("SELECT remarks FROM call_logs WHERE id = ?{}", d.for_update);
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(call_id).fetch_one(&mut *c).await?
    });
    Ok(before)
}

/// "Asked not to be called" on an old row with no driver: the number it dialed goes on the list,
/// in this transaction; with no number that can be listed, nothing is saved.
async fn list_driverless(
    tx: &mut Tx<'_>,
    f: &SubmitFeedback,
    caller_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<()> {
    let listed = list_asked(tx, f, None, caller_id, now).await?;
    if listed == 0 {
        return Err(StoreError::Invalid(format!(
            "call {} has no driver and no number in full international form, so \"{}\" cannot \
             put anyone on the do-not-call list: add the number with `calldesk dnc add NUMBER`",
            f.call_id,
            f.feedback.trim()
        )));
    }
    Ok(())
}

/// Puts the numbers of the driver and of the call on the do-not-call list (see
/// [`super::dnc::list_asked_in_tx`]); how many numbers that is.
async fn list_asked(
    tx: &mut Tx<'_>,
    f: &SubmitFeedback,
    driver: Option<&str>,
    caller_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<usize> {
    Ok(with_conn!(tx, |c, d| super::dnc::list_asked_in_tx!(c, d, f.call_id, driver, caller_id, &f.remarks, now)))
}

/// What the outcome does to its driver: the queue decision (unless a newer call to them decided
/// it), the do-not-call listing, closing them for good, and their queue row moved.
async fn apply_to_driver(
    tx: &mut Tx<'_>,
    f: &SubmitFeedback,
    effect: QueueEffect,
    driver_id: &str,
    caller_id: Option<i64>,
    catalog: &FeedbackCatalog,
    now: DateTime<Utc>,
) -> Result<QueueDecision> {
    // The driver's row, then its queue row: the order a dial and a claim take them.
    // Callback times and the calling window are read in the driver's own zone.
    let zone = lock_driver_zone(tx, driver_id).await?;
    let attempts = lock_attempts(tx, driver_id).await?;
    let mut decision = catalog.decide_for(effect, attempts, now, zone.as_deref());
    // A newer call to the driver decided their queue place: this older outcome is
    // recorded but moves nothing (only a request not to be called still applies).
    if let Some(newer_call) = newer_call(tx, driver_id, f.call_id).await?
        && effect != QueueEffect::DoNotCall
    {
        decision = QueueDecision::Kept { newer_call };
    }
    if effect == QueueEffect::DoNotCall {
        // In this transaction: the outcome and the listing are saved together or not at all.
        list_asked(tx, f, Some(driver_id), caller_id, now).await?;
    }
    let kept = matches!(decision, QueueDecision::Kept { .. });
    if !kept && let Some(reason) = effect.closed_reason() {
        close_driver(tx, driver_id, reason, now).await?;
    }
    match decision {
        QueueDecision::Kept { .. } => {}
        QueueDecision::Remove => finish_driver(tx, driver_id, f.feedback.trim(), now).await?,
        QueueDecision::Requeue { due_at, callback } => {
            let place = Requeue { due_at, callback, outcome: f.feedback.trim(), effect, caller_id, zone };
            requeue(tx, driver_id, &place).await?;
        }
    }
    Ok(decision)
}

/// Locks the driver's row; their own time zone, if they have one.
async fn lock_driver_zone(tx: &mut Tx<'_>, driver_id: &str) -> Result<Option<String>> {
    let zone: Option<(Option<String>,)> = with_conn!(tx, |c, d| {
        let sql = format!("SELECT timezone FROM drivers WHERE id = ?{}", d.for_update);
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(driver_id).fetch_optional(&mut *c).await?
    });
    Ok(zone.and_then(|(z,)| z))
}

/// Locks the driver's queue row; the attempts it counts (at least 1, as this call was one).
async fn lock_attempts(tx: &mut Tx<'_>, driver_id: &str) -> Result<u32> {
    let attempts: Option<(i64,)> = with_conn!(tx, |c, d| {
        let sql = format!("SELECT attempts FROM call_queue WHERE driver_id = ?{}", d.for_update);
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(driver_id).fetch_optional(&mut *c).await?
    });
    let attempts = attempts.map_or(1, |(a,)| a.max(1));
    Ok(u32::try_from(attempts).unwrap_or(u32::MAX))
}

/// The newest call to the driver after `call_id`, if any. A newer dial that rang nobody (refused,
/// cancelled, not placed) decided nothing and does not count.
async fn newer_call(tx: &mut Tx<'_>, driver_id: &str, call_id: i64) -> Result<Option<i64>> {
    let newer: Option<(i64,)> = with_conn!(tx, |c, d| {
        sqlx::query_as(
            "SELECT id FROM call_logs WHERE driver_id = ? AND id > ? AND COALESCE(status, '') <> 'failed' \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(driver_id)
        .bind(call_id)
        .fetch_optional(&mut *c)
        .await?
    });
    Ok(newer.map(|(id,)| id))
}

/// Closes the driver for good, with the reason (a wrong number, a request not to be called).
async fn close_driver(tx: &mut Tx<'_>, driver_id: &str, reason: &str, now: DateTime<Utc>) -> Result<()> {
    with_conn!(tx, |c, d| {
        sqlx::query("UPDATE drivers SET closed_reason = ?, closed_at = ? WHERE id = ?")
            .bind(reason)
            .bind(db_time(now))
            .bind(driver_id)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// The driver leaves the queue, finished with `outcome`.
async fn finish_driver(tx: &mut Tx<'_>, driver_id: &str, outcome: &str, now: DateTime<Utc>) -> Result<()> {
    with_conn!(tx, |c, d| {
        sqlx::query("DELETE FROM call_queue WHERE driver_id = ?").bind(driver_id).execute(&mut *c).await?;
        // Finished: a later import of the same file does not queue them again.
        sqlx::query("UPDATE drivers SET finished_at = ?, finished_outcome = ? WHERE id = ?")
            .bind(db_time(now))
            .bind(outcome)
            .bind(driver_id)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// The driver's next place in the queue after an outcome.
struct Requeue<'a> {
    due_at: DateTime<Utc>,
    callback: bool,
    outcome: &'a str,
    effect: QueueEffect,
    /// The call's caller, whose queue takes a driver who has no queue row.
    caller_id: Option<i64>,
    zone: Option<String>,
}

/// Puts the driver back in the queue at `place` (a callback first), no longer finished and
/// unclaimed; a driver who had no queue row gets one in the call's caller's queue.
async fn requeue(tx: &mut Tx<'_>, driver_id: &str, place: &Requeue<'_>) -> Result<()> {
    let priority: i64 = if place.callback { 0 } else { 1 };
    with_conn!(tx, |c, d| {
        sqlx::query("UPDATE drivers SET finished_at = NULL, finished_outcome = NULL WHERE id = ?")
            .bind(driver_id)
            .execute(&mut *c)
            .await?;
        if place.effect == QueueEffect::NotCalled {
            // The driver was never rung: this attempt is not theirs.
            sqlx::query(
                "UPDATE call_queue SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
                 WHERE driver_id = ?",
            )
            .bind(driver_id)
            .execute(&mut *c)
            .await?;
        }
        let r = sqlx::query(
            "UPDATE call_queue SET due_at = ?, priority = ?, last_outcome = ?, snoozed_until = NULL, \
             claimed_by = NULL, claimed_until = NULL WHERE driver_id = ?",
        )
        .bind(db_time(place.due_at))
        .bind(priority)
        .bind(place.outcome)
        .bind(driver_id)
        .execute(&mut *c)
        .await?;
        if r.rows_affected() == 0
            && let Some(caller) = place.caller_id
        {
            sqlx::query(
                "INSERT INTO call_queue (driver_id, caller_id, priority, due_at, attempts, last_outcome, \
                 timezone) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(driver_id)
            .bind(caller)
            .bind(priority)
            .bind(db_time(place.due_at))
            .bind(if place.effect == QueueEffect::NotCalled { 0 } else { 1 })
            .bind(place.outcome)
            .bind(place.zone.as_deref().unwrap_or(""))
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// The saved outcome ends the call's wrap-up: its draft goes, and an unconfirmed dial is settled
/// (a later report then moves the status on from what was saved, never back to "initiated").
async fn settle(tx: &mut Tx<'_>, call_id: i64) -> Result<()> {
    with_conn!(tx, |c, d| {
        sqlx::query("DELETE FROM feedback_drafts WHERE call_log_id = ?").bind(call_id).execute(&mut *c).await?;
        sqlx::query("DELETE FROM call_provisional WHERE call_log_id = ? AND state = 'unconfirmed'")
            .bind(call_id)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}
