//! The drill-down: one agent's calls today, newest first, read a page at a time as the cursor
//! nears the end of what is read, so an agent with 300 calls costs one page until scrolled.

use super::action::{CALLS_PAGE, CallsPage, Effect};
use super::state::{Drill, SuperView};
use crate::domain::hours::start_of_day;
use crate::tui::keys::Command;

/// Rows a page key moves.
pub const PAGE_ROWS: usize = 10;

/// How near the end of the rows read the cursor may come before the next page is read.
const READ_AHEAD: usize = 5;

/// Opens the selected agent's calls (nothing when no agent is selected).
pub fn open(v: &mut SuperView) -> Vec<Effect> {
    let Some(row) = v.snapshot.agents.iter().find(|a| Some(a.caller.id) == v.selected) else { return vec![] };
    v.drill = Some(Drill::new(row.caller.clone()));
    vec![first_page(v, row.caller.id)]
}

fn first_page(v: &SuperView, caller: i64) -> Effect {
    Effect::LoadCalls { caller, from: start_of_day(v.now, v.tz), before: None }
}

/// Reads the first page again (`r`), unless a read is under way.
pub fn reload(v: &mut SuperView) -> Vec<Effect> {
    let Some(d) = v.drill.as_mut().filter(|d| !d.loading) else { return vec![] };
    d.loading = true;
    let caller = d.agent.id;
    vec![first_page(v, caller)]
}

/// A moving key while the calls are open.
pub fn on_command(v: &mut SuperView, cmd: Command) -> Vec<Effect> {
    let from = start_of_day(v.now, v.tz);
    let Some(d) = v.drill.as_mut() else { return vec![] };
    let last = d.calls.len().saturating_sub(1);
    d.cursor = match cmd {
        Command::SelectNext => d.cursor.saturating_add(1),
        Command::SelectPrev => d.cursor.saturating_sub(1),
        Command::PageDown => d.cursor.saturating_add(PAGE_ROWS),
        Command::PageUp => d.cursor.saturating_sub(PAGE_ROWS),
        _ => d.cursor,
    }
    .min(last);
    if d.loading || d.complete || d.cursor + READ_AHEAD < d.calls.len() {
        return vec![];
    }
    let Some(before) = d.calls.last().map(|c| c.id) else { return vec![] };
    d.loading = true;
    vec![Effect::LoadCalls { caller: d.agent.id, from, before: Some(before) }]
}

/// A page landed: the first replaces what was read, a later one is added (a page for another
/// agent, or after a call other than the last read, is dropped).
pub fn on_loaded(v: &mut SuperView, caller: i64, before: Option<i64>, result: Result<CallsPage, String>) {
    let Some(d) = v.drill.as_mut().filter(|d| d.agent.id == caller) else { return };
    if before.is_some() && before != d.calls.last().map(|c| c.id) {
        return;
    }
    d.loading = false;
    match result {
        Ok(page) => {
            d.error = None;
            d.complete = page.calls.len() < CALLS_PAGE as usize;
            if before.is_none() {
                d.calls.clear();
            }
            d.calls.extend(page.calls);
            if let Some(total) = page.total {
                d.total = total;
            }
            d.total = d.total.max(i64::try_from(d.calls.len()).unwrap_or(i64::MAX));
            d.cursor = d.cursor.min(d.calls.len().saturating_sub(1));
        }
        Err(e) => d.error = Some(e),
    }
}
