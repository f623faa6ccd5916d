//! What the end of a call says about its wrap-up: who missed it, which outcomes fit, which one
//! follows from the facts, and the reason the row records.

use super::feedback::{FeedbackGroup, FeedbackOption, QueueEffect};
use super::status::CallStatus;

/// The reason tag of a call whose agent's phone (leg A) was not answered.
pub const AGENT_MISSED_TAG: &str = "[agent's phone not answered; driver not called]";
/// The reason tag of a call TeleCMI never placed.
pub const NOT_PLACED_TAG: &str = "[call not placed; driver not called]";

/// How a call ended, read from TeleCMI's reports of its two legs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallEnd {
    /// Still going, or nothing is known yet (and every manual call: nothing tells us).
    Unknown,
    /// The driver answered and they talked.
    Talked,
    /// The driver's phone rang and nobody answered.
    NoAnswer,
    /// The driver rejected the call.
    Rejected,
    /// The agent's own phone (leg A) was not answered, so the driver was never rung.
    AgentMissed,
    /// TeleCMI refused the call or never reported it: nobody was rung.
    NotPlaced,
}

impl CallEnd {
    /// One sentence for the wrap-up and the live pane, `None` when there is nothing to say.
    pub fn sentence(self) -> Option<&'static str> {
        match self {
            Self::Unknown | Self::Talked => None,
            Self::NoAnswer => Some("The driver did not answer."),
            Self::Rejected => Some("The driver rejected the call."),
            Self::AgentMissed => Some("Your phone was not answered — the driver was not called."),
            Self::NotPlaced => Some("The call was not placed — the driver was not called."),
        }
    }

    /// The reason written at the start of the row's remarks, so the stored row says who missed.
    pub fn tag(self) -> Option<&'static str> {
        match self {
            Self::Unknown | Self::Talked => None,
            Self::NoAnswer => Some("[no answer]"),
            Self::Rejected => Some("[driver rejected]"),
            Self::AgentMissed => Some(AGENT_MISSED_TAG),
            Self::NotPlaced => Some(NOT_PLACED_TAG),
        }
    }

    /// The driver was never rung: the attempt is not theirs.
    pub fn driver_not_rung(self) -> bool {
        matches!(self, Self::AgentMissed | Self::NotPlaced)
    }
}

/// One leg's event as stored: `a`/`b`/``, `event`/`cdr`, TeleCMI's status word and hangup reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegReport {
    pub leg: String,
    pub kind: String,
    pub status: String,
    pub hangup_reason: Option<String>,
}

/// How a TeleCMI call in `status` ended, from its stored leg reports.
pub fn classify(status: CallStatus, manual: bool, reports: &[LegReport]) -> CallEnd {
    if manual {
        return CallEnd::Unknown;
    }
    match status {
        CallStatus::Completed | CallStatus::Connected => return CallEnd::Talked,
        CallStatus::Failed => return CallEnd::NotPlaced,
        CallStatus::Initiated | CallStatus::Ringing => return CallEnd::Unknown,
        CallStatus::Missed => {}
    }
    let leg_b: Vec<&LegReport> = reports.iter().filter(|r| r.leg == "b").collect();
    if leg_b.iter().any(|r| r.hangup_reason.as_deref() == Some("sent_reject") || r.status == "rejected") {
        return CallEnd::Rejected;
    }
    if leg_b.iter().any(|r| r.kind == "cdr") {
        return CallEnd::NoAnswer;
    }
    if !leg_b.is_empty() {
        // The driver's phone rang, but only leg B's report says whether they rejected it.
        return CallEnd::Unknown;
    }
    let leg_a_answered = reports.iter().any(|r| r.leg == "a" && r.status == "answered" && r.kind == "event");
    let leg_a_ended = reports.iter().any(|r| r.leg == "a" && (r.status == "missed" || r.status == "hangup"));
    if leg_a_ended && !leg_a_answered { CallEnd::AgentMissed } else { CallEnd::Unknown }
}

/// Why `option` cannot be saved for this call, or `None` when it fits. Manual calls take any
/// outcome; a TeleCMI call that never connected cannot take a Connected outcome, nor "asked not to
/// be called" (only a driver who talked can ask), and "driver not called" only fits a call that
/// never rang the driver.
pub fn refusal(option: &FeedbackOption, manual: bool, status: CallStatus, end: CallEnd) -> Option<&'static str> {
    if manual {
        return None;
    }
    let talked = matches!(status, CallStatus::Connected | CallStatus::Completed) || end == CallEnd::Talked;
    if matches!(option.group, FeedbackGroup::Connected | FeedbackGroup::DoNotCall) && !talked {
        return Some(if status.is_live() { "the driver has not answered (yet)" } else { "the driver never answered" });
    }
    if option.effect == QueueEffect::NotCalled && (talked || matches!(end, CallEnd::NoAnswer | CallEnd::Rejected)) {
        return Some("the driver's phone rang on this call");
    }
    if option.effect == QueueEffect::NotCalled && !end.driver_not_rung() {
        return Some("TeleCMI's reports have not said the driver was never rung");
    }
    None
}

