//! Moving queued drivers from one agent to another (`calldesk assign`, the supervisor board).
//! A driver in a call, claimed by a console, or whose last call waits for its wrap-up stays
//! where they are; the rest move in queue order, in one transaction that re-checks the claim,
//! and each move is recorded in `queue_moves`.

use chrono::{DateTime, Utc};

use super::calls::{ABANDONED_AFTER, OWES_WRAPUP, WRAPUP_WINDOW};
use super::tx::{Tx, with_conn};
use super::{Result, Store, StoreError, db_time};
use crate::domain::text::plural;

/// What to move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRequest {
    pub from: i64,
    pub to: i64,
    /// At most this many (`None`: every driver that may move).
    pub count: Option<usize>,
    /// Only drivers of this city (case-insensitive).
    pub city: Option<String>,
    /// The supervisor moving them (`None`: the command line).
    pub by: Option<i64>,
}

/// What a move did: the drivers moved, and why the others stayed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoveReport {
    pub moved: Vec<String>,
    pub in_call: usize,
    pub claimed: usize,
    pub wrapup_owed: usize,
    /// Could have moved but past `count`.
    pub beyond_count: usize,
}

impl MoveReport {
    pub fn left(&self) -> usize {
        self.in_call + self.claimed + self.wrapup_owed + self.beyond_count
    }
}

/// What a move did, in words: how many moved, how many stayed and why (`limit` names the count
/// asked for: `--count` on the command line, `the count` on the board).
pub fn summary(r: &MoveReport, from: &str, to: &str, city: Option<&str>, limit: &str) -> String {
    let of = city.map_or(String::new(), |c| format!(" of {c}"));
    let mut s = if r.moved.is_empty() && r.left() == 0 {
        format!("{from} has no queued drivers{of}: nothing moved.")
    } else {
        format!("Moved {}{of} from {from} to {to}.", plural(r.moved.len(), "driver"))
    };
    let mut why = Vec::new();
    if r.in_call > 0 {
        why.push(format!("{} in a call", r.in_call));
    }
    if r.claimed > 0 {
        why.push(format!("{} being dialed (claimed by a console)", r.claimed));
    }
    if r.wrapup_owed > 0 {
        why.push(format!("{} waiting for a wrap-up", r.wrapup_owed));
    }
    if r.beyond_count > 0 {
        why.push(format!("{} beyond {limit}", r.beyond_count));
    }
    if !why.is_empty() {
        s.push_str(&format!(" {} stayed with {from}: {}.", r.left(), why.join(", ")));
    }
    s
}

/// One recorded move of a driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverMove {
    pub from: i64,
    pub to: i64,
    /// The supervisor (`None`: the command line).
    pub by: Option<i64>,
    pub at: DateTime<Utc>,
}

/// Rows moved per statement (bound parameters stay well under both backends' limits).
const CHUNK: usize = 500;

impl Store {
    /// Moves queued drivers of `req.from` to `req.to` (see the module's rules).
    #[tracing::instrument(skip_all, fields(from = req.from, to = req.to), err)]
    pub async fn move_drivers(&self, req: &MoveRequest, now: DateTime<Utc>) -> Result<MoveReport> {
        if req.from == req.to {
            return Err(StoreError::Invalid("the drivers are that agent's already: nothing to move".into()));
        }
        match self.caller(req.to).await? {
            None => return Err(StoreError::Invalid(format!("caller {} is not registered", req.to))),
            Some(c) if c.is_supervisor() => {
                return Err(StoreError::Invalid(format!(
                    "caller {} ({}) is a supervisor: drivers go to agents",
                    c.id, c.name
                )));
            }
            Some(_) => {}
        }
        super::retrying("move drivers", || self.move_once(req, now)).await
    }

