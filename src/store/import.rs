//! The bulk driver import. Rows are staged on the import's own connection (temporary tables, in
//! multi-row INSERTs) as the file is read; repeats within the file are refused as they arrive by
//! the staging table's unique keys, then the checks against the database and the merge into
//! `drivers` and `call_queue` run as set-based statements in one transaction. Memory does not
//! grow with the file, and a failure or a kill leaves nothing half-loaded.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use futures::{Stream, StreamExt, TryStreamExt};
use sqlx::{AssertSqlSafe, MySqlConnection};

use super::tx::{Conn, Tx, with_conn};
use super::{ImportOutcome, Result, Store, db_time};
use crate::domain::{DO_NOT_CALL_REASON, Driver, WRONG_NUMBER_REASON};

/// Rows per multi-row INSERT: 10 parameters a row stays far under SQLite's 32766 bound parameters
/// and MySQL's 65535, and a statement (~200 kB) under MySQL's `max_allowed_packet` (16 MB).
pub const ROWS_PER_INSERT: usize = 1000;

/// Columns of a staged row, in the order they are bound.
const STAGED_COLUMNS: usize = 10;

/// A part of an import file, in line order.
#[derive(Debug, Default)]
pub struct ImportBatch {
    /// Rows that passed the checks made on the row alone, with their line.
    pub rows: Vec<(u64, Driver)>,
    /// Lines refused by those checks, and why.
    pub refused: Vec<(u64, String)>,
}

/// SQL of the import that differs between the backends.
struct ImportSql {
    setup: &'static [&'static str],
    teardown: &'static [&'static str],
    insert_rows: &'static str,
    insert_errors: &'static str,
    /// The rows whose mobile belongs to another driver in the database (those the file also holds
    /// are then let go: the file moves them to another number).
    find_taken: &'static str,
    taken_errors: &'static str,
    prior: &'static str,
    upsert: &'static str,
    reassign: &'static str,
    /// A driver already queued whom the file gives a zone keeps it beside their queue row too.
    rezone: &'static str,
    /// The do-not-call reason of a new number of a driver who asked not to be called.
    asked_reason: &'static str,
}

