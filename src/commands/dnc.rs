//! `calldesk dnc add|remove|list|import`: the do-not-call list from the command line.
//!
//! Numbers are read like every phone here (the configured country code for a bare national
//! number), so `+91 90000 00012`, `9000000012` and `09000000012` are one entry.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use chrono_tz::Tz;

use super::import::RowError;
use crate::config::Config;
use crate::domain::text::{clean_text, strip_controls};
use crate::domain::{DO_NOT_CALL_REASON, Phone};
use crate::store::{DNC_TIME_FMT, DncAdded, DncAdder, DncEntry, IfMissing, Store};

#[derive(Debug, clap::Subcommand)]
pub enum DncCmd {
    /// Put a number on the do-not-call list (any format: +91 90000 00012, 09000000012, …)
    ///
    /// No call goes to a listed number, from the console or the API, and drivers with it leave
    /// the queue. Adding a number that is already listed changes nothing and says since when and
    /// by whom. The entry records who added it: the caller in CALLDESK_USER_ID, else `cli`.
    Add {
        /// The phone number, in any format
        number: String,
        /// Why (kept with the entry and shown wherever a call is refused)
        #[arg(long)]
        reason: Option<String>,
    },
    /// Take a number off the do-not-call list (says so if it was not listed)
    ///
    /// Its drivers come back to the queue where they were, except a driver who was closed with
    /// the outcome "Asked not to be called": no call goes to them on any number, and no import
    /// (not even `--requeue`) reopens them.
    Remove {
        /// The phone number, in any format
        number: String,
    },
    /// Every listed number: when it was added, by whom and why (newest first)
    List,
    /// Load numbers from a CSV with header `number,reason` (the reason column is optional)
    ///
    /// Bad rows are reported by line and skipped (exit code 2); the good rows are loaded.
    /// Numbers already listed keep their first entry.
    Import {
        /// The CSV file (UTF-8, header line first)
        file: std::path::PathBuf,
    },
}

/// Bad arguments are refused before a database is opened (or created on a typo'd path).
fn check_args(cmd: &DncCmd, phone: &dyn Fn(&str) -> anyhow::Result<Phone>) -> anyhow::Result<()> {
    match cmd {
        DncCmd::Add { number, .. } | DncCmd::Remove { number } => {
            phone(number)?;
        }
        DncCmd::Import { file } => {
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        }
        DncCmd::List => {}
    }
    Ok(())
}

/// Runs one `dnc` subcommand.
pub async fn run(cmd: DncCmd, config: &Config) -> anyhow::Result<ExitCode> {
    // Listing numbers may come before any driver; list and remove need a list already.
    let if_missing = match cmd {
        DncCmd::Add { .. } | DncCmd::Import { .. } => IfMissing::Create,
        DncCmd::Remove { .. } | DncCmd::List => IfMissing::Refuse,
    };
    let phone =
        |s: &str| Phone::parse_with(s, &config.country_code).map_err(|e| anyhow::anyhow!("invalid number {s:?}: {e}"));
    check_args(&cmd, &phone)?;
    let store = super::open_store(config, if_missing).await?;
    let tz = config.zone();
    let out = &mut std::io::stdout().lock();
    match cmd {
        DncCmd::Add { number, reason } => {
            let number = phone(&number)?;
            let by = adder(&store, config).await?;
            match store.dnc_add(&number, reason.as_deref(), &by, Utc::now()).await? {
                DncAdded::Added(e) => {
                    let why = e.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                    writeln!(out, "{} added to the do-not-call list by {}{why}.", e.number, e.added_by_name)?;
                    let drivers = store.drivers_with_number(&number).await?;
                    if !drivers.is_empty() {
                        writeln!(out, "Left out of the queue from now on: driver {}.", drivers.join(", "))?;
                    }
                }
                DncAdded::Already(e) => {
                    writeln!(out, "{} is already on the do-not-call list {}.", e.number, about(&e, tz))?
                }
            }
        }
        DncCmd::Remove { number } => {
            let number = phone(&number)?;
            match store.dnc_remove(&number).await? {
                None => writeln!(out, "{number} is not on the do-not-call list: nothing removed.")?,
                Some(e) => {
                    writeln!(out, "{} removed from the do-not-call list (it was listed {}).", e.number, about(&e, tz))?;
                    for id in store.drivers_with_number(&number).await? {
                        if store.driver_closed_reason(&id).await?.as_deref() == Some(DO_NOT_CALL_REASON) {
                            writeln!(
                                out,
                                "Driver {id} stays closed and cannot be called on any number: they asked not to \
                                 be called. No import reopens them (not even --requeue)."
                            )?;
                        }
                    }
                }
            }
        }
        DncCmd::List => write!(out, "{}", table(&store.dnc_list().await?, tz))?,
        DncCmd::Import { file } => return import(&store, &file, config).await,
    }
    Ok(ExitCode::SUCCESS)
}

