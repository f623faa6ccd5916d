//! The only place with SQL: one [`Store`] API over SQLite and MySQL/MariaDB.
//!
//! Each method's SQL is written once where both dialects agree and per backend where they do not
//! ([`Dialect`]); the [`with_pool!`] macro type-checks the same body against each pool type.
//! Every query is parameterised. All timestamps are UTC.

mod calls;
pub(crate) mod dnc;
pub mod draft_file;
mod errors;
mod events;
mod facts;
mod fixes;
mod import;
mod ingest;
pub(crate) use ingest::writer::SqliteWriter;
mod loadtest;
mod lookup;
mod moves;
mod outcome;
mod people;
mod placed;
mod presence;
mod provisional;
mod queue;
mod recordings;
mod search;
mod sessions;
mod ssh_keys;
mod stats;
mod tx;

pub use calls::{ABANDONED_AFTER, CLAIM_FOR, CallFilter, CallPage, FeedbackDraft, LatestCall, NewCall, SubmitFeedback};
pub use dnc::{AskedNotToCall, DNC_TIME_FMT, DncAdded, DncAdder, DncEntry, DoNotCall, dnc_reason};
pub use errors::{NOT_ANSWERING, Result, StoreError, TOO_MANY_CONNECTIONS};
pub use events::StoredEvent;
pub use fixes::CANCELLED;
pub use import::{ImportBatch, ROWS_PER_INSERT};
pub use ingest::{ApplyOutcome, MAX_BATCH, Received};
pub use loadtest::LoadtestCall;
pub use lookup::{DriverHit, Standing};
pub use moves::{DriverMove, MoveReport, MoveRequest, summary as move_summary};
pub use people::{Caller, ImportOutcome};
pub use provisional::{PROVISIONAL, Provisional, UNCONFIRMED};
pub use queue::{COUNT_CAP, POOL, QueueCursor, QueueEntry};
pub use recordings::Recording;
pub use search::number_key;
pub use sessions::{Beat, NewSession, Session};
pub use ssh_keys::{KeyAdded, SshKey};
pub use stats::{AgentDay, DayStats, FeedbackCount, Stats, StatsBundle, StatusCount, outcome_groups};

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

/// On a Galera cluster every statement waits until this node has applied what the cluster
/// committed before it (`wsrep_sync_wait` = 7: reads, updates and deletes, inserts): calldesk
/// reads and updates what it has just written, maybe through another connection that a proxy put
/// on another node (docs/galera.md, run C: without it, outcomes were lost and duplicated). The
/// server's own bits are kept; with wsrep off nothing changes; a server without the variable
/// (MySQL) refuses the statement, which is let be.
async fn read_your_writes(conn: &mut sqlx::MySqlConnection) -> std::result::Result<(), sqlx::Error> {
    const SET: &str = "SET SESSION wsrep_sync_wait = \
                       IF(@@wsrep_on, @@global.wsrep_sync_wait | 7, @@global.wsrep_sync_wait)";
    if let Err(e) = sqlx::query(SET).execute(conn).await {
        tracing::debug!("not a Galera server: {e}");
    }
    Ok(())
}

/// [`Store::identity`] of a store labelled `label`.
pub fn database_identity(label: &str) -> String {
    match label.strip_prefix("sqlite ") {
        Some(file) => {
            let path = std::path::absolute(file).unwrap_or_else(|_| std::path::PathBuf::from(file));
            format!("sqlite {}", path.display())
        }
        None => label.to_string(),
    }
}

/// How many times a transaction MariaDB chose as a deadlock's victim is run again.
const DEADLOCK_RETRIES: u32 = 3;

/// Runs `tx` (one whole transaction) again when MariaDB broke a deadlock by rolling it back, a
/// few times with a short pause, so the agent's save, dial or claim goes through instead of
/// failing on a clash it had no part in.
pub(crate) async fn retrying<T, F, Fut>(what: &str, mut tx: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut tries = 0;
    loop {
        match tx().await {
            Err(e) if run_again(what, &e, &mut tries).await => {}
            r => return r,
        }
    }
}

