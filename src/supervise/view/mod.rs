//! The supervisor's screen: the board of agents (alerts first, today's numbers per agent), live
//! calls, today's numbers and the daily connect rate; over it an agent's calls today, the move
//! dialog and the help. Every duration carries its units. On a terminal narrower than [`WIDE`]
//! the chart gives its room to the live calls and the agents' columns go least important first.

mod agents;
mod dialog;
mod drill;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Table};

use super::board;
use super::snapshot::AgentState;
use super::state::SuperView;
use crate::domain::phone::readable;
use crate::domain::text::{plural, strip_controls};
use crate::tui::columns::{Column, fit, widest};
use crate::tui::format::{age, duration};
use crate::tui::keys::{Context, footer};
use crate::tui::stats;
use crate::tui::widgets::{dim, status_style};

/// From this width on, the live calls, today's numbers and the chart sit side by side under the
/// agents; below it the chart is left out.
pub const WIDE: u16 = 100;

/// Green while short, yellow past 2 minutes, red past 5 (idle or stuck in wrap-up costs calls).
pub fn time_style(state: AgentState, secs: i64) -> Style {
    let (warn, bad) = match state {
        // Time offline is no one's fault on the board.
        AgentState::Offline => return dim(),
        AgentState::OnCall => (600, 1200),
        AgentState::WrapUp | AgentState::Idle => (120, 300),
        AgentState::Break => (900, 1800),
    };
    if secs >= bad {
        alert_style()
    } else if secs >= warn {
        Style::default().fg(Color::Yellow)
    } else {
        Style::default().fg(Color::Green)
    }
}

/// An agent past an alert threshold, and the alert count.
pub fn alert_style() -> Style {
    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
}

pub fn render(v: &SuperView, frame: &mut Frame) {
    let [main, status, footer_row] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(1), Constraint::Length(1)]).areas(frame.area());
    match &v.drill {
        Some(d) => drill::render(v, d, frame, main),
        None => board_panes(v, frame, main),
    }
    status_bar(v, frame, status);
    keys_row(v, frame, footer_row);
    if let Some(d) = &v.dialog {
        dialog::render(v, d, frame);
    }
    if v.help {
        super::help::render(frame, v.help_scroll);
    }
}

/// The agents across the whole width; under them the live calls, today's numbers and (wide) the
/// chart.
fn board_panes(v: &SuperView, frame: &mut Frame, main: Rect) {
    let rows = u16::try_from(v.snapshot.agents.len()).unwrap_or(u16::MAX);
    let agents_h = rows.saturating_add(3).clamp(4, main.height.saturating_sub(8).max(4));
    let [agents_a, rest] = Layout::vertical([Constraint::Length(agents_h), Constraint::Min(4)]).areas(main);
    agents::render(v, frame, agents_a);
    if main.width >= WIDE {
        let [live_a, today_a, chart_a] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(44), Constraint::Length(32)]).areas(rest);
        live(v, frame, live_a);
        today(v, frame, today_a);
        chart(v, frame, chart_a);
    } else {
        let [live_a, today_a] = Layout::horizontal([Constraint::Min(40), Constraint::Length(38)]).areas(rest);
        live(v, frame, live_a);
        today(v, frame, today_a);
    }
}

fn status_bar(v: &SuperView, frame: &mut Frame, area: Rect) {
    let updated =
        v.snapshot.taken_at.map_or("never".to_string(), |t| format!("{} ago", age((v.now - t).num_seconds())));
    let alerts = board::alert_count(&v.snapshot.agents, v.now, v.alerts);
    let alert = if alerts > 0 {
        Span::styled(format!(" ⚠ {} ", plural(alerts, "alert")), alert_style())
    } else {
        Span::raw(" no alerts ")
    };
    let spans = vec![
        Span::styled(format!(" {} ", strip_controls(&v.viewer)), Style::default().add_modifier(Modifier::BOLD)),
        Span::raw("│"),
        Span::styled(" SUPERVISOR ", Style::default().fg(Color::Black).bg(Color::Magenta)),
        Span::raw("│"),
        alert,
        Span::raw(format!("│ updated {updated} │ {} ", v.database)),
    ];
    frame.render_widget(Paragraph::new(Line::from(spans)).style(Style::default().bg(Color::Indexed(236))), area);
}

