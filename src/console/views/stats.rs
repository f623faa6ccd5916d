//! Statistics: today and the last 7 days — every status's count, connect rate, conversion rate,
//! average talk, and apart from them the calls that never rang the driver — and each day's figures
//! as a table and a connect-rate bar chart. The figures are defined once, in `store::stats`; the
//! words on screen say which is which.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph, Table, Wrap};

use super::{dim, mean_duration, status_style};
use crate::console::state::{App, Progress};
use crate::domain::text::{plural, strip_controls};
use crate::domain::{CallStatus, FeedbackCatalog};
use crate::store::{DayStats, Stats};
use crate::tui::columns::{Column, fit};

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

/// Why a call never rang the driver, in the agent's own words (the supervisor's are [`AGENTS`]).
pub const YOURS: &str = "your phone / TeleCMI";
/// Why a call never rang the driver, on the supervisor's screen.
pub const AGENTS: &str = "agent's phone / TeleCMI";

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

/// Yellow while some calls never rang the driver (a phone to check), else dim.
fn not_placed_style(n: i64) -> Style {
    if n > 0 { Style::default().fg(Color::Yellow) } else { dim() }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |r| format!("{r:.0}%"))
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

/// The daily connect rate, oldest day on the left (shared with the supervisor screen).
pub fn connect_chart<'a>(days: &[DayStats], title: &'a str, bar_width: u16) -> BarChart<'a> {
    let bars: Vec<Bar> = days
        .iter()
        .rev()
        .map(|d| {
            Bar::default()
                .value(d.connect_rate().round() as u64)
                .label(Line::from(d.date.format("%d").to_string()))
                .text_value(format!("{:.0}", d.connect_rate()))
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

/// Statuses shown even at zero: a missed call is never hidden behind "failed 0".
const ALWAYS: [CallStatus; 3] = [CallStatus::Completed, CallStatus::Missed, CallStatus::Failed];

/// Calls, the calls never placed (`why`: [`YOURS`] or [`AGENTS`]), connect and conversion rates,
/// average talk, every status's count and the outcomes (positive ones marked `+`); shared with
/// the supervisor screen.
pub fn summary(frame: &mut Frame, area: Rect, title: &str, s: &Stats, catalog: &FeedbackCatalog, why: &str) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title.to_string(), Style::default().add_modifier(Modifier::BOLD)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let connected = s.connected();
    let mut lines = vec![
        Line::from(vec![
            Span::styled(plural(s.total, "call"), bold),
            Span::raw(" · connect rate "),
            Span::styled(percent(s.connect_rate()), bold),
            Span::styled(format!(" ({connected} connected)"), dim()),
        ]),
        not_placed_line(s.not_placed, why, inner.width),
        Line::from(vec![
            Span::raw("conversion "),
            Span::styled(percent(s.conversion_rate(catalog)), bold),
            Span::styled(format!(" ({} positive of {connected} connected)", s.positive(catalog)), dim()),
        ]),
        Line::from(vec![
            Span::raw("avg talk "),
            Span::styled(mean_duration(s.avg_talk), bold),
            Span::styled(format!(" over {}", plural(s.talks, "talk")), dim()),
        ]),
        Line::styled(format!("avg duration {} over {}", mean_duration(s.avg_duration), plural(s.total, "call")), dim()),
        status_line(s),
    ];
    let room = usize::from(inner.height).saturating_sub(lines.len());
    for f in s.by_feedback.iter().take(room) {
        let mark = if catalog.is_positive(&f.feedback) { "+" } else { " " };
        lines.push(Line::from(vec![
            Span::styled(format!("{:>4} ", f.count), Style::default().fg(Color::Yellow)),
            Span::styled(mark, Style::default().fg(Color::Green).add_modifier(Modifier::BOLD)),
            Span::raw(strip_controls(&f.feedback)),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// `+ 2 not placed (your phone / TeleCMI)`, without the reason where it would not fit on one line.
fn not_placed_line(n: i64, why: &str, width: u16) -> Line<'static> {
    let full = format!("+ {n} not placed ({why})");
    let text = if full.chars().count() <= usize::from(width) { full } else { format!("+ {n} not placed") };
    Line::styled(text, not_placed_style(n))
}

/// Every final status with its count (zero included), then any calls still in progress.
fn status_line(s: &Stats) -> Line<'static> {
    let in_progress = CallStatus::ALL.into_iter().filter(|st| !ALWAYS.contains(st) && s.count(*st) > 0);
    let unknown: i64 = s.by_status.iter().filter(|r| r.status.parse::<CallStatus>().is_err()).map(|r| r.count).sum();
    let mut spans: Vec<Span> = ALWAYS
        .into_iter()
        .chain(in_progress)
        .flat_map(|st| [Span::styled(format!("{st} {}", s.count(st)), status_style(st)), Span::raw("  ")])
        .collect();
    if unknown > 0 {
        spans.push(Span::raw(format!("other {unknown}")));
    }
    Line::from(spans)
}