// `prior` says what the row found in `drivers` before the merge: NULL none, 1 an open driver, 2 a
// closed or finished one to reopen, 3 a finished one to keep out of the queue, 4 one who asked not
// to be called (never reopened nor queued, `--requeue` or not).
const SQLITE_IMPORT: ImportSql = ImportSql {
    setup: &[
        "DROP TABLE IF EXISTS temp.cd_import_rows",
        "DROP TABLE IF EXISTS temp.cd_import_errors",
        "DROP TABLE IF EXISTS temp.cd_import_owners",
        // The staged rows live in a file, not in memory, whatever the build's default; page
        // caches of a fixed size (above SQLite's 2 MiB: fewer spills) keep memory flat.
        "PRAGMA temp_store = FILE",
        "PRAGMA main.cache_size = -8192",
        "PRAGMA temp.cache_size = -8192",
        "CREATE TEMP TABLE cd_import_rows (line INTEGER PRIMARY KEY, id_key TEXT NOT NULL UNIQUE, \
         id TEXT NOT NULL, name TEXT NOT NULL, mobile TEXT NOT NULL UNIQUE, tmid TEXT, city TEXT, state TEXT, \
         assigned_to INTEGER, timezone TEXT, prior INTEGER)",
        "CREATE TEMP TABLE cd_import_errors (line INTEGER PRIMARY KEY, reason TEXT NOT NULL)",
        "CREATE TEMP TABLE cd_import_owners (line INTEGER NOT NULL, mobile TEXT NOT NULL, owner TEXT NOT NULL, \
         owner_key TEXT NOT NULL)",
    ],
    teardown: &[
        "DROP TABLE IF EXISTS temp.cd_import_rows",
        "DROP TABLE IF EXISTS temp.cd_import_errors",
        "DROP TABLE IF EXISTS temp.cd_import_owners",
        "PRAGMA main.cache_size = -2000",
        "PRAGMA temp_store = DEFAULT",
    ],
    insert_rows: "INSERT OR IGNORE INTO cd_import_rows \
         (line, id_key, id, name, mobile, tmid, city, state, assigned_to, timezone) VALUES ",
    insert_errors: "INSERT OR IGNORE INTO cd_import_errors (line, reason) VALUES ",
    // CROSS JOIN keeps the file's rows the outer loop (SQLite has no statistics for them): the
    // cost follows the file, not the size of `drivers`.
    find_taken: "INSERT INTO cd_import_owners (line, mobile, owner, owner_key) \
         SELECT s.line, s.mobile, o.id, LOWER(o.id) FROM cd_import_rows s CROSS JOIN drivers o \
         WHERE o.mobile = s.mobile AND LOWER(o.id) <> s.id_key",
    taken_errors: "INSERT OR IGNORE INTO cd_import_errors (line, reason) \
         SELECT line, 'mobile ' || mobile || ' already belongs to driver ' || MIN(owner) \
         FROM cd_import_owners GROUP BY line, mobile",
    prior: "UPDATE cd_import_rows SET prior = CASE WHEN e.closed_reason IS NULL AND e.finished_at IS NULL THEN 1 \
         WHEN e.closed_reason = ? THEN 4 WHEN ? OR (e.closed_reason = ? AND e.mobile <> cd_import_rows.mobile) THEN 2 ELSE 3 END \
         FROM drivers e WHERE e.id = cd_import_rows.id",
    upsert: "INSERT INTO drivers (id, name, mobile, tmid, city, state, assigned_to, created_at, timezone) \
         SELECT id, name, mobile, tmid, city, state, assigned_to, ?, timezone FROM cd_import_rows WHERE true \
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, mobile = excluded.mobile, tmid = excluded.tmid, \
         city = excluded.city, state = excluded.state, assigned_to = excluded.assigned_to, \
         timezone = COALESCE(excluded.timezone, drivers.timezone)",
    reassign: "UPDATE call_queue SET caller_id = s.assigned_to, claimed_by = NULL, claimed_until = NULL \
         FROM cd_import_rows s WHERE call_queue.driver_id = s.id AND s.assigned_to IS NOT NULL \
         AND (s.prior IS NULL OR s.prior < 3) AND call_queue.caller_id <> s.assigned_to",
    rezone: "UPDATE call_queue SET timezone = s.timezone FROM cd_import_rows s \
         WHERE call_queue.driver_id = s.id AND s.timezone IS NOT NULL AND call_queue.timezone <> s.timezone",
    asked_reason: "'driver ' || s.id || ' asked not to be called; number from an import'",
};

