//! `call_logs`: starting a call, saving its outcome (with the queue effect), listing and drafts.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Serialize;

use super::{InsertedId, Result, Store, StoreError, db_time, with_pool};
use crate::domain::{
    CallLog, CallStatus, CallType, DO_NOT_CALL_REASON, FeedbackCatalog, Provider, QueueDecision, QueueEffect,
    WRONG_NUMBER_REASON,
};

pub(crate) const CALL_COLUMNS: &str = "SELECT id, reference_id, caller_id, driver_id, driver_mobile, driver_name, \
     driver_tmid, call_type, status, provider, telecmi_user_id, feedback, remarks, call_duration, created_at, \
     updated_at FROM call_logs";

const LIVE: &str = "('initiated', 'ringing', 'connected')";

/// A live call older than this no longer blocks dialing its driver again.
pub const ABANDONED_AFTER: Duration = Duration::hours(2);

/// How long dialing a driver claims them; a crashed console's claim lapses after this.
pub const CLAIM_FOR: Duration = Duration::minutes(15);

/// A call about to be placed.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub caller_id: i64,
    pub driver_id: String,
    pub driver_mobile: String,
    pub driver_name: String,
    pub driver_tmid: Option<String>,
    pub call_type: CallType,
    pub provider: Provider,
    pub telecmi_user_id: Option<String>,
    /// Refuse when the driver was dialed less than this long ago or a call to them is live.
    pub min_gap: Duration,
}

/// The outcome an agent (or the old API) records for a call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmitFeedback {
    pub call_id: i64,
    /// Status to move to (forward only); `None` keeps what the webhooks set.
    pub status: Option<CallStatus>,
    pub feedback: String,
    pub remarks: String,
    /// Seconds; `None` keeps the duration TeleCMI reported.
    pub call_duration: Option<i64>,
}

/// What the agent typed so far in an unfinished wrap-up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FeedbackDraft {
    pub call_log_id: i64,
    pub caller_id: i64,
    pub feedback_group: Option<String>,
    pub feedback: Option<String>,
    pub remarks: Option<String>,
    pub call_duration: Option<String>,
}

/// Which calls to list. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    pub caller_id: Option<i64>,
    pub status: Option<String>,
    pub provider: Option<String>,
    pub feedback: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// The driver's name contains it, or their number matches it in any format.
    pub text: Option<String>,
}

/// Newest first. `before_id` (keyset) or `offset` (the old API's paging).
#[derive(Debug, Clone, Copy)]
pub struct CallPage {
    pub before_id: Option<i64>,
    pub offset: Option<u32>,
    pub limit: u32,
}

enum Arg {
    I(i64),
    S(String),
    T(NaiveDateTime),
}

fn filter_sql(f: &CallFilter) -> (String, Vec<Arg>) {
    let mut sql = String::from(" WHERE 1 = 1");
    let mut args = Vec::new();
    if let Some(c) = f.caller_id {
        sql.push_str(" AND caller_id = ?");
        args.push(Arg::I(c));
    }
    if let Some(s) = &f.status {
        sql.push_str(" AND status = ?");
        args.push(Arg::S(s.clone()));
    }
    if let Some(p) = &f.provider {
        sql.push_str(" AND provider = ?");
        args.push(Arg::S(p.clone()));
    }
    if let Some(fb) = &f.feedback {
        sql.push_str(" AND feedback = ?");
        args.push(Arg::S(fb.clone()));
    }
    if let Some(t) = f.from {
        sql.push_str(" AND created_at >= ?");
        args.push(Arg::T(db_time(t)));
    }
    if let Some(t) = f.until {
        sql.push_str(" AND created_at < ?");
        args.push(Arg::T(db_time(t)));
    }
    if let Some(text) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let name = super::queue::like_pattern(text);
        let number = super::lookup::number_key(text).map_or_else(|| name.clone(), |n| super::queue::like_pattern(&n));
        sql.push_str(
            " AND (driver_name LIKE ? ESCAPE '!' OR driver_mobile LIKE ? ESCAPE '!' OR driver_tmid LIKE ? ESCAPE '!')",
        );
        args.push(Arg::S(name.clone()));
        args.push(Arg::S(number));
        args.push(Arg::S(name));
    }
    (sql, args)
}

macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I(v) => q.bind(*v),
                Arg::S(v) => q.bind(v.as_str()),
                Arg::T(v) => q.bind(*v),
            };
        }
        q
    }};
}

