//! Sessions (`console_sessions`): opened at a console's or board's start, kept fresh by its
//! heartbeat, ended with a reason. Opening an agent's console takes over the caller's open one
//! in the same transaction; the dial's transaction refuses a session taken over
//! ([`refuse_if_replaced`]), so two consoles of one caller never both dial.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::tx::{Tx, with_conn};
use super::{InsertedId, Result, Store, StoreError, db_time, with_pool};
use crate::domain::session::{Attendance, EndReason, STALE_AFTER, SessionKind, is_fresh};

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
    /// Ended already (by this process, or marked lost by a newer login while this one was silent).
    Ended,
}

const COLUMNS: &str = "SELECT id, caller_id, kind, origin, host, pid, started_at, last_seen_at, ended_at, end_reason, \
     taken_over_by FROM console_sessions";

impl Store {
    /// Opens a session; for an agent's console, takes over the caller's open consoles: a fresh
    /// one is marked (it ends itself at its next heartbeat, saving its draft), a silent one is
    /// ended as lost. Returns the new session and those it took over.
    #[tracing::instrument(skip_all, fields(caller = new.caller_id), err)]
    pub async fn open_session(&self, new: &NewSession, now: DateTime<Utc>) -> Result<(Session, Vec<Session>)> {
        let mut tx = self.begin_write().await?;
        let id = with_conn!(tx, |c, d| {
            sqlx::query(
                "INSERT INTO console_sessions (caller_id, kind, origin, host, pid, started_at, last_seen_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(new.caller_id)
            .bind(new.kind.as_str())
            .bind(&new.origin)
            .bind(&new.host)
            .bind(i64::from(new.pid))
            .bind(db_time(now))
            .bind(db_time(now))
            .execute(&mut *c)
            .await?
            .inserted_id()
        });
        let mut replaced = Vec::new();
        if new.kind.takes_over() {
            let open = format!(
                "{COLUMNS} WHERE caller_id = ? AND kind = 'console' AND ended_at IS NULL AND taken_over_by IS NULL \
                 AND id <> ?"
            );
            let open: Vec<Session> = with_conn!(tx, |c, d| {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{open}{}", d.for_update)))
                    .bind(new.caller_id)
                    .bind(id)
                    .fetch_all(&mut *c)
                    .await?
            });
            for s in open {
                let lost = !is_fresh(s.last_seen(), now);
                with_conn!(tx, |c, d| {
                    sqlx::query(
                        "UPDATE console_sessions SET taken_over_by = ?, \
                         ended_at = CASE WHEN ? THEN last_seen_at ELSE ended_at END, \
                         end_reason = CASE WHEN ? THEN ? ELSE end_reason END WHERE id = ?",
                    )
                    .bind(id)
                    .bind(lost)
                    .bind(lost)
                    .bind(EndReason::Lost.as_str())
                    .bind(s.id)
                    .execute(&mut *c)
                    .await?;
                });
                replaced.push(s);
            }
        }
        tx.commit().await?;
        let session = self.session(id).await?.ok_or_else(|| StoreError::NotFound(format!("session {id} vanished")))?;
        let mut taken = Vec::new();
        for s in replaced {
            taken.push(self.session(s.id).await?.unwrap_or(s));
        }
        Ok((session, taken))
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
    pub async fn heartbeat(&self, id: i64, now: DateTime<Utc>) -> Result<Beat> {
        let fresh = with_pool!(self, |p, d| {
            sqlx::query(
                "UPDATE console_sessions SET last_seen_at = ? WHERE id = ? AND ended_at IS NULL \
                 AND taken_over_by IS NULL",
            )
            .bind(db_time(now))
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)
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
    pub async fn end_session(&self, id: i64, reason: EndReason, now: DateTime<Utc>) -> Result<()> {
        with_pool!(self, |p, d| {
            sqlx::query(
                "UPDATE console_sessions SET ended_at = ?, last_seen_at = ?, end_reason = ? \
                 WHERE id = ? AND ended_at IS NULL",
            )
            .bind(db_time(now))
            .bind(db_time(now))
            .bind(reason.as_str())
            .bind(id)
            .execute(p)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Each caller's attendance at `now` from the sessions of the last week (callers with none
    /// are absent: offline, never seen).
    #[tracing::instrument(skip_all, err)]
    pub async fn attendance(&self, now: DateTime<Utc>) -> Result<Vec<(i64, Attendance)>> {
        type Row = (i64, Option<NaiveDateTime>, Option<NaiveDateTime>);
        let fresh_since = db_time(now - STALE_AFTER);
        let week = db_time(now - chrono::Duration::days(7));
        let rows: Vec<Row> = with_pool!(self, |p, d| {
            sqlx::query_as(
                "SELECT caller_id, \
                 MIN(CASE WHEN ended_at IS NULL AND taken_over_by IS NULL AND last_seen_at > ? THEN started_at END), \
                 MAX(COALESCE(ended_at, last_seen_at)) \
                 FROM console_sessions WHERE last_seen_at >= ? GROUP BY caller_id",
            )
            .bind(fresh_since)
            .bind(week)
            .fetch_all(p)
            .await
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

    /// The caller's open sessions of `kind` (newest first).
    #[tracing::instrument(skip_all, err)]
    pub async fn open_sessions(&self, caller_id: i64) -> Result<Vec<Session>> {
        let sql = format!("{COLUMNS} WHERE caller_id = ? AND ended_at IS NULL ORDER BY id DESC");
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, Session>(sqlx::AssertSqlSafe(sql.as_str())).bind(caller_id).fetch_all(p).await
        })?)
    }
}

/// Refuses a dial from a session a newer login took over (or that ended): in the dial's
/// transaction, so the console taken over cannot dial in the seconds before it notices.
pub(super) async fn refuse_if_replaced(tx: &mut Tx<'_>, session: Option<i64>) -> Result<()> {
    let Some(id) = session else { return Ok(()) };
    let sql = format!("{COLUMNS} WHERE id = ?");
    let s: Option<Session> =
        with_conn!(tx, |c, d| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *c).await?);
    match s {
        Some(s) if s.ended_at.is_none() && s.taken_over_by.is_none() => Ok(()),
        _ => {
            Err(StoreError::SessionReplaced("you signed in elsewhere: this session no longer places calls".to_string()))
        }
    }
}
