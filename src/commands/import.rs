//! `calldesk import drivers FILE.csv`: every row checked, bad rows reported by line, good rows loaded.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Read;

use chrono::Utc;

use crate::domain::text::clean_text;
use crate::domain::{Driver, Phone};
use crate::store::{ImportBatch, ImportOutcome, ROWS_PER_INSERT, Store};

pub const HEADER: [&str; 7] = ["id", "name", "mobile", "tmid", "city", "state", "assigned_to"];

/// The optional last column: the driver's IANA time zone (calling hours are read in it; empty =
/// the team's zone).
pub const TIMEZONE_COLUMN: &str = "timezone";

/// A row that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

/// [`clean_text`], without its cost for the usual field that has no control character to remove.
fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) { Cow::Owned(clean_text(s)) } else { Cow::Borrowed(s) }
}

fn opt(s: &str) -> Option<String> {
    let t = clean(s);
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The rows of a drivers CSV, read one at a time: each is a driver with its line, or a bad row
/// with its line and why (the checks that need no other row: fields, phone, lengths, caller,
/// time zone). Repeats within the file and mobiles of other drivers are the store's to find.
pub struct Rows<R: Read> {
    records: csv::StringRecordsIntoIter<R>,
    columns: usize,
    country_code: String,
    callers: HashSet<i64>,
}

impl<R: Read> Rows<R> {
    /// Reads the header line of `input`. `callers` are the registered caller ids `assigned_to` may
    /// name. Fails as a whole only when the header is wrong.
    pub fn new(input: R, country_code: &str, callers: HashSet<i64>) -> Result<Self, String> {
        let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
        let header = rdr.headers().map_err(|e| format!("cannot read the header line: {e}"))?;
        let names: Vec<String> =
            header.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()).collect();
        let with_zone = names.len() == HEADER.len() + 1 && names.last().is_some_and(|n| n == TIMEZONE_COLUMN);
        if names[..names.len().min(HEADER.len())] != HEADER || !(names.len() == HEADER.len() || with_zone) {
            return Err(format!(
                "the header must be exactly `{}` (optionally followed by `,{TIMEZONE_COLUMN}`) (found `{}`)",
                HEADER.join(","),
                names.join(",")
            ));
        }
        Ok(Self { columns: names.len(), records: rdr.into_records(), country_code: country_code.to_string(), callers })
    }
}

impl<R: Read> Iterator for Rows<R> {
    type Item = Result<(u64, Driver), RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(match self.records.next()? {
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                Err(RowError { line, reason: format!("unreadable row: {e}") })
            }
            Ok(rec) => {
                let line = rec.position().map_or(0, |p| p.line());
                row_to_driver(&rec, self.columns, &self.country_code, &self.callers)
                    .map(|d| (line, d))
                    .map_err(|reason| RowError { line, reason })
            }
        })
    }
}

/// The import's one-line summary: `3 new, 1 updated, 2 queued; 1 bad row skipped`.
pub fn summary(o: &ImportOutcome) -> String {
    let kept = match o.kept_finished {
        0 => String::new(),
        n => format!(", {n} finished left out of the queue (--requeue to queue them)"),
    };
    let kept = match o.kept_do_not_call {
        0 => kept,
        n => format!("{kept}, {n} who asked not to be called stay closed"),
    };
    let bad = crate::domain::text::plural(o.refused, "bad row");
    let pool = match o.pooled {
        0 => String::new(),
        n => format!(" ({n} to the team pool: no assigned_to)"),
    };
    format!("{} new, {} updated, {} queued{pool}{kept}; {bad} skipped", o.inserted, o.updated, o.queued)
}

/// Rows per batch handed from the reading thread to the store: one multi-row INSERT.
const BATCH_ROWS: usize = ROWS_PER_INSERT;

/// Imports `rows` into the store: the file is read on a blocking thread while the store stages
/// the rows read so far (a couple of batches in flight, so memory stays flat), then everything
/// is merged in one transaction. `file_read` runs once the last row has been read; `on_refused`
/// gets every refused line, in line order, at the end (an error after it still loads nothing).
pub async fn import<R: Read + Send + 'static>(
    store: &Store,
    rows: Rows<R>,
    requeue: bool,
    file_read: impl FnOnce() + Send + 'static,
    on_refused: impl FnMut(u64, &str) + Send,
) -> anyhow::Result<ImportOutcome> {
    let (tx, rx) = tokio::sync::mpsc::channel::<ImportBatch>(2);
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = ImportBatch::default();
        for row in rows {
            match row {
                Ok(r) => batch.rows.push(r),
                Err(e) => batch.refused.push((e.line, e.reason)),
            }
            if batch.rows.len() + batch.refused.len() >= BATCH_ROWS
                && tx.blocking_send(std::mem::take(&mut batch)).is_err()
            {
                return;
            }
        }
        file_read();
        // An error here means the import stopped early; its own error says why.
        let _ = tx.blocking_send(batch);
    });
    let outcome = store
        .import_driver_batches(tokio_stream::wrappers::ReceiverStream::new(rx), requeue, Utc::now(), on_refused)
        .await;
    reader.await?;
    Ok(outcome?)
}

