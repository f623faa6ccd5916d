//! The statements both backends send alike, and the padding that keeps their shapes few. Where
//! the two write a statement differently (a call's update, the reads of calls), each keeps its
//! own ([`super::sqlx_io`], [`super::rusqlite_io`]).

use super::rules::MAX_BATCH;
use crate::store::Dialect;
use crate::store::calls::CALL_COLUMNS;
use crate::store::recordings;

/// Statement sizes: every list is padded up to one of these (repeating its last value, which
/// changes nothing in an `IN` list or a `CASE`), so a few statement shapes serve every batch and
/// stay in the connection's prepared-statement cache.
const SIZES: [usize; 6] = [1, 4, 16, 64, 128, MAX_BATCH];

pub(super) fn padded<T: Clone>(mut v: Vec<T>) -> Vec<T> {
    let size = SIZES.iter().copied().find(|s| *s >= v.len()).unwrap_or(v.len());
    if let Some(last) = v.last().cloned() {
        v.resize(size, last);
    }
    v
}

/// `n` placeholders, for an `IN` list.
pub(super) fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Which of `n` event keys are stored already. Binds the keys.
pub(super) fn stored_keys(n: usize) -> String {
    format!("SELECT dedup_key FROM webhook_events WHERE dedup_key IN ({})", marks(n))
}

/// The provisional marks of `n` calls, read with `lock`. Binds the call ids.
pub(super) fn marks_of(n: usize, lock: &str) -> String {
    format!("SELECT call_log_id, prior_status, reason FROM call_provisional WHERE call_log_id IN ({}){lock}", marks(n))
}

/// Drops the provisional marks of `n` calls. Binds the call ids.
pub(super) fn drop_marks(n: usize) -> String {
    format!("DELETE FROM call_provisional WHERE call_log_id IN ({})", marks(n))
}

/// The newest live call of a TeleCMI user to a number (a report, CDR, may match one that ended
/// within the window), read with `lock`. Binds: user, number, whether it is a report, the
/// window's start.
pub(super) fn legacy_call(lock: &str) -> String {
    format!(
        "{CALL_COLUMNS} WHERE provider = 'telecmi' AND telecmi_user_id = ? AND driver_mobile = ? \
         AND (status IN ('initiated', 'ringing', 'connected') OR (? AND created_at >= ?)) \
         ORDER BY id DESC LIMIT 1{lock}"
    )
}

/// `n` events' rows (a duplicate key is skipped: the caller counts the rows inserted). Binds per
/// row: received_at, dedup_key, call_log_id, reference, kind, leg, status, payload.
pub(super) fn insert_events(d: &Dialect, n: usize) -> String {
    format!(
        "{} INTO webhook_events (received_at, dedup_key, call_log_id, reference, kind, leg, status, payload) \
         VALUES {}",
        d.insert_ignore,
        vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; n].join(", ")
    )
}

/// The ids of stored events, by their `n` keys. Binds the keys.
pub(super) fn event_ids(n: usize) -> String {
    format!("SELECT dedup_key, id FROM webhook_events WHERE dedup_key IN ({})", marks(n))
}

/// `n` calls' recordings (one at least; the first for a call wins). Binds per row: call id,
/// file name, time.
pub(super) fn insert_recordings(d: &Dialect, n: usize) -> String {
    let values = format!(", {}", recordings::VALUES).repeat(n - 1);
    format!("{} {}{values}", d.insert_ignore, recordings::INSERT_TAIL)
}
