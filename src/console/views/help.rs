//! Help, generated from the key table the dispatcher uses.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::centered;
use crate::console::keys::{BINDINGS, Context, context_title};

const ORDER: [Context; 6] =
    [Context::Queue, Context::Global, Context::CallDialog, Context::Feedback, Context::CallLog, Context::Filter];

pub fn render(frame: &mut Frame) {
    let area = centered(frame.area(), 116, 48);
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
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Keys (Esc closes) ")
        .border_style(Style::default().fg(Color::Cyan));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if lines.len() <= usize::from(inner.height) {
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    } else {
        // Too tall for this terminal: two columns.
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
        let half = lines.len().div_ceil(2);
        let cut = starts.iter().copied().filter(|s| *s > 0).min_by_key(|s| s.abs_diff(half)).unwrap_or(half);
        let right = lines.split_off(cut);
        frame.render_widget(Paragraph::new(lines), l);
        frame.render_widget(Paragraph::new(right), r);
    }
}
