//! The call queue: which drivers are due to be called by whom, keyset-paged.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use super::dnc::{D_NOT_LISTED, Q_NOT_LISTED};
use super::search::{like_pattern, number_key};
use super::{Result, Store, db_time, with_pool};
use crate::domain::Schedule;

/// One due driver, with what the agent needs to see before dialing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct QueueEntry {
    pub driver_id: String,
    pub name: String,
    pub mobile: String,
    pub tmid: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    /// The driver's own IANA zone for calling hours (`None`: the team's).
    pub timezone: Option<String>,
    /// 0 = a callback the driver asked for (listed first), 1 = a fresh or retried driver.
    pub priority: i64,
    pub due_at: NaiveDateTime,
    pub attempts: i64,
    pub last_outcome: Option<String>,
    /// Outside their calling window when [`Store::due_queue`] read the queue (it lists them after
    /// every driver who may be called then). Other reads leave it `false`.
    #[sqlx(skip)]
    #[serde(skip)]
    pub waiting: bool,
    /// A driver of the team pool (no agent's yet), offered after the agent's own.
    #[sqlx(skip)]
    #[serde(skip)]
    pub pool: bool,
    /// Until when the agent snoozed the driver (see [`QueueEntry::is_snoozed`]).
    #[sqlx(default)]
    pub snoozed_until: Option<NaiveDateTime>,
}

impl QueueEntry {
    /// The agent snoozed this driver and the due time is still the snooze's (an outcome since,
    /// or a skip, gave the row another).
    pub fn is_snoozed(&self) -> bool {
        self.snoozed_until == Some(self.due_at)
    }
    pub fn cursor(&self) -> QueueCursor {
        QueueCursor {
            waiting: self.waiting,
            pool: self.pool,
            priority: self.priority,
            due_at: self.due_at,
            driver_id: self.driver_id.clone(),
        }
    }
    pub fn is_callback(&self) -> bool {
        self.priority == 0
    }
}

/// Position after which the next page starts (the last row of the previous page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCursor {
    /// The row's part of the queue: drivers who may be called come before those who wait.
    pub waiting: bool,
    /// The row is the team pool's (after the agent's own in each part).
    pub pool: bool,
    pub priority: i64,
    pub due_at: NaiveDateTime,
    pub driver_id: String,
}

impl QueueCursor {
    /// The queue's sections in order: own callable, pool callable, own waiting, pool waiting.
    fn section(&self) -> u8 {
        u8::from(self.waiting) * 2 + u8::from(self.pool)
    }
}

/// The due-queue query, over the whole queue (`idx_queue_due`) or over the drivers of one zone
/// (`zone`, `idx_queue_zone`): its order is exactly the index's and the cursor is an index seek,
/// so a page costs the same at the bottom of a huge queue as at the top. SQLite seeks with a
/// row-value comparison; MySQL's range optimizer wants the same condition as a union of ranges.
fn due_queue_sql(mysql: bool, zone: bool, after: bool, filter: bool) -> String {
    // The hint keeps the planner on the index whose order is the page order (the upcoming view's
    // index on due time alone would need a sort here).
    let index = if zone { "idx_queue_zone" } else { "idx_queue_due" };
    let hint =
        if mysql { format!("call_queue q FORCE INDEX ({index})") } else { format!("call_queue q INDEXED BY {index}") };
    let columns = QUEUE_COLUMNS.replacen("call_queue q", &hint, 1);
    let in_zone = if zone { " AND q.timezone = ?" } else { "" };
    // A driver whose number is on the do-not-call list is skipped: one primary-key probe per row
    // read off the index, and removing the number brings them back.
    let mut sql = format!(
        "{columns} WHERE q.caller_id = ?{in_zone} AND q.due_at <= ? \
         AND (q.claimed_by IS NULL OR q.claimed_by = ? OR q.claimed_until < ?) AND {D_NOT_LISTED}"
    );
    if after && mysql {
        sql.push_str(
            " AND (q.priority > ? OR (q.priority = ? AND q.due_at > ?) OR (q.priority = ? AND q.due_at = ? AND q.driver_id > ?))",
        );
    } else if after {
        sql.push_str(" AND (q.priority, q.due_at, q.driver_id) > (?, ?, ?)");
    }
    if filter {
        sql.push_str(" AND (d.name LIKE ? ESCAPE '!' OR d.mobile LIKE ? ESCAPE '!' OR d.tmid LIKE ? ESCAPE '!')");
    }
    sql.push_str(" ORDER BY q.priority, q.due_at, q.driver_id LIMIT ?");
    sql
}

