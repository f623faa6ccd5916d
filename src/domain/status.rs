//! Call status and its one rule: it only moves forward.

use std::fmt;
use std::str::FromStr;

/// `call_logs.status`: `initiated → ringing → connected → completed`, or → `missed` / `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallStatus {
    Initiated,
    Ringing,
    Connected,
    Completed,
    Missed,
    Failed,
}

impl CallStatus {
    pub const ALL: [CallStatus; 6] =
        [Self::Initiated, Self::Ringing, Self::Connected, Self::Completed, Self::Missed, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initiated => "initiated",
            Self::Ringing => "ringing",
            Self::Connected => "connected",
            Self::Completed => "completed",
            Self::Missed => "missed",
            Self::Failed => "failed",
        }
    }

    /// A final status ends the call: nothing can follow it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Missed | Self::Failed)
    }

    pub fn is_live(self) -> bool {
        !self.is_final()
    }

    fn rank(self) -> u8 {
        match self {
            Self::Initiated => 0,
            Self::Ringing => 1,
            Self::Connected => 2,
            Self::Completed | Self::Missed | Self::Failed => 3,
        }
    }

    /// Whether a call in `self` may move to `next`. Only strictly forward moves are allowed;
    /// a late or repeated event never moves a status back.
    /// A connected call cannot become `missed` (someone answered). One move between final states
    /// exists: `missed → completed`, when proof that the driver answered (leg B's report) arrives
    /// after a hangup that was delivered out of order. Nothing ever leaves `completed`.
    pub fn can_advance_to(self, next: CallStatus) -> bool {
        match (self, next) {
            (Self::Connected, Self::Missed) => false,
            (Self::Missed, Self::Completed) => true,
            _ => next.rank() > self.rank(),
        }
    }

    /// The status after an event reporting `next`: `next` if that is forward, else unchanged.
    pub fn advance(self, next: CallStatus) -> CallStatus {
        if self.can_advance_to(next) { next } else { self }
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown call status {0:?}; expected one of initiated, ringing, connected, completed, missed, failed")]
pub struct UnknownStatus(pub String);

impl FromStr for CallStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::CallStatus::*;
    use super::*;

    #[test]
    fn moves_forward_along_the_happy_path() {
        assert_eq!(Initiated.advance(Ringing), Ringing);
        assert_eq!(Ringing.advance(Connected), Connected);
        assert_eq!(Connected.advance(Completed), Completed);
        assert_eq!(Initiated.advance(Connected), Connected, "skipping ahead is forward");
        assert_eq!(Ringing.advance(Missed), Missed);
        assert_eq!(Initiated.advance(Failed), Failed);
    }

    #[test]
    fn never_moves_back() {
        assert_eq!(Connected.advance(Ringing), Connected);
        assert_eq!(Completed.advance(Connected), Completed);
        assert_eq!(Completed.advance(Missed), Completed);
        assert_eq!(Failed.advance(Completed), Failed);
        assert_eq!(Failed.advance(Initiated), Failed);
        assert_eq!(Ringing.advance(Ringing), Ringing);
        assert_eq!(Connected.advance(Missed), Connected, "an answered call was not missed");
    }

    #[test]
    fn a_missed_call_proven_answered_completes() {
        assert_eq!(Missed.advance(Completed), Completed);
        assert_eq!(Completed.advance(Missed), Completed);
    }

    #[test]
    fn parses_and_names() {
        for s in CallStatus::ALL {
            assert_eq!(s.as_str().parse::<CallStatus>(), Ok(s));
        }
        assert_eq!("COMPLETED".parse::<CallStatus>(), Ok(Completed));
        assert!("done".parse::<CallStatus>().is_err());
        assert!(Completed.is_final() && Missed.is_final() && Failed.is_final());
        assert!(Initiated.is_live() && Ringing.is_live() && Connected.is_live());
    }
}

/// Which side of a click-to-call a TeleCMI webhook is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leg {
    /// The agent's phone (rung first).
    A,
    /// The driver's phone.
    B,
    /// Older payloads carry no leg.
    Unknown,
}

impl Leg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "a",
            Self::B => "b",
            Self::Unknown => "",
        }
    }

    /// The leg a webhook is about, for the status rules. Older payloads name no leg, but their
    /// `to` tells: leg B dials the driver's number, leg A the agent's side. One that still cannot
    /// be placed counts as leg A: it cannot prove the driver answered, nor give the talk time.
    pub fn effective(self, to: Option<&str>, driver_mobile: Option<&str>) -> Leg {
        match (self, to, driver_mobile) {
            (Self::A | Self::B, _, _) => self,
            (Self::Unknown, Some(to), Some(mobile)) if same_number(to, mobile) => Self::B,
            (Self::Unknown, _, _) => Self::A,
        }
    }
}

