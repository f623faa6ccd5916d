//! Values between rusqlite and calldesk's types, written and read as sqlx writes and reads them
//! (the same file is read through sqlx's pool): times as text, whole seconds, UTC; a `call_logs`
//! row as a [`CallLog`].

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::types::Value;

use crate::domain::CallLog;

/// A time as sqlx writes a `NaiveDateTime`.
pub(super) fn text(t: NaiveDateTime) -> Value {
    use chrono::{Datelike, Timelike};
    // As sqlx writes a `NaiveDateTime` (whole seconds: `db_time`), without parsing a format
    // string for every time written.
    let (y, mo, d, h, mi, s) = (t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second());
    if (0..=9999).contains(&y) {
        Value::Text(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"))
    } else {
        Value::Text(t.format("%Y-%m-%d %H:%M:%S").to_string())
    }
}

/// `YYYY-MM-DD HH:MM:SS` (or with `T`), the form this writer and `CURRENT_TIMESTAMP` store, read
/// without trying formats one after another.
fn plain_time(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') || b[13] != b':' || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
    Some(date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?.and_utc())
}

pub(super) fn opt_text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::Text(s.to_string()))
}

pub(super) fn opt_int(i: Option<i64>) -> Value {
    i.map_or(Value::Null, Value::Integer)
}

/// A stored time as sqlx reads it into `DateTime<Utc>`: `YYYY-MM-DD HH:MM:SS` (or with `T`, a
/// fraction, an offset), UTC.
fn time(s: &str) -> Option<DateTime<Utc>> {
    if let Some(t) = plain_time(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let with_offset = ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f %#z"];
    let naive = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"];
    with_offset
        .iter()
        .find_map(|f| DateTime::parse_from_str(s, f).ok().map(|t| t.with_timezone(&Utc)))
        .or_else(|| naive.iter().find_map(|f| NaiveDateTime::parse_from_str(s, f).ok().map(|n| n.and_utc())))
}

/// A stored time in any form SQLite holds it: text (see [`time`]) or unix seconds.
pub(super) fn stored_time(v: Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Text(s) => time(&s),
        Value::Integer(secs) => DateTime::from_timestamp(secs, 0),
        _ => None,
    }
}

/// A row of [`crate::store::calls::CALL_COLUMNS`].
pub(super) fn call(row: &rusqlite::Row<'_>) -> rusqlite::Result<CallLog> {
    let at = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> { Ok(stored_time(row.get::<_, Value>(i)?)) };
    Ok(CallLog {
        id: row.get(0)?,
        reference_id: row.get(1)?,
        caller_id: row.get(2)?,
        driver_id: row.get(3)?,
        driver_mobile: row.get(4)?,
        driver_name: row.get(5)?,
        driver_tmid: row.get(6)?,
        call_type: row.get(7)?,
        status: row.get(8)?,
        provider: row.get(9)?,
        telecmi_user_id: row.get(10)?,
        feedback: row.get(11)?,
        remarks: row.get(12)?,
        call_duration: row.get(13)?,
        created_at: at(14)?
            .ok_or_else(|| rusqlite::Error::InvalidColumnType(14, "created_at".into(), rusqlite::types::Type::Text))?,
        updated_at: at(15)?,
    })
}

#[cfg(test)]
mod tests {
    use super::{stored_time, text, time};
    use rusqlite::types::Value;

    #[test]
    fn stored_times_read_as_sqlx_reads_them() {
        let t = |s: &str| time(s).map(|t| t.to_rfc3339());
        let want = Some("2026-11-25T09:30:05+00:00".to_string());
        assert_eq!(t("2026-11-25 09:30:05"), want, "db_time and CURRENT_TIMESTAMP");
        assert_eq!(t("2026-11-25T09:30:05"), want);
        assert_eq!(t("2026-11-25 09:30:05.000"), want);
        assert_eq!(t("2026-11-25T09:30:05Z"), want);
        assert_eq!(t("2026-11-25 15:00:05+05:30"), want, "an offset is honoured, not dropped");
        assert_eq!(t("2026-11-25 09:30"), Some("2026-11-25T09:30:00+00:00".to_string()));
        assert_eq!(t("yesterday"), None);
        assert_eq!(t("2026-13-25 09:30:05"), None, "no 13th month");
        assert_eq!(t("2026-11-25 09:30:0x"), None);
        assert_eq!(t("0999-01-02 03:04:05"), Some("0999-01-02T03:04:05+00:00".to_string()));
        let back = |y: i32| {
            let n = chrono::NaiveDate::from_ymd_opt(y, 2, 3).and_then(|d| d.and_hms_opt(4, 5, 6)).expect("time");
            match text(n) {
                Value::Text(s) => (s, n.format("%Y-%m-%d %H:%M:%S").to_string()),
                other => panic!("{other:?}"),
            }
        };
        for y in [2026, 999, 10_000, -5] {
            let (ours, chrono) = back(y);
            assert_eq!(ours, chrono, "year {y} written as chrono writes it");
        }
        assert_eq!(stored_time(Value::Integer(1_795_599_005)).map(|t| t.to_rfc3339()), want);
    }
}
