//! `calldesk import drivers FILE.csv`: every row checked, bad rows reported by line, good rows loaded.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use chrono::Utc;

use crate::domain::text::clean_text;
use crate::domain::{Driver, Phone};
use crate::store::{ImportOutcome, Store};

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

/// A good row and the line it came from.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub driver: Driver,
}

/// The rows of a drivers CSV, split into good drivers and bad rows.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<Row>,
    pub errors: Vec<RowError>,
}

impl Parsed {
    /// The drivers to load, in file order.
    pub fn drivers(&self) -> Vec<Driver> {
        self.rows.iter().map(|r| r.driver.clone()).collect()
    }

    /// Moves rows whose mobile already belongs to another driver in the database to the errors.
    /// `owners` are `(mobile, driver id)` pairs from the database. A number is not taken when its
    /// owner is in this file with another number (the file moves it).
    pub fn reject_taken_mobiles(&mut self, owners: &[(String, String)]) {
        let in_file: HashMap<String, String> =
            self.rows.iter().map(|r| (id_key(&r.driver.id), r.driver.mobile.clone())).collect();
        let taken_by = |row: &Row| {
            owners
                .iter()
                .filter(|(mobile, owner)| *mobile == row.driver.mobile && id_key(owner) != id_key(&row.driver.id))
                .find(|(mobile, owner)| in_file.get(&id_key(owner)).is_none_or(|m| m == mobile))
                .map(|(_, owner)| owner.clone())
        };
        let (keep, taken): (Vec<Row>, Vec<Row>) =
            std::mem::take(&mut self.rows).into_iter().partition(|r| taken_by(r).is_none());
        for row in taken {
            let owner = taken_by(&row).unwrap_or_default();
            self.errors.push(RowError {
                line: row.line,
                reason: format!("mobile {} already belongs to driver {owner}", row.driver.mobile),
            });
        }
        self.rows = keep;
        self.errors.sort_by_key(|e| e.line);
    }
}

/// Ids compare without case: MariaDB's default collation treats `d7` and `D7` as one id.
fn id_key(id: &str) -> String {
    id.to_lowercase()
}

fn opt(s: &str) -> Option<String> {
    let t = clean_text(s).trim().to_string();
    (!t.is_empty()).then_some(t)
}

/// Parses a drivers CSV. `callers` are the registered caller ids `assigned_to` may name.
/// Fails as a whole only when the header is wrong.
pub fn parse(input: impl Read, country_code: &str, callers: &HashSet<i64>) -> Result<Parsed, String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let header = rdr.headers().map_err(|e| format!("cannot read the header line: {e}"))?.clone();
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
    let columns = names.len();
    let mut out = Parsed::default();
    // First line of each id and of each mobile, so a repeat names both lines.
    let mut ids: HashMap<String, u64> = HashMap::new();
    let mut mobiles: HashMap<String, (u64, String)> = HashMap::new();
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
        let checked = row_to_driver(&rec, columns, country_code, callers).and_then(|d| {
            if let Some(first) = ids.get(&id_key(&d.id)) {
                return Err(format!("duplicate id {} (first on line {first})", d.id));
            }
            if let Some((first, other)) = mobiles.get(&d.mobile) {
                return Err(format!("mobile {} is also driver {other}'s (line {first})", d.mobile));
            }
            Ok(d)
        });
        match checked {
            Ok(d) => {
                ids.insert(id_key(&d.id), line);
                mobiles.insert(d.mobile.clone(), (line, d.id.clone()));
                out.rows.push(Row { line, driver: d });
            }
            Err(reason) => out.errors.push(RowError { line, reason }),
        }
    }
    Ok(out)
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
    let raw_mobile = clean_text(field(2));
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

