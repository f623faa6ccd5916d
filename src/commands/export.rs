//! `calldesk export logs`: call logs to stdout as CSV, one JSON array, or JSON lines, keyset-paged
//! so memory stays flat whatever the size. Times are ISO-8601 with their offset.

use std::borrow::Cow;
use std::io::Write;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::CallLog;
use crate::store::{CallFilter, CallPage, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table with a header row; cells a spreadsheet would run as a formula start with `'`
    Csv,
    /// One JSON array of objects
    Json,
    /// One JSON object per line
    Ndjson,
}

const COLUMNS: [&str; 16] = [
    "id",
    "reference_id",
    "caller_id",
    "driver_id",
    "driver_mobile",
    "driver_name",
    "driver_tmid",
    "call_type",
    "status",
    "provider",
    "telecmi_user_id",
    "feedback",
    "remarks",
    "call_duration",
    "created_at",
    "updated_at",
];

/// `YYYY-MM-DD`, for `--from` / `--to` (clap names the flag in its error).
pub fn parse_day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date like 2026-11-24 (YYYY-MM-DD)"))
}

/// `[from, until)` as instants; `None` leaves that side open.
pub type Span = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The instants `[from, until)` covering the days `from..=to` in `zone`.
pub fn day_range(from: Option<NaiveDate>, to: Option<NaiveDate>, zone: Tz) -> Result<Span, String> {
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(format!("--from {f} is after --to {t}"));
    }
    let start = |d: NaiveDate| crate::domain::hours::resolve(zone, d, chrono::NaiveTime::MIN);
    let from = from.map(start);
    let until = to.map(|d| d.succ_opt().map(start).ok_or(format!("--to {d} is out of range"))).transpose()?;
    Ok((from, until))
}

/// ISO-8601 with the offset (`2026-11-24T11:30:00+05:30`, `Z` in UTC).
pub fn iso(t: &DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, carriage return
/// first) gets a leading `'`, so it is shown as text instead of run.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// One call log as exported: the `call_logs` columns, times with their offset.
#[derive(Debug, Serialize)]
struct Exported<'a> {
    id: i64,
    reference_id: Option<&'a str>,
    caller_id: Option<i64>,
    driver_id: Option<&'a str>,
    driver_mobile: Option<&'a str>,
    driver_name: Option<&'a str>,
    driver_tmid: Option<&'a str>,
    call_type: Option<&'a str>,
    status: Option<&'a str>,
    provider: Option<&'a str>,
    telecmi_user_id: Option<&'a str>,
    feedback: Option<&'a str>,
    remarks: Option<&'a str>,
    call_duration: Option<i64>,
    created_at: String,
    updated_at: Option<String>,
}

impl<'a> Exported<'a> {
    fn new(c: &'a CallLog, zone: Tz) -> Self {
        Self {
            id: c.id,
            reference_id: c.reference_id.as_deref(),
            caller_id: c.caller_id,
            driver_id: c.driver_id.as_deref(),
            driver_mobile: c.driver_mobile.as_deref(),
            driver_name: c.driver_name.as_deref(),
            driver_tmid: c.driver_tmid.as_deref(),
            call_type: c.call_type.as_deref(),
            status: c.status.as_deref(),
            provider: c.provider.as_deref(),
            telecmi_user_id: c.telecmi_user_id.as_deref(),
            feedback: c.feedback.as_deref(),
            remarks: c.remarks.as_deref(),
            call_duration: c.call_duration,
            created_at: iso(&c.created_at, zone),
            updated_at: c.updated_at.as_ref().map(|t| iso(t, zone)),
        }
    }

    fn csv_cells(&self) -> [String; 16] {
        let s = |v: Option<&str>| neutralise(v.unwrap_or("")).into_owned();
        let n = |v: Option<i64>| v.map(|n| neutralise(&n.to_string()).into_owned()).unwrap_or_default();
        [
            self.id.to_string(),
            s(self.reference_id),
            n(self.caller_id),
            s(self.driver_id),
            s(self.driver_mobile),
            s(self.driver_name),
            s(self.driver_tmid),
            s(self.call_type),
            s(self.status),
            s(self.provider),
            s(self.telecmi_user_id),
            s(self.feedback),
            s(self.remarks),
            n(self.call_duration),
            self.created_at.clone(),
            self.updated_at.clone().unwrap_or_default(),
        ]
    }
}