/// Whether transaction `what`, which failed with `e`, runs again: after a deadlock MariaDB broke,
/// at most [`DEADLOCK_RETRIES`] times (`tries` counts them), after a short pause. [`retrying`]'s
/// rule, for a loop that cannot hand it a closure (the webhook batch, over a borrowed connection).
pub(crate) async fn run_again(what: &str, e: &StoreError, tries: &mut u32) -> bool {
    if !e.is_deadlock() || *tries >= DEADLOCK_RETRIES {
        return false;
    }
    *tries += 1;
    tracing::info!(what, tries = *tries, "deadlock broken by the database; running the transaction again");
    let pause = Duration::from_millis(10 * u64::from(*tries));
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::time::sleep(pause).await;
    } else {
        // The SQLite writer runs the batch on its own thread, outside any runtime.
        std::thread::sleep(pause);
    }
    true
}

#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    MySql(MySqlPool),
}

/// SQL that differs between the backends.
#[derive(Debug)]
pub(crate) struct Dialect {
    /// Opens a transaction that will write: SQLite takes the write lock up front so two writers
    /// queue on the busy timeout instead of failing on lock upgrade.
    pub begin_write: &'static str,
    pub for_update: &'static str,
    pub insert_ignore: &'static str,
    /// The database's own clock, UTC, to the second: one clock for processes on several hosts.
    pub now: &'static str,
    /// `{now}` minus `?` seconds (one bound parameter).
    pub seconds_ago: &'static str,
}

const SQLITE: Dialect = Dialect {
    begin_write: "BEGIN IMMEDIATE",
    for_update: "",
    insert_ignore: "INSERT OR IGNORE",
    now: "datetime('now')",
    seconds_ago: "datetime('now', '-' || ? || ' seconds')",
};
const MYSQL: Dialect = Dialect {
    begin_write: "BEGIN",
    for_update: " FOR UPDATE",
    insert_ignore: "INSERT IGNORE",
    now: "UTC_TIMESTAMP()",
    seconds_ago: "(UTC_TIMESTAMP() - INTERVAL ? SECOND)",
};

/// Runs `$body` with `$pool` bound to the backend's pool and `$d` to its [`Dialect`].
macro_rules! with_pool {
    ($store:expr, |$pool:ident, $d:ident| $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => {
                #[allow(unused_variables)]
                let $d = &$crate::store::SQLITE;
                $body
            }
            $crate::store::Backend::MySql($pool) => {
                #[allow(unused_variables)]
                let $d = &$crate::store::MYSQL;
                $body
            }
        }
    };
}
pub(crate) use with_pool;

/// `last_insert_id` under one name for both backends.
pub(crate) trait InsertedId {
    fn inserted_id(&self) -> i64;
}
impl InsertedId for sqlx::sqlite::SqliteQueryResult {
    fn inserted_id(&self) -> i64 {
        self.last_insert_rowid()
    }
}
impl InsertedId for sqlx::mysql::MySqlQueryResult {
    fn inserted_id(&self) -> i64 {
        i64::try_from(self.last_insert_id()).unwrap_or(i64::MAX)
    }
}

/// What opening a SQLite database does when its file is not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// Create it (the caller is told which file was created).
    Create,
    /// Stop with [`StoreError::NoDatabase`]: a typo in the URL must not start an empty database.
    Refuse,
}

/// How many database connections a process keeps open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolSize {
    /// `serve`, the load test and the one-shot commands: many requests at once (MariaDB 16, SQLite 8).
    Server,
    /// One person's screen (a console, the supervisor board): fifty of them share one database
    /// (a stock MariaDB allows 151 connections in all), so at most [`SESSION_CONNECTIONS`], the
    /// second closed once idle for [`SESSION_IDLE`]. (On a SQLite file the webhook writer's own
    /// connection comes on top, opened only when the process's listener stores a webhook.)
    Session,
}

