//! The driver card: who the driver is, where they stand, and every call to them, newest first,
//! with full remarks (the call log's detail view too). A call to them that is live follows the
//! console's live call as its updates arrive and its timer runs, as in the live pane.

use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::console::state::{App, CardView, LiveCall};
use crate::domain::CallLog;
use crate::domain::phone::readable;
use crate::domain::text::{plural, strip_controls};
use crate::tui::format::when;
use crate::tui::keys::{Command, Context, hint, key};
use crate::tui::widgets::{REC, centered, dim, rec_style, status_style};

pub fn render(app: &App, c: &CardView, frame: &mut Frame) {
    // Above the status bar and its notice line (a refusal said while the card is open must show).
    let full = frame.area();
    let above = ratatui::layout::Rect { height: full.height.saturating_sub(3).max(10).min(full.height), ..full };
    let area = centered(above, 100, above.height);
    frame.render_widget(Clear, area);
    let name = c.hit.as_ref().map_or(c.driver_id.clone(), |h| strip_controls(&h.name));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::Cyan))
        .title(Span::styled(format!(" {name} "), Style::default().add_modifier(Modifier::BOLD)))
        .title_bottom(Line::styled(bottom_line(), dim()));
    let mut lines = header(app, c);
    lines.push(Line::raw(""));
    if c.loading {
        lines.push(Line::styled("Loading…", dim()));
    } else if let calls = calls(app, c)
        && !calls.is_empty()
    {
        lines.push(Line::styled(
            format!("{}, newest first", plural(calls.len(), "call")),
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        ));
        for (call, live) in calls {
            let (focused, recorded) = (c.focus_call == Some(call.id), c.recorded.contains(&call.id));
            lines.extend(call_lines(app, call, live, focused, recorded));
        }
    } else {
        lines.push(Line::styled("Never called.", dim()));
    }
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((c.scroll, 0)), area);
}

/// The card's keys, from the table: `↑↓ PgUp PgDn scroll · Enter call · Esc close`. Plain and dim
/// (not the yellow hints of the forms): the card is read more than it is worked.
fn bottom_line() -> String {
    let (arrows, scroll) = hint(Context::Card, &[Command::SelectPrev, Command::SelectNext], Some("scroll"));
    let [(enter, call), (esc, close)] =
        [Command::OpenCallDialog, Command::Close].map(|c| hint(Context::Card, &[c], None));
    let (up, down) = (key(Context::Card, Command::PageUp), key(Context::Card, Command::PageDown));
    format!(" {arrows} {up} {down} {scroll} · {enter} {call} · {esc} {close} ")
}

fn header(app: &App, c: &CardView) -> Vec<Line<'static>> {
    let Some(h) = &c.hit else {
        return vec![Line::styled(if c.loading { "" } else { "This driver is not in the database." }, dim())];
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(readable(&h.mobile), Style::default().add_modifier(Modifier::BOLD)),
            Span::raw(format!(
                " · TMID {} · {}, {} · id {}",
                strip_controls(h.tmid.as_deref().unwrap_or("-")),
                strip_controls(h.city.as_deref().unwrap_or("-")),
                strip_controls(h.state.as_deref().unwrap_or("-")),
                strip_controls(&h.driver_id),
            )),
        ]),
        Line::from(vec![
            Span::styled("Standing: ", dim()),
            Span::styled(super::search::standing_text(app, h), Style::default().fg(Color::Yellow)),
            Span::raw(h.attempts.map(|a| format!(" · tries {a}")).unwrap_or_default()),
        ]),
    ];
    // Their own clock, when it is not the team's: why they can or cannot be called now.
    let schedule = &app.catalog.schedule;
    let zone = schedule.driver_zone(h.timezone.as_deref());
    if zone != app.tz {
        let local = app.now.with_timezone(&zone).format("%H:%M");
        let window = if schedule.hours.is_always() { String::new() } else { format!(" · calls {}", schedule.hours) };
        lines.push(Line::from(vec![
            Span::styled("Their time: ", dim()),
            Span::raw(format!("{local} ({}){window}", zone.name())),
        ]));
    }
    if let Some(text) = super::search::do_not_call_text(app, h) {
        let red = Style::default().fg(Color::Red).add_modifier(Modifier::BOLD);
        lines.push(Line::styled(format!("✗ DO NOT CALL: {text}"), red));
    }
    lines
}

/// The card's calls as the console knows them now, newest first: the live call as its updates
/// arrive (with it, for its timer), else the copy the recent list or a waiting wrap-up keeps up to
/// date, else the one read when the card opened; a live call to this driver placed after the card
/// was read comes first.
fn calls<'a>(app: &'a App, c: &'a CardView) -> Vec<(&'a CallLog, Option<&'a LiveCall>)> {
    let live = app.live.as_ref();
    let fresh = |call: &'a CallLog| -> (&'a CallLog, Option<&'a LiveCall>) {
        if let Some(l) = live.filter(|l| l.call.id == call.id) {
            return (&l.call, Some(l));
        }
        let kept = app.recent.iter().chain(app.wrapups.iter().map(|(w, _)| w)).find(|r| r.id == call.id);
        (kept.unwrap_or(call), None)
    };
    let mut v: Vec<_> = c.calls.iter().map(fresh).collect();
    if let Some(l) = live.filter(|l| {
        l.call.driver_id.as_deref() == Some(c.driver_id.as_str()) && c.calls.iter().all(|k| k.id != l.call.id)
    }) {
        v.insert(0, (&l.call, Some(l)));
    }
    v
}

fn call_lines(app: &App, call: &CallLog, live: Option<&LiveCall>, focused: bool, recorded: bool) -> Vec<Line<'static>> {
    let st = call.call_status();
    let talk = match live.filter(|_| st.is_live()) {
        // Ringing or talking now: the time runs with the clock, as in the live pane (without
        // saying "ringing" twice).
        Some(l) => {
            let timer = super::live::timer(app, l);
            format!(" · {}", timer.strip_prefix(st.as_str()).map_or(timer.as_str(), str::trim_start))
        }
        None => call.call_duration.map(|d| format!(" · {}", crate::tui::format::duration(d))).unwrap_or_default(),
    };
    let marker = if focused { "▶ " } else { "• " };
    let mut v = vec![Line::from(vec![
        Span::raw(marker),
        Span::styled(when(call.created_at, app.now, app.tz), Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(format!(" · by {} · ", who(app, call.caller_id))),
        Span::styled(st.as_str(), status_style(st)),
        Span::raw(format!("{talk} · {} · ", call.provider.as_deref().unwrap_or("?"))),
        // The id is what `calldesk recording ID -o FILE` takes.
        Span::styled(if recorded { format!("{REC} #{} · ", call.id) } else { String::new() }, rec_style()),
        Span::raw(strip_controls(call.feedback.as_deref().unwrap_or("no outcome yet"))),
    ])];
    if let Some(r) = call.remarks.as_deref().filter(|r| !r.trim().is_empty()) {
        v.push(Line::raw(format!("  “{}”", strip_controls(r))));
    }
    v
}

fn who(app: &App, caller: Option<i64>) -> String {
    match caller {
        Some(c) if c == app.me.caller_id => strip_controls(&app.me.caller_name),
        Some(c) => format!("caller {c}"),
        None => "?".into(),
    }
}
