//! Which of two copies of a wrap-up draft is newer: the database's row or the console's local
//! file. Decided by the edit, never by a clock (the row's time may be another host's).

use serde::{Deserialize, Serialize};

/// One edit of a draft: the console session that typed it, then that console's edit counter.
/// A newer login of the agent has a larger session id, so its first edit is newer than anything
/// an older console typed; within one console the counter only grows. `(0, 0)`: unknown (a row
/// written before versions were stored, or by a writer without a session).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DraftVersion {
    pub session: i64,
    pub seq: i64,
}

impl DraftVersion {
    pub const UNKNOWN: Self = Self { session: 0, seq: 0 };

    pub fn new(session: i64, seq: i64) -> Self {
        Self { session, seq }
    }
}

/// Whether the local copy at `local` is to be reopened instead of the database's at `stored`
/// (`None`: no row). Equal versions are one edit: the database's copy is taken.
pub fn local_is_newer(local: DraftVersion, stored: Option<DraftVersion>) -> bool {
    stored.is_none_or(|s| local > s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_session_wins_whatever_its_counter() {
        let old = DraftVersion::new(7, 900);
        let new = DraftVersion::new(8, 1);
        assert!(new > old);
        assert!(local_is_newer(new, Some(old)));
        assert!(!local_is_newer(old, Some(new)));
    }

    #[test]
    fn within_a_session_the_counter_decides_and_a_tie_keeps_the_row() {
        assert!(local_is_newer(DraftVersion::new(7, 12), Some(DraftVersion::new(7, 11))));
        assert!(!local_is_newer(DraftVersion::new(7, 11), Some(DraftVersion::new(7, 11))));
        assert!(local_is_newer(DraftVersion::new(7, 1), None));
        assert!(local_is_newer(DraftVersion::new(7, 1), Some(DraftVersion::UNKNOWN)));
    }
}