/// The outcome label that follows from the facts, if one does.
pub fn preselect(end: CallEnd) -> Option<&'static str> {
    match end {
        CallEnd::NoAnswer | CallEnd::Rejected => Some(super::feedback::RINGING_BUSY),
        CallEnd::AgentMissed | CallEnd::NotPlaced => Some(super::feedback::NOT_CALLED),
        CallEnd::Unknown | CallEnd::Talked => None,
    }
}

/// The most characters a call's remarks hold (the form, the store and the API agree).
pub const REMARKS_LIMIT: usize = 500;

/// The longest talk time a wrap-up takes, in seconds (a day; the form, the store and the API agree).
pub const MAX_DURATION_SECS: i64 = 86_400;

/// Whether `seconds` is a talk time a wrap-up takes (`0..=`[`MAX_DURATION_SECS`]).
pub fn duration_fits(seconds: i64) -> bool {
    (0..=MAX_DURATION_SECS).contains(&seconds)
}

/// Why an outcome cannot be saved whatever the call, or `Ok`: none chosen, remarks longer than
/// [`REMARKS_LIMIT`], or a duration (seconds, `None`: the one TeleCMI reported) that does not fit.
pub fn check_outcome(feedback: &str, remarks: &str, duration: Option<i64>) -> Result<(), String> {
    if feedback.trim().is_empty() {
        return Err("choose an outcome before saving".into());
    }
    if remarks.chars().count() > REMARKS_LIMIT {
        return Err(format!("remarks are limited to {REMARKS_LIMIT} characters"));
    }
    if duration.is_some_and(|d| !duration_fits(d)) {
        return Err(format!("duration must be between 0 and {MAX_DURATION_SECS} seconds"));
    }
    Ok(())
}

/// Remarks saved elsewhere and remarks typed in a wrap-up, both kept: the saved first, then the
/// typed (unless the saved already hold them).
pub fn joined_remarks(saved: &str, typed: &str) -> String {
    let (saved, typed) = (saved.trim(), typed.trim());
    if typed.is_empty() || saved == typed || saved.split(REMARKS_JOIN).any(|part| part == typed) {
        saved.to_string()
    } else if saved.is_empty() || typed.starts_with(saved) {
        // Nothing saved, or the saved text edited further: the new text holds both.
        typed.to_string()
    } else {
        format!("{saved}{REMARKS_JOIN}{typed}")
    }
}

/// Between remarks from two places.
const REMARKS_JOIN: &str = " · ";

