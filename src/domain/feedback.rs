//! Feedback outcomes as data, and what each does to the driver's place in the queue.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;

use super::hours::{Schedule, local_date, resolve};

/// The three groups the old system offered, and the do-not-call request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FeedbackGroup {
    Connected,
    NotConnected,
    CallBackLater,
    /// The driver asked not to be called again.
    DoNotCall,
}

impl FeedbackGroup {
    pub const ALL: [FeedbackGroup; 4] = [Self::Connected, Self::NotConnected, Self::CallBackLater, Self::DoNotCall];

    pub fn label(self) -> &'static str {
        match self {
            Self::Connected => "Connected",
            Self::NotConnected => "Not Connected",
            Self::CallBackLater => "Call Back Later",
            Self::DoNotCall => "Do Not Call",
        }
    }
}

/// When a "call back later" outcome brings the driver back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackTime {
    /// A fixed delay from now.
    After(Duration),
    /// The next occurrence of this local time of day (today if still ahead, else tomorrow).
    NextAt(NaiveTime),
    /// This local time of day, `days` days from today.
    DaysAt { days: u32, at: NaiveTime },
}

/// What saving an outcome does to the driver's queue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueEffect {
    /// The driver leaves the queue.
    Done,
    /// Not reached: try again after the retry delay, until the attempts run out.
    Retry,
    /// The driver asked to be called back.
    Callback(CallbackTime),
    /// The driver was never rung (the agent's phone was not answered, or the call was not
    /// placed): they keep their attempt count and their place at the top of the queue.
    NotCalled,
    /// The number is wrong: the driver leaves the queue and is marked so (`drivers.closed_reason`).
    WrongNumber,
    /// The driver asked not to be called: their number goes on the do-not-call list and they
    /// leave the queue, closed like a wrong number (`drivers.closed_reason`).
    DoNotCall,
}

impl QueueEffect {
    /// What the outcome records on the driver it closes for good (`drivers.closed_reason`), or
    /// `None` when it closes nobody.
    pub fn closed_reason(self) -> Option<&'static str> {
        match self {
            Self::WrongNumber => Some(WRONG_NUMBER_REASON),
            Self::DoNotCall => Some(DO_NOT_CALL_REASON),
            Self::Done | Self::Retry | Self::Callback(_) | Self::NotCalled => None,
        }
    }
}

/// What [`QueueEffect::WrongNumber`] records on the driver.
pub const WRONG_NUMBER_REASON: &str = "invalid number";

/// The outcome of a driver who asked not to be called again.
pub const DO_NOT_CALL: &str = "Asked not to be called";
/// What [`QueueEffect::DoNotCall`] records on the driver.
pub const DO_NOT_CALL_REASON: &str = "asked not to be called";

/// The old Flutter app's `CallStatus` names, sent as `status` to `update_feedback`: the agent's
/// class of outcome, not the telephony status. It never moves the call's status; it picks the
/// queue effect when the feedback text is not in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Connected,
    CallBack,
    CallBackLater,
    NotReachable,
    NotInterested,
    Invalid,
    Pending,
}

impl Disposition {
    pub const ALL: [Disposition; 7] = [
        Self::Connected,
        Self::CallBack,
        Self::CallBackLater,
        Self::NotReachable,
        Self::NotInterested,
        Self::Invalid,
        Self::Pending,
    ];

    /// The app's own spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::CallBack => "callBack",
            Self::CallBackLater => "callBackLater",
            Self::NotReachable => "notReachable",
            Self::NotInterested => "notInterested",
            Self::Invalid => "invalid",
            Self::Pending => "pending",
        }
    }

    /// The app's name, in any case.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The queue effect of this class: not reached (or not yet done) is tried again, "later" is a
    /// callback (two hours on, as "Busy Right Now", when the text names no time), and the rest close.
    pub fn effect(self) -> QueueEffect {
        match self {
            Self::CallBack | Self::NotReachable | Self::Pending => QueueEffect::Retry,
            Self::CallBackLater => QueueEffect::Callback(CallbackTime::After(Duration::hours(2))),
            Self::Connected | Self::NotInterested => QueueEffect::Done,
            Self::Invalid => QueueEffect::WrongNumber,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackOption {
    pub group: FeedbackGroup,
    pub label: String,
    pub effect: QueueEffect,
}

/// How "Not Connected" outcomes are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub delay: Duration,
    /// Total call attempts before a never-reached driver leaves the queue.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { delay: Duration::minutes(30), max_attempts: 3 }
    }
}