/// Connections a [`PoolSize::Session`] pool opens at most: one for the event feed's polls and one
/// for the screen's loads and writes, so neither waits behind the other.
pub const SESSION_CONNECTIONS: u32 = 2;

/// How long a [`PoolSize::Session`] pool keeps a connection nobody uses.
pub const SESSION_IDLE: Duration = Duration::from_secs(60);

impl PoolSize {
    fn max(self, backend_max: u32) -> u32 {
        match self {
            Self::Server => backend_max,
            Self::Session => SESSION_CONNECTIONS.min(backend_max),
        }
    }

    fn idle_timeout(self) -> Option<Duration> {
        match self {
            // sqlx's default.
            Self::Server => Some(Duration::from_secs(600)),
            Self::Session => Some(SESSION_IDLE),
        }
    }

    /// Whether a connection is pinged before each use (sqlx's default). A session's event feed
    /// takes a connection every poll: on MariaDB the ping is a round trip each time, most of an
    /// idle console's CPU. Its connections are never idle long ([`SESSION_IDLE`]) and sqlx pings
    /// each one as it comes back (closing a broken one), so a session skips the ping before use.
    fn test_before_acquire(self) -> bool {
        self == Self::Server
    }
}

/// The handle every part of calldesk uses to read and write data. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    label: String,
    /// SQLite file: the thread that stores webhook batches ([`ingest::writer`]), started by the
    /// first batch and shared by every clone.
    sqlite_writer: Option<std::sync::Arc<ingest::writer::Lazy>>,
}

/// Timestamps are stored to the second, in UTC.
pub fn db_time(t: DateTime<Utc>) -> NaiveDateTime {
    let n = t.naive_utc();
    n.with_nanosecond(0).unwrap_or(n)
}

impl Store {
    /// Opens the database at `url` (`sqlite://…` or `mysql://…`) and applies migrations.
    #[tracing::instrument(skip_all, err)]
    pub async fn open(url: &str) -> Result<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database at `url` and applies migrations; a SQLite file that is not there is
    /// created only with [`IfMissing::Create`]. Returns the path of the file it created, if any.
    /// (A MySQL database is never created: a missing one fails to connect.)
    #[tracing::instrument(skip_all, err)]
    pub async fn open_checked(
        url: &str,
        if_missing: IfMissing,
        size: PoolSize,
    ) -> Result<(Self, Option<std::path::PathBuf>)> {
        let missing = match sqlite_file(url)? {
            Some(path) if !path.try_exists().unwrap_or(true) => Some(std::path::absolute(&path).unwrap_or(path)),
            _ => None,
        };
        if let (Some(path), IfMissing::Refuse) = (&missing, if_missing) {
            return Err(StoreError::NoDatabase(path.clone()));
        }
        let store = Self::connect_with(url, if_missing == IfMissing::Create, size).await?;
        store.migrate().await?;
        Ok((store, missing))
    }

    /// Opens a database that is there already, without migrating or creating anything, on a
    /// screen's pool ([`PoolSize::Session`]): for a lookup that runs often and must be quick
    /// (`calldesk ssh authorized-keys`), and the load test's agents and board.
    #[tracing::instrument(skip_all, err)]
    pub async fn connect_existing(url: &str) -> Result<Self> {
        Self::connect_with(url, false, PoolSize::Session).await
    }

