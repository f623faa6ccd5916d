//! The supervisor's screen: agents and their state (coloured as time in it grows), live calls,
//! today's numbers and the daily connect rate. Every duration carries its units.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Table};

use super::snapshot::AgentState;
use super::state::SuperView;
use crate::domain::phone::readable;
use crate::domain::text::strip_controls;
use crate::tui::columns::{Column, fit, widest};
use crate::tui::format::{age, duration};
use crate::tui::keys::{self, BINDINGS, Command, Context, footer};
use crate::tui::stats;
use crate::tui::widgets::{centered, dim, status_style};

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
        Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else if secs >= warn {
        Style::default().fg(Color::Yellow)
    } else {
        Style::default().fg(Color::Green)
    }
}

pub fn render(v: &SuperView, frame: &mut Frame) {
    let [main, status, footer_row] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(1), Constraint::Length(1)]).areas(frame.area());
    let [left, right] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(main);
    let agents_h = (v.snapshot.agents.len() as u16 + 3).clamp(4, left.height.saturating_sub(5).max(4));
    let [agents_a, live_a] = Layout::vertical([Constraint::Length(agents_h), Constraint::Min(4)]).areas(left);
    agents(v, frame, agents_a);
    live(v, frame, live_a);
    let [today_a, chart_a] = Layout::vertical([Constraint::Min(6), Constraint::Length(12)]).areas(right);
    today(v, frame, today_a);
    chart(v, frame, chart_a);
    let updated =
        v.snapshot.taken_at.map_or("never".to_string(), |t| format!("{} ago", age((v.now - t).num_seconds())));
    let mut spans = vec![
        Span::styled(format!(" {} ", strip_controls(&v.viewer)), Style::default().add_modifier(Modifier::BOLD)),
        Span::raw("│"),
        Span::styled(" SUPERVISOR · read-only ", Style::default().fg(Color::Black).bg(Color::Magenta)),
        Span::raw(format!("│ {} │ updated {updated} ", v.database)),
    ];
    if let Some(e) = &v.error {
        spans.push(Span::styled(
            format!("│ ✗ {} ", strip_controls(e)),
            Style::default().fg(Color::White).bg(Color::Red),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(Style::default().bg(Color::Indexed(236))), status);
    let key = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let mut spans = vec![Span::raw(" ")];
    for (i, (k, label)) in footer(&[Context::Supervise]).into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", dim()));
        }
        spans.push(Span::styled(k, key));
        spans.push(Span::raw(format!(" {label}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), footer_row);
    if v.help {
        let area = centered(frame.area(), 64, 11);
        frame.render_widget(Clear, area);
        let mut lines = vec![
            Line::raw("This screen is read-only: no key places a call or changes data."),
            Line::raw("Agents and live calls refresh every second and on every webhook;"),
            Line::raw(format!(
                "today's numbers follow within a few seconds ({}: at once).",
                keys::key(Context::Supervise, Command::Refresh)
            )),
            Line::raw(""),
        ];
        lines.extend(
            BINDINGS
                .iter()
                .filter(|b| b.ctx == Context::Supervise)
                .map(|b| Line::from(vec![Span::styled(format!("  {:<7}", b.shown), key), Span::raw(b.help)])),
        );
        frame.render_widget(
            Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Supervisor keys ")),
            area,
        );
    }
}

fn agents(v: &SuperView, frame: &mut Frame, area: Rect) {
    let block = Block::default().borders(Borders::ALL).title(Span::styled(
        format!(" Agents · {} ", v.snapshot.agents.len()),
        Style::default().add_modifier(Modifier::BOLD),
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let agents: Vec<String> =
        v.snapshot.agents.iter().map(|a| format!("{} ({})", strip_controls(&a.caller.name), a.caller.id)).collect();
    let with = v.snapshot.agents.iter().map(|a| {
        a.break_reason.as_deref().or_else(|| a.current.as_ref().and_then(|c| c.driver_name.as_deref())).unwrap_or("")
    });
    let cols = [
        Column::flex("Agent", 12, None).wants(widest(agents.iter().map(String::as_str))),
        Column::whole("State", 9),
        Column::whole("For", 7),
        Column::fixed("Breaks", 7, 1),
        Column::flex("With", 10, Some(3)).wants(widest(with)),
        Column::fixed("Due", 4, 2),
        Column::fixed("CB due", 6, 1),
        Column::fixed("Queued", 6, 0),
    ];
    let fitted = fit(&cols, inner.width, 1);
    let rows = v.snapshot.agents.iter().zip(agents).map(|(a, agent)| {
        let secs = a.since.map_or(0, |s| (v.now - s).num_seconds());
        let state_style = match a.state {
            AgentState::OnCall => Style::default().fg(Color::Green).add_modifier(Modifier::BOLD),
            AgentState::WrapUp => Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            AgentState::Idle => Style::default(),
            AgentState::Offline => dim(),
            AgentState::Break => Style::default().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        };
        let breaks = if a.break_secs > 0 { duration(a.break_secs) } else { "—".into() };
        // On a break, "with" is the break's reason.
        let with = match &a.break_reason {
            Some(reason) => Span::styled(strip_controls(reason), state_style),
            None => Span::raw(
                a.current.as_ref().and_then(|c| c.driver_name.as_deref()).map(strip_controls).unwrap_or_default(),
            ),
        };
        let time = if a.since.is_some() { duration(secs) } else { "—".into() };
        fitted.row(vec![
            agent.into(),
            Span::styled(a.state.label(), state_style).into(),
            Span::styled(time, time_style(a.state, secs)).into(),
            breaks.into(),
            with.into(),
            a.due.to_string().into(),
            a.callbacks_due.to_string().into(),
            a.queued.to_string().into(),
        ])
    });
    let header = fitted.header(&cols).style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    frame.render_widget(Table::new(rows, fitted.constraints()).header(header).column_spacing(1), inner);
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
