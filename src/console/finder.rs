//! Finding drivers and reading their history: find anyone (`/`), the upcoming callbacks and
//! retries (`4`), and the driver card (`i`) with every earlier call.

use crossterm::event::KeyEvent;
use tui_input::backend::crossterm::to_input_request;

use super::action::Effect;
use super::state::{App, CardView, Modal, Screen};
use crate::domain::CallLog;
use crate::store::{DriverHit, QueueEntry};
use crate::tui::keys::Command;

/// Most hits a search shows.
pub const SEARCH_LIMIT: u32 = 100;
/// Calls the card reads.
pub const CARD_CALLS: u32 = 200;
/// Rows per page of the upcoming list.
pub const UPCOMING_PAGE: u32 = 200;

/// `/`: a fresh search (the last one's results stay until the first key).
pub(super) fn open_search(app: &mut App) -> Vec<Effect> {
    app.screen = Screen::Search;
    app.search.typing = true;
    app.search.input.reset();
    vec![]
}

/// `r` on the search screen: the same query again.
pub(super) fn search_again(app: &mut App) -> Vec<Effect> {
    app.screen = Screen::Search;
    search_now(app)
}

/// A key typed into the search box: the results follow as you type.
pub(super) fn on_search_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Some(req) = to_input_request(&crossterm::event::Event::Key(key)) else { return vec![] };
    app.search.input.handle(req);
    search_now(app)
}

fn search_now(app: &mut App) -> Vec<Effect> {
    let s = &mut app.search;
    s.generation += 1;
    s.selected = 0;
    s.offset = 0;
    let query = s.input.value().trim().to_string();
    if query.is_empty() {
        s.hits.clear();
        s.loading = false;
        return vec![];
    }
    s.loading = true;
    vec![Effect::Search { generation: s.generation, query }]
}

pub(super) fn on_search_loaded(app: &mut App, generation: u64, hits: Vec<DriverHit>) -> Vec<Effect> {
    if generation == app.search.generation {
        app.search.hits = hits;
        app.search.loading = false;
        app.search.selected = app.search.selected.min(app.search.hits.len().saturating_sub(1));
    }
    vec![]
}

pub(super) fn browse_results(app: &mut App) -> Vec<Effect> {
    app.search.typing = false;
    vec![]
}

pub(super) fn show_upcoming(app: &mut App) -> Vec<Effect> {
    app.screen = Screen::Upcoming;
    let u = &mut app.upcoming;
    u.generation += 1;
    u.loading = true;
    u.exhausted = false;
    u.selected = 0;
    u.offset = 0;
    vec![Effect::LoadUpcoming { generation: u.generation, after: None }]
}

pub(super) fn on_upcoming_loaded(app: &mut App, generation: u64, append: bool, rows: Vec<DriverHit>) -> Vec<Effect> {
    if generation != app.upcoming.generation {
        return vec![];
    }
    let u = &mut app.upcoming;
    u.loading = false;
    u.exhausted = super::lists::take_page(&mut u.rows, rows, append, UPCOMING_PAGE);
    u.selected = u.selected.min(u.rows.len().saturating_sub(1));
    vec![]
}

/// The driver on the selected row of the screen in front (or the card, or the dialog).
pub(super) fn selected_driver(app: &App) -> Option<(String, Option<i64>)> {
    match app.screen {
        Screen::Queue => app.queue.selected_entry().map(|e| (e.driver_id.clone(), None)),
        Screen::CallLog => {
            let c: &CallLog = app.call_log.rows.get(app.call_log.selected)?;
            c.driver_id.clone().map(|d| (d, Some(c.id)))
        }
        Screen::Search => app.search.hits.get(app.search.selected).map(|h| (h.driver_id.clone(), None)),
        Screen::Upcoming => app.upcoming.rows.get(app.upcoming.selected).map(|h| (h.driver_id.clone(), None)),
        Screen::Stats => None,
    }
}

pub(super) fn show_card(app: &mut App) -> Vec<Effect> {
    let Some((driver_id, focus_call)) = selected_driver(app) else {
        app.info("Select a driver (or a call) first.");
        return vec![];
    };
    app.modal = Some(Modal::Card(Box::new(CardView {
        driver_id: driver_id.clone(),
        hit: None,
        calls: vec![],
        recorded: Default::default(),
        loading: true,
        scroll: 0,
        focus_call,
    })));
    vec![Effect::LoadCard(driver_id)]
}

pub(super) fn on_card_loaded(
    app: &mut App,
    driver_id: &str,
    hit: Option<DriverHit>,
    calls: Vec<CallLog>,
    recorded: std::collections::HashSet<i64>,
) -> Vec<Effect> {
    if let Some(Modal::Card(c)) = &mut app.modal
        && c.driver_id == driver_id
    {
        c.hit = hit;
        c.calls = calls;
        c.recorded = recorded;
        c.loading = false;
    }
    vec![]
}

/// ↑↓ and pages on the card scroll it.
pub(super) fn scroll_card(app: &mut App, cmd: Command) -> Vec<Effect> {
    if let Some(Modal::Card(c)) = &mut app.modal {
        c.scroll = match cmd {
            Command::SelectNext => c.scroll.saturating_add(1),
            Command::SelectPrev => c.scroll.saturating_sub(1),
            Command::PageDown => c.scroll.saturating_add(10),
            Command::PageUp => c.scroll.saturating_sub(10),
            _ => c.scroll,
        }
        .min(c.calls.len().saturating_mul(3).try_into().unwrap_or(u16::MAX));
    }
    vec![]
}

/// The driver a call would go to from here: the card's, a search hit, an upcoming row, or the
/// queue's selected row.
pub(super) fn driver_to_call(app: &App) -> Option<QueueEntry> {
    if let Some(Modal::Card(c)) = &app.modal {
        return c.hit.as_ref().map(DriverHit::as_entry);
    }
    match app.screen {
        Screen::Search => app.search.hits.get(app.search.selected).map(DriverHit::as_entry),
        Screen::Upcoming => app.upcoming.rows.get(app.upcoming.selected).map(DriverHit::as_entry),
        _ => app.queue.selected_entry().cloned(),
    }
}

/// The last call of the driver in the open dialog has arrived.
pub(super) fn on_last_call(app: &mut App, driver_id: &str, call: Option<CallLog>) -> Vec<Effect> {
    if let Some(Modal::CallDialog(d)) = &mut app.modal
        && d.driver.driver_id == driver_id
    {
        d.last = Some(call);
    }
    vec![]
}
