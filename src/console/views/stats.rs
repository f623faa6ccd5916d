//! Statistics: today and the last 7 days by status and outcome, average talk time, and the daily
//! success rate as a table and a bar chart.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph, Row, Table};

use super::{clock, dim, status_style};
use crate::console::state::App;
use crate::domain::CallStatus;
use crate::domain::text::strip_controls;
use crate::store::{DayStats, Stats};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(s) = &app.stats else {
        frame.render_widget(
            Paragraph::new("Loading statistics…")
                .style(dim())
                .block(Block::default().borders(Borders::ALL).title(" Stats ")),
            area,
        );
        return;
    };
    let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let [today_a, week_a] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(left);
    summary(frame, today_a, " Today ", &s.today, "");
    summary(frame, week_a, " Last 7 days ", &s.week, "");
    let [table_a, chart_a] = Layout::vertical([Constraint::Length(10), Constraint::Min(5)]).areas(right);
    let rows = s.days.iter().map(|d| {
        Row::new(vec![
            d.date.format("%a %d %b").to_string(),
            d.total_calls.to_string(),
            d.completed.to_string(),
            d.failed.to_string(),
            format!("{:.0}%", d.success_rate()),
            clock(d.avg_duration.unwrap_or(0.0).round() as i64),
        ])
    });
    let header = Row::new(["Day", "Calls", "Done", "Failed", "Success", "Avg"])
        .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    let widths = [
        Constraint::Length(11),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(6),
    ];
    frame.render_widget(
        Table::new(rows, widths).header(header).block(Block::default().borders(Borders::ALL).title(" Daily ")),
        table_a,
    );
    frame.render_widget(success_chart(&s.days, " Success rate % by day ", 4), chart_a);
}

/// The daily success rate, oldest day on the left (shared with the supervisor screen).
pub fn success_chart<'a>(days: &[DayStats], title: &'a str, bar_width: u16) -> BarChart<'a> {
    let bars: Vec<Bar> = days
        .iter()
        .rev()
        .map(|d| {
            Bar::default()
                .value(d.success_rate().round() as u64)
                .label(Line::from(d.date.format("%d").to_string()))
                .text_value(format!("{:.0}", d.success_rate()))
        })
        .collect();
    BarChart::default()
        .block(Block::default().borders(Borders::ALL).title(title))
        .data(BarGroup::default().bars(&bars))
        .bar_width(bar_width)
        .bar_gap(1)
        .max(100)
        .bar_style(Style::default().fg(Color::Green))
}

/// Calls, average talk, counts by status and by outcome (shared with the supervisor screen);
/// `extra` is appended to the first line.
pub fn summary(frame: &mut Frame, area: Rect, title: &str, s: &Stats, extra: &str) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title.to_string(), Style::default().add_modifier(Modifier::BOLD)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("{} call{}", s.total, if s.total == 1 { "" } else { "s" }),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" · avg talk {}{extra}", clock(s.avg_duration.unwrap_or(0.0).round() as i64))),
    ])];
    let statuses: Vec<Span> = s
        .by_status
        .iter()
        .flat_map(|r| {
            let st = r.status.parse::<CallStatus>().unwrap_or(CallStatus::Initiated);
            [Span::styled(format!("{} {}", r.status, r.count), status_style(st)), Span::raw("  ")]
        })
        .collect();
    lines.push(Line::from(statuses));
    for f in s.by_feedback.iter().take(usize::from(inner.height.saturating_sub(2))) {
        lines.push(Line::from(vec![
            Span::styled(format!("{:>4} ", f.count), Style::default().fg(Color::Yellow)),
            Span::raw(strip_controls(&f.feedback)),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
