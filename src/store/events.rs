//! Provider events (TeleCMI webhooks): stored raw, de-duplicated, applied forward-only.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use super::calls::CALL_COLUMNS;
use super::{InsertedId, Result, Store, StoreError, db_time, with_pool};
use crate::domain::status::resolve;
use crate::domain::{CallLog, CallStatus, Leg, Signal};

/// How far back a leg-less report (no ids) may match a call that already finished.
const LEGACY_REPORT_WINDOW: chrono::Duration = chrono::Duration::hours(6);

/// One parsed webhook, ready to store and apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// (request_id or call_id, leg, type, status): the same event delivered twice has the same key.
    pub dedup_key: String,
    /// calldesk's own call id, from `extra_params`.
    pub call_log_id: Option<i64>,
    /// TeleCMI's `request_id`.
    pub request_id: Option<String>,
    /// For older payloads without ids: the TeleCMI user (`5003_33336628`) and the number called.
    pub telecmi_user: Option<String>,
    pub number: Option<String>,
    /// `event` or `cdr`.
    pub kind: String,
    pub leg: Leg,
    /// TeleCMI's own status word (`started`, `answered`, `missed`, …), for the audit trail.
    pub provider_status: String,
    pub signal: Option<Signal>,
    /// Talk time from a report (`answeredsec`, else `billedsec`, else `duration`); only leg B's
    /// is the call's.
    pub duration: Option<i64>,
    /// The recording's file name, from a report that says the call was recorded (`record` and
    /// `filename`, checked by `telecmi::webhook::recording_filename`); kept for leg B only.
    pub recording: Option<String>,
    pub payload: String,
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Stored and applied; the call as it is now, the status it had before, and the stored
    /// event's id (`webhook_events.id`, what the feed de-duplicates on).
    Applied { call: Box<CallLog>, before: CallStatus, event_id: i64 },
    /// Seen before: nothing changed.
    Duplicate,
    /// Stored for audit against its call, whose status is not one calldesk knows (a row the old
    /// system wrote): the call is left as it is.
    Kept { call_id: i64 },
    /// Stored for audit; no call matches it.
    Unmatched,
}

/// A stored event, for a call's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: i64,
    pub received_at: NaiveDateTime,
    pub call_log_id: Option<i64>,
    pub kind: String,
    pub leg: String,
    pub status: String,
}

