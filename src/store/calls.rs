//! `call_logs`: starting a call, reading and listing calls, drafts. Saving an outcome is in
//! [`super::outcome`].

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Serialize;

use super::search::{like_pattern, number_key};
use super::tx::{Tx, with_conn};
use super::{InsertedId, Result, Store, StoreError, db_time, with_pool};
use crate::domain::draft::DraftVersion;
use crate::domain::{CallLog, CallStatus, CallType, Provider};

pub(crate) const CALL_COLUMNS: &str = "SELECT id, reference_id, caller_id, driver_id, driver_mobile, driver_name, \
     driver_tmid, call_type, status, provider, telecmi_user_id, feedback, remarks, call_duration, created_at, \
     updated_at FROM call_logs";

const LIVE: &str = "('initiated', 'ringing', 'connected')";

/// A manual call stays `initiated` until its outcome is saved; the agent ended it when its
/// wrap-up began (a draft exists): from then on it is not a call in progress.
const NOT_ENDED: &str = "NOT (provider = 'manual' AND id IN (SELECT call_log_id FROM feedback_drafts))";

/// Calls younger than this that ended without an outcome are wrap-ups still owed: they reopen in
/// their agent's console and no second call goes to their driver. Older ones are history (the
/// old system left many rows without feedback).
pub const WRAPUP_WINDOW: Duration = Duration::days(7);

/// Which calls owe a wrap-up (with `feedback` empty): a draft is being typed, the call ended with
/// the driver rung or not, or it is a manual call (nothing but the agent ends those) that was not
/// given up as failed (a failed dial rang nobody).
pub(crate) const OWES_WRAPUP: &str = "(id IN (SELECT call_log_id FROM feedback_drafts) \
     OR status IN ('completed', 'missed') OR (provider = 'manual' AND status <> 'failed'))";

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
    /// The console session dialing (`None`: the API, tests): refused once a newer login of the
    /// caller took it over.
    pub session: Option<i64>,
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
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
        let name = like_pattern(text);
        let number = number_key(text).map_or_else(|| name.clone(), |n| like_pattern(&n));
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
    // A refusal (Invalid, WrapupOwed) is the rules at work, logged by the dialer at info: only a
    // database failure is an error here.
    #[tracing::instrument(skip_all, fields(driver = %c.driver_id))]
    pub async fn start_call(&self, c: &NewCall, now: DateTime<Utc>) -> Result<CallLog> {
        super::retrying("start call", || self.start_call_once(c, now)).await
    }

    /// One run of the dial's transaction (see [`Store::start_call`]).
    async fn start_call_once(&self, c: &NewCall, now: DateTime<Utc>) -> Result<CallLog> {
        let mut tx = self.begin_write().await?;
        lock_driver(&mut tx, &c.driver_id).await?;
        super::sessions::refuse_if_replaced(&mut tx, c.session).await?;
        refuse_if_owed(&mut tx, c, now).await?;
        if let Some(last) = last_call(&mut tx, &c.driver_id).await?
            && let Some(why) = last.refusal(c, now)
        {
            return Err(StoreError::Invalid(why));
        }
        claim_for_dial(&mut tx, c, now).await?;
        let id = insert_call(&mut tx, c, now).await?;
        tx.commit().await?;
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
            Some(_) => format!(
                "{CALL_COLUMNS} WHERE status IN {LIVE} AND caller_id = ? AND {NOT_ENDED} ORDER BY id DESC LIMIT 500"
            ),
            None => format!("{CALL_COLUMNS} WHERE status IN {LIVE} AND {NOT_ENDED} ORDER BY id DESC LIMIT 500"),
        };
        Ok(with_pool!(self, |p, d| {
            let mut q = sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql.as_str()));
            if let Some(c) = caller {
                q = q.bind(c);
            }
            q.fetch_all(p).await
        })?)
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

    /// Saves (replaces) the draft of an unfinished wrap-up, in one statement (an upsert): on
    /// MariaDB a delete-then-insert transaction deadlocks when two consoles save drafts at once
    /// (each delete of a missing row holds the gap the other's insert needs; seen in `loadtest
    /// --processes`), and the rare deadlock an upsert can still meet is run again.
    #[tracing::instrument(skip_all, err)]
    pub async fn save_draft(&self, draft: &FeedbackDraft, now: DateTime<Utc>) -> Result<()> {
        self.save_draft_as(draft, DraftVersion::UNKNOWN, now).await
    }

    /// [`Store::save_draft`], recording which edit it is (a console's session and edit counter),
    /// so a start can tell it from the copy in the console's local file.
    #[tracing::instrument(skip_all, err)]
    pub async fn save_draft_as(&self, draft: &FeedbackDraft, version: DraftVersion, now: DateTime<Utc>) -> Result<()> {
        const COLUMNS: &str =
            "caller_id, feedback_group, feedback, remarks, call_duration, updated_at, edit_session, edit_seq";
        let set: Vec<String> = COLUMNS
            .split(", ")
            .map(|c| if self.is_mysql() { format!("{c} = VALUES({c})") } else { format!("{c} = excluded.{c}") })
            .collect();
        let on_conflict =
            if self.is_mysql() { "ON DUPLICATE KEY UPDATE" } else { "ON CONFLICT(call_log_id) DO UPDATE SET" };
        let sql = format!(
            "INSERT INTO feedback_drafts (call_log_id, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) {on_conflict} {}",
            set.join(", ")
        );
        super::retrying("save draft", || async {
            with_pool!(self, |p, d| {
                sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(draft.call_log_id)
                    .bind(draft.caller_id)
                    .bind(&draft.feedback_group)
                    .bind(&draft.feedback)
                    .bind(&draft.remarks)
                    .bind(&draft.call_duration)
                    .bind(db_time(now))
                    .bind(version.session)
                    .bind(version.seq)
                    .execute(p)
                    .await
                    .map(|_| ())
            })?;
            Ok(())
        })
        .await
    }

    /// Which edit each stored draft of `caller` is, by call.
    #[tracing::instrument(skip_all, err)]
    pub async fn draft_versions(&self, caller: i64) -> Result<std::collections::HashMap<i64, DraftVersion>> {
        let rows: Vec<(i64, i64, i64)> = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT call_log_id, edit_session, edit_seq FROM feedback_drafts WHERE caller_id = ?")
                .bind(caller)
                .fetch_all(p)
                .await
        })?;
        Ok(rows.into_iter().map(|(id, session, seq)| (id, DraftVersion::new(session, seq))).collect())
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
             AND {OWES_WRAPUP} ORDER BY id DESC LIMIT 50"
        );
        let calls = with_pool!(self, |p, d| {
            sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(caller)
                .bind(db_time(since))
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
        // The newest 50 (today's calls are never the ones left out), oldest first.
        let out = calls
            .into_iter()
            .rev()
            .map(|c| {
                let d = drafts.remove(&c.id);
                (c, d)
            })
            .collect();
        Ok(out)
    }
}

