//! Time as the team lives it: one team time zone (never the host's), the daily calling window in
//! each driver's local time, and when a closed window opens again.
//!
//! Stored times stay UTC; these rules only read them in a zone. Local times that do not exist
//! (a daylight-saving gap) resolve to the first moment after the gap, and ambiguous ones (the hour
//! repeated in autumn) to the earlier reading.

use std::fmt;

use chrono::{DateTime, Days, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// The team zone when `CALLDESK_TIMEZONE` is not set.
pub const DEFAULT_ZONE: Tz = chrono_tz::Asia::Kolkata;

/// Parses an IANA zone name (`Asia/Kolkata`, `Europe/London`; case does not matter), with a
/// message naming it and, for a city alone (`Dubai`), the zone it probably meant.
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    let name = name.trim();
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    if let Some(tz) = chrono_tz::TZ_VARIANTS.iter().find(|z| z.name().eq_ignore_ascii_case(name)) {
        return Ok(*tz);
    }
    let city = name.replace(' ', "_");
    let guess = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|z| z.name().rsplit('/').next().is_some_and(|last| last.eq_ignore_ascii_case(&city)));
    let hint = guess.map(|z| format!("; did you mean {}?", z.name())).unwrap_or_default();
    Err(format!("{name:?} is not an IANA time zone name (like Asia/Kolkata){hint}"))
}

/// The UTC moment of the local `date` + `time` in `zone`: the earlier of two readings, and the
/// first moment after a daylight-saving gap when the local time does not exist.
pub fn resolve(zone: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    if let Some(t) = zone.from_local_datetime(&local).earliest() {
        return t.with_timezone(&Utc);
    }
    // In a gap: step forward minute by minute (gaps are at most a few hours) to the first
    // local time that exists.
    let mut probe: NaiveDateTime = local;
    for _ in 0..(26 * 60) {
        probe += Duration::minutes(1);
        if let Some(t) = zone.from_local_datetime(&probe).earliest() {
            return t.with_timezone(&Utc);
        }
    }
    // Unreachable for real zones; read the time as UTC rather than fail.
    Utc.from_utc_datetime(&local)
}

/// The start of the local day holding `now`, in UTC.
pub fn start_of_day(now: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    resolve(zone, now.with_timezone(&zone).date_naive(), NaiveTime::MIN)
}

/// The local calendar day holding `now`.
pub fn local_date(now: DateTime<Utc>, zone: Tz) -> NaiveDate {
    now.with_timezone(&zone).date_naive()
}

/// `(day, start, end)` in UTC for the `n` local days ending with today, newest first. A day
/// with a clock change is 23 or 25 hours long.
pub fn local_days(now: DateTime<Utc>, zone: Tz, n: u32) -> Vec<(NaiveDate, DateTime<Utc>, DateTime<Utc>)> {
    let today = local_date(now, zone);
    (0..n)
        .filter_map(|back| {
            let day = today.checked_sub_days(Days::new(u64::from(back)))?;
            let next = day.succ_opt()?;
            Some((day, resolve(zone, day, NaiveTime::MIN), resolve(zone, next, NaiveTime::MIN)))
        })
        .collect()
}

/// A daily window `[start, end)` of local time; `end` may be `24:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallingHours {
    /// Minutes after local midnight.
    start: u32,
    end: u32,
}

impl Default for CallingHours {
    fn default() -> Self {
        Self { start: 9 * 60, end: 21 * 60 }
    }
}

impl CallingHours {
    /// Every hour of the day: no restriction.
    pub const ALWAYS: Self = Self { start: 0, end: 24 * 60 };