/// Where the driver goes after an outcome is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueDecision {
    Remove,
    Requeue {
        due_at: DateTime<Utc>,
        callback: bool,
    },
    /// A newer call to the driver decided their place in the queue: an older call's outcome is
    /// recorded and leaves the queue as that call left it.
    Kept {
        newer_call: i64,
    },
}

const CONNECTED: [&str; 19] = [
    "Agree for Subscription (Today)",
    "Agree for Subscription (Tomorrow)",
    "Already Subscribed",
    "App Issue",
    "Doesn't Understand App",
    "Language Barrier",
    "Need Job Urgently",
    "Need Load",
    "No Money",
    "Not a Truck Driver",
    "Needs Help in Profile",
    "Not Interested",
    "Interview Fixed",
    "Ready for Interview",
    "Others",
    "Will Subscribe Later (Not sure when)",
    "Will Subscribe when I need Job",
    "Wants Demo Video",
    "Wants to Think",
];

/// The outcome a driver who did not answer or rejected gets by default.
pub const RINGING_BUSY: &str = "Ringing / Call Busy";
/// The outcome of a call that never rang the driver.
pub const NOT_CALLED: &str = "Driver Not Called";

/// Outcomes the team counts as a win, for the conversion rate and the daily target.
const POSITIVE: [&str; 4] =
    ["Interview Fixed", "Ready for Interview", "Agree for Subscription (Today)", "Agree for Subscription (Tomorrow)"];

const NOT_CONNECTED: [&str; 2] = [RINGING_BUSY, "Switched Off / Not Reachable / Disconnected"];

/// The catalogue of outcomes, grouped, in display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackCatalog {
    options: Vec<FeedbackOption>,
    pub retry: RetryPolicy,
    /// The team zone (callback times) and the calling window every due time is moved into.
    pub schedule: Schedule,
    /// Labels of the outcomes counted as positive (conversions).
    positive: Vec<String>,
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

impl Default for FeedbackCatalog {
    fn default() -> Self {
        let mut options: Vec<FeedbackOption> = CONNECTED
            .iter()
            .map(|l| FeedbackOption { group: FeedbackGroup::Connected, label: (*l).into(), effect: QueueEffect::Done })
            .collect();
        options.extend(NOT_CONNECTED.iter().map(|l| FeedbackOption {
            group: FeedbackGroup::NotConnected,
            label: (*l).into(),
            effect: QueueEffect::Retry,
        }));
        let later = [
            ("Busy Right Now", CallbackTime::After(Duration::hours(2))),
            ("Call Tomorrow Morning", CallbackTime::DaysAt { days: 1, at: hm(10, 0) }),
            ("Call in Evening", CallbackTime::NextAt(hm(18, 0))),
            ("Call After 2 Days", CallbackTime::DaysAt { days: 2, at: hm(10, 0) }),
        ];
        options.extend(later.into_iter().map(|(l, t)| FeedbackOption {
            group: FeedbackGroup::CallBackLater,
            label: l.into(),
            effect: QueueEffect::Callback(t),
        }));
        // Last, so the letters a–y keep their outcomes; drawn with its group.
        options.push(FeedbackOption {
            group: FeedbackGroup::NotConnected,
            label: NOT_CALLED.into(),
            effect: QueueEffect::NotCalled,
        });
        // After every lettered outcome: the letters a–z stay as they were; a chord picks it.
        options.push(FeedbackOption {
            group: FeedbackGroup::DoNotCall,
            label: DO_NOT_CALL.into(),
            effect: QueueEffect::DoNotCall,
        });
        let positive = POSITIVE.iter().map(|l| (*l).to_string()).collect();
        Self { options, retry: RetryPolicy::default(), schedule: Schedule::default(), positive }
    }
}

/// The key that picks the `index`-th outcome of the catalogue: `a`, `b`, … `z`. The first 26
/// default outcomes have their own letter, so one key press picks group and outcome together;
/// "Asked not to be called" (the 27th) has none: the console picks it with a chord (Ctrl+D), so
/// no stray letter puts a number on the do-not-call list.
pub fn outcome_key(index: usize) -> Option<char> {
    u8::try_from(index).ok().filter(|i| *i < 26).map(|i| char::from(b'a' + i))
}

