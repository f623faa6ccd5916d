//! Which calls rang the driver. A call that never did — the agent's own phone (TeleCMI's leg A)
//! was not answered, TeleCMI refused the dial, the agent marked it as not placed — is no driver
//! call: the stats count it apart. One SQL expression says which, from what the row holds, the
//! same on SQLite and MySQL.

use crate::domain::CEILING_REMARK;
use crate::domain::feedback::NOT_CALLED;
use crate::domain::wrapup::{AGENT_MISSED_TAG, NOT_PLACED_TAG};

/// `1` for a `call_logs` row that never rang the driver, else `0`, decided in this order:
/// 1. a driver who answered (`connected`, `completed`) was rung, whatever else the row says;
/// 2. a `missed` TeleCMI call with leg reports: they decide, as [`crate::domain::wrapup::classify`]
///    reads them (a report of leg B, or leg A answered: rung; leg A missed or hung up, never
///    answered: not rung) — whatever outcome was saved, here or through the old API;
/// 3. the saved outcome says the driver was not called ([`NOT_CALLED`]), or a wrap-up's reason
///    tag does anywhere in the remarks ([`AGENT_MISSED_TAG`], [`NOT_PLACED_TAG`]; remarks saved
///    elsewhere may come first);
/// 4. `failed`: TeleCMI refused the dial or reported it failed, or the agent marked it as not
///    placed — except a call calldesk closed at the call ceiling (its `call_provisional` reason;
///    the remarks give way to the agent's at wrap-up), which may have rung.
///
/// Parameters: [`args`], in order. Only a missed TeleCMI row, or a failed row, reads another
/// table: `webhook_events` by `idx_webhook_events_call`, `call_provisional` by its key.
pub(super) const NOT_PLACED: &str = "CASE \
     WHEN COALESCE(call_logs.status, '') IN ('connected', 'completed') THEN 0 \
     WHEN call_logs.status = 'missed' AND call_logs.provider = 'telecmi' \
          AND EXISTS (SELECT 1 FROM webhook_events w WHERE w.call_log_id = call_logs.id AND (w.leg = 'b' \
               OR (w.leg = 'a' AND w.kind = 'event' AND LOWER(w.status) = 'answered'))) THEN 0 \
     WHEN call_logs.status = 'missed' AND call_logs.provider = 'telecmi' \
          AND EXISTS (SELECT 1 FROM webhook_events w WHERE w.call_log_id = call_logs.id AND w.leg = 'a' \
               AND LOWER(w.status) IN ('missed', 'hangup')) THEN 1 \
     WHEN COALESCE(call_logs.feedback, '') = ? OR COALESCE(call_logs.remarks, '') LIKE ? \
          OR COALESCE(call_logs.remarks, '') LIKE ? THEN 1 \
     WHEN call_logs.status = 'failed' THEN CASE WHEN EXISTS (SELECT 1 FROM call_provisional p \
          WHERE p.call_log_id = call_logs.id AND p.reason LIKE ?) THEN 0 ELSE 1 END \
     ELSE 0 END";

/// The parameters of [`NOT_PLACED`], in order: the outcome, the two tags (anywhere in the
/// remarks) and the ceiling's reason (a prefix; none holds a `LIKE` wildcard, see the test).
pub(super) fn args() -> [String; 4] {
    [
        NOT_CALLED.to_string(),
        format!("%{AGENT_MISSED_TAG}%"),
        format!("%{NOT_PLACED_TAG}%"),
        format!("{CEILING_REMARK}%"),
    ]
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
