//! The do-not-call list: numbers no call may go to, with who added each, when and why.
//!
//! Numbers are [`Phone`]s, so every format of one number (`+91 90000 00012`, `9000000012`,
//! `09000000012`) is one entry, spelled as `drivers.mobile` spells it. Drivers whose number is on
//! the list are left out of the due queue and its counts (a `NOT EXISTS` on the primary key per
//! row), so removing a number gives them back their place.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{Result, Store, StoreError, db_time, with_pool};
use crate::domain::text::{clean_text, strip_controls};
use crate::domain::{DO_NOT_CALL_REASON, Phone};

/// Longest reason kept (the MySQL column's size).
pub const DNC_REASON_MAX: usize = 500;

/// One number on the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DncEntry {
    pub number: String,
    pub reason: Option<String>,
    /// The caller who added it, when a caller did.
    pub added_by: Option<i64>,
    /// Who added it, as shown: the caller's name, or `cli` (with the login) from the command line.
    pub added_by_name: String,
    pub added_at: DateTime<Utc>,
}

type Row = (String, Option<String>, Option<i64>, String, NaiveDateTime);

impl From<Row> for DncEntry {
    fn from((number, reason, added_by, added_by_name, added_at): Row) -> Self {
        Self { number, reason, added_by, added_by_name, added_at: added_at.and_utc() }
    }
}

/// How an added time is shown: `24 Nov 2026 11:30`.
pub const DNC_TIME_FMT: &str = "%d %b %Y %H:%M";

impl DncEntry {
    /// "since 24 Nov 2026 11:30, added by Pooja", in `tz`.
    pub fn since(&self, tz: Tz) -> String {
        format!("since {}, added by {}", self.added_at.with_timezone(&tz).format(DNC_TIME_FMT), self.added_by_name)
    }

    /// Why a call to this number is refused, in one sentence.
    pub fn refusal(&self, tz: Tz) -> String {
        let why = self.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
        let number = crate::domain::phone::readable(&self.number);
        format!("{number} is on the do-not-call list ({}){why}. No call was placed.", self.since(tz))
    }
}

/// A driver who asked not to be called (`drivers.closed_reason` is [`DO_NOT_CALL_REASON`]): no
/// call goes to them whatever their number is, listed or not, old or new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AskedNotToCall {
    pub driver_id: String,
    pub name: String,
    /// When the outcome closed them.
    pub closed_at: Option<DateTime<Utc>>,
    /// The call they asked on (the last one saved with the outcome that closed them), if known.
    pub call_id: Option<i64>,
}

impl AskedNotToCall {
    /// "on call 57, 24 Nov 2026 11:30", as much as is known.
    pub fn when(&self, tz: Tz) -> String {
        let at = self.closed_at.map(|t| t.with_timezone(&tz).format(DNC_TIME_FMT).to_string());
        match (self.call_id, at) {
            (Some(c), Some(at)) => format!(" on call {c}, {at}"),
            (Some(c), None) => format!(" on call {c}"),
            (None, Some(at)) => format!(" on {at}"),
            (None, None) => String::new(),
        }
    }
}

/// Why no call may go to a driver: their number is on the list, or they asked not to be called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DoNotCall {
    Listed(DncEntry),
    Asked(AskedNotToCall),
}

impl DoNotCall {
    /// Why a call is refused, in one sentence.
    pub fn refusal(&self, tz: Tz) -> String {
        match self {
            Self::Listed(e) => e.refusal(tz),
            Self::Asked(a) => format!(
                "{} ({}) asked not to be called{}: no call goes to them, whatever their number. No call was placed.",
                strip_controls(&a.name),
                a.driver_id,
                a.when(tz)
            ),
        }
    }

    /// The refusal's first line in the call dialog.
    pub fn headline(&self) -> String {
        match self {
            Self::Listed(e) => {
                format!(
                    "{} is on the do-not-call list. No call can be placed.",
                    crate::domain::phone::readable(&e.number)
                )
            }
            Self::Asked(a) => format!("{} asked not to be called. No call can be placed.", strip_controls(&a.name)),
        }
    }

