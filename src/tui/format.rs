//! Times and lengths of time as both screens write them: `14:05`, `24 Nov 14:05`, `1:02:05`,
//! `2m 05s`, `3m`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub fn hhmmss(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%H:%M:%S").to_string()
}

/// `HH:MM` today, `24 Nov HH:MM` on another day.
pub fn when(t: DateTime<Utc>, now: DateTime<Utc>, tz: Tz) -> String {
    let (lt, ln) = (t.with_timezone(&tz), now.with_timezone(&tz));
    if lt.date_naive() == ln.date_naive() {
        lt.format("%H:%M").to_string()
    } else {
        lt.format("%d %b %H:%M").to_string()
    }
}

/// `m:ss` (or `h:mm:ss`).
pub fn clock(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A length of time with its units: `45s`, `1m 12s`, `2m 05s`, `1h 02m`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A mean number of seconds with its units, or `—` when there is nothing to average.
pub fn mean_duration(secs: Option<f64>) -> String {
    secs.map_or_else(|| "—".to_string(), |s| duration(s.round() as i64))
}

/// `4s`, `3m`, `2h`, `5d`.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clocks_and_ages() {
        assert_eq!(super::clock(42), "0:42");
        assert_eq!(super::clock(3725), "1:02:05");
        assert_eq!(super::age(4), "4s");
        assert_eq!(super::age(190), "3m");
        assert_eq!(super::age(90_000), "1d");
        assert_eq!(super::duration(8), "8s");
        assert_eq!(super::duration(72), "1m 12s");
        assert_eq!(super::duration(125), "2m 05s");
        assert_eq!(super::duration(3725), "1h 02m");
        assert_eq!(super::mean_duration(None), "—");
    }
}