impl Store {
    /// Stores `ev` and applies it to its call in one transaction. A duplicate changes nothing; an
    /// event for no known call is kept for audit. The status only moves forward; the duration is
    /// taken from leg B's report.
    #[tracing::instrument(skip_all, fields(key = %ev.dedup_key), err)]
    pub async fn apply_event(&self, ev: &ProviderEvent, now: DateTime<Utc>) -> Result<ApplyOutcome> {
        let now_db = db_time(now);
        let outcome = with_pool!(self, |p, d| {
            async {
            let mut tx = p.begin_with(d.begin_write).await?;
            let seen: Option<(i64,)> = sqlx::query_as("SELECT id FROM webhook_events WHERE dedup_key = ?")
                .bind(&ev.dedup_key)
                .fetch_optional(&mut *tx)
                .await?;
            if seen.is_some() {
                return Ok::<_, StoreError>(Step::Duplicate);
            }
            // Find the call: our own id, else TeleCMI's request id, else the newest live call
            // of this TeleCMI user to this number (older payloads carry neither).
            let mut found: Option<(i64, String, Option<String>)> = None;
            if let Some(id) = ev.call_log_id {
                let sql = format!("SELECT id, COALESCE(status, 'initiated'), driver_mobile FROM call_logs WHERE id = ?{}", d.for_update);
                found = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *tx).await?;
            }
            if found.is_none()
                && let Some(rid) = &ev.request_id {
                    let sql = format!(
                        "SELECT id, COALESCE(status, 'initiated'), driver_mobile FROM call_logs WHERE reference_id = ? ORDER BY id DESC LIMIT 1{}",
                        d.for_update
                    );
                    found = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(rid).fetch_optional(&mut *tx).await?;
                }
            if found.is_none() && ev.call_log_id.is_none() && ev.request_id.is_none()
                && let (Some(user), Some(number)) = (&ev.telecmi_user, &ev.number) {
                    // A report (CDR) comes after the hangup ended the call: it may match a call that
                    // just finished, so its talk time is not lost.
                    let sql = format!(
                        "SELECT id, COALESCE(status, 'initiated'), driver_mobile FROM call_logs WHERE provider = 'telecmi' \
                         AND telecmi_user_id = ? AND driver_mobile = ? AND (status IN ('initiated', 'ringing', 'connected') \
                         OR (? AND created_at >= ?)) ORDER BY id DESC LIMIT 1{}",
                        d.for_update
                    );
                    found = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(user)
                        .bind(number)
                        .bind(ev.kind == "cdr")
                        .bind(db_time(now - LEGACY_REPORT_WINDOW))
                        .fetch_optional(&mut *tx)
                        .await?;
                }
            // Older payloads name no leg: worked out from the number they report (what the
            // timeline and "who missed" read back), else as received.
            let leg = match &found {
                Some((_, _, mobile)) => ev.leg.effective(ev.number.as_deref(), mobile.as_deref()),
                None => ev.leg,
            };
            let sql = format!(
                "{} INTO webhook_events (received_at, dedup_key, call_log_id, reference, kind, leg, status, payload) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                d.insert_ignore
            );
            let inserted = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now_db)
                .bind(&ev.dedup_key)
                .bind(found.as_ref().map(|(id, _, _)| *id))
                .bind(ev.request_id.as_deref())
                .bind(&ev.kind)
                .bind(leg.as_str())
                .bind(&ev.provider_status)
                .bind(&ev.payload)
                .execute(&mut *tx)
                .await?;
            if inserted.rows_affected() == 0 {
                // Another delivery of the same event won the race.
                return Ok::<_, StoreError>(Step::Duplicate);
            }
            let event_id = inserted.inserted_id();
            // Leg B's report names the call's recording: kept with the event, once per call.
            if let (Some((id, _, _)), Some(file), Leg::B) = (&found, &ev.recording, leg) {
                let sql = format!("{} {}", d.insert_ignore, super::recordings::INSERT_TAIL);
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(*id).bind(file).bind(now_db).execute(&mut *tx).await?;
            }
            let Some((id, status, _)) = found else {
                tx.commit().await?;
                return Ok::<_, StoreError>(Step::Unmatched);
            };
            let Ok(before) = status.parse::<CallStatus>() else {
                // A word the old system wrote: no rule says what follows it, so it stays.
                tx.commit().await?;
                return Ok::<_, StoreError>(Step::Kept(id));
            };
            // A status calldesk set without TeleCMI's word (unconfirmed dial, call ceiling, "not
            // placed") gives way to TeleCMI's report: the one move out of `failed`. The event is
            // applied to the status the call had before calldesk decided, and the mark goes.
            let mark: Option<(String, String)> =
                sqlx::query_as("SELECT prior_status, reason FROM call_provisional WHERE call_log_id = ?")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let base = match &mark {
                Some((prior, _)) if ev.signal.is_some() => prior.parse::<CallStatus>().unwrap_or(before),
                _ => before,
            };
            let after = ev.signal.map_or(before, |s| resolve(base, leg, s));
            let duration = if leg == Leg::B { ev.duration } else { None };
            sqlx::query("UPDATE call_logs SET status = ?, call_duration = COALESCE(?, call_duration) WHERE id = ?")
                .bind(after.as_str())
                .bind(duration)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if let Some((_, reason)) = mark.as_ref().filter(|_| ev.signal.is_some()) {
                sqlx::query("UPDATE call_logs SET remarks = NULL WHERE id = ? AND remarks = ?")
                    .bind(id)
                    .bind(reason)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM call_provisional WHERE call_log_id = ?").bind(id).execute(&mut *tx).await?;
            }
            if let Some(rid) = &ev.request_id {
                // A dial whose answer never came learns TeleCMI's request id from its webhooks.
                sqlx::query("UPDATE call_logs SET reference_id = ? WHERE id = ? AND (reference_id IS NULL OR reference_id = '')")
                    .bind(rid)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(Step::Applied(id, before, event_id))
        }
        .await
        })?;
        // Read the committed row back so what is reported is exactly what is stored.
        match outcome {
            Step::Applied(id, before, event_id) => {
                let call = self.call(id).await?.ok_or_else(|| StoreError::NotFound(format!("call {id} vanished")))?;
                Ok(ApplyOutcome::Applied { call: Box::new(call), before, event_id })
            }
            Step::Duplicate => Ok(ApplyOutcome::Duplicate),
            Step::Unmatched => Ok(ApplyOutcome::Unmatched),
            Step::Kept(call_id) => Ok(ApplyOutcome::Kept { call_id }),
        }
    }

    /// The stored events of a call, oldest first.
    #[tracing::instrument(skip_all, err)]
    pub async fn call_events(&self, call_id: i64) -> Result<Vec<StoredEvent>> {
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, StoredEvent>(
                "SELECT id, received_at, call_log_id, kind, leg, status FROM webhook_events WHERE call_log_id = ? ORDER BY id LIMIT 200",
            )
            .bind(call_id)
            .fetch_all(p)
            .await
        })?)
    }

    /// Live calls whose last sign of life (their newest event, or their start) is older than
    /// `stale_before`: candidates for reconciliation.
    #[tracing::instrument(skip_all, err)]
    pub async fn stale_live_calls(&self, stale_before: DateTime<Utc>) -> Result<Vec<CallLog>> {
        let sql = format!(
            "{CALL_COLUMNS} c WHERE c.status IN ('initiated', 'ringing', 'connected') AND c.provider = 'telecmi' \
             AND c.created_at < ? AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.call_log_id = c.id AND e.received_at >= ?) \
             ORDER BY c.id LIMIT 100"
        );
        let t = db_time(stale_before);
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql.as_str())).bind(t).bind(t).fetch_all(p).await
        })?)
    }

    /// When the last webhook arrived, if ever.
    #[tracing::instrument(skip_all, err)]
    pub async fn last_event_at(&self) -> Result<Option<NaiveDateTime>> {
        let row: Option<(NaiveDateTime,)> = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT received_at FROM webhook_events ORDER BY id DESC LIMIT 1").fetch_optional(p).await
        })?;
        Ok(row.map(|(t,)| t))
    }
}