    /// Opens the database without migrating (a SQLite file that is not there is created).
    #[tracing::instrument(skip_all, err)]
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, true, PoolSize::Server).await
    }

    async fn connect_with(url: &str, create: bool, size: PoolSize) -> Result<Self> {
        if url.starts_with("mysql:") {
            let opts = MySqlConnectOptions::from_str(url).map_err(|e| StoreError::Unavailable(redact_url_err(&e)))?;
            let label = format!("mysql {}:{}/{}", opts.get_host(), opts.get_port(), opts.get_database().unwrap_or(""));
            let pool = MySqlPoolOptions::new()
                .max_connections(size.max(16))
                .idle_timeout(size.idle_timeout())
                .test_before_acquire(size.test_before_acquire())
                .acquire_timeout(Duration::from_secs(5))
                .after_connect(|conn, _| Box::pin(read_your_writes(conn)))
                .connect_with(opts.timezone(Some("+00:00".to_string())).charset("utf8mb4"))
                .await
                .map_err(|e| {
                    let why = if errors::is_too_many_connections(&e) {
                        TOO_MANY_CONNECTIONS.to_string()
                    } else {
                        redact_url_err(&e)
                    };
                    StoreError::Unavailable(format!("{label}: {why}"))
                })?;
            Ok(Self { backend: Backend::MySql(pool), label, sqlite_writer: None })
        } else {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?
                .create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                // The webhook writer's multi-row statements come in a few dozen shapes: room for
                // them beside every other statement, so none is prepared again and again.
                .statement_cache_capacity(256);
            let label = format!("sqlite {}", opts.get_filename().display());
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let file = ingest::writer::file_of(url, opts.get_filename());
            let pool = SqlitePoolOptions::new()
                .max_connections(if in_memory { 1 } else { size.max(8) })
                .idle_timeout(size.idle_timeout())
                .test_before_acquire(size.test_before_acquire())
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(opts)
                .await
                .map_err(|e| StoreError::Unavailable(format!("{label}: {e}")))?;
            let sqlite_writer = file.map(|f| std::sync::Arc::new(ingest::writer::Lazy::new(f)));
            Ok(Self { backend: Backend::Sqlite(pool), label, sqlite_writer })
        }
    }

    /// Applies the backend's pending migrations.
    #[tracing::instrument(skip_all, err)]
    pub async fn migrate(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await?,
            Backend::MySql(p) => sqlx::migrate!("migrations/mysql").run(p).await?,
        }
        Ok(())
    }

    /// The versions of this build's migrations the database lacks (all of them if it was never
    /// migrated), without applying any: `calldesk ssh check`.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        const APPLIED: &str = "SELECT version FROM _sqlx_migrations WHERE success = TRUE";
        const SQLITE_HAS: &str = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?";
        const MYSQL_HAS: &str =
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?";
        let (migrator, applied): (sqlx::migrate::Migrator, Vec<i64>) = match &self.backend {
            Backend::Sqlite(p) => {
                let has: i64 = sqlx::query_scalar(SQLITE_HAS).bind("_sqlx_migrations").fetch_one(p).await?;
                let applied = if has > 0 { sqlx::query_scalar(APPLIED).fetch_all(p).await? } else { Vec::new() };
                (sqlx::migrate!("migrations/sqlite"), applied)
            }
            Backend::MySql(p) => {
                let has: i64 = sqlx::query_scalar(MYSQL_HAS).bind("_sqlx_migrations").fetch_one(p).await?;
                let applied = if has > 0 { sqlx::query_scalar(APPLIED).fetch_all(p).await? } else { Vec::new() };
                (sqlx::migrate!("migrations/mysql"), applied)
            }
        };
        Ok(migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
            .map(|m| m.version)
            .collect())
    }

    /// `sqlite /path/file.db` or `mysql host:port/db`, never with credentials.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// What names this database on this machine, for the files kept beside it (the webhook
    /// spool, local drafts): [`Store::label`], a SQLite file as an absolute path (`calldesk.db`
    /// from two folders is two databases). Never a password.
    pub fn identity(&self) -> String {
        database_identity(&self.label)
    }

    pub fn is_mysql(&self) -> bool {
        matches!(self.backend, Backend::MySql(_))
    }

    /// Checks the database answers.
    #[tracing::instrument(skip_all, err)]
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, |p, d| sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        with_pool!(self, |p, d| p.close().await);
    }

    /// A stored setting.
    #[tracing::instrument(skip_all, err)]
    pub async fn setting(&self, name: &str) -> Result<Option<String>> {
        let v: Option<(String,)> = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT value FROM calldesk_settings WHERE name = ?").bind(name).fetch_optional(p).await
        })?;
        Ok(v.map(|(v,)| v))
    }

    /// Stores `value` under `name` unless a value is already there; returns the value in force.
    #[tracing::instrument(skip_all, err)]
    pub async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        with_pool!(self, |p, d| {
            let sql = format!("{} INTO calldesk_settings (name, value) VALUES (?, ?)", d.insert_ignore);
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name).bind(value).execute(p).await.map(|_| ())
        })?;
        self.setting(name).await?.ok_or_else(|| StoreError::NotFound(format!("setting {name} vanished")))
    }
}

