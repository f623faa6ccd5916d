//! Text hygiene for untrusted strings and the one timestamp format the old API used.

use chrono::{DateTime, Utc};

/// Removes terminal control characters (ESC, C0/C1 controls, DEL) so a hostile name
/// or remark cannot move the cursor or recolour the screen. Tabs and newlines become spaces.
pub fn strip_controls(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Removes whole terminal escape sequences (`ESC [ 31 m`, OSC titles, …) and then any other
/// control character, for text that is stored: a name imported as `\x1b[31mRED\x1b[0m` becomes
/// `RED`, not `[31mRED[0m`.
/// Tabs and line breaks become spaces, as in [`strip_controls`].
pub fn clean_text(s: &str) -> String {
    let spaced: String = s.chars().map(|c| if matches!(c, '\t' | '\n' | '\r') { ' ' } else { c }).collect();
    strip_controls(&strip_ansi_escapes::strip_str(spaced))
}

/// A count and its noun, singular for one: `1 call`, `0 calls`, `12 calls`, `2 more wrap-ups`.
pub fn plural<N>(n: N, noun: &str) -> String
where
    N: Copy + std::fmt::Display + TryInto<i64>,
{
    let s = if n.try_into().is_ok_and(|n: i64| n == 1) { "" } else { "s" };
    format!("{n} {noun}{s}")
}

/// The old system's timestamp text: `2025-11-13 10:30:00`.
pub const DATETIME_FMT: &str = "%Y-%m-%d %H:%M:%S";

/// The team zone the old API's timestamps are written in (set once at start-up from
/// `CALLDESK_TIMEZONE`; serde's field serializers take no arguments, hence a process setting).
static TEAM_ZONE: std::sync::RwLock<Option<chrono_tz::Tz>> = std::sync::RwLock::new(None);

/// Sets the zone [`fmt_datetime`] writes in.
pub fn set_team_zone(zone: chrono_tz::Tz) {
    if let Ok(mut z) = TEAM_ZONE.write() {
        *z = Some(zone);
    }
}

/// The team zone (the default zone until [`set_team_zone`] is called).
pub fn team_zone() -> chrono_tz::Tz {
    TEAM_ZONE.read().ok().and_then(|z| *z).unwrap_or(super::hours::DEFAULT_ZONE)
}

/// Formats a timestamp in the team's zone, as the old API showed it (never the host's zone).
pub fn fmt_datetime(t: &DateTime<Utc>) -> String {
    t.with_timezone(&team_zone()).format(DATETIME_FMT).to_string()
}

pub fn ser_datetime<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fmt_datetime(t))
}

pub fn ser_opt_datetime<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&fmt_datetime(t)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escape_sequences_and_controls() {
        assert_eq!(strip_controls("Ra\u{1b}[2Jju\u{7}"), "Ra[2Jju");
        assert_eq!(strip_controls("a\tb\nc\u{9b}d\u{7f}"), "a b cd");
        assert_eq!(strip_controls("राजू Kumar"), "राजू Kumar");
    }

    #[test]
    fn one_is_singular() {
        assert_eq!(plural(1, "call"), "1 call");
        assert_eq!(plural(0_i64, "call"), "0 calls");
        assert_eq!(plural(12_usize, "talk"), "12 talks");
        assert_eq!(plural(-1, "call"), "-1 calls");
        assert_eq!(plural(2, "more wrap-up"), "2 more wrap-ups");
    }

    #[test]
    fn clean_text_drops_whole_escape_sequences() {
        assert_eq!(clean_text("\u{1b}[31mRED\u{1b}[0m"), "RED");
        assert_eq!(clean_text("Ra\u{1b}[2Jju\u{7}"), "Raju");
        assert_eq!(clean_text("\u{1b}]0;pwned\u{7}Suresh"), "Suresh");
        assert_eq!(clean_text("a\tb\u{1b}[1;32m c\u{7f}"), "a b c");
        assert_eq!(clean_text("राजू Kumar"), "राजू Kumar");
    }
}