    /// The refusal's detail in the call dialog: since when, by whom and why.
    pub fn detail(&self, tz: Tz) -> String {
        match self {
            Self::Listed(e) => {
                let why = e.reason.as_deref().map(|r| format!(": {}", strip_controls(r))).unwrap_or_default();
                format!("Listed {}{why}", strip_controls(&e.since(tz)))
            }
            Self::Asked(a) => format!("They asked{}; a new or unlisted number does not change that.", a.when(tz)),
        }
    }
}

/// Who puts numbers on the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DncAdder {
    pub caller_id: Option<i64>,
    pub name: String,
}

/// What adding a number did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DncAdded {
    Added(DncEntry),
    /// It was listed already; the first entry stands.
    Already(DncEntry),
}

/// A reason as stored: cleaned of control characters, trimmed, within [`DNC_REASON_MAX`].
pub fn dnc_reason(reason: Option<&str>) -> Option<String> {
    let r = clean_text(reason.unwrap_or("")).trim().to_string();
    (!r.is_empty()).then(|| r.chars().take(DNC_REASON_MAX).collect())
}

const COLUMNS: &str = "SELECT number, reason, added_by, added_by_name, added_at FROM dnc_numbers";

/// True when driver `d`'s number is not on the list (the due queue and search join `drivers d`).
pub(crate) const D_NOT_LISTED: &str = "NOT EXISTS (SELECT 1 FROM dnc_numbers n WHERE n.number = d.mobile)";
/// True when queue row `q`'s driver's number is not on the list (queries without `drivers`).
pub(crate) const Q_NOT_LISTED: &str = "NOT EXISTS (SELECT 1 FROM drivers dd JOIN dnc_numbers n ON n.number = dd.mobile \
     WHERE dd.id = q.driver_id)";

/// The reason stored when a driver asks on a call: names the call, then what the agent wrote.
pub fn asked_reason(call_id: i64, remarks: &str) -> String {
    let remarks = remarks.trim();
    if remarks.is_empty() { format!("asked on call {call_id}") } else { format!("asked on call {call_id}: {remarks}") }
}

