//! The queue pane: the caller's due drivers, callbacks first. Only visible rows are drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Table};

use crate::console::dialing::closed_for;
use crate::console::state::App;
use crate::domain::phone::readable;
use crate::domain::text::strip_controls;
use crate::store::{COUNT_CAP, QueueEntry};
use crate::tui::columns::{Column, fit, widest};
use crate::tui::format::when;
use crate::tui::keys::{Command, Context, key};
use crate::tui::widgets::{dim, more_below, selected_style};

/// A count the store stopped at [`COUNT_CAP`]: `10000+`.
fn capped(n: i64) -> String {
    if n > COUNT_CAP { format!("{COUNT_CAP}+") } else { n.to_string() }
}

/// Due drivers after the last of `visible` rows, and whether more may wait unread: counted from
/// the title's due figure when the queue is not filtered, else from the rows read so far.
fn queue_below(app: &App, visible: usize) -> (usize, bool) {
    let q = &app.queue;
    if q.rows.is_empty() {
        return (0, false);
    }
    let end = (q.offset.min(q.rows.len().saturating_sub(1)) + visible).min(q.rows.len());
    let loaded = q.rows.len() - end;
    if q.exhausted {
        (loaded, false)
    } else if q.filter_text().is_some() {
        (loaded, true)
    } else {
        (loaded.max(usize::try_from(q.due).unwrap_or(0).saturating_sub(end)), q.due > COUNT_CAP)
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let q = &app.queue;
    let mut block = Block::default().borders(Borders::ALL).title(Line::from(title(app, area)));
    let (below, unread) = queue_below(app, usize::from(area.height.saturating_sub(3)));
    if let Some(more) = more_below(below, unread) {
        block = block.title_bottom(more);
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if q.rows.is_empty() {
        frame.render_widget(Paragraph::new(empty(app)).style(dim()).wrap(ratatui::widgets::Wrap { trim: true }), inner);
        return;
    }
    let visible = usize::from(inner.height.saturating_sub(1));
    let start = q.offset.min(q.rows.len().saturating_sub(1));
    let end = (start + visible).min(q.rows.len());
    frame.render_widget(table(app, start, end, inner.width), inner);
}

/// The pane's title: counts, the team's closed window, how many rows on screen wait for their
/// hours, and the filter — each part only where it fits.
fn title(app: &App, area: Rect) -> Vec<Span<'static>> {
    let q = &app.queue;
    let mut title = vec![
        Span::styled(" Queue ", Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(format!("· {} due · {} queued ", capped(q.due), capped(q.total))),
    ];
    if let Err(c) = app.catalog.schedule.check(app.now, None) {
        // The team's own window is closed (rows in other zones may still be open).
        let opens = when(c.opens_at, app.now, app.tz);
        let used: usize = title.iter().map(|s| s.content.chars().count()).sum();
        let long = format!("· ⏸ outside hours {} till {opens} ", c.hours);
        let text = if used + long.chars().count() + 2 <= usize::from(area.width) {
            long
        } else {
            // The next such time (the long form gives the day).
            format!("· ⏸ till {} ", c.opens_at.with_timezone(&app.tz).format("%H:%M"))
        };
        title.push(Span::styled(text, Style::default().fg(Color::Magenta)));
    }
    // Of the rows on screen (only those: drawing never walks the whole list), how many wait for
    // their calling hours — they count as due.
    let on_screen = usize::from(area.height.saturating_sub(3));
    let from = q.offset.min(q.rows.len());
    let waiting = q.rows[from..(from + on_screen).min(q.rows.len())].iter().filter(|e| closed_for(app, e).is_some());
    let waiting = waiting.count();
    let used: usize = title.iter().map(|s| s.content.chars().count()).sum();
    let text = format!("· {waiting} here waiting ");
    if waiting > 0 && used + text.chars().count() + 2 <= usize::from(area.width) {
        title.push(Span::styled(text, dim()));
    }
    if q.filtering || !q.filter.value().is_empty() {
        let cursor = if q.filtering { "▏" } else { "" };
        title.push(Span::styled(
            format!("· /{}{cursor} ", strip_controls(q.filter.value())),
            Style::default().fg(Color::Yellow),
        ));
    }
    title
}

/// What an empty queue says: loading, nobody due (and why), or nobody matching the filter.
fn empty(app: &App) -> String {
    let q = &app.queue;
    if q.loading {
        "Loading…".to_string()
    } else if q.filter.value().is_empty() && q.total > 0 {
        let when = key(Context::Global, Command::ShowUpcoming);
        format!("Nobody is due right now; the rest of the queue is scheduled for later ({when} shows when).")
    } else if q.filter.value().is_empty() {
        "Nobody is due right now. Import drivers with `calldesk import drivers FILE.csv`.".to_string()
    } else {
        // While the filter is typed Esc clears it; once kept, the queue's own key does.
        let ctx = if q.filtering { Context::Filter } else { Context::Queue };
        format!("No due driver matches the filter ({} clears it).", key(ctx, Command::ClearFilter))
    }
}

/// The rows `start..end` as a table fitted to `width`.
fn table(app: &App, start: usize, end: usize, width: u16) -> Table<'static> {
    let q = &app.queue;
    let shown = &q.rows[start..end];
    // A driver outside their calling hours waits: the Due cell says when their window opens.
    let waiting: Vec<bool> = shown.iter().map(|e| closed_for(app, e).is_some()).collect();
    let due: Vec<String> = shown.iter().map(|e| due_cell(app, e)).collect();
    let names: Vec<String> = shown.iter().zip(&waiting).map(|(e, w)| name_cell(e, *w)).collect();
    let mobiles: Vec<String> = shown.iter().map(|e| readable(&e.mobile)).collect();
    let cities: Vec<String> = shown.iter().map(|e| strip_controls(e.city.as_deref().unwrap_or(""))).collect();
    let lasts: Vec<String> = shown.iter().map(|e| strip_controls(e.last_outcome.as_deref().unwrap_or(""))).collect();
    let cols = [
        // On a narrow terminal the city, TMID and last outcome go before a name is cut.
        Column::flex("Name", 10, None).wants(widest(names.iter().map(String::as_str))).whole_before(3),
        // A cut number is a wrong number if dialed by hand: the mobile column is never narrowed.
        Column::whole("Mobile", widest(mobiles.iter().map(String::as_str))),
        Column::fixed("TMID", widest(shown.iter().map(|e| e.tmid.as_deref().unwrap_or(""))).min(12), 2),
        // As wide as the cities shown, at most 10: short cities leave their room to the names.
        Column::fixed("City", widest(cities.iter().map(String::as_str)).min(10), 1),
        Column::fixed("Try", 3, 3),
        Column::whole("Due", widest(due.iter().map(String::as_str))),
        Column::flex("Last outcome", 12, Some(0)).wants(widest(lasts.iter().map(String::as_str))),
    ];
    let fitted = fit(&cols, width, 1);
    let cells = names.into_iter().zip(mobiles).zip(cities.into_iter().zip(lasts)).zip(due);
    let rows: Vec<_> = shown
        .iter()
        .zip(cells)
        .enumerate()
        .map(|(i, (e, (((name, mobile), (city, last)), due)))| {
            let mut row = fitted.row(vec![
                name.into(),
                mobile.into(),
                strip_controls(e.tmid.as_deref().unwrap_or("")).into(),
                city.into(),
                e.attempts.to_string().into(),
                due.into(),
                last.into(),
            ]);
            if waiting[i] {
                row = row.style(dim());
            } else if e.is_callback() {
                row = row.style(Style::default().fg(Color::Yellow));
            }
            if start + i == q.selected {
                row = row.style(selected_style());
            }
            row
        })
        .collect();
    Table::new(rows, fitted.constraints())
        .header(fitted.header(&cols).style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)))
        .column_spacing(1)
}

/// The Due cell: when the driver's window opens if it is closed, the snooze, or the due time.
fn due_cell(app: &App, e: &QueueEntry) -> String {
    match closed_for(app, e) {
        Some(c) => format!("waits {}", when(c.opens_at, app.now, app.tz)),
        // The agent put them off until now (`z`): said so, not taken for a retry.
        None if e.is_snoozed() => format!("snoozed {}", when(e.due_at.and_utc(), app.now, app.tz)),
        None => when(e.due_at.and_utc(), app.now, app.tz),
    }
}

/// The name, marked `⏸ ` while the driver's hours are closed, `↺ ` for a callback, `· pool` for
/// a driver of the team pool.
fn name_cell(e: &QueueEntry, waiting: bool) -> String {
    let mark = if waiting {
        "⏸ "
    } else if e.is_callback() {
        "↺ "
    } else {
        ""
    };
    // A driver of the team pool is anyone's until dialed (then the dialing agent's).
    let pool = if e.pool { " · pool" } else { "" };
    format!("{mark}{}{pool}", strip_controls(&e.name))
}