/// The remarks stored: the reason tag (when the facts give one) before what the agent typed.
pub fn stored_remarks(end: CallEnd, typed: &str) -> String {
    let typed = typed.trim();
    match end.tag() {
        Some(tag) if typed.is_empty() => tag.to_string(),
        Some(tag) => format!("{tag} {typed}"),
        None => typed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FeedbackCatalog;

    fn r(leg: &str, kind: &str, status: &str, reason: Option<&str>) -> LegReport {
        LegReport { leg: leg.into(), kind: kind.into(), status: status.into(), hangup_reason: reason.map(Into::into) }
    }

    #[test]
    fn who_missed_reads_from_the_legs() {
        let agent = [
            r("a", "event", "started", None),
            r("a", "event", "hangup", None),
            r("a", "cdr", "missed", Some("recv_cancel")),
        ];
        assert_eq!(classify(CallStatus::Missed, false, &agent), CallEnd::AgentMissed);
        let no_answer = [
            r("a", "event", "answered", None),
            r("b", "event", "started", None),
            r("b", "cdr", "missed", Some("recv_cancel")),
        ];
        assert_eq!(classify(CallStatus::Missed, false, &no_answer), CallEnd::NoAnswer);
        let before_the_report =
            [r("a", "event", "answered", None), r("b", "event", "started", None), r("b", "event", "hangup", None)];
        assert_eq!(classify(CallStatus::Missed, false, &before_the_report), CallEnd::Unknown, "rejected or not: wait");
        let rejected = [r("a", "event", "answered", None), r("b", "cdr", "missed", Some("sent_reject"))];
        assert_eq!(classify(CallStatus::Missed, false, &rejected), CallEnd::Rejected);
        assert_eq!(classify(CallStatus::Completed, false, &[]), CallEnd::Talked);
        assert_eq!(classify(CallStatus::Failed, false, &[]), CallEnd::NotPlaced);
        assert_eq!(classify(CallStatus::Missed, true, &agent), CallEnd::Unknown, "manual calls: no facts");
        assert_eq!(classify(CallStatus::Ringing, false, &agent), CallEnd::Unknown, "not over yet");
    }

    #[test]
    fn outcomes_fit_the_call() {
        let c = FeedbackCatalog::default();
        let interview = c.find("Interview Fixed").expect("outcome");
        let busy = c.find(super::super::feedback::RINGING_BUSY).expect("outcome");
        let not_called = c.find(super::super::feedback::NOT_CALLED).expect("outcome");
        assert!(refusal(interview, false, CallStatus::Missed, CallEnd::NoAnswer).is_some());
        assert!(refusal(interview, false, CallStatus::Completed, CallEnd::Talked).is_none());
        assert!(
            refusal(interview, false, CallStatus::Failed, CallEnd::Talked).is_none(),
            "closed by calldesk at the ceiling after a real talk"
        );
        assert!(refusal(interview, true, CallStatus::Missed, CallEnd::Unknown).is_none(), "manual: any");
        assert!(refusal(busy, false, CallStatus::Missed, CallEnd::Rejected).is_none());
        assert!(refusal(not_called, false, CallStatus::Missed, CallEnd::AgentMissed).is_none());
        assert!(refusal(not_called, false, CallStatus::Missed, CallEnd::Rejected).is_some());
        assert!(refusal(not_called, false, CallStatus::Completed, CallEnd::Talked).is_some());
    }

    #[test]
    fn only_a_driver_who_talked_can_ask_not_to_be_called() {
        let c = FeedbackCatalog::default();
        let dnc = c.find(super::super::feedback::DO_NOT_CALL).expect("outcome");
        assert!(refusal(dnc, false, CallStatus::Completed, CallEnd::Talked).is_none());
        assert!(refusal(dnc, false, CallStatus::Connected, CallEnd::Unknown).is_none(), "talking now");
        assert!(refusal(dnc, false, CallStatus::Missed, CallEnd::NoAnswer).is_some());
        assert!(refusal(dnc, false, CallStatus::Missed, CallEnd::AgentMissed).is_some());
        assert!(refusal(dnc, false, CallStatus::Ringing, CallEnd::Unknown).is_some());
        assert!(refusal(dnc, true, CallStatus::Initiated, CallEnd::Unknown).is_none(), "manual: the agent knows");
    }

    #[test]
    fn an_outcome_needs_a_choice_short_remarks_and_a_day_at_most() {
        let full = "é".repeat(REMARKS_LIMIT);
        assert_eq!(check_outcome("Interview Fixed", &full, Some(86_400)), Ok(()), "characters, not bytes");
        assert_eq!(check_outcome("Interview Fixed", "", None), Ok(()), "no duration: TeleCMI's stays");
        assert_eq!(check_outcome("  ", "", None), Err("choose an outcome before saving".into()));
        assert_eq!(
            check_outcome("Interview Fixed", &format!("{full}x"), None),
            Err("remarks are limited to 500 characters".into())
        );
        for d in [-1, 86_401] {
            assert_eq!(
                check_outcome("Interview Fixed", "", Some(d)),
                Err("duration must be between 0 and 86400 seconds".into())
            );
        }
        assert!(duration_fits(0) && duration_fits(MAX_DURATION_SECS) && !duration_fits(MAX_DURATION_SECS + 1));
    }

    #[test]
    fn remarks_from_two_places_are_both_kept() {
        assert_eq!(joined_remarks("from the app", "from the console"), "from the app · from the console");
        assert_eq!(joined_remarks("", " typed "), "typed");
        assert_eq!(joined_remarks("same words", "same words"), "same words");
        assert_eq!(joined_remarks("saved", "  "), "saved");
        assert_eq!(joined_remarks("book a slot", "ok"), "book a slot · ok", "a word inside is not the same remark");
        assert_eq!(joined_remarks("a · b", "b"), "a · b");
        assert_eq!(joined_remarks("call Monday", "call Monday 10am"), "call Monday 10am", "an edit of the saved");
    }

    #[test]
    fn the_facts_pick_the_outcome_and_the_row_says_why() {
        assert_eq!(preselect(CallEnd::Rejected), Some("Ringing / Call Busy"));
        assert_eq!(preselect(CallEnd::AgentMissed), Some(super::super::feedback::NOT_CALLED));
        assert_eq!(preselect(CallEnd::Talked), None);
        assert_eq!(stored_remarks(CallEnd::Rejected, " said later "), "[driver rejected] said later");
        assert_eq!(stored_remarks(CallEnd::NoAnswer, ""), "[no answer]");
        assert_eq!(stored_remarks(CallEnd::Talked, "ok"), "ok");
        assert_ne!(CallEnd::NoAnswer.tag(), CallEnd::Rejected.tag());
        assert_ne!(CallEnd::NoAnswer.tag(), CallEnd::AgentMissed.tag());
    }
}