/// Loads parsed drivers in batches, calling `progress` with the number of rows done. Finished
/// drivers are queued again only with `requeue`.
pub async fn load(
    store: &Store,
    drivers: &[Driver],
    requeue: bool,
    mut progress: impl FnMut(u64),
) -> crate::store::Result<ImportOutcome> {
    let mut total = ImportOutcome::default();
    for chunk in drivers.chunks(500) {
        let o = store.import_drivers_with(chunk, requeue, Utc::now()).await?;
        total.inserted += o.inserted;
        total.updated += o.updated;
        total.queued += o.queued;
        total.kept_finished += o.kept_finished;
        total.kept_do_not_call += o.kept_do_not_call;
        progress(chunk.len() as u64);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_timezone_column_is_checked() {
        let csv = "id,name,mobile,tmid,city,state,assigned_to,timezone\n\
                   D1,Ramesh,9876543210,,,,3,Asia/Dubai\n\
                   D2,Suresh,9876543211,,,,3,\n\
                   D3,Mahesh,9876543212,,,,3,Dubai\n\
                   D4,Naresh,9876543213,,,,3\n";
        let p = parse(csv.as_bytes(), "91", &HashSet::from([3])).expect("header ok");
        let zones: Vec<_> = p.rows.iter().map(|r| (r.driver.id.as_str(), r.driver.timezone.as_deref())).collect();
        assert_eq!(zones, [("D1", Some("Asia/Dubai")), ("D2", None)]);
        assert_eq!(p.errors.len(), 2, "{:?}", p.errors);
        assert_eq!(p.errors[0].line, 4);
        assert!(p.errors[0].reason.contains("timezone \"Dubai\" is not an IANA time zone"), "{:?}", p.errors);
        assert_eq!(p.errors[1].line, 5);
        assert!(p.errors[1].reason.contains("expected 8"), "{:?}", p.errors);
        let e = parse("id,name,mobile,tmid,city,state,assigned_to,zone\n".as_bytes(), "91", &HashSet::new())
            .expect_err("unknown column");
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
                   D6,Too,Few\n";
        let callers = HashSet::from([3]);
        let p = parse(csv.as_bytes(), "91", &callers).expect("header ok");
        let drivers = p.drivers();
        assert_eq!(drivers.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["D1", "D5"]);
        assert_eq!(drivers[0].mobile, "919876543210");
        assert_eq!(drivers[1].name, "Naresh Red");
        assert_eq!(drivers[1].assigned_to, None);
        let lines: Vec<u64> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 7]);
        assert!(p.errors[0].reason.contains("name is empty"));
        assert!(p.errors[1].reason.contains("10 to 15"), "{}", p.errors[1].reason);
        assert!(p.errors[2].reason.contains("not a registered caller"));
        assert!(p.errors[3].reason.contains("fields"));
    }

    #[test]
    fn repeated_ids_and_mobiles_name_the_first_line() {
        let csv = "id,name,mobile,tmid,city,state,assigned_to\n\
                   D7,A,9876543210,,,,\n\
                   D8,B,9876543211,,,,\n\
                   d7,C,9876543212,,,,\n\
                   D9,D,+91 98765 43211,,,,\n";
        let p = parse(csv.as_bytes(), "91", &HashSet::new()).expect("header ok");
        assert_eq!(p.drivers().iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["D7", "D8"]);
        assert_eq!(p.errors[0], RowError { line: 4, reason: "duplicate id d7 (first on line 2)".into() });
        assert_eq!(
            p.errors[1],
            RowError { line: 5, reason: "mobile 919876543211 is also driver D8's (line 3)".into() }
        );
    }

    #[test]
    fn a_mobile_of_another_driver_in_the_database_is_refused_unless_the_file_moves_it() {
        let csv = "id,name,mobile,tmid,city,state,assigned_to\n\
                   D1,A,9876543210,,,,\n\
                   D2,B,9876543211,,,,\n\
                   D3,C,9876543212,,,,\n";
        let mut p = parse(csv.as_bytes(), "91", &HashSet::new()).expect("header ok");
        // D1's number is D9's in the database; D2's was D3's, but the file gives D3 a new one.
        p.reject_taken_mobiles(&[("919876543210".into(), "D9".into()), ("919876543211".into(), "D3".into())]);
        assert_eq!(p.drivers().iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["D2", "D3"]);
        assert_eq!(p.errors, [RowError { line: 2, reason: "mobile 919876543210 already belongs to driver D9".into() }]);
    }

    #[test]
    fn wrong_header_is_refused() {
        let e = parse("name,id\nx,y\n".as_bytes(), "91", &HashSet::new()).expect_err("bad header");
        assert!(e.contains("id,name,mobile,tmid,city,state,assigned_to"));
    }
}
