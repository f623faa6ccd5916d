//! Callers' SSH public keys: added, listed, removed, and looked up by fingerprint at every login
//! (`calldesk ssh authorized-keys`). One row per key blob, keyed by its fingerprint, so a key
//! belongs to one caller.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{Result, Store, db_time, with_pool};
use crate::domain::ssh_key::PublicKey;

/// A stored key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshKey {
    pub caller_id: i64,
    pub key_type: String,
    pub key_base64: String,
    pub comment: String,
    pub fingerprint: String,
    pub added_at: DateTime<Utc>,
}

type Row = (i64, String, String, String, String, NaiveDateTime);

impl From<Row> for SshKey {
    fn from((caller_id, key_type, key_base64, comment, fingerprint, added_at): Row) -> Self {
        Self { caller_id, key_type, key_base64, comment, fingerprint, added_at: added_at.and_utc() }
    }
}

/// What adding a key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAdded {
    Added(SshKey),
    /// The key is there already, for this caller or another (`caller_id`): nothing changed.
    Taken(SshKey),
    /// No caller has that id.
    UnknownCaller,
}

const COLUMNS: &str = "SELECT caller_id, key_type, key_base64, comment, fingerprint, added_at FROM caller_ssh_keys";

impl Store {
    /// Gives `key` to caller `caller_id`, unless a caller has it already.
    #[tracing::instrument(skip_all, err)]
    pub async fn add_ssh_key(&self, caller_id: i64, key: &PublicKey, now: DateTime<Utc>) -> Result<KeyAdded> {
        if self.caller(caller_id).await?.is_none() {
            return Ok(KeyAdded::UnknownCaller);
        }
        let added = with_pool!(self, |p, d| {
            let sql = format!(
                "{} INTO caller_ssh_keys (fingerprint, caller_id, key_type, key_base64, comment, added_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
                d.insert_ignore
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&key.fingerprint)
                .bind(caller_id)
                .bind(&key.key_type)
                .bind(&key.base64)
                .bind(&key.comment)
                .bind(db_time(now))
                .execute(p)
                .await
                .map(|r| r.rows_affected() == 1)
        })?;
        let stored = self
            .ssh_key(&key.fingerprint)
            .await?
            .ok_or_else(|| super::StoreError::NotFound(format!("key {} vanished", key.fingerprint)))?;
        Ok(if added { KeyAdded::Added(stored) } else { KeyAdded::Taken(stored) })
    }

    /// The key with this fingerprint (one primary-key read: the login's lookup).
    #[tracing::instrument(skip_all, err)]
    pub async fn ssh_key(&self, fingerprint: &str) -> Result<Option<SshKey>> {
        let sql = format!("{COLUMNS} WHERE fingerprint = ?");
        let row: Option<Row> = with_pool!(self, |p, d| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(fingerprint).fetch_optional(p).await
        })?;
        Ok(row.map(SshKey::from))
    }

    /// Every key, or one caller's, by caller then when added.
    #[tracing::instrument(skip_all, err)]
    pub async fn ssh_keys(&self, caller_id: Option<i64>) -> Result<Vec<SshKey>> {
        let filter = if caller_id.is_some() { " WHERE caller_id = ?" } else { "" };
        let sql = format!("{COLUMNS}{filter} ORDER BY caller_id, added_at, fingerprint");
        let rows: Vec<Row> = with_pool!(self, |p, d| {
            let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
            let q = if let Some(c) = caller_id { q.bind(c) } else { q };
            q.fetch_all(p).await
        })?;
        Ok(rows.into_iter().map(SshKey::from).collect())
    }

    /// Removes the key with this fingerprint; the key as it was, or `None` when it was not there.
    #[tracing::instrument(skip_all, err)]
    pub async fn remove_ssh_key(&self, fingerprint: &str) -> Result<Option<SshKey>> {
        let Some(key) = self.ssh_key(fingerprint).await? else { return Ok(None) };
        let gone = with_pool!(self, |p, d| {
            sqlx::query("DELETE FROM caller_ssh_keys WHERE fingerprint = ?")
                .bind(fingerprint)
                .execute(p)
                .await
                .map(|r| r.rows_affected() == 1)
        })?;
        Ok(gone.then_some(key))
    }
}
