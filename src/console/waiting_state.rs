//! A wrap-up save that did not reach the database, as the console keeps it until it does: plain
//! data (the rules are in [`super::save_retry`]).

use chrono::{DateTime, Utc};

use crate::store::SubmitFeedback;

/// A save waiting for the database, tried again by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingSave {
    /// What was last sent; a retry sends the form's fields as they are then when the form is on
    /// screen (what was typed meanwhile is saved too), this when it was put aside.
    pub feedback: SubmitFeedback,
    /// The store's words for the last failure.
    pub why: String,
    /// Tries that did not reach the database so far.
    pub tries: u32,
    /// When to try again.
    pub next_try: DateTime<Utc>,
    /// A try is on its way.
    pub trying: bool,
    /// Pressed in a console that closed before the database answered (the local draft file said
    /// so): this console makes the save by itself.
    pub from_before: bool,
}

/// How the line saying a save waits begins.
pub const WAITING: &str = "Database unavailable";

impl WaitingSave {
    /// The form's line while its save waits.
    pub fn line(&self) -> String {
        let tries = if self.tries > 1 { format!(" (tried {}×)", self.tries) } else { String::new() };
        format!("{WAITING} — your wrap-up is kept and will be saved when it returns{tries}.")
    }
}
