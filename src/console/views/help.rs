//! Help, generated from the key table the dispatcher uses.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::tui::keys::{BINDINGS, Command, Context, context_title, first_key, key};
use crate::tui::widgets::centered;

const ORDER: [Context; 9] = [
    Context::Queue,
    Context::Global,
    Context::CallDialog,
    Context::BreakPicker,
    Context::Feedback,
    Context::FeedbackList,
    Context::CallLog,
    Context::Filter,
    Context::Help,
];

/// How far the help can scroll on a `width`×`height` terminal (0 when it fits).
pub fn max_scroll(width: u16, height: u16) -> u16 {
    let area = centered(Rect { x: 0, y: 0, width, height }, 116, 60);
    let (lines, _) = help_lines();
    let inner_width = usize::from(area.width.saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner_width)).sum();
    u16::try_from(rows.saturating_sub(usize::from(area.height.saturating_sub(2)))).unwrap_or(u16::MAX)
}

/// Every help line, and where each context's section starts.
fn help_lines() -> (Vec<Line<'static>>, Vec<usize>) {
    let mut lines = Vec::new();
    // Where each context's section starts, so two columns break between sections.
    let mut starts = Vec::new();
    for ctx in ORDER {
        starts.push(lines.len());
        lines.push(Line::styled(
            context_title(ctx),
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        ));
        for b in BINDINGS.iter().filter(|b| b.ctx == ctx) {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {:<10}", b.shown),
                    Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD),
                ),
                Span::raw(b.help),
            ]));
        }
    }
    (lines, starts)
}

/// Draws the help from row `scroll` on when it is taller than the terminal.
pub fn render(frame: &mut Frame, scroll: u16) {
    let area = centered(frame.area(), 116, 60);
    frame.render_widget(Clear, area);
    let (mut lines, starts) = help_lines();
    let height = usize::from(area.height.saturating_sub(2));
    let inner_width = usize::from(area.width.saturating_sub(2)).max(1);
    let half = lines.len().div_ceil(2);
    let cut = starts.iter().copied().filter(|s| *s > 0).min_by_key(|s| s.abs_diff(half)).unwrap_or(half);
    // Two columns only where a column is wide enough to hold every line unwrapped.
    let widest = lines.iter().map(Line::width).max().unwrap_or(0);
    let two_columns = lines.len() > height && widest <= inner_width / 2 && cut.max(lines.len() - cut) <= height;
    if two_columns {
        let block = block(format!(" Keys ({} closes) ", key(Context::Help, Command::Close)));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
        let right = lines.split_off(cut);
        frame.render_widget(Paragraph::new(lines), l);
        frame.render_widget(Paragraph::new(right), r);
        return;
    }
    // One column, wrapped: count screen rows, not lines, so the last line can be scrolled to.
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner_width)).sum();
    let overflow = rows.saturating_sub(height);
    let scroll = usize::from(scroll).min(overflow);
    let title = if overflow == 0 {
        format!(" Keys ({} closes) ", key(Context::Help, Command::Close))
    } else {
        let close = key(Context::Help, Command::Close);
        format!(" Keys — {} scroll ({}/{rows}) · {close} closes ", scroll_keys(), scroll + height)
    };
    let block = block(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let scroll = u16::try_from(scroll).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).scroll((scroll, 0)), inner);
}

/// The help's scrolling keys, one of each: `↑↓ PgUp PgDn Home End`.
fn scroll_keys() -> String {
    let one = |cmd| first_key(Context::Help, cmd);
    let arrows = format!("{}{}", one(Command::SelectPrev), one(Command::SelectNext));
    [arrows.as_str(), one(Command::PageUp), one(Command::PageDown), one(Command::First), one(Command::Last)].join(" ")
}

fn block(title: String) -> Block<'static> {
    Block::default().borders(Borders::ALL).title(title).border_style(Style::default().fg(Color::Cyan))
}