    /// `09:00-21:00` (also `9:00 - 21:00`, `00:00-24:00`). The window must not wrap past midnight.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("{:?} is not a window like 09:00-21:00", text.trim());
        let (a, b) = text.split_once('-').ok_or_else(bad)?;
        let start = parse_hm(a).ok_or_else(bad)?;
        let end = parse_hm(b).ok_or_else(bad)?;
        if start >= end {
            return Err(format!(
                "{:?}: the window must start before it ends, within one day (like 09:00-21:00)",
                text.trim()
            ));
        }
        if start >= 24 * 60 {
            return Err(bad());
        }
        Ok(Self { start, end })
    }

    pub fn is_always(&self) -> bool {
        *self == Self::ALWAYS
    }

    fn contains(&self, t: NaiveTime) -> bool {
        let m = t.hour() * 60 + t.minute();
        (self.start..self.end).contains(&m)
    }

    fn start_time(&self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.start / 60, self.start % 60, 0).unwrap_or(NaiveTime::MIN)
    }

    /// Whether `now` falls inside the window in `zone`.
    pub fn is_open(&self, now: DateTime<Utc>, zone: Tz) -> bool {
        self.is_always() || self.contains(now.with_timezone(&zone).time())
    }

    /// `at` itself when the window is open then, else the next moment it opens (in `zone`).
    pub fn next_opening(&self, at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        if self.is_open(at, zone) {
            return at;
        }
        let local = at.with_timezone(&zone);
        let today = local.date_naive();
        let minutes = local.time().hour() * 60 + local.time().minute();
        let day = if minutes < self.start { Some(today) } else { today.succ_opt() };
        let opening = day.map(|d| resolve(zone, d, self.start_time()));
        // A window start inside a gap resolves to the gap's end, which is open.
        opening.filter(|o| *o > at).unwrap_or(at + Duration::days(1))
    }
}

impl fmt::Display for CallingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}–{:02}:{:02}", self.start / 60, self.start % 60, self.end / 60, self.end % 60)
    }
}

fn parse_hm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if m.trim().len() != 2 || h.trim().is_empty() || h.trim().len() > 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

/// The team's clock: the team zone for "today" and every time shown, and the calling window
/// applied in each driver's own zone (the team zone when the driver has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub zone: Tz,
    pub hours: CallingHours,
}

impl Default for Schedule {
    /// The team zone with no calling-hours restriction (the old system's behaviour); the
    /// configured schedule comes from `Config::schedule`.
    fn default() -> Self {
        Self { zone: DEFAULT_ZONE, hours: CallingHours::ALWAYS }
    }
}

/// Why a driver cannot be called now, and when they can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub hours: CallingHours,
    /// The zone the window was read in (the driver's).
    pub zone: Tz,
    /// The team zone, for showing the opening time as the agent reads clocks.
    pub team: Tz,
    pub now: DateTime<Utc>,
    pub opens_at: DateTime<Utc>,
}

impl Closed {
    /// `09:00 tomorrow` / `09:00 today` / `09:00 Fri 27 Nov` in the team zone, with the driver's
    /// own clock when their zone differs.
    pub fn opening(&self) -> String {
        let team = self.opens_at.with_timezone(&self.team);
        let today = local_date(self.now, self.team);
        let day = match (team.date_naive() - today).num_days() {
            0 => "today".to_string(),
            1 => "tomorrow".to_string(),
            _ => team.format("%a %d %b").to_string(),
        };
        let mut s = format!("{} {day}", team.format("%H:%M"));
        if self.zone != self.team {
            let theirs = self.opens_at.with_timezone(&self.zone);
            s.push_str(&format!(" ({} {})", theirs.format("%H:%M"), self.zone.name()));
        }
        s
    }

    /// One line for the dialog, the API and the log.
    pub fn message(&self) -> String {
        let local = self.now.with_timezone(&self.zone);
        let whose = if self.zone == self.team { String::new() } else { format!(" in {}", self.zone.name()) };
        format!(
            "Outside calling hours: it is {}{whose}, calls are allowed {}. The window opens at {}.",
            local.format("%H:%M"),
            self.hours,
            self.opening()
        )
    }
}

impl Schedule {
    pub fn new(zone: Tz, hours: CallingHours) -> Self {
        Self { zone, hours }
    }

