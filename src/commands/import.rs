//! `calldesk import drivers FILE.csv`: every row checked, bad rows reported by line, good rows loaded.

use std::collections::HashSet;
use std::io::Read;

use chrono::Utc;

use crate::domain::text::strip_controls;
use crate::domain::{Driver, Phone};
use crate::store::{ImportOutcome, Store};

pub const HEADER: [&str; 7] = ["id", "name", "mobile", "tmid", "city", "state", "assigned_to"];

/// A row that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

/// The rows of a drivers CSV, split into good drivers and bad rows.
#[derive(Debug, Default)]
pub struct Parsed {
    pub drivers: Vec<Driver>,
    pub errors: Vec<RowError>,
}

fn opt(s: &str) -> Option<String> {
    let t = strip_controls(s.trim());
    (!t.is_empty()).then_some(t)
}

/// Parses a drivers CSV. `callers` are the registered caller ids `assigned_to` may name.
/// Fails as a whole only when the header is wrong.
pub fn parse(input: impl Read, country_code: &str, callers: &HashSet<i64>) -> Result<Parsed, String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let header = rdr.headers().map_err(|e| format!("cannot read the header line: {e}"))?.clone();
    let names: Vec<String> =
        header.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()).collect();
    if names != HEADER {
        return Err(format!("the header must be exactly `{}` (found `{}`)", HEADER.join(","), names.join(",")));
    }
    let mut out = Parsed::default();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.errors.push(RowError { line, reason: format!("unreadable row: {e}") });
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        match row_to_driver(&rec, country_code, callers) {
            Ok(d) => out.drivers.push(d),
            Err(reason) => out.errors.push(RowError { line, reason }),
        }
    }
    Ok(out)
}

fn row_to_driver(rec: &csv::StringRecord, country_code: &str, callers: &HashSet<i64>) -> Result<Driver, String> {
    if rec.len() != HEADER.len() {
        return Err(format!("has {} fields; expected {}", rec.len(), HEADER.len()));
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
    let mobile = Phone::parse_with(field(2), country_code).map_err(|e| format!("mobile {:?}: {e}", field(2)))?;
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
    })
}

/// Loads parsed drivers in batches, calling `progress` with the number of rows done.
pub async fn load(
    store: &Store,
    drivers: &[Driver],
    mut progress: impl FnMut(u64),
) -> crate::store::Result<ImportOutcome> {
    let mut total = ImportOutcome::default();
    for chunk in drivers.chunks(500) {
        let o = store.import_drivers(chunk, Utc::now()).await?;
        total.inserted += o.inserted;
        total.updated += o.updated;
        total.queued += o.queued;
        progress(chunk.len() as u64);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_rows_load_and_bad_rows_say_why_by_line() {
        let csv = "id,name,mobile,tmid,city,state,assigned_to\n\
                   D1,Ramesh Kumar,+91 98765-43210,TM1,Pune,MH,3\n\
                   D2,,9876543211,TM2,Pune,MH,3\n\
                   D3,Suresh,12345,TM3,Pune,MH,3\n\
                   D4,Mahesh,9876543213,TM4,Pune,MH,9\n\
                   D5,Naresh \u{1b}[31mRed,09876543214,,,,\n\
                   D6,Too,Few\n";
        let callers = HashSet::from([3]);
        let p = parse(csv.as_bytes(), "91", &callers).expect("header ok");
        assert_eq!(p.drivers.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["D1", "D5"]);
        assert_eq!(p.drivers[0].mobile, "919876543210");
        assert_eq!(p.drivers[1].name, "Naresh [31mRed");
        assert_eq!(p.drivers[1].assigned_to, None);
        let lines: Vec<u64> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 7]);
        assert!(p.errors[0].reason.contains("name is empty"));
        assert!(p.errors[1].reason.contains("10 to 15"), "{}", p.errors[1].reason);
        assert!(p.errors[2].reason.contains("not a registered caller"));
        assert!(p.errors[3].reason.contains("fields"));
    }

    #[test]
    fn wrong_header_is_refused() {
        let e = parse("name,id\nx,y\n".as_bytes(), "91", &HashSet::new()).expect_err("bad header");
        assert!(e.contains("id,name,mobile,tmid,city,state,assigned_to"));
    }
}
