//! The supervisor's screen: agents and their state (coloured as time in it grows), live calls,
//! today's numbers and the daily success rate.

use chrono::{DateTime, FixedOffset, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table};

use super::snapshot::{AgentState, Snapshot};
use crate::console::keys::{BINDINGS, Context, footer};
use crate::console::views::{age, centered, clock, dim, stats, status_style};
use crate::domain::text::strip_controls;

/// Everything the supervisor screen draws from.
#[derive(Debug, Clone)]
pub struct SuperView {
    pub snapshot: Snapshot,
    pub now: DateTime<Utc>,
    pub tz: FixedOffset,
    pub database: String,
    pub viewer: String,
    pub error: Option<String>,
    pub help: bool,
}

/// Green while short, yellow past 2 minutes, red past 5 (idle or stuck in wrap-up costs calls).
pub fn time_style(state: AgentState, secs: i64) -> Style {
    let (warn, bad) = match state {
        AgentState::OnCall => (600, 1200),
        AgentState::WrapUp | AgentState::Idle => (120, 300),
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
        let area = centered(frame.area(), 64, 10);
        frame.render_widget(Clear, area);
        let mut lines = vec![
            Line::raw("This screen is read-only: no key places a call or changes data."),
            Line::raw("It refreshes every second and whenever a webhook arrives."),
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
    let rows = v.snapshot.agents.iter().map(|a| {
        let secs = a.since.map_or(0, |s| (v.now - s).num_seconds());
        let state_style = match a.state {
            AgentState::OnCall => Style::default().fg(Color::Green).add_modifier(Modifier::BOLD),
            AgentState::WrapUp => Style::default().fg(Color::Yellow),
            AgentState::Idle => Style::default(),
        };
        let with = a.current.as_ref().and_then(|c| c.driver_name.as_deref()).map(strip_controls).unwrap_or_default();
        Row::new(vec![
            Cell::from(format!("{} ({})", strip_controls(&a.caller.name), a.caller.id)),
            Cell::from(Span::styled(a.state.label(), state_style)),
            Cell::from(Span::styled(
                if a.since.is_some() { clock(secs) } else { "—".into() },
                time_style(a.state, secs),
            )),
            Cell::from(with),
            Cell::from(a.due.to_string()),
            Cell::from(a.callbacks_due.to_string()),
            Cell::from(a.queued.to_string()),
        ])
    });
    let widths = [
        Constraint::Min(14),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Min(12),
        Constraint::Length(4),
        Constraint::Length(9),
        Constraint::Length(6),
    ];
    let header = Row::new(["Agent", "State", "For", "With", "Due", "CB due", "Queued"])
        .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    let title =
        Span::styled(format!(" Agents · {} ", v.snapshot.agents.len()), Style::default().add_modifier(Modifier::BOLD));
    frame.render_widget(
        Table::new(rows, widths).header(header).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

fn live(v: &SuperView, frame: &mut Frame, area: Rect) {
    let names: std::collections::HashMap<i64, &str> =
        v.snapshot.agents.iter().map(|a| (a.caller.id, a.caller.name.as_str())).collect();
    let block = Block::default().borders(Borders::ALL).title(Span::styled(
        format!(" Live calls · {} ", v.snapshot.live.len()),
        Style::default().add_modifier(Modifier::BOLD),
    ));
    let visible = usize::from(area.height.saturating_sub(3));
    let rows = v.snapshot.live.iter().take(visible).map(|c| {
        let st = c.call_status();
        let agent = c
            .caller_id
            .and_then(|id| names.get(&id).copied())
            .map(strip_controls)
            .unwrap_or_else(|| c.caller_id.map(|i| i.to_string()).unwrap_or_default());
        Row::new(vec![
            Cell::from(agent),
            Cell::from(strip_controls(c.driver_name.as_deref().unwrap_or(""))),
            Cell::from(c.driver_mobile.clone().unwrap_or_default()),
            Cell::from(c.call_type.clone().unwrap_or_default()),
            Cell::from(Span::styled(st.as_str(), status_style(st))),
            Cell::from(clock((v.now - c.created_at).num_seconds())),
        ])
    });
    let widths = [
        Constraint::Min(10),
        Constraint::Min(12),
        Constraint::Length(13),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(7),
    ];
    let header = Row::new(["Agent", "Driver", "Mobile", "Type", "Status", "Timer"])
        .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    if v.snapshot.live.is_empty() {
        frame.render_widget(Paragraph::new("No call in progress.").style(dim()).block(block), area);
    } else {
        frame.render_widget(Table::new(rows, widths).header(header).block(block), area);
    }
}

fn today(v: &SuperView, frame: &mut Frame, area: Rect) {
    let today = v.now.with_timezone(&v.tz).date_naive();
    let rate = v.snapshot.stats.days.iter().find(|d| d.date == today).map_or(0.0, |d| d.success_rate());
    stats::summary(frame, area, " Today, everyone ", &v.snapshot.stats.today, &format!(" · success {rate:.0}%"));
}

fn chart(v: &SuperView, frame: &mut Frame, area: Rect) {
    frame.render_widget(stats::success_chart(&v.snapshot.stats.days, " Success rate % · 7 days ", 3), area);
}