// MariaDB cannot open one temporary table twice in a statement: no statement below does.
const MYSQL_IMPORT: ImportSql = ImportSql {
    setup: &[
        "DROP TEMPORARY TABLE IF EXISTS cd_import_rows, cd_import_errors, cd_import_owners",
        "CREATE TEMPORARY TABLE cd_import_rows (line BIGINT NOT NULL PRIMARY KEY, \
         id_key VARCHAR(100){ID_COLL} NOT NULL, id VARCHAR(50){ID_COLL} NOT NULL, name VARCHAR(255) NOT NULL, \
         mobile VARCHAR(20){MOBILE_COLL} NOT NULL, tmid VARCHAR(50), \
         city VARCHAR(100), state VARCHAR(100), assigned_to INT, timezone VARCHAR(64), prior INT, \
         UNIQUE KEY (id_key), UNIQUE KEY (mobile)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        "CREATE TEMPORARY TABLE cd_import_errors (line BIGINT NOT NULL PRIMARY KEY, reason TEXT NOT NULL) \
         ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        "CREATE TEMPORARY TABLE cd_import_owners (line BIGINT NOT NULL, mobile VARCHAR(20){MOBILE_COLL} NOT NULL, \
         owner VARCHAR(50){ID_COLL} NOT NULL, owner_key VARCHAR(100){ID_COLL} NOT NULL, KEY (owner_key), KEY (line)) \
         ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    ],
    teardown: &["DROP TEMPORARY TABLE IF EXISTS cd_import_rows, cd_import_errors, cd_import_owners"],
    insert_rows: "INSERT IGNORE INTO cd_import_rows \
         (line, id_key, id, name, mobile, tmid, city, state, assigned_to, timezone) VALUES ",
    insert_errors: "INSERT IGNORE INTO cd_import_errors (line, reason) VALUES ",
    find_taken: "INSERT INTO cd_import_owners (line, mobile, owner, owner_key) \
         SELECT s.line, s.mobile, o.id, LOWER(o.id) FROM cd_import_rows s JOIN drivers o ON o.mobile = s.mobile \
         WHERE LOWER(o.id) <> s.id_key",
    taken_errors: "INSERT IGNORE INTO cd_import_errors (line, reason) \
         SELECT line, CONCAT('mobile ', mobile, ' already belongs to driver ', MIN(owner)) \
         FROM cd_import_owners GROUP BY line, mobile",
    prior: "UPDATE cd_import_rows s JOIN drivers e ON e.id = s.id SET s.prior = CASE \
         WHEN e.closed_reason IS NULL AND e.finished_at IS NULL THEN 1 \
         WHEN e.closed_reason = ? THEN 4 \
         WHEN ? OR (e.closed_reason = ? AND e.mobile <> s.mobile) THEN 2 ELSE 3 END",
    upsert: "INSERT INTO drivers (id, name, mobile, tmid, city, state, assigned_to, created_at, timezone) \
         SELECT id, name, mobile, tmid, city, state, assigned_to, ?, timezone FROM cd_import_rows \
         ON DUPLICATE KEY UPDATE name = VALUES(name), mobile = VALUES(mobile), tmid = VALUES(tmid), \
         city = VALUES(city), state = VALUES(state), assigned_to = VALUES(assigned_to), \
         timezone = COALESCE(VALUES(timezone), drivers.timezone)",
    reassign: "UPDATE call_queue q JOIN cd_import_rows s ON q.driver_id = s.id \
         SET q.caller_id = s.assigned_to, q.claimed_by = NULL, q.claimed_until = NULL \
         WHERE s.assigned_to IS NOT NULL AND (s.prior IS NULL OR s.prior < 3) AND q.caller_id <> s.assigned_to",
    rezone: "UPDATE call_queue q JOIN cd_import_rows s ON q.driver_id = s.id SET q.timezone = s.timezone \
         WHERE s.timezone IS NOT NULL AND q.timezone <> s.timezone",
    asked_reason: "CONCAT('driver ', s.id, ' asked not to be called; number from an import')",
};

/// The zone a queue row keeps for an imported driver ('' = the team's): the file's, else (a row
/// without one keeps the driver's zone) the stored driver's; a new driver's is the file's.
const QUEUE_ZONE: &str = "CASE WHEN prior IS NULL OR timezone IS NOT NULL THEN COALESCE(timezone, '') \
     ELSE COALESCE((SELECT dz.timezone FROM drivers dz WHERE dz.id = cd_import_rows.id), '') END";

const OWNERS_IN_FILE: &str = "DELETE FROM cd_import_owners WHERE owner_key IN (SELECT id_key FROM cd_import_rows)";
const DROP_TAKEN: &str = "DELETE FROM cd_import_rows WHERE line IN (SELECT line FROM cd_import_owners)";
const COUNTS: &str = "SELECT COUNT(*), COUNT(prior), COUNT(CASE WHEN prior = 2 THEN 1 END), \
     COUNT(CASE WHEN prior = 3 AND assigned_to IS NOT NULL THEN 1 END), COUNT(CASE WHEN prior = 4 THEN 1 END) \
     FROM cd_import_rows";
/// A new number of a driver who asked not to be called goes on the do-not-call list (before the
/// merge writes it over the old one).
const LIST_ASKED: &str = "{insert_ignore} INTO dnc_numbers (number, reason, added_by, added_by_name, added_at) \
     SELECT s.mobile, {reason}, NULL, 'import', ? FROM cd_import_rows s JOIN drivers e ON e.id = s.id \
     WHERE s.prior = 4 AND e.mobile <> s.mobile";
const REOPEN: &str = "UPDATE drivers SET closed_reason = NULL, closed_at = NULL, finished_at = NULL, \
     finished_outcome = NULL WHERE id IN (SELECT id FROM cd_import_rows WHERE prior = 2)";

/// `(?, ?, …), (…)` for `rows` rows of `columns` parameters.
fn placeholders(rows: usize, columns: usize) -> String {
    let one = format!("({})", vec!["?"; columns].join(", "));
    vec![one; rows].join(", ")
}

/// Ids compare without case, in the file as in MariaDB's default collation.
pub(crate) fn id_key(id: &str) -> String {
    id.to_lowercase()
}

/// Why a staged row was refused, from the earlier rows holding its id or its mobile:
/// `by_id` are `(line, id_key)` and `by_mobile` `(line, id, mobile)` of staged rows.
fn repeat_reason(
    line: u64,
    d: &Driver,
    by_id: &[(i64, String)],
    by_mobile: &[(i64, String, String)],
) -> Option<String> {
    let key = id_key(&d.id);
    let earlier = |l: i64| u64::try_from(l).is_ok_and(|l| l < line);
    if let Some((first, _)) = by_id.iter().filter(|(l, k)| earlier(*l) && *k == key).min() {
        return Some(format!("duplicate id {} (first on line {first})", d.id));
    }
    by_mobile
        .iter()
        .filter(|(l, _, m)| earlier(*l) && *m == d.mobile)
        .min()
        .map(|(first, other, _)| format!("mobile {} is also driver {other}'s (line {first})", d.mobile))
}

impl Store {
    /// Imports drivers read in `batches` (in file order). A row is refused when its id (without
    /// case) or its mobile repeats an earlier loaded row's, or when its mobile belongs to another
    /// driver in the database whom the file does not give another number. Loaded drivers are
    /// inserted or updated; an assigned driver joins their caller's queue (due `now`) or moves to
    /// it; a finished or closed driver stays out of the queue unless `requeue` — except a wrong
    /// number replaced by a new one, which reopens. All of it commits at once or not at all.
    /// `on_refused` gets every refused line, in line order, just before the commit.
    #[tracing::instrument(skip_all, err)]
    pub async fn import_driver_batches(
        &self,
        batches: impl Stream<Item = ImportBatch> + Send,
        requeue: bool,
        now: DateTime<Utc>,
        mut on_refused: impl FnMut(u64, &str) + Send,
    ) -> Result<ImportOutcome> {
        let sql = if self.is_mysql() { &MYSQL_IMPORT } else { &SQLITE_IMPORT };
        let mut conn = self.acquire().await?;
        let result = import_on(&mut conn, sql, batches, requeue, db_time(now), &mut on_refused).await;
        // The connection goes back to the pool without the import's tables; if they cannot be
        // dropped, it is closed instead.
        let mut cleaned = Ok(());
        for s in sql.teardown {
            cleaned = cleaned.and(with_conn!(conn, |c, d| sqlx::query(*s).execute(&mut *c).await.map(|_| ())));
        }
        if cleaned.is_err() {
            conn.close_on_drop();
        }
        result
    }
}

/// The import on its own connection: the staging tables made, every batch staged, then merged.
async fn import_on(
    conn: &mut Conn,
    sql: &ImportSql,
    batches: impl Stream<Item = ImportBatch> + Send,
    requeue: bool,
    now: NaiveDateTime,
    on_refused: &mut (impl FnMut(u64, &str) + Send),
) -> Result<ImportOutcome> {
    create_tables(conn, sql).await?;
    // Staging: temporary tables only, so other writers are not held up meanwhile.
    let full_insert = format!("{}{}", sql.insert_rows, placeholders(ROWS_PER_INSERT, STAGED_COLUMNS));
    let mut batches = std::pin::pin!(batches);
    let mut tx = conn.begin().await?;
    while let Some(batch) = batches.next().await {
        stage(&mut tx, sql, batch, &full_insert).await?;
    }
    tx.commit().await?;

    // The merge: one write transaction.
    let mut tx = conn.begin_write().await?;
    let mut out = merge(&mut tx, sql, requeue, now).await?;
    // Listed before the commit, so that any error of the import means nothing loaded.
    out.refused = list_refused(&mut tx, on_refused).await?;
    tx.commit().await?;
    Ok(out)
}

/// The staging tables, on this connection only.
async fn create_tables(conn: &mut Conn, sql: &ImportSql) -> Result<()> {
    // The staging tables compare with `drivers` in every statement: on MySQL their text
    // columns take drivers.id's and drivers.mobile's own collations (a database from
    // another server version may have other ones than today's default).
    let (id_coll, mobile_coll) = match conn {
        Conn::MySql(c) => collations(c).await?,
        Conn::Sqlite(_) => (String::new(), String::new()),
    };
    for s in sql.setup {
        let s = s.replace("{ID_COLL}", &id_coll).replace("{MOBILE_COLL}", &mobile_coll);
        with_conn!(conn, |c, d| sqlx::query(AssertSqlSafe(s)).execute(&mut *c).await.map(|_| ()))?;
    }
    Ok(())
}

/// ` COLLATE …` of `drivers.id` and of `drivers.mobile` (empty when the server names none).
async fn collations(conn: &mut MySqlConnection) -> Result<(String, String)> {
    let c: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'drivers' AND COLUMN_NAME IN ('id', 'mobile')",
    )
    .fetch_all(&mut *conn)
    .await?;
    let of = |name: &str| {
        c.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, coll)| coll.clone())
            .filter(|coll| coll.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .map(|coll| format!(" COLLATE {coll}"))
            .unwrap_or_default()
    };
    Ok((of("id"), of("mobile")))
}

