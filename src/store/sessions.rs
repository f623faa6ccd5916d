//! Sessions (`console_sessions`): opened at a console's or board's start, kept fresh by its
//! heartbeat, ended with a reason. Opening an agent's console takes over the caller's open one
//! in the same transaction; the dial's transaction refuses a session taken over
//! ([`refuse_if_replaced`]), so two consoles of one caller never both dial.
//!
//! Every time here is the database's clock ([`super::Dialect::now`]): consoles on several hosts
//! write `last_seen_at`, and whoever reads it (a new login, the board) compares it with the same
//! clock, so a host whose clock is off neither looks gone nor keeps a dead console online.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::tx::{Tx, with_conn};
use super::{InsertedId, Result, Store, StoreError, with_pool};
use crate::domain::session::{Attendance, EndReason, STALE_AFTER, SessionKind};

/// A session to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub caller_id: i64,
    pub kind: SessionKind,
    /// `ssh from 10.0.0.5` or `local` ([`crate::domain::session::origin`]).
    pub origin: String,
    pub host: String,
    pub pid: u32,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    pub id: i64,
    pub caller_id: i64,
    pub kind: String,
    pub origin: String,
    pub host: String,
    pub pid: i64,
    pub started_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub end_reason: Option<String>,
    pub taken_over_by: Option<i64>,
}

impl Session {
    pub fn started(&self) -> DateTime<Utc> {
        self.started_at.and_utc()
    }

    pub fn last_seen(&self) -> DateTime<Utc> {
        self.last_seen_at.and_utc()
    }

    pub fn is_open(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// What a heartbeat learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Beat {
    /// Still this caller's session.
    Current,
    /// A newer login took over: that session.
    TakenOver(Session),
    /// Ended already (marked lost by a newer login while this one was silent).
    Ended,
}

const COLUMNS: &str = "SELECT id, caller_id, kind, origin, host, pid, started_at, last_seen_at, ended_at, end_reason, \
     taken_over_by FROM console_sessions";

fn stale_secs() -> i64 {
    STALE_AFTER.num_seconds()
}

impl Store {
    /// Opens a session; for an agent's console, takes over the caller's open consoles: a fresh
    /// one is marked (it ends itself at its next heartbeat, saving its draft), a silent one is
    /// ended as lost. Returns the new session and those it took over.
    #[tracing::instrument(skip_all, fields(caller = new.caller_id), err)]
    pub async fn open_session(&self, new: &NewSession) -> Result<(Session, Vec<Session>)> {
        let id = super::retrying("open session", || self.open_session_once(new)).await?;
        let session = self.session(id).await?.ok_or_else(|| StoreError::NotFound(format!("session {id} vanished")))?;
        let sql = format!("{COLUMNS} WHERE taken_over_by = ? ORDER BY id");
        let taken = with_pool!(self, |p, d| {
            sqlx::query_as::<_, Session>(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_all(p).await
        })?;
        Ok((session, taken))
    }

    async fn open_session_once(&self, new: &NewSession) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        // Two logins of one caller at once queue here (MariaDB), instead of deadlocking on each
        // other's new row.
        with_conn!(tx, |c, d| {
            let lock = format!("SELECT id FROM callers WHERE id = ?{}", d.for_update);
            let _: Option<(i64,)> =
                sqlx::query_as(sqlx::AssertSqlSafe(lock)).bind(new.caller_id).fetch_optional(&mut *c).await?;
        });
        let id = with_conn!(tx, |c, d| {
            let sql = format!(
                "INSERT INTO console_sessions (caller_id, kind, origin, host, pid, started_at, last_seen_at) \
                 VALUES (?, ?, ?, ?, ?, {now}, {now})",
                now = d.now
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(new.caller_id)
                .bind(new.kind.as_str())
                .bind(&new.origin)
                .bind(&new.host)
                .bind(i64::from(new.pid))
                .execute(&mut *c)
                .await?
                .inserted_id()
        });
        if new.kind.takes_over() {
            with_conn!(tx, |c, d| {
                let sql = format!(
                    "UPDATE console_sessions SET taken_over_by = ?, \
                     ended_at = CASE WHEN last_seen_at <= {ago} THEN last_seen_at ELSE ended_at END, \
                     end_reason = CASE WHEN last_seen_at <= {ago} THEN ? ELSE end_reason END \
                     WHERE caller_id = ? AND kind = 'console' AND ended_at IS NULL AND taken_over_by IS NULL \
                     AND id <> ?",
                    ago = d.seconds_ago
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(stale_secs())
                    .bind(stale_secs())
                    .bind(EndReason::Lost.as_str())
                    .bind(new.caller_id)
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
            });
        }
        tx.commit().await?;
        Ok(id)
    }

    #[tracing::instrument(skip_all, err)]
    pub async fn session(&self, id: i64) -> Result<Option<Session>> {
        let sql = format!("{COLUMNS} WHERE id = ?");
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, Session>(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await
        })?)
    }