/// The drivers of `zones` zones in the queue's order: each zone's page (an index seek, at most
/// `limit` rows) merged, so the sort holds at most `zones` pages whatever the queue's size.
fn zones_sql(mysql: bool, zones: usize, after: bool, filter: bool) -> String {
    let one = due_queue_sql(mysql, true, after, filter);
    if zones == 1 {
        return one;
    }
    let arms: Vec<String> = (0..zones).map(|i| format!("SELECT * FROM ({one}) z{i}")).collect();
    format!("SELECT * FROM ({}) u ORDER BY u.priority, u.due_at, u.driver_id LIMIT ?", arms.join(" UNION ALL "))
}

/// `call_queue.caller_id` of the team pool: drivers imported with an empty `assigned_to`. Every
/// agent's queue offers them after the agent's own; dialing one makes them that agent's.
pub const POOL: i64 = 0;

/// The most zones read off the queue's index (IANA knows about 600).
const MAX_ZONES: usize = 500;

/// Queue counts stop here: past it the console shows "10000+" (an exact count of a huge queue
/// would cost a scan on every reload).
pub const COUNT_CAP: i64 = 10_000;

const QUEUE_COLUMNS: &str = "SELECT q.driver_id, d.name, d.mobile, d.tmid, d.city, d.state, d.timezone, q.priority, q.due_at, \
     q.attempts, q.last_outcome, q.snoozed_until FROM call_queue q JOIN drivers d ON d.id = q.driver_id";

impl Store {
    /// Up to `limit` drivers due for `caller` at `now`: first those whose calling window
    /// (`schedule`, in each driver's zone) is open now, then those who wait for it (marked
    /// [`QueueEntry::waiting`]); in each part callbacks first, then by due time. The page after
    /// `after`. `filter` matches name, mobile or TMID anywhere. Drivers claimed by another console
    /// (claim not yet expired) are left out.
    ///
    /// The zones of the caller's queue are read first (one index seek each); when they are all on
    /// one side of the window the queue is one index walk, else each part merges its zones' walks.
    #[tracing::instrument(skip_all, err)]
    pub async fn due_queue(
        &self,
        caller: i64,
        now: DateTime<Utc>,
        schedule: &Schedule,
        after: Option<&QueueCursor>,
        limit: u32,
        filter: Option<&str>,
    ) -> Result<Vec<QueueEntry>> {
        // A number is matched by its digits, as the screen shows it or as stored (`+91 98000
        // 00012` finds `919800000012`); names and TMIDs by the text.
        let pattern = filter.map(str::trim).filter(|f| !f.is_empty()).map(|f| {
            let mobile = number_key(f).map_or_else(|| like_pattern(f), |k| like_pattern(&k));
            (like_pattern(f), mobile)
        });
        // (owner, pool, waiting, the zones of that part; None = the owner's whole queue), in the
        // queue's order: the agent's callable drivers, the pool's, then those who wait.
        let mut parts = Vec::new();
        for (owner, pool) in [(caller, false), (POOL, true)] {
            let (open, closed): (Vec<String>, Vec<String>) =
                self.queue_zones(owner).await?.into_iter().partition(|z| schedule.check(now, Some(z)).is_ok());
            if open.is_empty() || closed.is_empty() {
                if !open.is_empty() || !closed.is_empty() {
                    parts.push((owner, pool, open.is_empty(), None));
                }
            } else {
                parts.push((owner, pool, false, Some(open)));
                parts.push((owner, pool, true, Some(closed)));
            }
        }
        parts.sort_by_key(|(_, pool, waiting, _)| u8::from(*waiting) * 2 + u8::from(*pool));
        let mut rows: Vec<QueueEntry> = Vec::new();
        for (owner, pool, waiting, zones) in parts {
            let section = u8::from(waiting) * 2 + u8::from(pool);
            let after = match after {
                // The page starts past this part.
                Some(c) if c.section() > section => continue,
                Some(c) if c.section() == section => Some(c),
                _ => None,
            };
            let left = limit.saturating_sub(u32::try_from(rows.len()).unwrap_or(u32::MAX));
            if left == 0 {
                break;
            }
            let mut part = self.due_part((owner, caller), now, zones.as_deref(), after, left, pattern.as_ref()).await?;
            part.iter_mut().for_each(|e| {
                e.waiting = waiting;
                e.pool = pool;
            });
            rows.append(&mut part);
        }
        Ok(rows)
    }

