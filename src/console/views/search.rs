//! Find anyone (`/`): the query and every matching driver with where they stand; and the upcoming
//! callbacks and retries (`4`), soonest first.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Table};

use crate::console::state::App;
use crate::domain::phone::readable;
use crate::domain::text::strip_controls;
use crate::store::{DriverHit, Standing};
use crate::tui::columns::{Column, fit, widest};
use crate::tui::format::when;
use crate::tui::widgets::{dim, more_below, selected_style};

/// "due now", "callback 13:00", "retry 13:00", "snoozed 24 Nov 10:00" (the agent's `z`) or
/// "done", for one driver.
pub fn standing_text(app: &App, h: &DriverHit) -> String {
    match h.standing(app.now) {
        // Due, but their calling window is closed: when it opens.
        Standing::Due => match app.catalog.schedule.check(app.now, h.timezone.as_deref()) {
            Ok(()) => "due now".into(),
            Err(c) => format!("waits {}", when(c.opens_at, app.now, app.tz)),
        },
        Standing::Scheduled(t) => {
            let kind = if h.is_snoozed() {
                "snoozed"
            } else if h.priority == Some(0) {
                "callback"
            } else {
                "retry"
            };
            format!("{kind} {}", when(t.and_utc(), app.now, app.tz))
        }
        Standing::Done => "done".into(),
        Standing::DoNotCall => "DO NOT CALL".into(),
    }
}

/// For a driver on the do-not-call list: since when, by whom and why, in one line; for a driver
/// who asked not to be called and whose number is not listed, that they asked, and when.
pub fn do_not_call_text(app: &App, h: &DriverHit) -> Option<String> {
    let fmt = |t: chrono::NaiveDateTime| t.and_utc().with_timezone(&app.tz).format(crate::store::DNC_TIME_FMT);
    let Some(since) = h.dnc_since else {
        let when = h.closed_at.map(|t| format!(" on {}", fmt(t))).unwrap_or_default();
        return h.asked_not_to_be_called().then(|| {
            format!("asked not to be called{when} (their number {} is not on the list)", readable(&h.mobile))
        });
    };
    let by = strip_controls(h.dnc_by.as_deref().unwrap_or("?"));
    let why = h.dnc_reason.as_deref().map(|r| format!(": {}", strip_controls(r))).unwrap_or_default();
    Some(format!("on the do-not-call list since {}, added by {by}{why}", fmt(since)))
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let s = &app.search;
    let [input_area, list_area] = Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
    let (border, title) = if s.typing {
        (Style::default().fg(Color::Cyan).add_modifier(Modifier::BOLD), " ▶ Find anyone: name, TMID or number ")
    } else {
        (dim(), " Find anyone (/ to edit) ")
    };
    let block = Block::default().borders(Borders::ALL).border_style(border).title(title);
    let inner = block.inner(input_area);
    frame.render_widget(block, input_area);
    let width = usize::from(inner.width.saturating_sub(1).max(1));
    let scroll = s.input.visual_scroll(width);
    let shown: String = strip_controls(s.input.value()).chars().skip(scroll).take(width).collect();
    frame.render_widget(Paragraph::new(shown), inner);
    if s.typing {
        let x = inner.x + u16::try_from(s.input.visual_cursor().saturating_sub(scroll)).unwrap_or(0);
        frame.set_cursor_position((x.min(inner.right().saturating_sub(1)), inner.y));
    }
    let title = format!(" {} found ", s.hits.len());
    let empty = if s.loading {
        "Searching…"
    } else if s.input.value().trim().is_empty() {
        "Type a name, a TMID or a number in any format (+91 90000-00012 works)."
    } else {
        "Nobody matches."
    };
    // A search shows at most SEARCH_LIMIT hits: that many may mean more.
    let unread = s.hits.len() >= crate::console::finder::SEARCH_LIMIT as usize;
    let list = HitList { hits: &s.hits, selected: s.selected, offset: s.offset, unread };
    hit_table(app, frame, list_area, (&title, empty), &list);
}