/// Two renderings of one phone number: the same digits, or (one with a country code, one
/// without) the same last ten.
fn same_number(a: &str, b: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let (a, b) = (digits(a), digits(b));
    let tail = |s: &str| s.get(s.len().saturating_sub(10)..).unwrap_or_default().to_string();
    !a.is_empty() && (a == b || (a.len() >= 10 && b.len() >= 10 && tail(&a) == tail(&b)))
}

/// What one provider event says happened on a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// The leg started ringing.
    Started,
    /// The leg was picked up.
    Answered,
    /// The leg hung up (live event; answered or not is read from the call's state).
    Hangup,
    /// The leg's final report (CDR): answered or not.
    Report { answered: bool },
    /// The call could not be placed or was given up.
    Failed,
}

/// The status a call in `current` moves to on `signal` for `leg`, never backwards.
///
/// Leg A answering only means the agent picked up: the driver is being rung. A hangup on either
/// leg completes a connected call and otherwise means nobody talked (missed). Leg B's report is
/// the proof of an answered call; leg A's report cannot prove the driver answered.
pub fn resolve(current: CallStatus, leg: Leg, signal: Signal) -> CallStatus {
    use CallStatus::*;
    let reported = match (signal, leg) {
        (Signal::Started, _) => Ringing,
        (Signal::Answered, Leg::A) => Ringing,
        (Signal::Answered, _) => Connected,
        (Signal::Hangup, _) | (Signal::Report { answered: true }, Leg::A) | (Signal::Report { answered: false }, _) => {
            if current == Connected {
                Completed
            } else {
                Missed
            }
        }
        (Signal::Report { answered: true }, _) => Completed,
        (Signal::Failed, _) => Failed,
    };
    current.advance(reported)
}

#[cfg(test)]
mod resolve_tests {
    use super::CallStatus::*;
    use super::*;

    #[test]
    fn a_legless_report_is_placed_by_its_number() {
        let mobile = Some("919876543210");
        assert_eq!(Leg::Unknown.effective(Some("919876543210"), mobile), Leg::B);
        assert_eq!(Leg::Unknown.effective(Some("9876543210"), mobile), Leg::B, "without the country code");
        assert_eq!(Leg::Unknown.effective(Some("442000000000"), mobile), Leg::A, "the agent's side");
        assert_eq!(Leg::Unknown.effective(None, mobile), Leg::A, "cannot be placed: proves nothing");
        assert_eq!(Leg::Unknown.effective(Some("919876543210"), None), Leg::A);
        assert_eq!(Leg::Unknown.effective(Some(""), Some("")), Leg::A);
        assert_eq!(Leg::A.effective(Some("919876543210"), mobile), Leg::A, "a named leg stays");
        assert_eq!(Leg::B.effective(None, None), Leg::B);
    }

    #[test]
    fn answered_call_through_both_legs() {
        let mut s = Initiated;
        for (leg, sig, want) in [
            (Leg::A, Signal::Started, Ringing),
            (Leg::A, Signal::Answered, Ringing),
            (Leg::B, Signal::Started, Ringing),
            (Leg::B, Signal::Answered, Connected),
            (Leg::B, Signal::Hangup, Completed),
            (Leg::A, Signal::Hangup, Completed),
            (Leg::A, Signal::Report { answered: true }, Completed),
            (Leg::B, Signal::Report { answered: true }, Completed),
        ] {
            s = resolve(s, leg, sig);
            assert_eq!(s, want, "{leg:?} {sig:?}");
        }
    }

    #[test]
    fn unanswered_driver_is_missed() {
        let s = resolve(Ringing, Leg::B, Signal::Hangup);
        assert_eq!(s, Missed);
        assert_eq!(resolve(s, Leg::B, Signal::Report { answered: false }), Missed);
        assert_eq!(resolve(Ringing, Leg::A, Signal::Report { answered: false }), Missed);
    }

    #[test]
    fn out_of_order_report_fixes_a_premature_miss() {
        // leg A's hangup overtook leg B's answered event
        let s = resolve(Ringing, Leg::A, Signal::Hangup);
        assert_eq!(s, Missed);
        assert_eq!(resolve(s, Leg::B, Signal::Answered), Missed);
        assert_eq!(resolve(s, Leg::B, Signal::Report { answered: true }), Completed);
    }

    #[test]
    fn late_events_never_reopen() {
        assert_eq!(resolve(Completed, Leg::B, Signal::Started), Completed);
        assert_eq!(resolve(Completed, Leg::B, Signal::Report { answered: false }), Completed);
        assert_eq!(resolve(Connected, Leg::A, Signal::Started), Connected);
    }
}