/// The file a `sqlite:` URL names (as written: a relative one stays relative), or `None` for
/// MySQL and in-memory SQLite.
pub fn sqlite_file(url: &str) -> Result<Option<std::path::PathBuf>> {
    if url.starts_with("mysql:") {
        return Ok(None);
    }
    let opts = SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    Ok(ingest::writer::file_of(url, opts.get_filename()))
}

/// sqlx errors can echo the URL; keep the password out of anything we show.
fn redact_url_err(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    match (s.find("://"), s.find('@')) {
        (Some(a), Some(b)) if b > a => format!("{}://***{}", &s[..a], &s[b..]),
        _ => s,
    }
}

#[cfg(test)]
mod deadlock_tests {
    use std::borrow::Cow;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::{StoreError, retrying};

    /// A database error as MariaDB reports a deadlock (or any other code).
    #[derive(Debug)]
    struct Fake(&'static str, &'static str);

    impl std::fmt::Display for Fake {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.1)
        }
    }
    impl std::error::Error for Fake {}
    impl sqlx::error::DatabaseError for Fake {
        fn message(&self) -> &str {
            self.1
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn err(code: &'static str, msg: &'static str) -> StoreError {
        StoreError::Database(sqlx::Error::Database(Box::new(Fake(code, msg))))
    }

    #[test]
    fn too_many_connections_is_said_plainly() {
        let e = err("08004", "Too many connections");
        assert_eq!(e.to_string(), super::TOO_MANY_CONNECTIONS);
        assert!(e.to_string().contains("max_connections"), "says what to do");
        assert!(!e.to_string().contains('\n'), "one line");
        assert!(
            err("HY000", "Too many connections").to_string().contains("1040"),
            "a handshake's error has no SQLSTATE"
        );
        let other = err("23000", "Duplicate entry").to_string();
        assert!(other.starts_with("database error: ") && other.ends_with("Duplicate entry"), "{other}");
    }

    #[tokio::test]
    async fn a_deadlock_victim_is_run_again_and_other_errors_are_not() {
        let deadlock = || err("40001", "Deadlock found when trying to get lock; try restarting transaction");
        assert!(deadlock().is_deadlock());
        assert!(!err("23000", "Duplicate entry").is_deadlock());
        assert!(!StoreError::Invalid("Deadlock found".into()).is_deadlock(), "only the database's word counts");

        let runs = AtomicU32::new(0);
        let r = retrying("test", || async {
            if runs.fetch_add(1, Ordering::SeqCst) < 2 { Err(deadlock()) } else { Ok(7) }
        })
        .await;
        assert_eq!(r.expect("third run goes through"), 7);
        assert_eq!(runs.load(Ordering::SeqCst), 3);

        let runs = AtomicU32::new(0);
        let r: super::Result<()> = retrying("test", || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Err(err("23000", "Duplicate entry"))
        })
        .await;
        assert!(r.is_err());
        assert_eq!(runs.load(Ordering::SeqCst), 1, "not a deadlock: not run again");

        let runs = AtomicU32::new(0);
        let r: super::Result<()> = retrying("test", || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Err(deadlock())
        })
        .await;
        assert!(r.expect_err("gives up").is_deadlock());
        assert_eq!(runs.load(Ordering::SeqCst), 1 + super::DEADLOCK_RETRIES, "a few times, then the error");
    }
}