fn row_to_driver(
    rec: &csv::StringRecord,
    columns: usize,
    country_code: &str,
    callers: &HashSet<i64>,
) -> Result<Driver, String> {
    if rec.len() != columns {
        return Err(format!("has {} fields; expected {columns}", rec.len()));
    }
    let field = |i: usize| rec.get(i).unwrap_or("");
    let id = opt(field(0)).ok_or("id is empty")?;
    if id.chars().count() > 50 {
        return Err("id is longer than 50 characters".into());
    }
    let name = opt(field(1)).ok_or("name is empty")?;
    if name.chars().count() > 255 {
        return Err("name is longer than 255 characters".into());
    }
    let raw_mobile = clean(field(2));
    let mobile = Phone::parse_with(&raw_mobile, country_code).map_err(|e| format!("mobile {raw_mobile:?}: {e}"))?;
    let assigned_to = match opt(field(6)) {
        None => None,
        Some(v) => {
            let n: i64 = v.parse().ok().filter(|n| *n > 0).ok_or(format!("assigned_to {v:?} is not a caller id"))?;
            if !callers.contains(&n) {
                return Err(format!("assigned_to {n} is not a registered caller (add it with `calldesk caller add`)"));
            }
            Some(n)
        }
    };
    let limit = |s: Option<String>, max: usize, what: &str| -> Result<Option<String>, String> {
        match s {
            Some(v) if v.chars().count() > max => Err(format!("{what} is longer than {max} characters")),
            other => Ok(other),
        }
    };
    Ok(Driver {
        id,
        name,
        mobile: mobile.to_string(),
        tmid: limit(opt(field(3)), 50, "tmid")?,
        city: limit(opt(field(4)), 100, "city")?,
        state: limit(opt(field(5)), 100, "state")?,
        assigned_to,
        timezone: opt(field(HEADER.len()))
            .map(|z| crate::domain::hours::parse_zone(&z).map(|tz| tz.name().to_string()))
            .transpose()
            .map_err(|e| format!("timezone {e}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Split = (Vec<(u64, Driver)>, Vec<RowError>);

    /// The good rows and the bad ones of `csv`.
    fn parse(csv: &str, callers: &[i64]) -> Result<Split, String> {
        let rows = Rows::new(csv.as_bytes(), "91", callers.iter().copied().collect())?;
        let (good, bad): (Vec<_>, Vec<_>) = rows.partition(Result::is_ok);
        Ok((good.into_iter().flatten().collect(), bad.into_iter().filter_map(Result::err).collect()))
    }

    #[test]
    fn an_optional_timezone_column_is_checked() {
        let csv = "id,name,mobile,tmid,city,state,assigned_to,timezone\n\
                   D1,Ramesh,9876543210,,,,3,Asia/Dubai\n\
                   D2,Suresh,9876543211,,,,3,\n\
                   D3,Mahesh,9876543212,,,,3,Dubai\n\
                   D4,Naresh,9876543213,,,,3\n";
        let (rows, errors) = parse(csv, &[3]).expect("header ok");
        let zones: Vec<_> = rows.iter().map(|(_, d)| (d.id.as_str(), d.timezone.as_deref())).collect();
        assert_eq!(zones, [("D1", Some("Asia/Dubai")), ("D2", None)]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].line, 4);
        assert!(errors[0].reason.contains("timezone \"Dubai\" is not an IANA time zone"), "{errors:?}");
        assert_eq!(errors[1].line, 5);
        assert!(errors[1].reason.contains("expected 8"), "{errors:?}");
        let e = parse("id,name,mobile,tmid,city,state,assigned_to,zone\n", &[]).expect_err("unknown column");
        assert!(e.contains("optionally followed by `,timezone`"), "{e}");
    }

    #[test]
    fn good_rows_load_and_bad_rows_say_why_by_line() {
        let csv = "id,name,mobile,tmid,city,state,assigned_to\n\
                   D1,Ramesh Kumar,+91 98765-43210,TM1,Pune,MH,3\n\
                   D2,,9876543211,TM2,Pune,MH,3\n\
                   D3,Suresh,12345,TM3,Pune,MH,3\n\
                   D4,Mahesh,9876543213,TM4,Pune,MH,9\n\
                   D5,Naresh \u{1b}[31mRed,09876543214,,,,\n\
                   D6,Too,Few\n\
                   \"D7\",\"Two\nLines\",9876543217,,,,\n\
                   D8,After,9876543218,,,,\n";
        let (rows, errors) = parse(csv, &[3]).expect("header ok");
        let drivers: Vec<&Driver> = rows.iter().map(|(_, d)| d).collect();
        assert_eq!(drivers.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["D1", "D5", "D7", "D8"]);
        assert_eq!(rows.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [2, 6, 8, 10], "a quoted line break counts");
        assert_eq!(drivers[0].mobile, "919876543210");
        assert_eq!(drivers[1].name, "Naresh Red");
        assert_eq!(drivers[1].assigned_to, None);
        assert_eq!(drivers[2].name, "Two Lines");
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 7]);
        assert!(errors[0].reason.contains("name is empty"));
        assert!(errors[1].reason.contains("10 to 15"), "{}", errors[1].reason);
        assert!(errors[2].reason.contains("not a registered caller"));
        assert!(errors[3].reason.contains("fields"));
    }

    #[test]
    fn fields_without_control_characters_are_kept_as_they_are() {
        for s in ["Ramesh Kumar", "राजू Kumar", "Zoë (Pune) – 5", "", "\u{a0}x"] {
            assert_eq!(clean(s), clean_text(s), "{s:?}");
            assert!(matches!(clean(s), Cow::Borrowed(_)));
        }
        for s in ["\u{1b}[31mRED\u{1b}[0m", "a\tb", "x\u{9b}y", "\u{1b}]0;t\u{7}N"] {
            assert_eq!(clean(s), clean_text(s), "{s:?}");
        }
    }

    #[test]
    fn wrong_header_is_refused() {
        let e = parse("name,id\nx,y\n", &[]).expect_err("bad header");
        assert!(e.contains("id,name,mobile,tmid,city,state,assigned_to"));
    }
}
