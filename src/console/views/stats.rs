//! Statistics: today and the last 7 days — every status's count, connect rate, conversion rate,
//! average talk, and apart from them the calls that never rang the driver — and each day's figures
//! as a table and a connect-rate bar chart. The figures are defined once, in `store::stats`; the
//! words on screen say which is which. The summary and chart panes are shared with the
//! supervisor and live in [`crate::tui::stats`].

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Table};

use crate::console::state::{App, Progress};
use crate::domain::FeedbackCatalog;
use crate::domain::text::plural;
use crate::store::DayStats;
use crate::tui::columns::{Column, fit};
use crate::tui::format::mean_duration;
use crate::tui::stats::{YOURS, connect_chart, not_placed_style, percent, summary};
use crate::tui::widgets::dim;

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
    let area = match app.progress {
        Some(p) => {
            let [line, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(4)]).areas(area);
            frame.render_widget(Paragraph::new(progress_line(p)), line);
            rest
        }
        None => area,
    };
    let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let [today_a, week_a] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(left);
    summary(frame, today_a, " Today ", &s.today, &app.catalog, YOURS);
    summary(frame, week_a, " Last 7 days ", &s.week, &app.catalog, YOURS);
    let [table_a, chart_a] = Layout::vertical([Constraint::Length(12), Constraint::Min(5)]).areas(right);
    daily_table(frame, table_a, &s.days, &app.catalog);
    frame.render_widget(connect_chart(&s.days, " Connect rate % by day ", 4), chart_a);
}

/// `Today: 12 calls · 5 connected · 3 positive of 10 target` (✓ once the target is reached), with
/// `2 not placed · ` before the positive ones when some calls never rang the driver (the summary
/// under it says why).
pub fn progress_line(p: Progress) -> Line<'static> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut spans = vec![
        Span::styled(" Today: ", bold),
        Span::raw(format!("{} · {} connected · ", plural(p.calls, "call"), p.connected)),
    ];
    if p.not_placed > 0 {
        let n = format!("{} not placed", p.not_placed);
        spans.extend([Span::styled(n, not_placed_style(p.not_placed)), Span::raw(" · ")]);
    }
    spans.push(Span::styled(format!("{} positive", p.positive), bold));
    match p.target {
        Some(t) if p.positive >= t => spans.push(Span::styled(
            format!(" of {t} target ✓ reached"),
            Style::default().fg(Color::Green).add_modifier(Modifier::BOLD),
        )),
        Some(t) => spans.push(Span::raw(format!(" of {t} target · {} to go", t - p.positive))),
        None => spans.push(Span::styled(" · no daily target set (calldesk caller target)", dim())),
    }
    Line::from(spans)
}

/// One row per day: calls, each final status, the calls never placed, connect and conversion
/// rates, average talk.
fn daily_table(frame: &mut Frame, area: Rect, days: &[DayStats], catalog: &FeedbackCatalog) {
    let block = Block::default().borders(Borders::ALL).title(" Daily ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // Short headers when the full ones would push the rates off the table.
    let short = inner.width < 58;
    let cols = [
        Column::whole("Day", 6),
        Column::whole("Calls", 5),
        Column::whole("Done", 4),
        Column::whole(if short { "Miss" } else { "Missed" }, 4),
        Column::whole(if short { "Fail" } else { "Failed" }, 4),
        Column::whole(if short { "NP" } else { "NotPl" }, 4),
        Column::whole(if short { "Conn" } else { "Conn%" }, 4),
        Column::fixed(if short { "Conv" } else { "Conv%" }, 4, 1),
        Column::fixed("Avg talk", 7, 0),
    ];
    let fitted = fit(&cols, inner.width, 1);
    let rows = days.iter().map(|d| {
        fitted.row(vec![
            d.date.format("%a %d").to_string().into(),
            d.total_calls.to_string().into(),
            d.completed.to_string().into(),
            d.missed.to_string().into(),
            d.failed.to_string().into(),
            Span::styled(d.not_placed.to_string(), not_placed_style(d.not_placed)).into(),
            percent((d.total_calls > 0).then(|| d.connect_rate())).into(),
            percent(d.conversion_rate(catalog)).into(),
            mean_duration(d.avg_talk).into(),
        ])
    });
    let header = fitted.header(&cols).style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    let [table_a, legend_a] = Layout::vertical([Constraint::Min(1), Constraint::Length(2)]).areas(inner);
    frame.render_widget(Table::new(rows, fitted.constraints()).header(header).column_spacing(1), table_a);
    let legend = [
        Line::raw(format!("{}: done÷calls · {}: positive÷done", cols[6].header, cols[7].header)),
        Line::raw(format!("{}: driver never rung (not in Calls)", cols[5].header)),
    ];
    frame.render_widget(Paragraph::new(legend.to_vec()).style(dim()), legend_a);
}
