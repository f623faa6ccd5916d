//! The paged lists (queue, call log, upcoming): moving the selection, keeping it on screen, and
//! loading pages from the store as the agent nears the end. The upcoming list's next page is read
//! here too (not in `finder`, which fills it first), so paging points one way: finder → lists.

use chrono::{Days, NaiveDate, NaiveTime};
use crossterm::event::KeyEvent;
use tui_input::backend::crossterm::to_input_request;

use super::action::Effect;
use super::state::{App, DateRange, Modal, Screen};
use crate::coord::dialer::CallKind;
use crate::domain::hours::{local_date, resolve};
use crate::store::CallFilter;
use crate::tui::keys::Command;

/// Rows fetched per page of the queue and the call log.
pub const PAGE: u32 = 200;
/// Most rows a reload in place asks for at once.
const MAX_RELOAD: u32 = 5000;

/// Takes a page of `asked` rows into a list (after its last row, or instead of it); returns
/// whether the list has no more rows to load.
pub(super) fn take_page<T>(rows: &mut Vec<T>, page: Vec<T>, append: bool, asked: u32) -> bool {
    let exhausted = page.len() < asked as usize;
    if append {
        rows.extend(page);
    } else {
        *rows = page;
    }
    exhausted
}

/// A key typed into the queue's filter.
pub(super) fn on_filter_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    match to_input_request(&crossterm::event::Event::Key(key)) {
        Some(req) => {
            app.queue.filter.handle(req);
            reload_queue(app)
        }
        None => vec![],
    }
}

pub(super) fn move_selection(app: &mut App, cmd: Command) -> Vec<Effect> {
    let page = app.page_rows.max(1);
    if let Some(Modal::CallDialog(d)) = &mut app.modal {
        d.highlighted = if d.highlighted == CallKind::Telecmi { CallKind::Manual } else { CallKind::Telecmi };
        return vec![];
    }
    let (len, selected) = match app.screen {
        Screen::Queue => (app.queue.rows.len(), &mut app.queue.selected),
        Screen::CallLog => (app.call_log.rows.len(), &mut app.call_log.selected),
        Screen::Search => (app.search.hits.len(), &mut app.search.selected),
        Screen::Upcoming => (app.upcoming.rows.len(), &mut app.upcoming.selected),
        Screen::Stats => return vec![],
    };
    if len == 0 {
        return vec![];
    }
    let last = len - 1;
    *selected = match cmd {
        Command::SelectNext => (*selected + 1).min(last),
        Command::SelectPrev => selected.saturating_sub(1),
        Command::PageDown => (*selected + page).min(last),
        Command::PageUp => selected.saturating_sub(page),
        Command::First => 0,
        _ => last,
    };
    clamp_offsets(app);
    load_more_if_near_end(app)
}

/// Keeps each list's selected row on screen.
pub(super) fn clamp_offsets(app: &mut App) {
    let page = app.page_rows.max(1);
    for (selected, offset) in [
        (app.queue.selected, &mut app.queue.offset),
        (app.call_log.selected, &mut app.call_log.offset),
        (app.search.selected, &mut app.search.offset),
        (app.upcoming.selected, &mut app.upcoming.offset),
    ] {
        if selected < *offset {
            *offset = selected;
        } else if selected >= *offset + page {
            *offset = selected + 1 - page;
        }
    }
}

pub(super) fn load_more_if_near_end(app: &mut App) -> Vec<Effect> {
    let page = app.page_rows.max(1);
    match app.screen {
        Screen::Queue => {
            let q = &mut app.queue;
            if q.exhausted || q.loading || q.selected + 2 * page < q.rows.len() {
                return vec![];
            }
            q.loading = true;
            vec![Effect::LoadQueue {
                generation: q.generation,
                after: q.rows.last().map(|r| r.cursor()),
                filter: q.filter_text(),
                limit: PAGE,
            }]
        }
        Screen::CallLog => {
            let v = &mut app.call_log;
            if v.exhausted || v.loading || v.selected + 2 * page < v.rows.len() {
                return vec![];
            }
            v.loading = true;
            let before = v.rows.last().map(|c| c.id);
            let filter = call_log_filter(app);
            vec![Effect::LoadCallLog { generation: app.call_log.generation, filter, before }]
        }
        Screen::Upcoming => upcoming_more(app),
        Screen::Stats | Screen::Search => vec![],
    }
}

/// The next page of the upcoming list when the selection nears its end.
fn upcoming_more(app: &mut App) -> Vec<Effect> {
    let page = app.page_rows.max(1);
    let u = &mut app.upcoming;
    if u.exhausted || u.loading || u.selected + 2 * page < u.rows.len() {
        return vec![];
    }
    let Some(last) = u.rows.last().and_then(|r| r.due_at.map(|t| (t, r.driver_id.clone()))) else { return vec![] };
    u.loading = true;
    vec![Effect::LoadUpcoming { generation: u.generation, after: Some(last) }]
}

/// Loads the queue from the top (a new filter): selection back to the first row. The rows on
/// screen stay until the answer replaces them, so typing a filter does not flicker.
pub(super) fn reload_queue(app: &mut App) -> Vec<Effect> {
    app.queue.selected = 0;
    app.queue.offset = 0;
    load_queue_from_top(app, PAGE)
}

/// Loads the queue again from the top, as many rows as are on hand, keeping the selected position:
/// after a save the row under the cursor becomes the next driver, and a periodic refresh does not
/// throw an agent who scrolled far down back to the first page.
pub(super) fn refresh_queue_in_place(app: &mut App) -> Vec<Effect> {
    let on_hand = u32::try_from(app.queue.rows.len()).unwrap_or(MAX_RELOAD);
    load_queue_from_top(app, on_hand.clamp(PAGE, MAX_RELOAD))
}

pub(super) fn load_queue_from_top(app: &mut App, limit: u32) -> Vec<Effect> {
    let q = &mut app.queue;
    q.generation += 1;
    q.loading = true;
    q.exhausted = false;
    vec![Effect::LoadQueue { generation: q.generation, after: None, filter: q.filter_text(), limit }]
}

pub fn call_log_filter(app: &App) -> CallFilter {
    let days_back = |n: u64| {
        let day = local_date(app.now, app.tz).checked_sub_days(Days::new(n)).unwrap_or(NaiveDate::MIN);
        resolve(app.tz, day, NaiveTime::MIN)
    };
    let from = match app.call_log.range {
        DateRange::Today => Some(days_back(0)),
        DateRange::Week => Some(days_back(6)),
        DateRange::Month => Some(days_back(29)),
        DateRange::All => None,
    };
    CallFilter {
        caller_id: Some(app.me.caller_id),
        status: app.call_log.status.clone(),
        provider: None,
        feedback: app.call_log.feedback.and_then(|i| app.catalog.all().get(i)).map(|o| o.label.clone()),
        from,
        until: None,
        text: app.call_log.text.clone(),
    }
}

pub(super) fn reload_call_log(app: &mut App) -> Vec<Effect> {
    let v = &mut app.call_log;
    v.generation += 1;
    v.loading = true;
    v.selected = 0;
    v.offset = 0;
    let generation = v.generation;
    vec![Effect::LoadCallLog { generation, filter: call_log_filter(app), before: None }]
}
