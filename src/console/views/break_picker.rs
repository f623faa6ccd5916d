//! The break picker: the reasons (data), each with the letter that picks it, the highlighted one
//! marked; its keys come from the key table.

use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::console::state::BreakPicker;
use crate::domain::presence::{BREAK_REASONS, reason_keys};
use crate::tui::hints::key_hints;
use crate::tui::keys::{Command, Context};
use crate::tui::widgets::{centered, dim};

pub fn render(p: BreakPicker, frame: &mut Frame) {
    let height = u16::try_from(BREAK_REASONS.len()).unwrap_or(8).saturating_add(5);
    let area = centered(frame.area(), 50, height);
    frame.render_widget(Clear, area);
    let key = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::Magenta))
        .title(Span::styled(" Take a break ", Style::default().add_modifier(Modifier::BOLD)));
    let mut lines = vec![Line::styled("Calls pause until you are back. Reason:", dim())];
    for (i, (reason, k)) in BREAK_REASONS.iter().zip(reason_keys(BREAK_REASONS)).enumerate() {
        let on = i == p.cursor;
        let style = if on { Style::default().add_modifier(Modifier::REVERSED) } else { Style::default() };
        lines.push(Line::from(vec![
            Span::raw(if on { "▶ " } else { "  " }),
            Span::styled(k.map_or(" ".to_string(), String::from), key),
            Span::styled(format!("  {reason:<12}"), style),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(key_hints(&[
        (Context::BreakPicker, &[Command::Confirm], None),
        (Context::BreakPicker, &[Command::SelectPrev, Command::SelectNext], Some("choose")),
        (Context::BreakPicker, &[Command::Close], None),
    ]));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
