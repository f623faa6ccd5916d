//! Help, generated from the key table the dispatcher uses.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::centered;
use crate::console::keys::{BINDINGS, Context, context_title};

const ORDER: [Context; 8] = [
    Context::Queue,
    Context::Global,
    Context::CallDialog,
    Context::Feedback,
    Context::FeedbackList,
    Context::CallLog,
    Context::Filter,
    Context::Help,
];

/// Draws the help from line `scroll` on when it is taller than the terminal.
pub fn render(frame: &mut Frame, scroll: u16) {
    let area = centered(frame.area(), 116, 60);
    frame.render_widget(Clear, area);
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
    let height = usize::from(area.height.saturating_sub(2));
    let half = lines.len().div_ceil(2);
    let cut = starts.iter().copied().filter(|s| *s > 0).min_by_key(|s| s.abs_diff(half)).unwrap_or(half);
    let two_columns = lines.len() > height && area.width >= 100 && cut.max(lines.len() - cut) <= height;
    let overflow = if lines.len() > height && !two_columns { lines.len() - height } else { 0 };
    let scroll = usize::from(scroll).min(overflow);
    let title = if overflow == 0 {
        " Keys (Esc closes) ".to_string()
    } else {
        format!(" Keys — ↑↓ PgUp PgDn scroll ({}/{}) · Esc closes ", scroll + height.min(lines.len()), lines.len())
    };
    let block = Block::default().borders(Borders::ALL).title(title).border_style(Style::default().fg(Color::Cyan));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if two_columns {
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
        let right = lines.split_off(cut);
        frame.render_widget(Paragraph::new(lines), l);
        frame.render_widget(Paragraph::new(right), r);
    } else {
        let shown: Vec<Line> = lines.into_iter().skip(scroll).collect();
        frame.render_widget(Paragraph::new(shown).wrap(Wrap { trim: false }), inner);
    }
}