/// Inside a `with_pool!` transaction `$tx` (dialect `$d`): puts `$number` on the list (a number
/// already listed keeps its first entry), added by `$by` (`Option<i64>`) named `$name`, at `$at`
/// (as stored: [`db_time`]).
macro_rules! insert_listed_in_tx {
    ($tx:ident, $d:ident, $number:expr, $reason:expr, $by:expr, $name:expr, $at:expr) => {{
        let sql = format!(
            "{} INTO dnc_numbers (number, reason, added_by, added_by_name, added_at) VALUES (?, ?, ?, ?, ?)",
            $d.insert_ignore
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind($number)
            .bind($crate::store::dnc_reason($reason))
            .bind($by)
            .bind($name)
            .bind($at)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use insert_listed_in_tx;

/// Inside a `with_pool!` transaction `$tx`: the name a caller is shown by in a list entry (their name, else `caller N`, else `agent`).
macro_rules! adder_name_in_tx {
    ($tx:ident, $caller:expr) => {{
        let caller: Option<i64> = $caller;
        let name: Option<(String,)> = match caller {
            Some(c) => {
                sqlx::query_as("SELECT name FROM callers WHERE id = ?").bind(c).fetch_optional(&mut *$tx).await?
            }
            None => None,
        };
        name.map_or_else(|| caller.map_or("agent".to_string(), |c| format!("caller {c}")), |(n,)| n)
    }};
}
pub(crate) use adder_name_in_tx;

/// Inside a `with_pool!` transaction `$tx` (dialect `$d`): puts the numbers of driver `$driver`
/// (`Option<&str>`: an old call row may have none) and of call `$call` on the list, added by the
/// call's caller, for [`asked_reason`]; evaluates to how many numbers that is. The call's number
/// counts only when it is already in the normalised form (as the dialer writes it).
macro_rules! list_asked_in_tx {
    ($tx:ident, $d:ident, $call:expr, $driver:expr, $caller:expr, $remarks:expr, $now:expr) => {{
        let mut numbers: Vec<String> = Vec::new();
        let driver: Option<&str> = $driver;
        if let Some(driver) = driver {
            let own: Option<(String,)> = sqlx::query_as("SELECT mobile FROM drivers WHERE id = ?")
                .bind(driver)
                .fetch_optional(&mut *$tx)
                .await?;
            numbers.extend(own.map(|(m,)| m));
        }
        let dialed: Option<(Option<String>,)> = sqlx::query_as("SELECT driver_mobile FROM call_logs WHERE id = ?")
            .bind($call)
            .fetch_optional(&mut *$tx)
            .await?;
        if let Some(m) = dialed.and_then(|(m,)| m)
            && $crate::domain::Phone::parse(&m).is_ok_and(|p| p.as_str() == m)
            && !numbers.contains(&m)
        {
            numbers.push(m);
        }
        let name = $crate::store::dnc::adder_name_in_tx!($tx, $caller);
        let reason = $crate::store::dnc::asked_reason($call, $remarks);
        let at = $crate::store::db_time($now);
        for number in &numbers {
            $crate::store::dnc::insert_listed_in_tx!($tx, $d, number, Some(reason.as_str()), $caller, &name, at);
        }
        numbers.len()
    }};
}
pub(crate) use list_asked_in_tx;

impl Store {
    /// The entry of `number`, if it is on the list.
    #[tracing::instrument(skip_all, err)]
    pub async fn dnc_entry(&self, number: &Phone) -> Result<Option<DncEntry>> {
        let sql = format!("{COLUMNS} WHERE number = ?");
        let row: Option<Row> = with_pool!(self, |p, d| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(number.as_str()).fetch_optional(p).await
        })?;
        Ok(row.map(DncEntry::from))
    }

    /// Puts `number` on the list; a number already there keeps its first entry.
    #[tracing::instrument(skip_all, err)]
    pub async fn dnc_add(
        &self,
        number: &Phone,
        reason: Option<&str>,
        by: &DncAdder,
        now: DateTime<Utc>,
    ) -> Result<DncAdded> {
        let (added, _) = self.dnc_add_many(&[(number.clone(), reason.map(str::to_string))], by, now).await?;
        let entry = self
            .dnc_entry(number)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("{number} vanished from the do-not-call list")))?;
        Ok(if added == 1 { DncAdded::Added(entry) } else { DncAdded::Already(entry) })
    }

    /// Puts every number on the list in one transaction; returns (added, already listed).
    #[tracing::instrument(skip_all, fields(rows = rows.len()), err)]
    pub async fn dnc_add_many(
        &self,
        rows: &[(Phone, Option<String>)],
        by: &DncAdder,
        now: DateTime<Utc>,
    ) -> Result<(u64, u64)> {
        let now = db_time(now);
        let name: String = clean_text(&by.name).trim().chars().take(255).collect();
        let added = with_pool!(self, |p, d| {
            let mut tx = p.begin_with(d.begin_write).await?;
            let sql = format!(
                "{} INTO dnc_numbers (number, reason, added_by, added_by_name, added_at) VALUES (?, ?, ?, ?, ?)",
                d.insert_ignore
            );
            let mut added = 0u64;
            for (number, reason) in rows {
                let r = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(number.as_str())
                    .bind(dnc_reason(reason.as_deref()))
                    .bind(by.caller_id)
                    .bind(&name)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                added += r.rows_affected();
            }
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(added)
        })?;
        Ok((added, rows.len() as u64 - added))
    }

    /// Takes `number` off the list; returns the entry it had, or `None` when it was not listed.
    #[tracing::instrument(skip_all, err)]
    pub async fn dnc_remove(&self, number: &Phone) -> Result<Option<DncEntry>> {
        let Some(entry) = self.dnc_entry(number).await? else { return Ok(None) };
        let removed = with_pool!(self, |p, d| {
            sqlx::query("DELETE FROM dnc_numbers WHERE number = ?")
                .bind(number.as_str())
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok((removed > 0).then_some(entry))
    }

    /// The whole list, newest first.
    #[tracing::instrument(skip_all, err)]
    pub async fn dnc_list(&self) -> Result<Vec<DncEntry>> {
        let sql = format!("{COLUMNS} ORDER BY added_at DESC, number");
        let rows: Vec<Row> =
            with_pool!(self, |p, d| sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await)?;
        Ok(rows.into_iter().map(DncEntry::from).collect())
    }

    /// Whether driver `driver_id` asked not to be called: when, and on which call.
    #[tracing::instrument(skip_all, err)]
    pub async fn driver_asked(&self, driver_id: &str) -> Result<Option<AskedNotToCall>> {
        let row: Option<(String, Option<NaiveDateTime>, Option<String>)> = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT name, closed_at, finished_outcome FROM drivers WHERE id = ? AND closed_reason = ?")
                .bind(driver_id)
                .bind(DO_NOT_CALL_REASON)
                .fetch_optional(p)
                .await
        })?;
        let Some((name, closed_at, outcome)) = row else { return Ok(None) };
        // Two queries, no join: the old system's call_logs may have another collation.
        let call: Option<(i64,)> = match &outcome {
            Some(outcome) => with_pool!(self, |p, d| {
                sqlx::query_as("SELECT id FROM call_logs WHERE driver_id = ? AND feedback = ? ORDER BY id DESC LIMIT 1")
                    .bind(driver_id)
                    .bind(outcome)
                    .fetch_optional(p)
                    .await
            })?,
            None => None,
        };
        Ok(Some(AskedNotToCall {
            driver_id: driver_id.to_string(),
            name,
            closed_at: closed_at.map(|t| t.and_utc()),
            call_id: call.map(|(c,)| c),
        }))
    }

    /// Why no call may go to driver `driver_id` on `number`: the driver having asked not to be
    /// called (first: it holds whatever the number, and names the call), else the number's entry.
    #[tracing::instrument(skip_all, err)]
    pub async fn do_not_call(&self, driver_id: &str, number: Option<&Phone>) -> Result<Option<DoNotCall>> {
        if let Some(asked) = self.driver_asked(driver_id).await? {
            return Ok(Some(DoNotCall::Asked(asked)));
        }
        Ok(match number {
            Some(n) => self.dnc_entry(n).await?.map(DoNotCall::Listed),
            None => None,
        })
    }

    /// The ids of drivers whose number is `number` (what a listing keeps out of the queue).
    #[tracing::instrument(skip_all, err)]
    pub async fn drivers_with_number(&self, number: &Phone) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = with_pool!(self, |p, d| {
            sqlx::query_as("SELECT id FROM drivers WHERE mobile = ? ORDER BY id")
                .bind(number.as_str())
                .fetch_all(p)
                .await
        })?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_refusal_says_since_when_by_whom_and_why() {
        let e = DncEntry {
            number: "919000000012".into(),
            reason: Some("asked on call 7".into()),
            added_by: Some(3),
            added_by_name: "Pooja".into(),
            added_at: Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).single().expect("time"),
        };
        let ist = chrono_tz::Asia::Kolkata;
        assert_eq!(
            e.refusal(ist),
            "+91 90000 00012 is on the do-not-call list (since 24 Nov 2026 11:30, added by Pooja): asked on call 7. \
             No call was placed."
        );
        let bare = DncEntry { reason: None, ..e };
        assert!(bare.refusal(ist).ends_with("added by Pooja). No call was placed."));
    }

    #[test]
    fn reasons_are_cleaned_and_bounded() {
        assert_eq!(dnc_reason(Some("  \u{1b}[31mmoved\u{1b}[0m away ")), Some("moved away".into()));
        assert_eq!(dnc_reason(Some("   ")), None);
        assert_eq!(dnc_reason(None), None);
        assert_eq!(dnc_reason(Some(&"x".repeat(900))).map(|r| r.chars().count()), Some(DNC_REASON_MAX));
    }

    #[tokio::test]
    async fn every_format_of_a_number_is_one_entry() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let by = DncAdder { caller_id: None, name: "cli".into() };
        let now = Utc::now();
        let first = Phone::parse("+91 90000 00012").expect("phone");
        assert!(matches!(store.dnc_add(&first, Some("asked"), &by, now).await, Ok(DncAdded::Added(_))));
        for again in ["9000000012", "09000000012", "919000000012"] {
            let p = Phone::parse(again).expect("phone");
            match store.dnc_add(&p, Some("other"), &by, now).await {
                Ok(DncAdded::Already(e)) => assert_eq!(e.reason.as_deref(), Some("asked"), "the first entry stands"),
                other => panic!("{again}: {other:?}"),
            }
        }
        assert_eq!(store.dnc_list().await.expect("list").len(), 1);
        let removed = store.dnc_remove(&Phone::parse("09000000012").expect("phone")).await.expect("remove");
        assert_eq!(removed.map(|e| e.number), Some("919000000012".into()));
        assert_eq!(store.dnc_remove(&first).await.expect("remove"), None, "not listed any more");
    }
}