/// Locks the driver's row, so two consoles (or two key presses) cannot both pass the checks.
async fn lock_driver(tx: &mut Tx<'_>, driver_id: &str) -> Result<()> {
    with_conn!(tx, |c, d| {
        let lock = format!("SELECT id FROM drivers WHERE id = ?{}", d.for_update);
        let _: Option<(String,)> =
            sqlx::query_as(sqlx::AssertSqlSafe(lock)).bind(driver_id).fetch_optional(&mut *c).await?;
    });
    Ok(())
}

/// Refuses with [`StoreError::WrapupOwed`] while a call to this driver still waits for its
/// outcome (any agent's, placed by calldesk or the old app through our API, so some console
/// reopens it): no second call until it is saved, so an older outcome never decides over a newer
/// call. Rows the old system left without an outcome, or of a caller not here, do not count.
async fn refuse_if_owed(tx: &mut Tx<'_>, c: &NewCall, now: DateTime<Utc>) -> Result<()> {
    let owed = format!(
        "{CALL_COLUMNS} WHERE driver_id = ? AND created_at >= ? AND (feedback IS NULL OR feedback = '') \
         AND {OWES_WRAPUP} AND provider IN ('telecmi', 'manual') \
         AND caller_id IN (SELECT id FROM callers) AND NOT (provider = 'manual' AND status IN {LIVE} \
         AND id NOT IN (SELECT call_log_id FROM feedback_drafts)) ORDER BY id DESC LIMIT 1"
    );
    // A manual call the agent has not ended is "in progress" (said below) until it is
    // abandoned; then it lapses rather than lock the driver.
    let owed: Option<CallLog> = with_conn!(tx, |conn, d| {
        sqlx::query_as(sqlx::AssertSqlSafe(owed))
            .bind(&c.driver_id)
            .bind(db_time(now - WRAPUP_WINDOW))
            .fetch_optional(&mut *conn)
            .await?
    });
    match owed {
        Some(call) => Err(StoreError::WrapupOwed(Box::new(call))),
        None => Ok(()),
    }
}