/// "driver D1, D2 and 3 more" (at most `first` ids, then how many more).
fn drivers_line(ids: &[String], first: usize) -> String {
    let shown = ids.iter().take(first).map(|id| strip_controls(id)).collect::<Vec<_>>().join(", ");
    match ids.len().saturating_sub(first) {
        0 => format!("driver {shown}"),
        more => format!("{} drivers: {shown} and {more} more", ids.len()),
    }
}

/// "since 24 Nov 2026 11:30, added by Pooja: moved away".
fn about(e: &DncEntry, tz: Tz) -> String {
    let why = e.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
    format!("{}{why}", e.since(tz))
}

/// Who is adding: the caller in `CALLDESK_USER_ID` (with their name), else `cli` and the login.
async fn adder(store: &Store, config: &Config) -> anyhow::Result<DncAdder> {
    Ok(match config.user_id {
        Some(id) => {
            let name = store.caller(id).await?.map_or_else(|| format!("caller {id}"), |c| c.name);
            DncAdder { caller_id: Some(id), name }
        }
        None => {
            let login = std::env::var("USER").ok().map(|u| clean_text(&u)).filter(|u| !u.trim().is_empty());
            DncAdder { caller_id: None, name: login.map_or_else(|| "cli".to_string(), |u| format!("cli ({u})")) }
        }
    })
}

/// The list as a table for a terminal; an empty list says so.
pub fn table(entries: &[DncEntry], tz: Tz) -> String {
    if entries.is_empty() {
        return "The do-not-call list is empty.\n".into();
    }
    let by: Vec<String> = entries.iter().map(|e| strip_controls(&e.added_by_name)).collect();
    let num_w = entries.iter().map(|e| e.number.len()).max().unwrap_or(0).max("NUMBER".len());
    let by_w = by.iter().map(|b| b.chars().count()).max().unwrap_or(0).clamp("ADDED BY".len(), 30);
    let mut s = format!("{:<num_w$}  {:<17}  {:<by_w$}  REASON\n", "NUMBER", "ADDED", "ADDED BY");
    for (e, by) in entries.iter().zip(by) {
        let when = e.added_at.with_timezone(&tz).format(DNC_TIME_FMT).to_string();
        let by: String = by.chars().take(by_w).collect();
        let reason = strip_controls(e.reason.as_deref().unwrap_or("-"));
        s.push_str(&format!("{:<num_w$}  {when:<17}  {by:<by_w$}  {reason}\n", e.number));
    }
    s.push_str(&format!("{} on the do-not-call list.\n", crate::domain::text::plural(entries.len(), "number")));
    s
}

/// The good rows of a do-not-call CSV (line, number, reason) and the bad ones.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<(u64, Phone, Option<String>)>,
    pub errors: Vec<RowError>,
}

/// Parses a CSV with header `number` or `number,reason`. Fails as a whole only on the header.
pub fn parse(input: impl Read, country_code: &str) -> Result<Parsed, String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let header = rdr.headers().map_err(|e| format!("cannot read the header line: {e}"))?.clone();
    let names: Vec<String> =
        header.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()).collect();
    if names != ["number", "reason"] && names != ["number"] {
        return Err(format!("the header must be `number,reason` or `number` (found `{}`)", names.join(",")));
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
        match row(&rec, names.len(), country_code) {
            Ok((number, reason)) => out.rows.push((line, number, reason)),
            Err(reason) => out.errors.push(RowError { line, reason }),
        }
    }
    Ok(out)
}

fn row(rec: &csv::StringRecord, fields: usize, country_code: &str) -> Result<(Phone, Option<String>), String> {
    if rec.len() > fields {
        return Err(format!("has {} fields; expected at most {fields}", rec.len()));
    }
    let raw = clean_text(rec.get(0).unwrap_or(""));
    let number = Phone::parse_with(&raw, country_code).map_err(|e| format!("number {raw:?}: {e}"))?;
    let reason = crate::store::dnc_reason(rec.get(1));
    if rec.get(1).is_some_and(|r| clean_text(r).trim().chars().count() > crate::store::dnc::DNC_REASON_MAX) {
        return Err(format!("reason is longer than {} characters", crate::store::dnc::DNC_REASON_MAX));
    }
    Ok((number, reason))
}

