//! What goes wrong in the store ([`StoreError`]), in words an agent or operator can act on, and
//! which failures are the database being away ([`StoreError::is_unavailable`]: worth trying again
//! once it answers) rather than a refusal.

/// What went wrong in the store, in words an agent or operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("{}", database_error(.0))]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A SQLite file that is not there, opened by a command that must not create it.
    #[error("no database at {}", .0.display())]
    NoDatabase(std::path::PathBuf),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// A wrap-up for a call whose outcome is already saved (another console of the same agent
    /// saved it first): nothing changed. Holds the call as saved.
    #[error("that call's outcome was already saved")]
    AlreadySaved(Box<crate::domain::CallLog>),
    /// A dial refused because the driver's last call still waits for its outcome (a wrap-up not
    /// saved): a second call would leave two outcomes to decide one queue place. Holds that call.
    #[error("the call to this driver at {} has no outcome yet", .0.created_at.format("%H:%M UTC"))]
    WrapupOwed(Box<crate::domain::CallLog>),
    /// A dial from a console session that a newer login of the same caller took over (or that
    /// ended): one agent, one console dialing.
    #[error("{0}")]
    SessionReplaced(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What the user is told when MariaDB refuses a connection because all of its are taken.
pub const TOO_MANY_CONNECTIONS: &str = "the database server has no connection left (MariaDB error 1040, \
     \"Too many connections\"): raise its max_connections (each console and supervisor board uses up to 2, \
     `calldesk serve` up to 16) or close consoles nobody uses";

/// MariaDB's 1040, "Too many connections" (SQLSTATE 08004; the error a refused handshake carries
/// may have no SQLSTATE).
pub(super) fn is_too_many_connections(e: &sqlx::Error) -> bool {
    let Some(db) = e.as_database_error() else { return false };
    db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().is_some_and(|m| m.number() == 1040)
        || db.code().as_deref() == Some("08004")
        || db.message().starts_with("Too many connections")
}

fn database_error(e: &sqlx::Error) -> String {
    if is_too_many_connections(e) {
        TOO_MANY_CONNECTIONS.to_string()
    } else if is_unanswered(e) {
        format!("{NOT_ANSWERING} ({e})")
    } else {
        format!("database error: {e}")
    }
}

/// What the user is told while the database does not answer (stopped, restarting, unreachable).
pub const NOT_ANSWERING: &str = "the database is not answering";

/// The database did not answer: no connection in time, a refused or dropped connection, a
/// connection that broke mid-answer. Not a statement the database refused.
fn is_unanswered(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
    )
}

impl StoreError {
    /// MariaDB gave up this transaction to break a deadlock (1213, SQLSTATE 40001): nothing of it
    /// was written, and running it again is the documented answer.
    pub fn is_deadlock(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(e)) => {
                e.code().as_deref() == Some("40001") || e.message().starts_with("Deadlock found")
            }
            _ => false,
        }
    }
}

impl StoreError {
    /// Whether the database was not there to answer (down, restarting, paused, unreachable, out of
    /// connections, busy) rather than refusing this piece of work for a reason of its own: the
    /// same work is worth trying again once the database is back. A database error is counted
    /// here only for the codes that say the server or the connection failed.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Database(e) => sqlx_unavailable(e),
            Self::Migrate(_) | Self::NoDatabase(_) | Self::NotFound(_) | Self::Invalid(_) => false,
            Self::AlreadySaved(_) | Self::WrapupOwed(_) | Self::SessionReplaced(_) => false,
        }
    }
}

/// MariaDB error numbers that mean the server or the connection, not the statement: too many
/// connections (1040), shutdown in progress (1053), lock wait timeout (1205), deadlock (1213),
/// read-only or not ready (1290, 1047: Galera), connection killed (1927), query interrupted
/// (1317), statement time limit (1969), idle connection closed (4031), network read or write
/// failed or timed out (1158-1161), disk or table full (1021, 1114), error during COMMIT (1180).
/// (The client library's 2002/2003/2006/2013 never come from sqlx: a broken connection is an
/// I/O error, [`is_unanswered`].) SQLite: busy (5), locked (6), I/O error (10), full (13),
/// cannot open (14).
const UNAVAILABLE_MYSQL: [u16; 17] =
    [1040, 1053, 1205, 1213, 1290, 1047, 1927, 1317, 1969, 4031, 1158, 1159, 1160, 1161, 1021, 1114, 1180];
const UNAVAILABLE_SQLITE: [&str; 5] = ["5", "6", "10", "13", "14"];

fn sqlx_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let mysql = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>();
            if let Some(m) = mysql {
                return mysql_unavailable(m.number(), m.code());
            }
            // SQLite's primary result code is the low byte of its extended code.
            let code = db.code().and_then(|c| c.parse::<u32>().ok()).map(|c| (c & 0xff).to_string());
            code.is_some_and(|c| UNAVAILABLE_SQLITE.contains(&c.as_str()))
        }
        e => is_unanswered(e),
    }
}

/// Whether MariaDB's error `number` (with its SQLSTATE `code`) says the server or the
/// connection failed rather than the statement.
fn mysql_unavailable(number: u16, code: Option<&str>) -> bool {
    UNAVAILABLE_MYSQL.contains(&number) || code.is_some_and(|c| c.starts_with("08"))
}

#[cfg(test)]
mod unavailable_tests {
    use super::mysql_unavailable;

    #[test]
    fn mariadb_errors_that_mean_try_again_are_unavailable() {
        for n in [1040, 1053, 1205, 1213, 1290, 1047, 1927, 1317, 1969, 4031, 1158, 1159, 1160, 1161, 1021, 1114, 1180]
        {
            assert!(mysql_unavailable(n, Some("HY000")), "{n}");
        }
        assert!(mysql_unavailable(1045, Some("08S01")), "a connection SQLSTATE");
        for n in [1062, 1048, 3819, 1054, 1146, 1406] {
            assert!(!mysql_unavailable(n, Some("23000")), "{n} is the statement's fault");
        }
    }
}
