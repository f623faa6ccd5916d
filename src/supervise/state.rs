//! The supervisor screen's state: what it draws from ([`SuperView`]) and where its reads are
//! ([`Reads`]). It sits below both `update` (which changes it) and `view` (which draws it), so the
//! two never import each other.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::snapshot::Snapshot;
use crate::domain::FeedbackCatalog;

/// Everything the supervisor screen draws from.
#[derive(Debug, Clone)]
pub struct SuperView {
    pub snapshot: Snapshot,
    pub now: DateTime<Utc>,
    pub tz: Tz,
    pub database: String,
    pub viewer: String,
    pub error: Option<String>,
    pub help: bool,
    /// Which outcomes count as positive, for the conversion rate.
    pub catalog: std::sync::Arc<FeedbackCatalog>,
    /// Reads in flight and wanted, and whether to quit.
    pub reads: Reads,
}

impl SuperView {
    /// A screen with nothing read yet.
    pub fn new(now: DateTime<Utc>, tz: Tz, database: String, viewer: String) -> Self {
        Self {
            snapshot: Snapshot::default(),
            now,
            tz,
            database,
            viewer,
            error: None,
            help: false,
            catalog: std::sync::Arc::new(FeedbackCatalog::default()),
            reads: Reads { full_wanted: true, again: true, ..Default::default() },
        }
    }
}

/// Where the reads are: one at a time; a webhook (or `r`) during a read is not dropped, it asks
/// for another read as soon as the current one lands.
///
/// A webhook's read is quick: agents and live calls are read at once, while the day's totals
/// (which scan whole tables) are read again only when they are older than
/// [`TOTALS_AFTER_CHANGE`]; a change they have not covered yet is read at the next tick. So with a
/// whole team's webhooks arriving every few milliseconds the live board stays within a poll of the
/// truth, and the numbers within a couple of seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    pub loading: bool,
    /// Another read is wanted once the current one lands.
    pub again: bool,
    /// The next read re-reads the totals whatever their age (the first read, `r`).
    pub full_wanted: bool,
    /// A webhook changed calls since the totals shown were read.
    pub totals_owed: bool,
    /// The read under way re-reads the totals.
    pub reading_totals: bool,
    pub quit: bool,
}