/// The driver's newest call: (status, when it started, remarks).
struct LastCall(String, DateTime<Utc>, Option<String>);

impl LastCall {
    /// Why this last call forbids dialing the driver now, if it does.
    fn refusal(&self, c: &NewCall, now: DateTime<Utc>) -> Option<String> {
        let Self(status, at, remarks) = self;
        // A call still "live" hours later was abandoned (a manual call never wrapped up):
        // it must not lock the driver forever.
        let live =
            status.parse::<CallStatus>().map(CallStatus::is_live).unwrap_or(false) && now - *at < ABANDONED_AFTER;
        // An unconfirmed dial blocks whatever its age: the call ceiling (reconciliation)
        // or the agent settles it, never the clock alone.
        let unconfirmed = status == CallStatus::Initiated.as_str()
            && remarks.as_deref().is_some_and(|r| r.starts_with(crate::domain::UNCONFIRMED_REMARK));
        if unconfirmed {
            return Some(format!(
                "the last click-to-call to {} is unconfirmed: TeleCMI may still ring them, so no second call \
                 goes out until TeleCMI reports it or the agent marks it as not placed",
                c.driver_name
            ));
        }
        if live {
            return Some(format!(
                "a call to {} is still in progress ({status}); finish it before dialing again",
                c.driver_name
            ));
        }
        // A failed dial rang nobody: the agent may retry at once (e.g. by hand).
        let failed = status == CallStatus::Failed.as_str();
        let since = now - *at;
        (!failed && since < c.min_gap).then(|| {
            format!(
                "{} was dialed {}s ago; wait {}s before dialing again",
                c.driver_name,
                since.num_seconds().max(0),
                (c.min_gap - since).num_seconds().max(1)
            )
        })
    }
}

async fn last_call(tx: &mut Tx<'_>, driver_id: &str) -> Result<Option<LastCall>> {
    let last: Option<(String, DateTime<Utc>, Option<String>)> = with_conn!(tx, |c, d| {
        sqlx::query_as(
            "SELECT COALESCE(status, 'initiated'), created_at, remarks FROM call_logs WHERE driver_id = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(driver_id)
        .fetch_optional(&mut *c)
        .await?
    });
    Ok(last.map(|(status, at, remarks)| LastCall(status, at, remarks)))
}

/// Claims the driver for this caller ([`CLAIM_FOR`]); refused while another agent's claim holds.
async fn claim_for_dial(tx: &mut Tx<'_>, c: &NewCall, now: DateTime<Utc>) -> Result<()> {
    let now_db = db_time(now);
    // A driver another agent is calling (claim not yet lapsed) is theirs.
    let claim: Option<(Option<i64>, Option<NaiveDateTime>)> = with_conn!(tx, |conn, d| {
        sqlx::query_as("SELECT claimed_by, claimed_until FROM call_queue WHERE driver_id = ?")
            .bind(&c.driver_id)
            .fetch_optional(&mut *conn)
            .await?
    });
    if let Some((Some(by), Some(until))) = claim
        && by != c.caller_id
        && until > now_db
    {
        return Err(StoreError::Invalid(format!("{} is being called by another agent", c.driver_name)));
    }
    // A driver of the team pool becomes the dialing agent's: their retries and callbacks come
    // back to the voice the driver heard.
    with_conn!(tx, |conn, d| {
        sqlx::query(
            "UPDATE call_queue SET claimed_by = ?, claimed_until = ?,              caller_id = CASE WHEN caller_id = ? THEN ? ELSE caller_id END WHERE driver_id = ?",
        )
        .bind(c.caller_id)
        .bind(now_db + CLAIM_FOR)
        .bind(super::POOL)
        .bind(c.caller_id)
        .bind(&c.driver_id)
        .execute(&mut *conn)
        .await?;
        // …and in `drivers` too, so search and the card find them as the agent's.
        sqlx::query(super::fixes::ADOPT_FROM_POOL)
            .bind(c.caller_id)
            .bind(&c.driver_id)
            .bind(c.caller_id)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// Writes the call's row (`initiated`) and counts the attempt on the queue; the new call's id.
async fn insert_call(tx: &mut Tx<'_>, c: &NewCall, now: DateTime<Utc>) -> Result<i64> {
    Ok(with_conn!(tx, |conn, d| {
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
        .bind(db_time(now))
        .execute(&mut *conn)
        .await?;
        sqlx::query("UPDATE call_queue SET attempts = attempts + 1 WHERE driver_id = ?")
            .bind(&c.driver_id)
            .execute(&mut *conn)
            .await?;
        r.inserted_id()
    }))
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