    async fn move_once(&self, req: &MoveRequest, now: DateTime<Utc>) -> Result<MoveReport> {
        // The ids to lock, read first outside the transaction (MariaDB only: on SQLite the write
        // transaction holds the whole file).
        let ids: Vec<String> = if self.is_mysql() {
            let city = if req.city.is_some() { " AND LOWER(d.city) = LOWER(?)" } else { "" };
            let sql = format!(
                "SELECT q.driver_id FROM call_queue q JOIN drivers d ON d.id = q.driver_id WHERE q.caller_id = ?{city}"
            );
            let rows: Vec<(String,)> = super::with_pool!(self, |p, d| {
                let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(req.from);
                let q = if let Some(city) = &req.city { q.bind(city.trim()) } else { q };
                q.fetch_all(p).await
            })?;
            rows.into_iter().map(|(id,)| id).collect()
        } else {
            Vec::new()
        };
        let mut tx = self.begin_write().await?;
        let rows = held_drivers(&mut tx, req, &ids, now).await?;
        let mut report = MoveReport::default();
        let mut movable = Vec::new();
        for (driver, held) in rows {
            match held.as_str() {
                "call" => report.in_call += 1,
                "claimed" => report.claimed += 1,
                "wrapup" => report.wrapup_owed += 1,
                _ if req.count.is_some_and(|n| movable.len() >= n) => report.beyond_count += 1,
                _ => movable.push(driver),
            }
        }
        for chunk in movable.chunks(CHUNK) {
            move_chunk(&mut tx, req, chunk, now).await?;
        }
        tx.commit().await?;
        report.moved = movable;
        Ok(report)
    }

    /// The moves of `driver_id`, oldest first.
    #[tracing::instrument(skip_all, err)]
    pub async fn driver_moves(&self, driver_id: &str) -> Result<Vec<DriverMove>> {
        let rows: Vec<(i64, i64, Option<i64>, chrono::NaiveDateTime)> = super::with_pool!(self, |p, d| {
            sqlx::query_as(
                "SELECT from_caller, to_caller, moved_by, moved_at FROM queue_moves WHERE driver_id = ? ORDER BY id",
            )
            .bind(driver_id)
            .fetch_all(p)
            .await
        })?;
        Ok(rows.into_iter().map(|(from, to, by, at)| DriverMove { from, to, by, at: at.and_utc() }).collect())
    }
}

/// Each of `req.from`'s queued drivers (of `req.city`), in queue order, with what holds them:
/// `call`, `claimed`, `wrapup`, or `` (free to move).
/// `ids`: the agent's queued drivers as read before the transaction (to be locked).
async fn held_drivers(
    tx: &mut Tx<'_>,
    req: &MoveRequest,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>> {
    let city = if req.city.is_some() { " AND LOWER(d.city) = LOWER(?)" } else { "" };
    // Each of the agent's queued drivers, and what holds them, in queue order.
    let sql = format!(
        "SELECT q.driver_id, CASE \
         WHEN EXISTS (SELECT 1 FROM call_logs c WHERE c.driver_id = q.driver_id AND c.created_at >= ? \
           AND c.status IN ('initiated', 'ringing', 'connected') \
           AND NOT (c.provider = 'manual' AND c.id IN (SELECT call_log_id FROM feedback_drafts))) THEN 'call' \
         WHEN q.claimed_by IS NOT NULL AND q.claimed_until >= ? THEN 'claimed' \
         WHEN EXISTS (SELECT 1 FROM call_logs c WHERE c.driver_id = q.driver_id AND c.created_at >= ? \
           AND (c.feedback IS NULL OR c.feedback = '') AND c.provider IN ('telecmi', 'manual') \
           AND c.caller_id IN (SELECT id FROM callers) AND {OWES_WRAPUP}) THEN 'wrapup' \
         ELSE '' END AS held \
         FROM call_queue q JOIN drivers d ON d.id = q.driver_id WHERE q.caller_id = ?{city} \
         ORDER BY q.priority, q.due_at, q.driver_id"
    );
    // The agent's drivers' rows, then their queue rows, are locked first (MariaDB; SQLite's
    // write transaction holds the whole file) — the order a dial, a claim and an outcome take
    // them, so a move meeting a dial waits instead of deadlocking: a claim or a dial of one of
    // them waits for this move, and the read of what holds them below cannot go stale. The read
    // itself is not a locking one: it would lock the call logs it reads, which webhooks update.
    // (The ids were read before this transaction began: its snapshot starts after the locks.)
    with_conn!(tx, |c, d| {
        if !d.for_update.is_empty() {
            for chunk in ids.chunks(CHUNK) {
                let marks = vec!["?"; chunk.len()].join(", ");
                for table in ["drivers WHERE id", "call_queue WHERE driver_id"] {
                    let key = if table.starts_with("drivers") { "id" } else { "driver_id" };
                    let sql = format!("SELECT {key} FROM {table} IN ({marks}) ORDER BY {key}{}", d.for_update);
                    let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql));
                    for id in chunk {
                        q = q.bind(id);
                    }
                    q.fetch_all(&mut *c).await?;
                }
            }
        }
    });
    let rows: Vec<(String, String)> = with_conn!(tx, |c, d| {
        let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(db_time(now - ABANDONED_AFTER))
            .bind(db_time(now))
            .bind(db_time(now - WRAPUP_WINDOW))
            .bind(req.from);
        let q = if let Some(city) = &req.city { q.bind(city.trim()) } else { q };
        q.fetch_all(&mut *c).await?
    });
    Ok(rows)
}