impl FeedbackCatalog {
    pub fn all(&self) -> &[FeedbackOption] {
        &self.options
    }

    pub fn in_group(&self, group: FeedbackGroup) -> impl Iterator<Item = &FeedbackOption> {
        self.options.iter().filter(move |o| o.group == group)
    }

    /// The outcome whose key is `key`.
    pub fn by_key(&self, key: char) -> Option<(usize, &FeedbackOption)> {
        self.options.iter().enumerate().find(|(i, _)| outcome_key(*i) == Some(key))
    }

    /// Catalogue indices in the order the form draws them: group by group.
    pub fn display_order(&self) -> Vec<usize> {
        FeedbackGroup::ALL.iter().flat_map(|g| self.indexed(*g).map(|(i, _)| i)).collect()
    }

    /// Options with their index in the catalogue, for one group.
    pub fn indexed(&self, group: FeedbackGroup) -> impl Iterator<Item = (usize, &FeedbackOption)> {
        self.options.iter().enumerate().filter(move |(_, o)| o.group == group)
    }

    /// The outcome that puts the number on the do-not-call list, with its index.
    pub fn do_not_call(&self) -> Option<(usize, &FeedbackOption)> {
        self.options.iter().enumerate().find(|(_, o)| o.effect == QueueEffect::DoNotCall)
    }

    pub fn find(&self, label: &str) -> Option<&FeedbackOption> {
        self.options.iter().find(|o| o.label.eq_ignore_ascii_case(label.trim()))
    }

    /// What saving `label` does to the queue: the catalogue's effect, else `fallback` (the old
    /// app's class of outcome), else — free text, as the old system did — the driver leaves.
    pub fn effect(&self, label: &str, fallback: Option<QueueEffect>) -> QueueEffect {
        self.find(label).map(|o| o.effect).or(fallback).unwrap_or(QueueEffect::Done)
    }

    /// The outcomes the team counts as positive.
    pub fn positive(&self) -> impl Iterator<Item = &str> {
        self.positive.iter().map(String::as_str)
    }

    /// Whether a stored outcome `label` is a positive one (same matching as [`Self::find`]).
    pub fn is_positive(&self, label: &str) -> bool {
        self.positive.iter().any(|p| p.eq_ignore_ascii_case(label.trim()))
    }

    /// The same catalogue counting `labels` as the positive outcomes.
    pub fn with_positive<I: IntoIterator<Item = S>, S: Into<String>>(mut self, labels: I) -> Self {
        self.positive = labels.into_iter().map(Into::into).collect();
        self
    }

    /// The same catalogue with the team's retry rules and calling window.
    pub fn with_rules(mut self, retry: RetryPolicy, schedule: Schedule) -> Self {
        self.retry = retry;
        self.schedule = schedule;
        self
    }

    /// Whether saving `label` on the driver's `attempts`-th call takes a never-reached driver out
    /// of the queue because the attempts ran out (the wrap-up says so before saving).
    pub fn exhausts_attempts(&self, label: &str, attempts: u32) -> bool {
        self.find(label).is_some_and(|o| o.effect == QueueEffect::Retry) && attempts >= self.retry.max_attempts
    }

    /// Where the driver goes after `label` is saved on their `attempts`-th call (counting this one).
    /// Unknown labels (free text from the old API) remove the driver, as the old system did.
    pub fn decide(&self, label: &str, attempts: u32, now: DateTime<Utc>) -> QueueDecision {
        self.decide_effect(self.effect(label, None), attempts, now)
    }

    /// Where a driver in the team zone goes after an outcome with `effect` on their
    /// `attempts`-th call.
    pub fn decide_effect(&self, effect: QueueEffect, attempts: u32, now: DateTime<Utc>) -> QueueDecision {
        self.decide_for(effect, attempts, now, None)
    }