pub fn render_upcoming(app: &App, frame: &mut Frame, area: Rect) {
    let u = &app.upcoming;
    let title = format!(" Upcoming · {}{} scheduled ", u.rows.len(), if u.exhausted { "" } else { "+" });
    let empty = if u.loading { "Loading…" } else { "No callback or retry is scheduled." };
    let list = HitList { hits: &u.rows, selected: u.selected, offset: u.offset, unread: !u.exhausted };
    hit_table(app, frame, area, (&title, empty), &list);
}

/// A list of drivers as the two screens hold it: the rows read, the selection, the first row
/// shown, and whether more may wait unread.
struct HitList<'a> {
    hits: &'a [DriverHit],
    selected: usize,
    offset: usize,
    unread: bool,
}

fn hit_table(app: &App, frame: &mut Frame, area: Rect, (title, empty): (&str, &str), list: &HitList<'_>) {
    let HitList { hits, selected, offset, unread } = *list;
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title.to_string(), Style::default().add_modifier(Modifier::BOLD)));
    let end = (offset.min(hits.len().saturating_sub(1)) + usize::from(area.height.saturating_sub(3))).min(hits.len());
    if let Some(more) = more_below(hits.len() - end, unread && !hits.is_empty()) {
        block = block.title_bottom(more);
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if hits.is_empty() {
        frame.render_widget(Paragraph::new(Line::styled(empty.to_string(), dim())), inner);
        return;
    }
    let visible = usize::from(inner.height.saturating_sub(1));
    let start = offset.min(hits.len().saturating_sub(1));
    let shown = &hits[start..(start + visible).min(hits.len())];
    frame.render_widget(hits_rows(app, shown, start, selected, inner.width), inner);
}

/// The hits shown (`start` is the first one's index) as a table fitted to `width`.
fn hits_rows(app: &App, shown: &[DriverHit], start: usize, selected: usize, width: u16) -> Table<'static> {
    let states: Vec<String> = shown.iter().map(|h| standing_text(app, h)).collect();
    let mobiles: Vec<String> = shown.iter().map(|h| readable(&h.mobile)).collect();
    let names: Vec<String> = shown.iter().map(|h| strip_controls(&h.name)).collect();
    let cols = [
        Column::flex("Name", 10, None).wants(widest(names.iter().map(String::as_str))).whole_before(3),
        Column::whole("Mobile", widest(mobiles.iter().map(String::as_str))),
        Column::whole("Standing", widest(states.iter().map(String::as_str))),
        Column::fixed("TMID", widest(shown.iter().map(|h| h.tmid.as_deref().unwrap_or(""))).min(12), 2),
        Column::fixed("Try", 3, 3),
        Column::flex("Last outcome", 12, Some(1))
            .wants(widest(shown.iter().map(|h| h.last_outcome.as_deref().unwrap_or("")))),
    ];
    let fitted = fit(&cols, width, 1);
    let red = Style::default().fg(Color::Red).add_modifier(Modifier::BOLD);
    let cells = states.into_iter().zip(mobiles).zip(names);
    let rows: Vec<_> = shown
        .iter()
        .zip(cells)
        .enumerate()
        .map(|(i, (h, ((state, mobile), name)))| {
            let (state, last) = standing_and_last(h, state, red);
            let mut row = fitted.row(vec![
                name.into(),
                mobile.into(),
                state.into(),
                strip_controls(h.tmid.as_deref().unwrap_or("")).into(),
                h.attempts.map(|a| a.to_string()).unwrap_or_default().into(),
                last.into(),
            ]);
            if start + i == selected {
                row = row.style(selected_style());
            }
            row
        })
        .collect();
    Table::new(rows, fitted.constraints())
        .header(fitted.header(&cols).style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)))
        .column_spacing(1)
}

/// A driver on the do-not-call list: the standing in red, and why where the last outcome would
/// be; anyone else: the standing as it is and the last outcome.
fn standing_and_last(h: &DriverHit, state: String, red: Style) -> (Line<'static>, String) {
    match (h.dnc_since, h.asked_not_to_be_called()) {
        (Some(_), _) => (
            Line::styled(state, red),
            format!("do not call: {}", strip_controls(h.dnc_reason.as_deref().unwrap_or("no reason given"))),
        ),
        (None, true) => (Line::styled(state, red), "do not call: asked not to be called".into()),
        (None, false) => (Line::raw(state), strip_controls(h.last_outcome.as_deref().unwrap_or(""))),
    }
}
