//! Saving a call's outcome: the status (forward only), feedback, remarks and duration, with the
//! queue effect the outcome has on the driver, in one transaction.

use chrono::{DateTime, Utc};

use super::calls::{CALL_COLUMNS, SubmitFeedback};
use super::{Result, Store, StoreError, db_time, with_pool};
use crate::domain::wrapup::{REMARKS_LIMIT, check_outcome};
use crate::domain::{
    CallLog, CallStatus, DO_NOT_CALL_REASON, FeedbackCatalog, QueueDecision, QueueEffect, WRONG_NUMBER_REASON,
};

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

    async fn submit_feedback_once(
        &self,
        f: &SubmitFeedback,
        fallback: Option<QueueEffect>,
        catalog: &FeedbackCatalog,
        now: DateTime<Utc>,
        first: bool,
    ) -> Result<(CallLog, QueueDecision)> {
        check_outcome(&f.feedback, &f.remarks, f.call_duration).map_err(StoreError::Invalid)?;
        let decision = with_pool!(self, |p, d| {
            let mut tx = p.begin_with(d.begin_write).await?;
            let sql = format!(
                "SELECT COALESCE(status, 'initiated'), driver_id, caller_id, feedback FROM call_logs WHERE id = ?{}",
                d.for_update
            );
            // (status, driver_id, caller_id, feedback)
            type Row = (String, Option<String>, Option<i64>, Option<String>);
            let row: Option<Row> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(f.call_id).fetch_optional(&mut *tx).await?;
            let Some((status, driver_id, caller_id, saved)) = row else {
                return Err(StoreError::NotFound(format!("call {} not found", f.call_id)));
            };
            let already = saved.as_deref().is_some_and(|s| !s.trim().is_empty());
            if first && already {
                // Read under the row's lock: a save racing this one is either seen here or waits.
                let call: CallLog = sqlx::query_as(sqlx::AssertSqlSafe(format!("{CALL_COLUMNS} WHERE id = ?")))
                    .bind(f.call_id)
                    .fetch_one(&mut *tx)
                    .await?;
                return Err(StoreError::AlreadySaved(Box::new(call)));
            }
            // A status word the old system wrote (not one of ours) has no forward rule: it stays.
            let next = match status.parse::<CallStatus>() {
                Ok(current) => f.status.map_or(current, |s| current.advance(s)).as_str().to_string(),
                Err(_) => status,
            };
            // An outcome changed after one was saved (the old API's update_feedback) keeps the
            // remarks already saved beside the new ones: a call changed elsewhere is never
            // silently overwritten.
            let remarks = if already {
                let sql = format!("SELECT remarks FROM call_logs WHERE id = ?{}", d.for_update);
                let (before,): (Option<String>,) =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(f.call_id).fetch_one(&mut *tx).await?;
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
            sqlx::query(
                "UPDATE call_logs SET status = ?, feedback = ?, remarks = ?, call_duration = COALESCE(?, call_duration) WHERE id = ?",
            )
            .bind(&next)
            .bind(f.feedback.trim())
            .bind(&remarks)
            .bind(f.call_duration)
            .bind(f.call_id)
            .execute(&mut *tx)
            .await?;
            let mut decision = QueueDecision::Remove;
            let effect = catalog.effect(&f.feedback, fallback);
            if driver_id.is_none() && effect == QueueEffect::DoNotCall {
                // An old row with no driver: the number it dialed goes on the list, in this
                // transaction; with no number that can be listed, nothing is saved.
                let listed = super::dnc::list_asked_in_tx!(tx, d, f.call_id, None, caller_id, &f.remarks, now);
                if listed == 0 {
                    return Err(StoreError::Invalid(format!(
                        "call {} has no driver and no number in full international form, so \"{}\" cannot \
                         put anyone on the do-not-call list: add the number with `calldesk dnc add NUMBER`",
                        f.call_id,
                        f.feedback.trim()
                    )));
                }
            }
            if let Some(driver_id) = driver_id {
                // The driver's row, then its queue row: the order a dial and a claim take them.
                // Callback times and the calling window are read in the driver's own zone.
                let sql = format!("SELECT timezone FROM drivers WHERE id = ?{}", d.for_update);
                let zone: Option<(Option<String>,)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&driver_id).fetch_optional(&mut *tx).await?;
                let zone = zone.and_then(|(z,)| z);
                let sql = format!("SELECT attempts FROM call_queue WHERE driver_id = ?{}", d.for_update);
                let attempts: Option<(i64,)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&driver_id).fetch_optional(&mut *tx).await?;
                let attempts = attempts.map_or(1, |(a,)| a.max(1));
                let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
                decision = catalog.decide_for(effect, attempts, now, zone.as_deref());
                // A newer call to the driver decided their queue place: this older outcome is
                // recorded but moves nothing (only a request not to be called still applies).
                // A newer dial that rang nobody (refused, cancelled, not placed) decided nothing.
                let newer: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM call_logs WHERE driver_id = ? AND id > ? AND COALESCE(status, '') <> 'failed' \
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(&driver_id)
                .bind(f.call_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((newer_call,)) = newer
                    && effect != QueueEffect::DoNotCall
                {
                    decision = QueueDecision::Kept { newer_call };
                }
                if effect == QueueEffect::DoNotCall {
                    // In this transaction: the outcome and the listing are saved together or not at all.
                    super::dnc::list_asked_in_tx!(
                        tx,
                        d,
                        f.call_id,
                        Some(driver_id.as_str()),
                        caller_id,
                        &f.remarks,
                        now
                    );
                }
                let kept = matches!(decision, QueueDecision::Kept { .. });
                if !kept && matches!(effect, QueueEffect::WrongNumber | QueueEffect::DoNotCall) {
                    let reason =
                        if effect == QueueEffect::DoNotCall { DO_NOT_CALL_REASON } else { WRONG_NUMBER_REASON };
                    sqlx::query("UPDATE drivers SET closed_reason = ?, closed_at = ? WHERE id = ?")
                        .bind(reason)
                        .bind(db_time(now))
                        .bind(&driver_id)
                        .execute(&mut *tx)
                        .await?;
                }
                match decision {
                    QueueDecision::Kept { .. } => {}
                    QueueDecision::Remove => {
                        sqlx::query("DELETE FROM call_queue WHERE driver_id = ?")
                            .bind(&driver_id)
                            .execute(&mut *tx)
                            .await?;
                        // Finished: a later import of the same file does not queue them again.
                        sqlx::query("UPDATE drivers SET finished_at = ?, finished_outcome = ? WHERE id = ?")
                            .bind(db_time(now))
                            .bind(f.feedback.trim())
                            .bind(&driver_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    QueueDecision::Requeue { due_at, callback } => {
                        sqlx::query("UPDATE drivers SET finished_at = NULL, finished_outcome = NULL WHERE id = ?")
                            .bind(&driver_id)
                            .execute(&mut *tx)
                            .await?;
                        if effect == QueueEffect::NotCalled {
                            // The driver was never rung: this attempt is not theirs.
                            sqlx::query(
                                "UPDATE call_queue SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
                                 WHERE driver_id = ?",
                            )
                            .bind(&driver_id)
                            .execute(&mut *tx)
                            .await?;
                        }
                        let priority: i64 = if callback { 0 } else { 1 };
                        let r = sqlx::query(
                            "UPDATE call_queue SET due_at = ?, priority = ?, last_outcome = ?, snoozed_until = NULL, \
                             claimed_by = NULL, claimed_until = NULL WHERE driver_id = ?",
                        )
                        .bind(db_time(due_at))
                        .bind(priority)
                        .bind(f.feedback.trim())
                        .bind(&driver_id)
                        .execute(&mut *tx)
                        .await?;
                        if r.rows_affected() == 0
                            && let Some(caller) = caller_id
                        {
                            sqlx::query(
                                    "INSERT INTO call_queue (driver_id, caller_id, priority, due_at, attempts, last_outcome, \
                                     timezone) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                )
                                .bind(&driver_id)
                                .bind(caller)
                                .bind(priority)
                                .bind(db_time(due_at))
                                .bind(if effect == QueueEffect::NotCalled { 0 } else { 1 })
                                .bind(f.feedback.trim())
                                .bind(zone.as_deref().unwrap_or(""))
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                }
            }
            sqlx::query("DELETE FROM feedback_drafts WHERE call_log_id = ?").bind(f.call_id).execute(&mut *tx).await?;
            // An outcome saved on an unconfirmed dial settles it: a later report then moves the
            // status on from what was saved, never back to "initiated".
            sqlx::query("DELETE FROM call_provisional WHERE call_log_id = ? AND state = 'unconfirmed'")
                .bind(f.call_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<QueueDecision, StoreError>(decision)
        })?;
        let call =
            self.call(f.call_id).await?.ok_or_else(|| StoreError::NotFound(format!("call {} not found", f.call_id)))?;
        Ok((call, decision))
    }
}