impl Store {
    /// Writes the `call_logs` row (status `initiated`) before anything is dialed, so a webhook that
    /// races ahead of the provider's answer still finds its call. Counts the attempt on the queue.
    /// Refuses a second dial to the same driver while a call is live or within `min_gap`.
    #[tracing::instrument(skip_all, fields(driver = %c.driver_id), err)]
    pub async fn start_call(&self, c: &NewCall, now: DateTime<Utc>) -> Result<CallLog> {
        super::retrying("start call", || self.start_call_once(c, now)).await
    }

    async fn start_call_once(&self, c: &NewCall, now: DateTime<Utc>) -> Result<CallLog> {
        let now_db = db_time(now);
        let id = with_pool!(self, |p, d| {
            let mut tx = p.begin_with(d.begin_write).await?;
            // Lock the driver so two consoles (or two key presses) cannot both pass the check.
            let lock = format!("SELECT id FROM drivers WHERE id = ?{}", d.for_update);
            let _: Option<(String,)> =
                sqlx::query_as(sqlx::AssertSqlSafe(lock)).bind(&c.driver_id).fetch_optional(&mut *tx).await?;
            let last: Option<(String, DateTime<Utc>, Option<String>)> = sqlx::query_as(
                "SELECT COALESCE(status, 'initiated'), created_at, remarks FROM call_logs WHERE driver_id = ? ORDER BY id DESC LIMIT 1",
            )
            .bind(&c.driver_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((status, at, remarks)) = last {
                // A call still "live" hours later was abandoned (a manual call never wrapped up):
                // it must not lock the driver forever.
                let live = status.parse::<CallStatus>().map(CallStatus::is_live).unwrap_or(false)
                    && now - at < ABANDONED_AFTER;
                // An unconfirmed dial blocks whatever its age: the call ceiling (reconciliation)
                // or the agent settles it, never the clock alone.
                let unconfirmed = status == CallStatus::Initiated.as_str()
                    && remarks.as_deref().is_some_and(|r| r.starts_with(crate::domain::UNCONFIRMED_REMARK));
                if unconfirmed {
                    return Err(StoreError::Invalid(format!(
                        "the last click-to-call to {} is unconfirmed: TeleCMI may still ring them, so no second call \
                         goes out until TeleCMI reports it or the agent marks it as not placed",
                        c.driver_name
                    )));
                }
                if live {
                    return Err(StoreError::Invalid(format!(
                        "a call to {} is still in progress ({status}); finish it before dialing again",
                        c.driver_name
                    )));
                }
                // A failed dial rang nobody: the agent may retry at once (e.g. by hand).
                let failed = status == CallStatus::Failed.as_str();
                let since = now - at;
                if !failed && since < c.min_gap {
                    return Err(StoreError::Invalid(format!(
                        "{} was dialed {}s ago; wait {}s before dialing again",
                        c.driver_name,
                        since.num_seconds().max(0),
                        (c.min_gap - since).num_seconds().max(1)
                    )));
                }
            }
            // A driver another agent is calling (claim not yet lapsed) is theirs.
            let claim: Option<(Option<i64>, Option<NaiveDateTime>)> =
                sqlx::query_as("SELECT claimed_by, claimed_until FROM call_queue WHERE driver_id = ?")
                    .bind(&c.driver_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some((Some(by), Some(until))) = claim
                && by != c.caller_id
                && until > now_db
            {
                return Err(StoreError::Invalid(format!("{} is being called by another agent", c.driver_name)));
            }
            sqlx::query("UPDATE call_queue SET claimed_by = ?, claimed_until = ? WHERE driver_id = ?")
                .bind(c.caller_id)
                .bind(now_db + CLAIM_FOR)
                .bind(&c.driver_id)
                .execute(&mut *tx)
                .await?;
            let r = sqlx::query(
                "INSERT INTO call_logs (caller_id, driver_id, driver_mobile, driver_name, driver_tmid, call_type, \
                 status, provider, telecmi_user_id, call_duration, created_at) VALUES (?, ?, ?, ?, ?, ?, 'initiated', ?, ?, 0, ?)",
            )
            .bind(c.caller_id)
            .bind(&c.driver_id)
            .bind(&c.driver_mobile)
            .bind(&c.driver_name)
            .bind(&c.driver_tmid)
            .bind(c.call_type.as_str())
            .bind(c.provider.as_str())
            .bind(&c.telecmi_user_id)
            .bind(now_db)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE call_queue SET attempts = attempts + 1 WHERE driver_id = ?")
                .bind(&c.driver_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<i64, StoreError>(r.inserted_id())
        })?;
        self.call(id).await?.ok_or_else(|| StoreError::NotFound(format!("call {id} vanished after insert")))
    }

    /// Records TeleCMI's `request_id` as the call's `reference_id`.
    #[tracing::instrument(skip_all, err)]
    pub async fn set_reference(&self, call_id: i64, reference: &str) -> Result<()> {
        with_pool!(self, |p, d| {
            sqlx::query("UPDATE call_logs SET reference_id = ? WHERE id = ?")
                .bind(reference)
                .bind(call_id)
                .execute(p)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Marks a call that could not be placed (or was given up) as `failed`, with the reason in
    /// remarks, unless it already reached a final status.
    #[tracing::instrument(skip_all, fields(call_id), err)]
    pub async fn mark_failed(&self, call_id: i64, reason: &str) -> Result<Option<CallLog>> {
        with_pool!(self, |p, d| {
            let sql = format!(
                "UPDATE call_logs SET status = 'failed', remarks = CASE WHEN remarks IS NULL OR remarks = '' THEN ? \
                 ELSE remarks END WHERE id = ? AND status IN {LIVE}"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(reason).bind(call_id).execute(p).await.map(|_| ())
        })?;
        self.call(call_id).await
    }

    #[tracing::instrument(skip_all, err)]
    pub async fn call(&self, id: i64) -> Result<Option<CallLog>> {
        let sql = format!("{CALL_COLUMNS} WHERE id = ?");
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await
        })?)
    }

    /// The newest call with this `reference_id`.
    #[tracing::instrument(skip_all, err)]
    pub async fn call_by_reference(&self, reference: &str) -> Result<Option<CallLog>> {
        let sql = format!("{CALL_COLUMNS} WHERE reference_id = ? ORDER BY id DESC LIMIT 1");
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql.as_str())).bind(reference).fetch_optional(p).await
        })?)
    }

    /// Calls not yet in a final status, newest first; all callers when `caller` is `None`.
    #[tracing::instrument(skip_all, err)]
    pub async fn live_calls(&self, caller: Option<i64>) -> Result<Vec<CallLog>> {
        let sql = match caller {
            Some(_) => format!("{CALL_COLUMNS} WHERE status IN {LIVE} AND caller_id = ? ORDER BY id DESC LIMIT 500"),
            None => format!("{CALL_COLUMNS} WHERE status IN {LIVE} ORDER BY id DESC LIMIT 500"),
        };
        Ok(with_pool!(self, |p, d| {
            let mut q = sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql.as_str()));
            if let Some(c) = caller {
                q = q.bind(c);
            }
            q.fetch_all(p).await
        })?)
    }

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

    async fn submit_feedback_once(
        &self,
        f: &SubmitFeedback,
        fallback: Option<QueueEffect>,
        catalog: &FeedbackCatalog,
        now: DateTime<Utc>,
        first: bool,
    ) -> Result<(CallLog, QueueDecision)> {
        if f.feedback.trim().is_empty() {
            return Err(StoreError::Invalid("choose an outcome before saving".into()));
        }
        if f.remarks.chars().count() > 500 {
            return Err(StoreError::Invalid("remarks are limited to 500 characters".into()));
        }
        if f.call_duration.is_some_and(|d| !(0..=86_400).contains(&d)) {
            return Err(StoreError::Invalid("duration must be between 0 and 86400 seconds".into()));
        }
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
            if first && saved.is_some_and(|s| !s.trim().is_empty()) {
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
            sqlx::query(
                "UPDATE call_logs SET status = ?, feedback = ?, remarks = ?, call_duration = COALESCE(?, call_duration) WHERE id = ?",
            )
            .bind(&next)
            .bind(f.feedback.trim())
            .bind(f.remarks.trim())
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
                if matches!(effect, QueueEffect::WrongNumber | QueueEffect::DoNotCall) {
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
                            "UPDATE call_queue SET due_at = ?, priority = ?, last_outcome = ?, claimed_by = NULL, \
                             claimed_until = NULL WHERE driver_id = ?",
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
                                    "INSERT INTO call_queue (driver_id, caller_id, priority, due_at, attempts, last_outcome) \
                                     VALUES (?, ?, ?, ?, ?, ?)",
                                )
                                .bind(&driver_id)
                                .bind(caller)
                                .bind(priority)
                                .bind(db_time(due_at))
                                .bind(if effect == QueueEffect::NotCalled { 0 } else { 1 })
                                .bind(f.feedback.trim())
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

    /// Calls matching `filter`, newest first.
    #[tracing::instrument(skip_all, err)]
    pub async fn list_calls(&self, filter: &CallFilter, page: CallPage) -> Result<Vec<CallLog>> {
        let (mut where_sql, mut args) = filter_sql(filter);
        if let Some(before) = page.before_id {
            where_sql.push_str(" AND id < ?");
            args.push(Arg::I(before));
        }
        let mut sql = format!("{CALL_COLUMNS}{where_sql} ORDER BY id DESC LIMIT ?");
        args.push(Arg::I(i64::from(page.limit)));
        if let Some(off) = page.offset {
            sql.push_str(" OFFSET ?");
            args.push(Arg::I(i64::from(off)));
        }
        Ok(with_pool!(self, |p, d| {
            bind_args!(sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql.as_str())), &args).fetch_all(p).await
        })?)
    }

    /// How many calls match `filter`.
    #[tracing::instrument(skip_all, err)]
    pub async fn count_calls(&self, filter: &CallFilter) -> Result<i64> {
        let (where_sql, args) = filter_sql(filter);
        let sql = format!("SELECT COUNT(*) FROM call_logs{where_sql}");
        let (n,): (i64,) = with_pool!(self, |p, d| {
            bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())), &args).fetch_one(p).await
        })?;
        Ok(n)
    }

    /// Saves (replaces) the draft of an unfinished wrap-up.
    #[tracing::instrument(skip_all, err)]
    pub async fn save_draft(&self, draft: &FeedbackDraft, now: DateTime<Utc>) -> Result<()> {
        with_pool!(self, |p, d| {
            let mut tx = p.begin_with(d.begin_write).await?;
            sqlx::query("DELETE FROM feedback_drafts WHERE call_log_id = ?")
                .bind(draft.call_log_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO feedback_drafts (call_log_id, caller_id, feedback_group, feedback, remarks, call_duration, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(draft.call_log_id)
            .bind(draft.caller_id)
            .bind(&draft.feedback_group)
            .bind(&draft.feedback)
            .bind(&draft.remarks)
            .bind(&draft.call_duration)
            .bind(db_time(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Calls of `caller` that still need an outcome, oldest first: ended (or manual) calls without
    /// feedback, and any call with a saved draft. These reopen first when the console starts.
    /// Only calls since `since` count, so rows the old system left without feedback stay history.
    #[tracing::instrument(skip_all, err)]
    pub async fn unfinished_wrapups(
        &self,
        caller: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<(CallLog, Option<FeedbackDraft>)>> {
        let sql = format!(
            "{CALL_COLUMNS} WHERE caller_id = ? AND created_at >= ? AND (feedback IS NULL OR feedback = '') \
             AND (id IN (SELECT call_log_id FROM feedback_drafts WHERE caller_id = ?) \
                  OR status IN ('completed', 'missed') OR provider = 'manual') \
             ORDER BY id LIMIT 50"
        );
        let calls = with_pool!(self, |p, d| {
            sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(caller)
                .bind(db_time(since))
                .bind(caller)
                .fetch_all(p)
                .await
        })?;
        let mut drafts: std::collections::HashMap<i64, FeedbackDraft> = with_pool!(self, |p, d| {
            sqlx::query_as::<_, FeedbackDraft>(
                "SELECT call_log_id, caller_id, feedback_group, feedback, remarks, call_duration FROM feedback_drafts \
                 WHERE caller_id = ?",
            )
            .bind(caller)
            .fetch_all(p)
            .await
        })?
        .into_iter()
        .map(|d| (d.call_log_id, d))
        .collect();
        let out = calls
            .into_iter()
            .map(|c| {
                let d = drafts.remove(&c.id);
                (c, d)
            })
            .collect();
        Ok(out)
    }
}

/// An agent's newest call, and whether a wrap-up draft is being typed for it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LatestCall {
    #[sqlx(flatten)]
    pub call: CallLog,
    pub has_draft: i64,
}

impl Store {
    /// Every caller's newest call in one query (what the supervisor screen reads each second).
    #[tracing::instrument(skip_all, err)]
    pub async fn latest_calls(&self) -> Result<Vec<LatestCall>> {
        let sql = format!(
            "SELECT c.*, CASE WHEN EXISTS (SELECT 1 FROM feedback_drafts f WHERE f.call_log_id = c.id) THEN 1 ELSE 0 END \
             AS has_draft FROM ({CALL_COLUMNS} WHERE id IN (SELECT MAX(id) FROM call_logs WHERE caller_id IS NOT NULL \
             GROUP BY caller_id)) c"
        );
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, LatestCall>(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await
        })?)
    }
}