    /// Where the driver goes after an outcome with `effect` on their `attempts`-th call, reading
    /// "morning"/"evening" in the driver's zone (`driver_zone`, an IANA name; the team's when
    /// `None`). A callback or retry never falls due outside the calling window: it moves to the
    /// window's next opening.
    pub fn decide_for(
        &self,
        effect: QueueEffect,
        attempts: u32,
        now: DateTime<Utc>,
        driver_zone: Option<&str>,
    ) -> QueueDecision {
        let zone = self.schedule.driver_zone(driver_zone);
        let fit = |due| self.schedule.fit(due, driver_zone);
        match effect {
            QueueEffect::Done | QueueEffect::WrongNumber | QueueEffect::DoNotCall => QueueDecision::Remove,
            QueueEffect::Retry if attempts >= self.retry.max_attempts => QueueDecision::Remove,
            QueueEffect::Retry => QueueDecision::Requeue { due_at: fit(now + self.retry.delay), callback: false },
            QueueEffect::Callback(t) => {
                QueueDecision::Requeue { due_at: fit(callback_due(t, now, zone)), callback: true }
            }
            // Due at once (or when the window opens), first in the queue (callbacks sort first).
            QueueEffect::NotCalled => QueueDecision::Requeue { due_at: fit(now), callback: true },
        }
    }
}