    /// The zones of `caller`'s queued drivers ('' = the team's), in the index's order.
    async fn queue_zones(&self, caller: i64) -> Result<Vec<String>> {
        let index = if self.is_mysql() { "FORCE INDEX (idx_queue_zone)" } else { "INDEXED BY idx_queue_zone" };
        let first = format!("SELECT timezone FROM call_queue {index} WHERE caller_id = ? ORDER BY timezone LIMIT 1");
        let next = format!(
            "SELECT timezone FROM call_queue {index} WHERE caller_id = ? AND timezone > ? ORDER BY timezone LIMIT 1"
        );
        let mut zones: Vec<String> = Vec::new();
        while zones.len() < MAX_ZONES {
            let row: Option<(String,)> = with_pool!(self, |p, d| {
                let q = match zones.last() {
                    None => sqlx::query_as(sqlx::AssertSqlSafe(first.as_str())).bind(caller),
                    Some(z) => sqlx::query_as(sqlx::AssertSqlSafe(next.as_str())).bind(caller).bind(z.as_str()),
                };
                q.fetch_optional(p).await
            })?;
            let Some((zone,)) = row else { break };
            zones.push(zone);
        }
        Ok(zones)
    }

    /// One part of the due queue of `owner` (an agent, or the pool) as `caller` sees it (their own
    /// claims included): the whole queue (`zones` None) or the drivers of `zones`.
    async fn due_part(
        &self,
        (owner, caller): (i64, i64),
        now: DateTime<Utc>,
        zones: Option<&[String]>,
        after: Option<&QueueCursor>,
        limit: u32,
        pattern: Option<&(String, String)>,
    ) -> Result<Vec<QueueEntry>> {
        let now = db_time(now);
        let mysql = self.is_mysql();
        let arms: Vec<Option<&str>> = match zones {
            None => vec![None],
            Some(z) => z.iter().map(|z| Some(z.as_str())).collect(),
        };
        let sql = match zones {
            None => due_queue_sql(mysql, false, after.is_some(), pattern.is_some()),
            Some(z) => zones_sql(mysql, z.len(), after.is_some(), pattern.is_some()),
        };
        let rows = with_pool!(self, |p, d| {
            let mut q = sqlx::query_as::<_, QueueEntry>(sqlx::AssertSqlSafe(sql.as_str()));
            for zone in &arms {
                q = q.bind(owner);
                if let Some(z) = zone {
                    q = q.bind(*z);
                }
                q = q.bind(now).bind(caller).bind(now);
                if let Some(c) = after {
                    q = if mysql {
                        q.bind(c.priority)
                            .bind(c.priority)
                            .bind(c.due_at)
                            .bind(c.priority)
                            .bind(c.due_at)
                            .bind(c.driver_id.as_str())
                    } else {
                        q.bind(c.priority).bind(c.due_at).bind(c.driver_id.as_str())
                    };
                }
                if let Some((text, mobile)) = pattern {
                    q = q.bind(text.as_str()).bind(mobile.as_str()).bind(text.as_str());
                }
                q = q.bind(i64::from(limit));
            }
            if arms.len() > 1 {
                q = q.bind(i64::from(limit));
            }
            q.fetch_all(p).await
        })?;
        Ok(rows)
    }