    /// The session says it is still there; learns whether it was taken over.
    #[tracing::instrument(skip_all, err)]
    pub async fn heartbeat(&self, id: i64) -> Result<Beat> {
        let fresh = with_pool!(self, |p, d| {
            let sql = format!(
                "UPDATE console_sessions SET last_seen_at = {} WHERE id = ? AND ended_at IS NULL \
                 AND taken_over_by IS NULL",
                d.now
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).execute(p).await.map(|r| r.rows_affected() == 1)
        })?;
        if fresh {
            return Ok(Beat::Current);
        }
        let Some(me) = self.session(id).await? else { return Ok(Beat::Ended) };
        match me.taken_over_by {
            Some(by) => Ok(self.session(by).await?.map_or(Beat::Ended, Beat::TakenOver)),
            None => Ok(Beat::Ended),
        }
    }

    /// Ends a session (once: a session ended already keeps its first reason).
    #[tracing::instrument(skip_all, err)]
    pub async fn end_session(&self, id: i64, reason: EndReason) -> Result<()> {
        with_pool!(self, |p, d| {
            let sql = format!(
                "UPDATE console_sessions SET ended_at = {now}, last_seen_at = {now}, end_reason = ? \
                 WHERE id = ? AND ended_at IS NULL",
                now = d.now
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(reason.as_str()).bind(id).execute(p).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Each caller's attendance now, from the sessions of the last week (callers with none are
    /// absent: offline, never seen).
    #[tracing::instrument(skip_all, err)]
    pub async fn attendance(&self) -> Result<Vec<(i64, Attendance)>> {
        type Row = (i64, Option<NaiveDateTime>, Option<NaiveDateTime>);
        let rows: Vec<Row> = with_pool!(self, |p, d| {
            let sql = format!(
                "SELECT caller_id, \
                 MIN(CASE WHEN ended_at IS NULL AND taken_over_by IS NULL AND last_seen_at > {ago} \
                 THEN started_at END), \
                 MAX(COALESCE(ended_at, last_seen_at)) \
                 FROM console_sessions WHERE last_seen_at >= {ago} GROUP BY caller_id",
                ago = d.seconds_ago
            );
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(stale_secs()).bind(7 * 86_400).fetch_all(p).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(caller, online, last)| {
                let a = match online {
                    Some(since) => Attendance::Online { since: since.and_utc() },
                    None => Attendance::Offline { since: last.map(|t| t.and_utc()) },
                };
                (caller, a)
            })
            .collect())
    }

    /// The caller's open sessions, newest first.
    #[tracing::instrument(skip_all, err)]
    pub async fn open_sessions(&self, caller_id: i64) -> Result<Vec<Session>> {
        let sql = format!("{COLUMNS} WHERE caller_id = ? AND ended_at IS NULL ORDER BY id DESC");
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, Session>(sqlx::AssertSqlSafe(sql.as_str())).bind(caller_id).fetch_all(p).await
        })?)
    }

    /// Whether session `id` has ended (a newer login gave up waiting for it: what it writes now
    /// would overwrite what was typed since).
    #[tracing::instrument(skip_all, err)]
    pub async fn session_ended(&self, id: i64) -> Result<bool> {
        Ok(self.session(id).await?.is_none_or(|s| s.ended_at.is_some()))
    }
}

/// Refuses a dial from a session a newer login took over (or that ended): in the dial's
/// transaction, with the row locked (MariaDB), so the console taken over cannot dial in the
/// seconds before it notices, even racing the takeover's own write.
pub(super) async fn refuse_if_replaced(tx: &mut Tx<'_>, session: Option<i64>) -> Result<()> {
    let Some(id) = session else { return Ok(()) };
    let s: Option<Session> = with_conn!(tx, |c, d| {
        let sql = format!("{COLUMNS} WHERE id = ?{}", d.for_update);
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *c).await?
    });
    match s {
        Some(s) if s.ended_at.is_none() && s.taken_over_by.is_none() => Ok(()),
        _ => {
            Err(StoreError::SessionReplaced("you signed in elsewhere: this session no longer places calls".to_string()))
        }
    }
}
