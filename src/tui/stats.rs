//! The statistics panes both screens draw from `store::Stats`: a summary of calls, connect and
//! conversion rates, talk and outcomes, and the daily connect-rate chart. The agent's stats screen
//! lays them out for one caller, the supervisor's for everyone.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph, Wrap};

use crate::domain::text::{plural, strip_controls};
use crate::domain::{CallStatus, FeedbackCatalog};
use crate::store::{DayStats, Stats};
use crate::tui::format::mean_duration;
use crate::tui::widgets::{dim, status_style};

/// Why a call never rang the driver, in the agent's own words (the supervisor's are [`AGENTS`]).
pub const YOURS: &str = "your phone / TeleCMI";
/// Why a call never rang the driver, on the supervisor's screen.
pub const AGENTS: &str = "agent's phone / TeleCMI";

/// Yellow while some calls never rang the driver (a phone to check), else dim.
pub fn not_placed_style(n: i64) -> Style {
    if n > 0 { Style::default().fg(Color::Yellow) } else { dim() }
}

pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |r| format!("{r:.0}%"))
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