/// The keys of what has the keyboard, from the key table.
fn keys_row(v: &SuperView, frame: &mut Frame, area: Rect) {
    let ctxs: &[Context] = if v.help {
        &[Context::Help]
    } else if v.dialog.is_some() {
        &[Context::MoveDialog]
    } else if v.drill.is_some() {
        &[Context::AgentCalls, Context::Supervise]
    } else {
        &[Context::Board, Context::Supervise]
    };
    let key = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let mut spans = vec![Span::raw(" ")];
    if let Some(e) = &v.error {
        // A read failed: first on the last line, where a narrow screen keeps it (the keys after
        // it may be cut). The database away is said plainly, with what happens next; the status
        // bar's "updated … ago" says how old the board is; the details are in the log.
        let text = if e.starts_with(crate::store::NOT_ANSWERING) {
            "database not answering · retrying".to_string()
        } else {
            strip_controls(e)
        };
        spans.push(Span::styled(format!("✗ {text} "), Style::default().fg(Color::White).bg(Color::Red)));
        spans.push(Span::raw(" "));
    }
    for (i, (k, label)) in footer(ctxs).into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", dim()));
        }
        spans.push(Span::styled(k, key));
        spans.push(Span::raw(format!(" {label}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn live(v: &SuperView, frame: &mut Frame, area: Rect) {
    let names: std::collections::HashMap<i64, &str> =
        v.snapshot.agents.iter().map(|a| (a.caller.id, a.caller.name.as_str())).collect();
    let block = Block::default().borders(Borders::ALL).title(Span::styled(
        format!(" Live calls · {} ", v.snapshot.live.len()),
        Style::default().add_modifier(Modifier::BOLD),
    ));
    if v.snapshot.live.is_empty() {
        frame.render_widget(Paragraph::new("No call in progress.").style(dim()).block(block), area);
        return;
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let visible = usize::from(inner.height.saturating_sub(1));
    let shown = &v.snapshot.live[..visible.min(v.snapshot.live.len())];
    let mobiles: Vec<String> = shown.iter().map(|c| readable(c.driver_mobile.as_deref().unwrap_or(""))).collect();
    let cols = [
        Column::flex("Agent", 6, Some(2)),
        Column::flex("Driver", 8, None),
        // Never cut: a supervisor may read the number out to someone dialing by hand.
        Column::whole("Mobile", widest(mobiles.iter().map(String::as_str))),
        Column::fixed("Type", 6, 0),
        Column::whole("Status", 9),
        Column::fixed("Timer", 7, 1),
    ];
    let fitted = fit(&cols, inner.width, 1);
    let rows = shown.iter().zip(mobiles).map(|(c, mobile)| {
        let st = c.call_status();
        let agent = c
            .caller_id
            .and_then(|id| names.get(&id).copied())
            .map(strip_controls)
            .unwrap_or_else(|| c.caller_id.map(|i| i.to_string()).unwrap_or_default());
        fitted.row(vec![
            agent.into(),
            strip_controls(c.driver_name.as_deref().unwrap_or("")).into(),
            mobile.into(),
            c.call_type.clone().unwrap_or_default().into(),
            Span::styled(st.as_str(), status_style(st)).into(),
            duration((v.now - c.created_at).num_seconds()).into(),
        ])
    });
    let header = fitted.header(&cols).style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    frame.render_widget(Table::new(rows, fitted.constraints()).header(header).column_spacing(1), inner);
}

fn today(v: &SuperView, frame: &mut Frame, area: Rect) {
    stats::summary(frame, area, " Today, everyone ", &v.snapshot.stats.today, &v.catalog, stats::AGENTS);
}

fn chart(v: &SuperView, frame: &mut Frame, area: Rect) {
    frame.render_widget(stats::connect_chart(&v.snapshot.stats.days, " Connect rate % · 7 days ", 3), area);
}
