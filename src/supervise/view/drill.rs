//! One agent's calls today over the board: their numbers, their live call, then their calls newest
//! first (time, driver, outcome, remarks, talk time), read a page at a time; only the rows that
//! fit are drawn, and the bottom border says how many more there are.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Table};

use super::alert_style;
use crate::domain::CallLog;
use crate::domain::phone::readable;
use crate::domain::text::{plural, strip_controls};
use crate::supervise::board;
use crate::supervise::state::{Drill, SuperView};
use crate::tui::columns::{Column, fit};
use crate::tui::format::{duration, when};
use crate::tui::widgets::{dim, more_below, selected_style, status_style};

pub fn render(v: &SuperView, d: &Drill, frame: &mut Frame, area: Rect) {
    let read = if d.complete || d.calls.is_empty() {
        String::new()
    } else {
        format!(" · {} of {} read", d.calls.len(), d.total)
    };
    let title = format!(" {} ({}) · calls today, newest first{read} ", strip_controls(&d.agent.name), d.agent.id);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, Style::default().add_modifier(Modifier::BOLD)))
        .border_style(Style::default().fg(Color::Cyan));
    let inner = block.inner(area);
    let [head, table] = Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(inner);
    let visible = usize::from(table.height.saturating_sub(1));
    let first = board::first_shown((!d.calls.is_empty()).then_some(d.cursor), visible);
    let below = usize::try_from(d.total)
        .unwrap_or(0)
        .saturating_sub(first + visible.min(d.calls.len() - first.min(d.calls.len())));
    let block = match more_below(below, false) {
        Some(note) => block.title_bottom(note),
        None => block,
    };
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(head_lines(v, d)), head);
    if d.calls.is_empty() {
        let words = if d.loading { "Reading…" } else { "No call today." };
        frame.render_widget(Paragraph::new(words).style(dim()), table);
        return;
    }
    calls_table(v, d, frame, table, first, visible);
}

/// The agent's numbers and state today, their live call, and a failed read's error.
fn head_lines(v: &SuperView, d: &Drill) -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let row = v.snapshot.agents.iter().find(|a| a.caller.id == d.agent.id);
    let mut numbers = vec![];
    if let Some(day) = v.snapshot.today_of(d.agent.id) {
        let target = day.target.map_or(String::new(), |t| format!("/{t}"));
        numbers.push(Span::styled(plural(day.calls, "call"), bold));
        numbers.push(Span::raw(format!(" · {} connected · ", day.connected)));
        numbers.push(Span::styled(format!("{}{target} positive", day.positive), bold));
        numbers.push(Span::raw(format!(" · talk {}", duration(day.talk_secs))));
    }
    if let Some(a) = row {
        let on_break = if a.break_secs > 0 { format!(" · break {}", duration(a.break_secs)) } else { String::new() };
        let alerted = board::alerted(a, v.now, v.alerts);
        let mark = if alerted { "⚠ " } else { "" };
        let since = a.since.map_or(String::new(), |s| format!(" {}", duration((v.now - s).num_seconds())));
        numbers.push(Span::raw(format!("{on_break} · now ")));
        let style = if alerted { alert_style() } else { bold };
        numbers.push(Span::styled(format!("{mark}{}{since}", a.state.label()), style));
    }
    let live = v.snapshot.live.iter().find(|c| c.caller_id == Some(d.agent.id));
    let live = match live {
        Some(c) => {
            let st = c.call_status();
            Line::from(vec![
                Span::styled("Live: ", bold),
                Span::raw(format!(
                    "{} · {} · ",
                    strip_controls(c.driver_name.as_deref().unwrap_or("")),
                    readable(c.driver_mobile.as_deref().unwrap_or(""))
                )),
                Span::styled(st.as_str(), status_style(st)),
                Span::raw(format!(" · {}", duration((v.now - c.created_at).num_seconds()))),
            ])
        }
        None => Line::styled("No live call.", dim()),
    };
    let third = match &d.error {
        Some(e) => Line::styled(format!("✗ {}", strip_controls(e)), Style::default().fg(Color::Red)),
        None => Line::raw(""),
    };
    vec![Line::from(numbers), live, third]
}

fn calls_table(v: &SuperView, d: &Drill, frame: &mut Frame, area: Rect, first: usize, visible: usize) {
    let cols = [
        Column::whole("Time", 5),
        Column::flex("Driver", 12, None),
        Column::fixed("Status", 9, 0),
        Column::flex("Outcome", 14, Some(2)),
        Column::flex("Remarks", 10, Some(1)),
        Column::whole("Talk", 7),
    ];
    let fitted = fit(&cols, area.width, 1);
    let rows = d.calls.iter().enumerate().skip(first).take(visible).map(|(i, c)| {
        let row = fitted.row(cells(v, c));
        if i == d.cursor { row.style(selected_style()) } else { row }
    });
    let header = fitted.header(&cols).style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    frame.render_widget(Table::new(rows, fitted.constraints()).header(header).column_spacing(1), area);
}

fn cells(v: &SuperView, c: &CallLog) -> Vec<ratatui::text::Text<'static>> {
    let st = c.call_status();
    let talk = c.call_duration.filter(|s| *s > 0 && st == crate::domain::CallStatus::Completed);
    let outcome = c.feedback.as_deref().filter(|f| !f.is_empty()).map(strip_controls);
    vec![
        when(c.created_at, v.now, v.tz).into(),
        strip_controls(c.driver_name.as_deref().unwrap_or("")).into(),
        Span::styled(st.as_str(), status_style(st)).into(),
        outcome.map_or_else(|| Span::styled("—", dim()), Span::raw).into(),
        strip_controls(c.remarks.as_deref().unwrap_or("")).into(),
        talk.map_or("—".to_string(), duration).into(),
    ]
}