/// The moment a callback falls due, in UTC, reading "morning"/"evening" in `zone`.
pub fn callback_due(t: CallbackTime, now: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    let today = local_date(now, zone);
    let at = |date: chrono::NaiveDate, time: NaiveTime| resolve(zone, date, time);
    let due = match t {
        CallbackTime::After(d) => Some(now + d),
        CallbackTime::NextAt(time) => {
            Some(at(today, time)).filter(|d| *d > now).or_else(|| today.succ_opt().map(|tomorrow| at(tomorrow, time)))
        }
        CallbackTime::DaysAt { days, at: time } => {
            today.checked_add_days(chrono::Days::new(u64::from(days))).map(|d| at(d, time))
        }
    };
    due.unwrap_or(now + Duration::hours(24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_wrong_number_and_a_request_not_to_be_called_close_the_driver() {
        assert_eq!(QueueEffect::WrongNumber.closed_reason(), Some(WRONG_NUMBER_REASON));
        assert_eq!(QueueEffect::DoNotCall.closed_reason(), Some(DO_NOT_CALL_REASON));
        for open in [QueueEffect::Done, QueueEffect::Retry, QueueEffect::NotCalled] {
            assert_eq!(open.closed_reason(), None, "{open:?}");
        }
    }

    #[test]
    fn default_groups_match_the_old_system() {
        let c = FeedbackCatalog::default();
        assert_eq!(c.in_group(FeedbackGroup::Connected).count(), 19);
        assert_eq!(c.in_group(FeedbackGroup::NotConnected).count(), 3);
        assert_eq!(c.in_group(FeedbackGroup::CallBackLater).count(), 4);
        assert_eq!(c.in_group(FeedbackGroup::DoNotCall).count(), 1);
        assert_eq!(c.all().len(), 27);
        assert!(c.find("interview fixed").is_some());
        assert!(c.find("Agree for Subscription (Today)").is_some());
    }

    #[test]
    fn every_outcome_has_its_own_key() {
        let c = FeedbackCatalog::default();
        let keys: std::collections::HashSet<char> = (0..c.all().len()).filter_map(outcome_key).collect();
        assert_eq!(keys.len(), 26);
        for (i, o) in c.all().iter().enumerate().filter(|(_, o)| o.effect != QueueEffect::DoNotCall) {
            let key = outcome_key(i).expect("a key");
            assert_eq!(c.by_key(key).map(|(_, x)| x), Some(o));
        }
        assert_eq!(c.do_not_call().map(|(i, _)| outcome_key(i)), Some(None), "no letter: a chord picks it");
        assert_eq!(c.by_key('s').map(|(_, o)| o.label.as_str()), Some("Wants to Think"));
        assert_eq!(c.by_key('t').map(|(_, o)| o.group), Some(FeedbackGroup::NotConnected));
        assert_eq!(c.by_key('y').map(|(_, o)| o.label.as_str()), Some("Call After 2 Days"));
        assert_eq!(c.by_key('z').map(|(_, o)| o.label.as_str()), Some(NOT_CALLED));
        assert_eq!(outcome_key(26), None);
    }

    #[test]
    fn the_old_apps_classes_decide_only_when_the_text_does_not() {
        let c = FeedbackCatalog::default();
        let now = Utc::now();
        let class = |s: &str| Disposition::parse(s).map(Disposition::effect);
        assert_eq!(c.effect("Ringing / Call Busy", class("callBackLater")), QueueEffect::Retry, "the text decides");
        assert_eq!(c.effect("Not Reachable", class("notReachable")), QueueEffect::Retry);
        assert_eq!(c.effect("Call Back", class("CALLBACK")), QueueEffect::Retry);
        assert_eq!(c.effect("Invalid Number", class("invalid")), QueueEffect::WrongNumber);
        assert_eq!(c.effect("Connected", class("connected")), QueueEffect::Done);
        assert_eq!(c.effect("Something else", class("notInterested")), QueueEffect::Done);
        assert_eq!(c.effect("Something else", None), QueueEffect::Done);
        assert_eq!(class("completed"), None, "calldesk's own statuses are not the app's classes");
        assert_eq!(c.decide_effect(QueueEffect::WrongNumber, 1, now), QueueDecision::Remove);
        assert_eq!(
            c.decide_effect(c.effect("Call Back", class("callBackLater")), 1, now),
            QueueDecision::Requeue { due_at: now + Duration::hours(2), callback: true }
        );
    }

    #[test]
    fn asked_not_to_be_called_closes_the_driver_and_is_not_a_win() {
        let c = FeedbackCatalog::default();
        let o = c.find(" asked NOT to be called ").expect("outcome");
        assert_eq!((o.group, o.effect), (FeedbackGroup::DoNotCall, QueueEffect::DoNotCall));
        assert_eq!(FeedbackGroup::DoNotCall.label(), "Do Not Call");
        assert_eq!(
            c.effect(DO_NOT_CALL, Disposition::parse("callBack").map(Disposition::effect)),
            QueueEffect::DoNotCall
        );
        assert_eq!(c.decide(DO_NOT_CALL, 1, Utc::now()), QueueDecision::Remove);
        assert!(!c.is_positive(DO_NOT_CALL));
        assert_eq!(c.display_order().last().copied(), c.do_not_call().map(|(i, _)| i), "drawn last, in its group");
        let letters: Vec<&str> =
            (b'a'..=b'z').filter_map(|k| c.by_key(char::from(k))).map(|(_, o)| o.label.as_str()).collect();
        assert!(!letters.contains(&DO_NOT_CALL), "no single letter picks it");
    }

    #[test]
    fn positive_outcomes_are_data_and_default_to_interviews_and_subscriptions() {
        let c = FeedbackCatalog::default();
        let positive: Vec<&str> = c.positive().collect();
        assert_eq!(positive.len(), 4);
        for label in &positive {
            assert_eq!(c.find(label).map(|o| o.group), Some(FeedbackGroup::Connected), "{label} is an outcome");
        }
        assert!(c.is_positive(" interview fixed "));
        assert!(!c.is_positive("Not Interested"));
        let c = c.with_positive(["Not Interested"]);
        assert!(c.is_positive("Not Interested") && !c.is_positive("Interview Fixed"));
    }

    #[test]
    fn connected_outcomes_remove_the_driver() {
        let c = FeedbackCatalog::default();
        assert_eq!(c.decide("Interview Fixed", 1, Utc::now()), QueueDecision::Remove);
        assert_eq!(c.decide("some free text", 1, Utc::now()), QueueDecision::Remove);
    }

    #[test]
    fn not_connected_retries_until_attempts_run_out() {
        let c = FeedbackCatalog::default();
        let now = Utc::now();
        assert_eq!(
            c.decide("Ringing / Call Busy", 1, now),
            QueueDecision::Requeue { due_at: now + Duration::minutes(30), callback: false }
        );
        assert_eq!(c.decide("Ringing / Call Busy", 3, now), QueueDecision::Remove);
    }

    #[test]
    fn call_back_later_requeues_at_the_stated_time() {
        let c = FeedbackCatalog::default();
        let now = Utc::now();
        match c.decide("Busy Right Now", 1, now) {
            QueueDecision::Requeue { due_at, callback: true } => assert_eq!(due_at, now + Duration::hours(2)),
            other => panic!("unexpected {other:?}"),
        }
        for label in ["Call Tomorrow Morning", "Call in Evening", "Call After 2 Days"] {
            match c.decide(label, 5, now) {
                QueueDecision::Requeue { due_at, callback: true } => {
                    assert!(due_at > now, "{label} due in the future");
                    assert!(due_at <= now + Duration::days(3), "{label} due within 3 days");
                }
                other => panic!("{label}: unexpected {other:?}"),
            }
        }
        let zone = chrono_tz::Asia::Kolkata;
        let morning = callback_due(CallbackTime::DaysAt { days: 1, at: hm(10, 0) }, now, zone).with_timezone(&zone);
        assert_eq!(morning.time(), hm(10, 0));
        assert_eq!(morning.date_naive(), now.with_timezone(&zone).date_naive().succ_opt().unwrap_or_default());
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    fn team_rules() -> FeedbackCatalog {
        let hours = crate::domain::CallingHours::default();
        FeedbackCatalog::default().with_rules(RetryPolicy::default(), Schedule::new(chrono_tz::Asia::Kolkata, hours))
    }

    #[test]
    fn callbacks_read_the_team_zone_not_the_host() {
        // Saved at 15:00 IST (09:30 UTC): "tomorrow morning" is 10:00 IST = 04:30 UTC, whatever
        // zone the host is in.
        let c = team_rules();
        let now = utc("2026-11-25T09:30:00Z");
        let due = |label| match c.decide(label, 1, now) {
            QueueDecision::Requeue { due_at, .. } => due_at,
            other => panic!("{label}: {other:?}"),
        };
        assert_eq!(due("Call Tomorrow Morning"), utc("2026-11-26T04:30:00Z"));
        assert_eq!(due("Call in Evening"), utc("2026-11-25T12:30:00Z"));
        assert_eq!(due("Call After 2 Days"), utc("2026-11-27T04:30:00Z"));
        assert_eq!(due("Busy Right Now"), utc("2026-11-25T11:30:00Z"));
    }

    #[test]
    fn callbacks_and_retries_move_into_calling_hours() {
        let c = team_rules();
        // "Busy Right Now" at 20:00 IST would fall due at 22:00: it waits for 09:00.
        let at_eight_pm = utc("2026-11-25T14:30:00Z");
        assert_eq!(
            c.decide("Busy Right Now", 1, at_eight_pm),
            QueueDecision::Requeue { due_at: utc("2026-11-26T03:30:00Z"), callback: true }
        );
        // A retry 30 minutes after 20:45 IST: 21:15 is closed → 09:00 next day.
        assert_eq!(
            c.decide(RINGING_BUSY, 1, utc("2026-11-25T15:15:00Z")),
            QueueDecision::Requeue { due_at: utc("2026-11-26T03:30:00Z"), callback: false }
        );
        // Inside the window nothing moves.
        assert_eq!(
            c.decide(RINGING_BUSY, 1, utc("2026-11-25T06:00:00Z")),
            QueueDecision::Requeue { due_at: utc("2026-11-25T06:30:00Z"), callback: false }
        );
        // "Call in Evening" for a driver in London is 18:00 London time (GMT in November).
        assert_eq!(
            c.decide_for(c.effect("Call in Evening", None), 1, utc("2026-11-25T09:30:00Z"), Some("Europe/London")),
            QueueDecision::Requeue { due_at: utc("2026-11-25T18:00:00Z"), callback: true }
        );
    }

    #[test]
    fn a_callback_across_a_clock_change_keeps_its_local_time() {
        let c = team_rules();
        // Saved on Saturday 2026-10-24 12:00 in London (BST, UTC+1); "after 2 days" at 10:00 is
        // Monday 10:00 GMT (UTC+0), after the clocks went back.
        assert_eq!(
            c.decide_for(c.effect("Call After 2 Days", None), 1, utc("2026-10-24T11:00:00Z"), Some("Europe/London")),
            QueueDecision::Requeue { due_at: utc("2026-10-26T10:00:00Z"), callback: true }
        );
    }

    #[test]
    fn the_last_attempt_is_known_before_saving() {
        let c = FeedbackCatalog::default()
            .with_rules(RetryPolicy { delay: Duration::minutes(45), max_attempts: 2 }, Schedule::default());
        assert!(!c.exhausts_attempts(RINGING_BUSY, 1));
        assert!(c.exhausts_attempts(RINGING_BUSY, 2));
        assert!(!c.exhausts_attempts("Busy Right Now", 9), "a callback is not a retry");
        assert!(!c.exhausts_attempts("Interview Fixed", 9));
        let now = utc("2026-11-25T06:00:00Z");
        assert_eq!(
            c.decide(RINGING_BUSY, 1, now),
            QueueDecision::Requeue { due_at: now + Duration::minutes(45), callback: false }
        );
        assert_eq!(c.decide(RINGING_BUSY, 2, now), QueueDecision::Remove);
    }
}
