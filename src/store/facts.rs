//! What TeleCMI reported about each leg of a call, read back from the stored webhooks: the facts
//! a wrap-up needs to say who missed the call.

use super::{Result, Store, with_pool};
use crate::domain::wrapup::LegReport;

#[derive(sqlx::FromRow)]
struct Row {
    leg: String,
    kind: String,
    status: String,
    payload: Option<String>,
}

/// TeleCMI's `hangup_reason` in a stored payload, if it has one.
fn hangup_reason(payload: Option<&str>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(payload?).ok()?;
    v.get("hangup_reason")?.as_str().map(|s| s.trim().to_ascii_lowercase())
}

impl Store {
    /// Every stored report of `call_id`'s legs, oldest first.
    #[tracing::instrument(skip_all, err)]
    pub async fn leg_reports(&self, call_id: i64) -> Result<Vec<LegReport>> {
        let rows: Vec<Row> = with_pool!(self, |p, d| {
            sqlx::query_as::<_, Row>(
                "SELECT leg, kind, status, payload FROM webhook_events WHERE call_log_id = ? ORDER BY id LIMIT 200",
            )
            .bind(call_id)
            .fetch_all(p)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| LegReport {
                hangup_reason: hangup_reason(r.payload.as_deref()),
                leg: r.leg,
                kind: r.kind,
                status: r.status.to_ascii_lowercase(),
            })
            .collect())
    }
}
