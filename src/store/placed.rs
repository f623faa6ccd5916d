//! Which calls rang the driver. A call that never did — the agent's own phone (TeleCMI's leg A)
//! was not answered, TeleCMI refused the dial, the agent marked it as not placed — is no driver
//! call: the stats count it apart. One SQL expression says which, from what the row holds, the
//! same on SQLite and MySQL.

use crate::domain::CEILING_REMARK;
use crate::domain::feedback::NOT_CALLED;
use crate::domain::wrapup::{AGENT_MISSED_TAG, NOT_PLACED_TAG};

/// `1` for a `call_logs` row that never rang the driver, else `0`, decided in this order:
/// 1. a driver who answered (`connected`, `completed`) was rung, whatever else the row says;
/// 2. the saved outcome says the driver was not called ([`NOT_CALLED`]), or the wrap-up's reason
///    tag does ([`AGENT_MISSED_TAG`], [`NOT_PLACED_TAG`]: the facts, whatever outcome was picked);
/// 3. `failed`: TeleCMI refused the dial or reported it failed, or the agent marked it as not
///    placed — except a call calldesk closed at the call ceiling (its `call_provisional` reason;
///    the remarks give way to the agent's at wrap-up), which may have rung;
/// 4. `missed` with no outcome saved yet: TeleCMI's leg reports say the agent's phone was not
///    answered, as [`crate::domain::wrapup::classify`] reads them (no report of leg B; leg A
///    missed or hung up, never answered).
///
/// Parameters: [`args`], in order. Only a failed row, or a missed TeleCMI row without an outcome,
/// reads another table: `call_provisional` by its key, `webhook_events` by `idx_webhook_events_call`.
pub(super) const NOT_PLACED: &str = "CASE \
     WHEN COALESCE(call_logs.status, '') IN ('connected', 'completed') THEN 0 \
     WHEN COALESCE(call_logs.feedback, '') = ? OR COALESCE(call_logs.remarks, '') LIKE ? \
          OR COALESCE(call_logs.remarks, '') LIKE ? THEN 1 \
     WHEN call_logs.status = 'failed' THEN CASE WHEN EXISTS (SELECT 1 FROM call_provisional p \
          WHERE p.call_log_id = call_logs.id AND p.reason LIKE ?) THEN 0 ELSE 1 END \
     WHEN call_logs.status = 'missed' AND COALESCE(call_logs.feedback, '') = '' \
          AND call_logs.provider = 'telecmi' THEN CASE \
          WHEN EXISTS (SELECT 1 FROM webhook_events w WHERE w.call_log_id = call_logs.id AND w.leg = 'b') THEN 0 \
          WHEN EXISTS (SELECT 1 FROM webhook_events w WHERE w.call_log_id = call_logs.id AND w.leg = 'a' \
               AND w.kind = 'event' AND LOWER(w.status) = 'answered') THEN 0 \
          WHEN EXISTS (SELECT 1 FROM webhook_events w WHERE w.call_log_id = call_logs.id AND w.leg = 'a' \
               AND LOWER(w.status) IN ('missed', 'hangup')) THEN 1 \
          ELSE 0 END \
     ELSE 0 END";

/// The parameters of [`NOT_PLACED`], in order: the outcome, the two tags and the ceiling's reason
/// (prefixes: none holds a `LIKE` wildcard, see the test).
pub(super) fn args() -> [String; 4] {
    [NOT_CALLED.to_string(), format!("{AGENT_MISSED_TAG}%"), format!("{NOT_PLACED_TAG}%"), format!("{CEILING_REMARK}%")]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_prefixes_hold_no_like_wildcard() {
        for prefix in [super::AGENT_MISSED_TAG, super::NOT_PLACED_TAG, super::CEILING_REMARK] {
            assert!(!prefix.contains(['%', '_', '\\']), "{prefix}");
        }
        assert_eq!(super::NOT_PLACED.matches('?').count(), super::args().len());
    }
}