async fn import(store: &Store, file: &std::path::Path, config: &Config) -> anyhow::Result<ExitCode> {
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let parsed = parse(std::io::BufReader::new(f), &config.country_code)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    for e in &parsed.errors {
        eprintln!("{}:{}: {}", file.display(), e.line, e.reason);
    }
    let by = adder(store, config).await?;
    let bar = indicatif::ProgressBar::new(parsed.rows.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} numbers {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (mut added, mut already) = (0, 0);
    let mut left = Vec::new();
    for chunk in parsed.rows.chunks(500) {
        let rows: Vec<(Phone, Option<String>)> = chunk.iter().map(|(_, p, r)| (p.clone(), r.clone())).collect();
        let (a, b) = store.dnc_add_many(&rows, &by, Utc::now()).await?;
        (added, already) = (added + a, already + b);
        let numbers: Vec<String> = rows.iter().map(|(p, _)| p.to_string()).collect();
        left.extend(store.drivers_with_mobiles(&numbers).await?.into_iter().map(|(_, id)| id));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    println!(
        "{added} added to the do-not-call list, {already} already listed; {} skipped",
        crate::domain::text::plural(parsed.errors.len(), "bad row")
    );
    left.sort_unstable();
    left.dedup();
    if !left.is_empty() {
        println!("Out of the queue (their number is listed): {}.", drivers_line(&left, 10));
    }
    Ok(if parsed.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn rows_are_normalised_and_bad_rows_say_why_by_line() {
        let csv = "number,reason\n\
                   +91 90000 00012,asked by email\n\
                   12345,too short\n\
                   09000000013\n\
                   90000x0014,typo\n\
                   9000000012,again\n\
                   9000000015,a,b\n";
        let p = parse(csv.as_bytes(), "91").expect("header ok");
        let good: Vec<(u64, &str, Option<&str>)> =
            p.rows.iter().map(|(l, n, r)| (*l, n.as_str(), r.as_deref())).collect();
        assert_eq!(
            good,
            [
                (2, "919000000012", Some("asked by email")),
                (4, "919000000013", None),
                (6, "919000000012", Some("again")),
            ]
        );
        let bad: Vec<u64> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(bad, [3, 5, 7]);
        assert!(p.errors[0].reason.contains("10 to 15"), "{}", p.errors[0].reason);
        assert!(p.errors[1].reason.contains("not a digit"), "{}", p.errors[1].reason);
        assert!(p.errors[2].reason.contains("fields"), "{}", p.errors[2].reason);
    }

    #[test]
    fn the_header_may_leave_out_the_reason_but_must_name_the_number() {
        let p = parse("number\n9000000012\n".as_bytes(), "91").expect("header ok");
        assert_eq!(p.rows.len(), 1);
        let e = parse("phone,why\n9000000012,x\n".as_bytes(), "91").expect_err("bad header");
        assert!(e.contains("number,reason"), "{e}");
    }

    #[test]
    fn drivers_are_named_compactly() {
        let ids: Vec<String> = (1..=13).map(|i| format!("D{i}")).collect();
        assert_eq!(drivers_line(&ids[..2], 10), "driver D1, D2");
        assert_eq!(drivers_line(&ids, 10), "13 drivers: D1, D2, D3, D4, D5, D6, D7, D8, D9, D10 and 3 more");
    }

    #[test]
    fn the_list_is_a_readable_table() {
        let ist = chrono_tz::Asia::Kolkata;
        assert_eq!(table(&[], ist), "The do-not-call list is empty.\n");
        let e = DncEntry {
            number: "919000000012".into(),
            reason: Some("asked on call 7".into()),
            added_by: Some(3),
            added_by_name: "Pooja".into(),
            added_at: Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).single().expect("time"),
        };
        let t = table(&[e], ist);
        assert_eq!(
            t,
            "NUMBER        ADDED              ADDED BY  REASON\n\
             919000000012  24 Nov 2026 11:30  Pooja     asked on call 7\n\
             1 number on the do-not-call list.\n"
        );
    }
}