    /// The zone a driver's hours are read in: their own (a stored IANA name) or the team's.
    pub fn driver_zone(&self, driver_zone: Option<&str>) -> Tz {
        driver_zone.map(str::trim).filter(|z| !z.is_empty()).and_then(|z| z.parse::<Tz>().ok()).unwrap_or(self.zone)
    }

    /// `Ok` when a driver in `driver_zone` may be called at `now`, else when they may.
    pub fn check(&self, now: DateTime<Utc>, driver_zone: Option<&str>) -> Result<(), Closed> {
        let zone = self.driver_zone(driver_zone);
        if self.hours.is_open(now, zone) {
            return Ok(());
        }
        Err(Closed { hours: self.hours, zone, team: self.zone, now, opens_at: self.hours.next_opening(now, zone) })
    }

    /// `due` moved to the next opening of the driver's window when it falls outside it.
    pub fn fit(&self, due: DateTime<Utc>, driver_zone: Option<&str>) -> DateTime<Utc> {
        self.hours.next_opening(due, self.driver_zone(driver_zone))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    fn nine_to_nine() -> Schedule {
        Schedule::new(DEFAULT_ZONE, CallingHours::default())
    }

    #[test]
    fn hours_parse_and_refuse_with_reasons() {
        assert_eq!(CallingHours::parse("09:00-21:00"), Ok(CallingHours::default()));
        assert_eq!(CallingHours::parse(" 9:00 - 21:00 "), Ok(CallingHours::default()));
        assert_eq!(CallingHours::parse("00:00-24:00"), Ok(CallingHours::ALWAYS));
        for bad in ["9-21", "21:00-09:00", "09:00-09:00", "25:00-26:00", "09:60-10:00", "24:00-24:00", "", "09:00"] {
            assert!(CallingHours::parse(bad).is_err(), "{bad}");
        }
        assert!(CallingHours::parse("21:00-09:00").unwrap_err().contains("start before it ends"));
        assert_eq!(CallingHours::default().to_string(), "09:00–21:00");
    }

    #[test]
    fn zone_names_are_checked() {
        assert_eq!(parse_zone("Asia/Kolkata"), Ok(chrono_tz::Asia::Kolkata));
        assert_eq!(parse_zone(" Europe/London "), Ok(chrono_tz::Europe::London));
        assert!(parse_zone("Asia/Bombay Beach").unwrap_err().contains("IANA"));
        assert!(parse_zone("IST").is_err());
        assert_eq!(parse_zone("asia/kolkata"), Ok(chrono_tz::Asia::Kolkata), "any case");
        assert!(parse_zone("Dubai").unwrap_err().ends_with("did you mean Asia/Dubai?"));
        assert!(parse_zone("new york").unwrap_err().ends_with("did you mean America/New_York?"));
    }

    #[test]
    fn window_edges_in_the_team_zone() {
        let s = nine_to_nine();
        // 09:00 IST = 03:30 UTC: open at the first minute, closed the minute before.
        assert!(s.check(utc("2026-11-25T03:30:00Z"), None).is_ok());
        let before = s.check(utc("2026-11-25T03:29:59Z"), None).expect_err("08:59:59 is closed");
        assert_eq!(before.opens_at, utc("2026-11-25T03:30:00Z"));
        // 21:00 IST = 15:30 UTC: the end is not in the window; 20:59 is.
        assert!(s.check(utc("2026-11-25T15:29:00Z"), None).is_ok());
        let late = s.check(utc("2026-11-25T15:30:00Z"), None).expect_err("21:00 is closed");
        assert_eq!(late.opens_at, utc("2026-11-26T03:30:00Z"));
        assert!(late.message().contains("09:00 tomorrow"), "{}", late.message());
        assert!(late.message().contains("it is 21:00"), "{}", late.message());
        // Just after midnight IST the window opens the same local day.
        let night = s.check(utc("2026-11-25T19:00:00Z"), None).expect_err("00:30 IST");
        assert_eq!(night.opens_at, utc("2026-11-26T03:30:00Z"));
        assert!(night.message().contains("09:00 today"), "{}", night.message());
    }

    #[test]
    fn a_driver_zone_moves_the_window() {
        let s = nine_to_nine();
        // 15:00 UTC: 20:30 in Kolkata (open), 15:00 in London (open), 10:00 in New York (open),
        // 02:00 next day in Sydney (closed).
        let now = utc("2026-11-25T15:00:00Z");
        assert!(s.check(now, Some("Europe/London")).is_ok());
        let sydney = s.check(now, Some("Australia/Sydney")).expect_err("2 am in Sydney");
        // Sydney is UTC+11 in November: 09:00 there is 22:00 UTC.
        assert_eq!(sydney.opens_at, utc("2026-11-25T22:00:00Z"));
        let m = sydney.message();
        assert!(m.contains("Australia/Sydney") && m.contains("03:30 tomorrow (09:00 Australia/Sydney)"), "{m}");
        // A stored zone that is not a zone falls back to the team's.
        assert_eq!(s.driver_zone(Some("Mars/Olympus")), DEFAULT_ZONE);
        assert_eq!(s.driver_zone(Some("")), DEFAULT_ZONE);
    }

    #[test]
    fn due_times_move_into_the_window() {
        let s = nine_to_nine();
        let inside = utc("2026-11-25T06:00:00Z");
        assert_eq!(s.fit(inside, None), inside);
        // A retry that would fall due at 23:00 IST waits for 09:00 the next morning.
        assert_eq!(s.fit(utc("2026-11-25T17:30:00Z"), None), utc("2026-11-26T03:30:00Z"));
        // No restriction: nothing moves.
        let always = Schedule::default();
        assert_eq!(always.fit(utc("2026-11-25T17:30:00Z"), None), utc("2026-11-25T17:30:00Z"));
    }

    #[test]
    fn daylight_saving_changes_in_a_driver_zone() {
        let s = Schedule::new(DEFAULT_ZONE, CallingHours::parse("02:30-21:00").expect("hours"));
        // New York springs forward on 2026-03-08: 02:00 → 03:00, so 02:30 does not exist; the
        // window opens at the end of the gap, 03:00 EDT = 07:00 UTC.
        let before = utc("2026-03-08T06:00:00Z"); // 01:00 EST
        let closed = s.check(before, Some("America/New_York")).expect_err("01:00 is closed");
        assert_eq!(closed.opens_at, utc("2026-03-08T07:00:00Z"));
        // Falls back on 2026-11-01: 01:00–02:00 happens twice; 09:00 that day is EST (UTC-5).
        let nine = Schedule::new(DEFAULT_ZONE, CallingHours::default());
        let early = nine.check(utc("2026-11-01T06:30:00Z"), Some("America/New_York")).expect_err("01:30");
        assert_eq!(early.opens_at, utc("2026-11-01T14:00:00Z"));
        // The day before, 09:00 was EDT (UTC-4).
        let prev = nine.check(utc("2026-10-31T05:00:00Z"), Some("America/New_York")).expect_err("01:00");
        assert_eq!(prev.opens_at, utc("2026-10-31T13:00:00Z"));
    }

    #[test]
    fn local_days_follow_clock_changes() {
        let london = chrono_tz::Europe::London;
        // 2026-10-25 is 25 hours long in London (BST ends).
        let days = local_days(utc("2026-10-26T12:00:00Z"), london, 3);
        assert_eq!(days.len(), 3);
        let (d, start, end) = days[1];
        assert_eq!(d, NaiveDate::from_ymd_opt(2026, 10, 25).expect("date"));
        assert_eq!((end - start).num_hours(), 25);
        assert_eq!(start, utc("2026-10-24T23:00:00Z"));
        // Midnight in Kolkata is 18:30 UTC the day before.
        assert_eq!(start_of_day(utc("2026-11-25T19:00:00Z"), DEFAULT_ZONE), utc("2026-11-25T18:30:00Z"));
        assert_eq!(start_of_day(utc("2026-11-25T18:00:00Z"), DEFAULT_ZONE), utc("2026-11-24T18:30:00Z"));
    }
}