/// Moves `chunk` (free drivers of `req.from`) to `req.to` and records each move.
async fn move_chunk(tx: &mut Tx<'_>, req: &MoveRequest, chunk: &[String], now: DateTime<Utc>) -> Result<()> {
    let marks = vec!["?"; chunk.len()].join(", ");
    // The claim is checked again: what moves is what no console holds now.
    let queue = format!(
        "UPDATE call_queue SET caller_id = ?, claimed_by = NULL, claimed_until = NULL \
         WHERE caller_id = ? AND (claimed_by IS NULL OR claimed_until < ?) AND driver_id IN ({marks})"
    );
    let drivers = format!("UPDATE drivers SET assigned_to = ? WHERE id IN ({marks})");
    let log = format!(
        "INSERT INTO queue_moves (driver_id, from_caller, to_caller, moved_by, moved_at) VALUES {}",
        vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ")
    );
    with_conn!(tx, |c, d| {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(queue)).bind(req.to).bind(req.from).bind(db_time(now));
        for id in chunk {
            q = q.bind(id);
        }
        let moved = q.execute(&mut *c).await?.rows_affected();
        if moved != chunk.len() as u64 {
            // Cannot happen under the rows' locks; if it does, nothing of this move is kept.
            return Err(StoreError::Invalid(format!(
                "{} of {} drivers changed while being moved; nothing moved: try again",
                chunk.len() as u64 - moved,
                chunk.len()
            )));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(drivers)).bind(req.to);
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *c).await?;
        let mut q = sqlx::query(sqlx::AssertSqlSafe(log));
        for id in chunk {
            q = q.bind(id).bind(req.from).bind(req.to).bind(req.by).bind(db_time(now));
        }
        q.execute(&mut *c).await?;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_moved_and_why_the_rest_stayed() {
        let r = MoveReport {
            moved: vec!["D1".into(), "D2".into()],
            in_call: 1,
            claimed: 0,
            wrapup_owed: 2,
            beyond_count: 4,
        };
        assert_eq!(
            summary(&r, "Pooja (3)", "Ravi (5)", Some("Pune"), "--count"),
            "Moved 2 drivers of Pune from Pooja (3) to Ravi (5). 7 stayed with Pooja (3): 1 in a call, \
             2 waiting for a wrap-up, 4 beyond --count."
        );
        assert_eq!(
            summary(&MoveReport::default(), "Pooja (3)", "Ravi (5)", None, "--count"),
            "Pooja (3) has no queued drivers: nothing moved."
        );
        let one = MoveReport { moved: vec!["D1".into()], beyond_count: 1, ..MoveReport::default() };
        assert_eq!(
            summary(&one, "A (1)", "B (2)", None, "the count"),
            "Moved 1 driver from A (1) to B (2). 1 stayed with A (1): 1 beyond the count."
        );
    }
}