/// Writes all calls matching `filter`, newest first, with times in `zone`; returns how many.
pub async fn write_logs(
    store: &Store,
    filter: &CallFilter,
    format: Format,
    zone: Tz,
    out: impl Write,
) -> anyhow::Result<u64> {
    let mut out = std::io::BufWriter::new(out);
    let n = match format {
        Format::Csv => {
            let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(&mut out);
            w.write_record(COLUMNS)?;
            let n = each_page(store, filter, |page| {
                for row in page {
                    w.write_record(Exported::new(row, zone).csv_cells())?;
                }
                Ok(w.flush()?)
            })
            .await?;
            w.flush()?;
            n
        }
        Format::Json => {
            out.write_all(b"[")?;
            let mut first = true;
            let n = each_page(store, filter, |page| {
                for row in page {
                    out.write_all(if first { b"\n" } else { b",\n" })?;
                    first = false;
                    serde_json::to_writer(&mut out, &Exported::new(row, zone))?;
                }
                Ok(())
            })
            .await?;
            out.write_all(if n == 0 { b"]\n" } else { b"\n]\n" })?;
            n
        }
        Format::Ndjson => {
            each_page(store, filter, |page| {
                for row in page {
                    serde_json::to_writer(&mut out, &Exported::new(row, zone))?;
                    out.write_all(b"\n")?;
                }
                Ok(())
            })
            .await?
        }
    };
    out.flush()?;
    Ok(n)
}

/// Hands `write` the matching calls a page at a time (keyset paging, newest first), so memory
/// stays one page whatever the export's size; returns how many there were.
async fn each_page(
    store: &Store,
    filter: &CallFilter,
    mut write: impl FnMut(&[CallLog]) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut before = None;
    let mut n = 0u64;
    loop {
        let page = store.list_calls(filter, CallPage { before_id: before, offset: None, limit: 1000 }).await?;
        let Some(last) = page.last() else { return Ok(n) };
        before = Some(last.id);
        write(&page)?;
        n += page.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_others_kept() {
        for bad in ["=HYPERLINK(\"x\")", "+91 9876", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"), "{bad:?}");
        }
        for good in ["Ramesh", "919876543210", "a=b", "", "'quoted"] {
            assert_eq!(neutralise(good), good);
        }
    }

    #[test]
    fn days_parse_and_cover_whole_days_in_the_zone() {
        let ist = chrono_tz::Asia::Kolkata;
        let d = |s: &str| parse_day(s).expect("date");
        assert!(parse_day("24/11/2026").expect_err("bad").contains("YYYY-MM-DD"));
        assert!(parse_day("2026-02-30").is_err());
        let (from, until) = day_range(Some(d("2026-11-24")), Some(d("2026-11-24")), ist).expect("range");
        assert_eq!(from.map(|t| t.to_rfc3339()), Some("2026-11-23T18:30:00+00:00".into()));
        assert_eq!(until.map(|t| t.to_rfc3339()), Some("2026-11-24T18:30:00+00:00".into()));
        assert!(day_range(Some(d("2026-11-25")), Some(d("2026-11-24")), ist).expect_err("reversed").contains("--from"));
        assert_eq!(day_range(None, None, ist), Ok((None, None)));
    }

    #[test]
    fn times_carry_their_offset() {
        let t = DateTime::parse_from_rfc3339("2026-11-24T06:00:00Z").expect("t").with_timezone(&Utc);
        let ist = chrono_tz::Asia::Kolkata;
        assert_eq!(iso(&t, ist), "2026-11-24T11:30:00+05:30");
        assert_eq!(iso(&t, chrono_tz::UTC), "2026-11-24T06:00:00Z");
    }
}
