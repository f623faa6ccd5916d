//! A transaction or connection on either backend, so that a long store method can be written
//! as steps that each take it: [`with_conn!`] compiles a step's body for both backends, as
//! [`with_pool!`](super::with_pool) does for a method's.

use sqlx::pool::PoolConnection;
use sqlx::{Connection, MySql, MySqlConnection, Sqlite, SqliteConnection, Transaction};

use super::{Backend, MYSQL, SQLITE, Store};

/// A transaction on either backend; dropped without [`Tx::commit`], it rolls back.
pub(crate) enum Tx<'c> {
    Sqlite(Transaction<'c, Sqlite>),
    MySql(Transaction<'c, MySql>),
}

/// A connection of the pool on either backend, for work that spans transactions (temporary tables).
pub(crate) enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    MySql(PoolConnection<MySql>),
}

/// The backend's own connection under a [`Tx`] or [`Conn`], for [`with_conn!`].
pub(crate) enum Raw<'a> {
    Sqlite(&'a mut SqliteConnection),
    MySql(&'a mut MySqlConnection),
}

impl Store {
    /// Opens a transaction that will write ([`super::Dialect::begin_write`]) on a connection of its own.
    pub(crate) async fn begin_write(&self) -> sqlx::Result<Tx<'static>> {
        Ok(match &self.backend {
            Backend::Sqlite(p) => Tx::Sqlite(p.begin_with(SQLITE.begin_write).await?),
            Backend::MySql(p) => Tx::MySql(p.begin_with(MYSQL.begin_write).await?),
        })
    }

    /// A connection of the pool, held until dropped.
    pub(crate) async fn acquire(&self) -> sqlx::Result<Conn> {
        Ok(match &self.backend {
            Backend::Sqlite(p) => Conn::Sqlite(p.acquire().await?),
            Backend::MySql(p) => Conn::MySql(p.acquire().await?),
        })
    }
}

impl Tx<'_> {
    pub(crate) async fn commit(self) -> sqlx::Result<()> {
        match self {
            Self::Sqlite(t) => t.commit().await,
            Self::MySql(t) => t.commit().await,
        }
    }

    pub(crate) fn raw(&mut self) -> Raw<'_> {
        match self {
            Self::Sqlite(t) => Raw::Sqlite(t),
            Self::MySql(t) => Raw::MySql(t),
        }
    }
}

impl Conn {
    /// A transaction on this connection (the backend's default `BEGIN`).
    pub(crate) async fn begin(&mut self) -> sqlx::Result<Tx<'_>> {
        Ok(match self {
            Self::Sqlite(c) => Tx::Sqlite(c.begin().await?),
            Self::MySql(c) => Tx::MySql(c.begin().await?),
        })
    }

    /// A transaction on this connection that will write ([`super::Dialect::begin_write`]).
    pub(crate) async fn begin_write(&mut self) -> sqlx::Result<Tx<'_>> {
        Ok(match self {
            Self::Sqlite(c) => Tx::Sqlite(c.begin_with(SQLITE.begin_write).await?),
            Self::MySql(c) => Tx::MySql(c.begin_with(MYSQL.begin_write).await?),
        })
    }

    /// Closes the connection when it is dropped instead of giving it back to the pool.
    pub(crate) fn close_on_drop(&mut self) {
        match self {
            Self::Sqlite(c) => c.close_on_drop(),
            Self::MySql(c) => c.close_on_drop(),
        }
    }

    pub(crate) fn raw(&mut self) -> Raw<'_> {
        match self {
            Self::Sqlite(c) => Raw::Sqlite(c),
            Self::MySql(c) => Raw::MySql(c),
        }
    }
}

/// Runs `$body` with `$c` bound to the backend's connection under a [`Tx`] or [`Conn`]
/// (`&mut SqliteConnection` or `&mut MySqlConnection`) and `$d` to its [`super::Dialect`].
macro_rules! with_conn {
    ($tx:expr, |$c:ident, $d:ident| $body:expr) => {
        match $tx.raw() {
            $crate::store::tx::Raw::Sqlite($c) => {
                #[allow(unused_variables)]
                let $d = &$crate::store::SQLITE;
                $body
            }
            $crate::store::tx::Raw::MySql($c) => {
                #[allow(unused_variables)]
                let $d = &$crate::store::MYSQL;
                $body
            }
        }
    };
}
pub(crate) use with_conn;