/// Stages one batch: its rows (a repeat of an earlier row's id or mobile is refused, saying
/// whose) and the lines refused.
async fn stage(tx: &mut Tx<'_>, sql: &ImportSql, batch: ImportBatch, full_insert: &str) -> Result<()> {
    let mut refused = batch.refused;
    for chunk in batch.rows.chunks(ROWS_PER_INSERT) {
        let staged = insert_rows(tx, sql, chunk, full_insert).await?;
        if usize::try_from(staged).is_ok_and(|n| n == chunk.len()) {
            continue;
        }
        // Some rows repeated an earlier row's id or mobile: say whose, by line.
        refused.extend(repeats(tx, chunk).await?);
    }
    for chunk in refused.chunks(ROWS_PER_INSERT) {
        let text = format!("{}{}", sql.insert_errors, placeholders(chunk.len(), 2));
        with_conn!(tx, |c, d| {
            let mut q = sqlx::query(AssertSqlSafe(text)).persistent(false);
            for (line, reason) in chunk {
                q = q.bind(i64::try_from(*line).unwrap_or(i64::MAX)).bind(reason);
            }
            q.execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// Stages up to [`ROWS_PER_INSERT`] rows in one statement; how many were staged (a repeat is not).
async fn insert_rows(tx: &mut Tx<'_>, sql: &ImportSql, chunk: &[(u64, Driver)], full_insert: &str) -> Result<u64> {
    // Only the full-size statement is worth keeping prepared.
    let full = chunk.len() == ROWS_PER_INSERT;
    let text = if full {
        full_insert.to_string()
    } else {
        format!("{}{}", sql.insert_rows, placeholders(chunk.len(), STAGED_COLUMNS))
    };
    Ok(with_conn!(tx, |c, d| {
        let mut q = sqlx::query(AssertSqlSafe(text)).persistent(full);
        for (line, d) in chunk {
            q = q
                .bind(i64::try_from(*line).unwrap_or(i64::MAX))
                .bind(id_key(&d.id))
                .bind(&d.id)
                .bind(&d.name)
                .bind(&d.mobile)
                .bind(&d.tmid)
                .bind(&d.city)
                .bind(&d.state)
                .bind(d.assigned_to)
                .bind(&d.timezone);
        }
        q.execute(&mut *c).await?.rows_affected()
    }))
}

/// The rows of `chunk` that were not staged, each with why: whose id or mobile it repeats.
async fn repeats(tx: &mut Tx<'_>, chunk: &[(u64, Driver)]) -> Result<Vec<(u64, String)>> {
    let (first, last) = (chunk[0].0, chunk[chunk.len() - 1].0);
    let kept: HashSet<i64> = with_conn!(tx, |c, d| {
        sqlx::query_as::<_, (i64,)>("SELECT line FROM cd_import_rows WHERE line BETWEEN ? AND ?")
            .bind(i64::try_from(first).unwrap_or(i64::MAX))
            .bind(i64::try_from(last).unwrap_or(i64::MAX))
            .fetch_all(&mut *c)
            .await?
    })
    .into_iter()
    .map(|(l,)| l)
    .collect();
    let lost: Vec<&(u64, Driver)> =
        chunk.iter().filter(|(l, _)| !kept.contains(&i64::try_from(*l).unwrap_or(-1))).collect();
    let marks = vec!["?"; lost.len()].join(", ");
    let (by_id, by_mobile) = with_conn!(tx, |c, d| {
        let mut q = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(format!(
            "SELECT line, id_key FROM cd_import_rows WHERE id_key IN ({marks})"
        )))
        .persistent(false);
        for (_, d) in &lost {
            q = q.bind(id_key(&d.id));
        }
        let by_id = q.fetch_all(&mut *c).await?;
        let mut q = sqlx::query_as::<_, (i64, String, String)>(AssertSqlSafe(format!(
            "SELECT line, id, mobile FROM cd_import_rows WHERE mobile IN ({marks})"
        )))
        .persistent(false);
        for (_, d) in &lost {
            q = q.bind(&d.mobile);
        }
        (by_id, q.fetch_all(&mut *c).await?)
    });
    Ok(lost
        .into_iter()
        .map(|(line, d)| {
            let reason = match repeat_reason(*line, d, &by_id, &by_mobile) {
                Some(r) => r,
                // Equal only under the database's collation (accents, say).
                None => format!("id {} or mobile {} repeats an earlier row's", d.id, d.mobile),
            };
            (*line, reason)
        })
        .collect())
}

/// The merge of the staged rows into `drivers` and `call_queue`; what it did (all but `refused`).
async fn merge(tx: &mut Tx<'_>, sql: &ImportSql, requeue: bool, now: NaiveDateTime) -> Result<ImportOutcome> {
    let (total, existed, reopen, kept, asked) = with_conn!(tx, |c, d| {
        if sqlx::query(sql.find_taken).execute(&mut *c).await?.rows_affected() > 0 {
            sqlx::query(OWNERS_IN_FILE).execute(&mut *c).await?;
            sqlx::query(sql.taken_errors).execute(&mut *c).await?;
            sqlx::query(DROP_TAKEN).execute(&mut *c).await?;
        }
        sqlx::query(sql.prior)
            .bind(DO_NOT_CALL_REASON)
            .bind(requeue)
            .bind(WRONG_NUMBER_REASON)
            .execute(&mut *c)
            .await?;
        let counts: (i64, i64, i64, i64, i64) = sqlx::query_as(COUNTS).fetch_one(&mut *c).await?;
        counts
    });
    let (queued, pooled) = with_conn!(tx, |c, d| {
        if asked > 0 {
            let list = LIST_ASKED.replace("{insert_ignore}", d.insert_ignore).replace("{reason}", sql.asked_reason);
            sqlx::query(AssertSqlSafe(list)).bind(now).execute(&mut *c).await?;
        }
        if reopen > 0 {
            sqlx::query(REOPEN).execute(&mut *c).await?;
        }
        sqlx::query(sql.upsert).bind(now).execute(&mut *c).await?;
        // An empty assigned_to queues the driver in the team pool (a driver queued with an agent
        // already stays theirs).
        let queue = |owner: &str, which: &str| {
            format!(
                "{} INTO call_queue (driver_id, caller_id, priority, due_at, attempts, timezone) \
                 SELECT id, {owner}, 1, ?, 0, {QUEUE_ZONE} FROM cd_import_rows \
                 WHERE assigned_to IS {which} AND (prior IS NULL OR prior < 3)",
                d.insert_ignore
            )
        };
        let assigned = sqlx::query(AssertSqlSafe(queue("assigned_to", "NOT NULL")))
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected();
        let pooled = sqlx::query(AssertSqlSafe(queue(&super::POOL.to_string(), "NULL")))
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected();
        sqlx::query(sql.reassign).execute(&mut *c).await?;
        sqlx::query(sql.rezone).execute(&mut *c).await?;
        (assigned + pooled, pooled)
    });
    Ok(ImportOutcome {
        inserted: count(total - existed),
        updated: count(existed),
        queued,
        pooled,
        kept_finished: count(kept),
        kept_do_not_call: count(asked),
        refused: 0,
    })
}

/// Hands every refused line to `on_refused`, in line order; how many there were.
async fn list_refused(tx: &mut Tx<'_>, on_refused: &mut (impl FnMut(u64, &str) + Send)) -> Result<u64> {
    Ok(with_conn!(tx, |c, d| {
        let mut refused = 0;
        let mut errors = sqlx::query_as::<_, (i64, String)>("SELECT line, reason FROM cd_import_errors ORDER BY line")
            .fetch(&mut *c);
        while let Some((line, reason)) = errors.try_next().await? {
            refused += 1;
            on_refused(count(line), &reason);
        }
        refused
    }))
}

/// A count from the database (never negative).
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}