enum Step {
    Applied(i64, CallStatus, i64),
    Duplicate,
    Unmatched,
    Kept(i64),
}

impl Store {
    /// Events stored after `after_id`, oldest first (how consoles on a shared database hear about
    /// webhooks another process received).
    #[tracing::instrument(skip_all, err)]
    pub async fn events_after(&self, after_id: i64, limit: u32) -> Result<Vec<StoredEvent>> {
        Ok(with_pool!(self, |p, d| {
            sqlx::query_as::<_, StoredEvent>(
                "SELECT id, received_at, call_log_id, kind, leg, status FROM webhook_events WHERE id > ? ORDER BY id LIMIT ?",
            )
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await
        })?)
    }

    /// The stored events with these ids (those committed so far), oldest first: how the feed
    /// picks up an event whose lower id committed after a higher one.
    #[tracing::instrument(skip_all, err)]
    pub async fn events_by_ids(&self, ids: &[i64]) -> Result<Vec<StoredEvent>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let sql = format!(
            "SELECT id, received_at, call_log_id, kind, leg, status FROM webhook_events WHERE id IN ({marks}) ORDER BY id"
        );
        Ok(with_pool!(self, |p, d| {
            let mut q = sqlx::query_as::<_, StoredEvent>(sqlx::AssertSqlSafe(sql.as_str()));
            for id in ids {
                q = q.bind(*id);
            }
            q.fetch_all(p).await
        })?)
    }

    /// The newest event's id (0 when none).
    #[tracing::instrument(skip_all, err)]
    pub async fn max_event_id(&self) -> Result<i64> {
        let row: (Option<i64>,) =
            with_pool!(self, |p, d| sqlx::query_as("SELECT MAX(id) FROM webhook_events").fetch_one(p).await)?;
        Ok(row.0.unwrap_or(0))
    }
}