    /// The driver's call attempts so far, if they are in the queue.
    #[tracing::instrument(skip_all, err)]
    pub async fn queue_attempts(&self, driver_id: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT attempts FROM call_queue WHERE driver_id = ?")
                .bind(driver_id)
                .fetch_optional(p)
                .await
        })?;
        Ok(row.map(|(a,)| a))
    }

    /// (due now, queued in all) for `caller`, each counted up to [`COUNT_CAP`] + 1 (shown as
    /// "10000+"); drivers on the do-not-call list are not counted.
    #[tracing::instrument(skip_all, err)]
    pub async fn queue_counts(&self, caller: i64, now: DateTime<Utc>) -> Result<(i64, i64)> {
        let now = db_time(now);
        // Each count stops at COUNT_CAP + 1 rows: its cost is bounded whatever the queue's size.
        let cap = COUNT_CAP + 1;
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM call_queue q WHERE q.caller_id IN (?, ?) AND q.due_at <= ? \
             AND {Q_NOT_LISTED} LIMIT {cap}) due_rows), \
             (SELECT COUNT(*) FROM (SELECT 1 FROM call_queue q WHERE q.caller_id IN (?, ?) AND {Q_NOT_LISTED} \
             LIMIT {cap}) all_rows)"
        );
        // The team pool's drivers are offered to every agent: they count as theirs.
        let row: (i64, i64) = with_pool!(self, |p, d| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(caller)
                .bind(POOL)
                .bind(now)
                .bind(caller)
                .bind(POOL)
                .fetch_one(p)
                .await
        })?;
        Ok(row)
    }

    /// The queue entry of one driver, due or not.
    #[tracing::instrument(skip_all, err)]
    pub async fn queue_entry(&self, driver_id: &str) -> Result<Option<QueueEntry>> {
        let sql = format!("{QUEUE_COLUMNS} WHERE q.driver_id = ?");
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, QueueEntry>(sqlx::AssertSqlSafe(sql.as_str())).bind(driver_id).fetch_optional(p).await
        })?)
    }

    /// Claims `driver_id` for `caller` until `until`, atomically: only one caller holds a driver
    /// at a time, and a claim left by a crashed console lapses at `until`. Returns whether
    /// `caller` holds the claim now. A driver whose number is on the do-not-call list is never
    /// claimed.
    #[tracing::instrument(skip_all, fields(driver_id, caller), err)]
    pub async fn claim(&self, driver_id: &str, caller: i64, until: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool> {
        super::retrying("claim", || self.claim_once(driver_id, caller, until, now)).await
    }

    async fn claim_once(&self, driver_id: &str, caller: i64, until: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool> {
        let (until, now) = (db_time(until), db_time(now));
        let held: Option<(Option<i64>, Option<NaiveDateTime>)> = with_pool!(self, |p, d| {
            let mut tx = p.begin_with(d.begin_write).await?;
            // The driver's row first, then its queue row: the order a dial and a save take them,
            // so a claim racing another agent's dial waits instead of deadlocking against it.
            let lock = format!("SELECT id FROM drivers WHERE id = ?{}", d.for_update);
            let _: Option<(String,)> =
                sqlx::query_as(sqlx::AssertSqlSafe(lock)).bind(driver_id).fetch_optional(&mut *tx).await?;
            sqlx::query(
                "UPDATE call_queue SET claimed_by = ?, claimed_until = ? WHERE driver_id = ? \
                 AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until < ?) \
                 AND NOT EXISTS (SELECT 1 FROM drivers dd JOIN dnc_numbers n ON n.number = dd.mobile \
                 WHERE dd.id = ?)",
            )
            .bind(caller)
            .bind(until)
            .bind(driver_id)
            .bind(caller)
            .bind(now)
            .bind(driver_id)
            .execute(&mut *tx)
            .await?;
            // MySQL counts only changed rows, so read back who holds it rather than trust the count.
            let row = sqlx::query_as("SELECT claimed_by, claimed_until FROM call_queue WHERE driver_id = ?")
                .bind(driver_id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        })?;
        Ok(matches!(held, Some((Some(by), Some(t))) if by == caller && t >= now))
    }

    /// Gives a claim back (after the call, or when the agent moves on).
    #[tracing::instrument(skip_all, err)]
    pub async fn release(&self, driver_id: &str, caller: i64) -> Result<()> {
        with_pool!(self, |p, d| {
            sqlx::query(
                "UPDATE call_queue SET claimed_by = NULL, claimed_until = NULL WHERE driver_id = ? AND claimed_by = ?",
            )
            .bind(driver_id)
            .bind(caller)
            .execute(p)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Gives back the attempt a call counted when it never rang anyone (TeleCMI refused it).
    #[tracing::instrument(skip_all, err)]
    pub async fn give_back_attempt(&self, driver_id: &str) -> Result<()> {
        with_pool!(self, |p, d| {
            sqlx::query(
                "UPDATE call_queue SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE driver_id = ?",
            )
            .bind(driver_id)
            .execute(p)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Per caller: (caller id, due now, callbacks due now, queued in all), without the drivers on
    /// the do-not-call list.
    #[tracing::instrument(skip_all, err)]
    pub async fn queue_sizes(&self, now: DateTime<Utc>) -> Result<Vec<(i64, i64, i64, i64)>> {
        let now = db_time(now);
        let sql = format!(
            "SELECT q.caller_id, COUNT(CASE WHEN q.due_at <= ? THEN 1 END), \
             COUNT(CASE WHEN q.due_at <= ? AND q.priority = 0 THEN 1 END), COUNT(*) \
             FROM call_queue q WHERE {Q_NOT_LISTED} GROUP BY q.caller_id ORDER BY q.caller_id"
        );
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(now).bind(now).fetch_all(p).await
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::COUNT_CAP;
    use chrono::{Duration, Utc};

    use crate::domain::Driver;
    use crate::store::Store;

    /// The queue is read through its index, never by sorting the whole table.
    #[tokio::test]
    async fn the_due_queue_walks_its_index() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let crate::store::Backend::Sqlite(pool) = &store.backend else { panic!("sqlite") };
        for after in [false, true] {
            let sql = format!("EXPLAIN QUERY PLAN {}", super::due_queue_sql(false, false, after, false));
            let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(sql));
            for _ in 0..(if after { 8 } else { 5 }) {
                q = q.bind(1);
            }
            let plan: Vec<String> = q.fetch_all(pool).await.expect("plan").into_iter().map(|r| r.3).collect();
            let text = plan.join(" | ");
            assert!(text.contains("idx_queue_due"), "{text}");
            assert!(!text.contains("TEMP B-TREE"), "no sort of the whole queue: {text}");
            if after {
                assert!(text.contains("(priority,due_at,driver_id)>"), "the cursor is an index seek: {text}");
            }
        }
    }

    /// The plan of `sql` (SQLite), its binds all 1.
    async fn plan(pool: &sqlx::SqlitePool, sql: &str) -> String {
        let binds = sql.matches('?').count();
        let sql = format!("EXPLAIN QUERY PLAN {sql}");
        let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(sql));
        for _ in 0..binds {
            q = q.bind(1);
        }
        q.fetch_all(pool).await.expect("plan").into_iter().map(|r| r.3).collect::<Vec<_>>().join(" | ")
    }

    /// Who may be called first: each zone's drivers are an index seek, and only the pages read
    /// (a page per zone) are merged, never the whole queue.
    #[tokio::test]
    async fn each_zones_part_of_the_queue_walks_its_index() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let crate::store::Backend::Sqlite(pool) = &store.backend else { panic!("sqlite") };
        for after in [false, true] {
            let one = plan(pool, &super::zones_sql(false, 1, after, false)).await;
            assert!(one.contains("idx_queue_zone (caller_id=? AND timezone=?"), "{one}");
            assert!(!one.contains("TEMP B-TREE"), "no sort: {one}");
            if after {
                assert!(one.contains("(priority,due_at,driver_id)>"), "the cursor is an index seek: {one}");
            }
            let three = plan(pool, &super::zones_sql(false, 3, after, true)).await;
            assert_eq!(three.matches("SEARCH q USING INDEX idx_queue_zone (caller_id=? AND timezone=?").count(), 3);
            // What is sorted is what each zone's seek read (its LIMIT), merged: never the queue.
            assert!(!three.contains("SCAN q"), "{three}");
            assert!(three.matches("TEMP B-TREE").count() <= 3, "{three}");
        }
        for sql in [
            "SELECT timezone FROM call_queue INDEXED BY idx_queue_zone WHERE caller_id = ? ORDER BY timezone LIMIT 1",
            "SELECT timezone FROM call_queue INDEXED BY idx_queue_zone WHERE caller_id = ? AND timezone > ? \
             ORDER BY timezone LIMIT 1",
        ] {
            let p = plan(pool, sql).await;
            assert!(p.contains("COVERING INDEX idx_queue_zone") && !p.contains("TEMP B-TREE"), "{p}");
        }
    }

    /// Paging deep into a large queue costs about what the first page costs.
    #[tokio::test]
    async fn a_deep_page_costs_what_the_first_page_costs() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(&format!("sqlite://{}", dir.path().join("q.db").display())).await.expect("store");
        let now = Utc::now();
        store.add_caller(3, "P", crate::domain::Role::Agent, now).await.expect("caller");
        let drivers: Vec<Driver> = (0..20_000)
            .map(|i| Driver {
                id: format!("D{i:06}"),
                name: format!("Driver {i}"),
                mobile: format!("91{:010}", 9_000_000_000u64 + i),
                tmid: None,
                city: None,
                state: None,
                assigned_to: Some(3),
                timezone: None,
            })
            .collect();
        for chunk in drivers.chunks(4000) {
            store.import_drivers(chunk, now - Duration::minutes(1)).await.expect("import");
        }
        // 20,000 queued: the counts stop just past the cap (the console shows "10000+").
        assert_eq!(store.queue_counts(3, now).await.expect("counts"), (COUNT_CAP + 1, COUNT_CAP + 1));
        let time = |after: Option<crate::store::QueueCursor>| {
            let store = store.clone();
            async move {
                let t = std::time::Instant::now();
                for _ in 0..20 {
                    let page =
                        store.due_queue(3, now, &Default::default(), after.as_ref(), 200, None).await.expect("page");
                    assert_eq!(page.len(), 200);
                }
                t.elapsed()
            }
        };
        let first = time(None).await;
        let deep = store.queue_entry("D019000").await.expect("q").expect("entry").cursor();
        let deep_time = time(Some(deep)).await;
        // Coarse (tests run in parallel on two cores); the plan test above is the precise guard.
        assert!(deep_time < first * 5 + std::time::Duration::from_millis(250), "first {first:?}, deep {deep_time:?}");
    }
}
