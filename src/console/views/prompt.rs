//! A small form over the screen (edit a driver, snooze one, search the call log): each field on
//! its line, and the keys that apply to it, from the key table, under it and in the footer.

use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::console::state::{Prompt, PromptFor};
use crate::domain::text::strip_controls;
use crate::tui::hints::{Hint, hint_spans};
use crate::tui::keys::{Command, Context};
use crate::tui::widgets::{centered, dim};

/// The keys of this prompt, named for what they do here: Enter searches the call log, snoozes a
/// driver or saves an edit; Tab only where there is a next field.
pub fn hints(p: &Prompt) -> Vec<Hint<'static>> {
    let enter = match p.purpose {
        PromptFor::CallLogSearch => "search (empty shows all)",
        PromptFor::Snooze { .. } => "snooze",
        PromptFor::EditDriver { .. } => "save",
    };
    let mut v: Vec<Hint<'static>> = vec![(Context::Prompt, &[Command::Confirm], Some(enter))];
    if p.fields.len() > 1 {
        v.push((Context::Prompt, &[Command::NextField], None));
    }
    v.push((Context::Prompt, &[Command::Close], None));
    v
}

/// A small form: each field on its line, the focused one marked and holding the cursor.
pub fn render(p: &Prompt, frame: &mut Frame) {
    let height = 4 + p.fields.len() as u16;
    let area = centered(frame.area(), 70, height);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::Cyan))
        .title(Span::styled(strip_controls(&p.title), Style::default().add_modifier(Modifier::BOLD)))
        .title_bottom(Line::from([vec![Span::raw(" ")], hint_spans(&hints(p), false), vec![Span::raw(" ")]].concat()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let label_w = p.fields.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0) + 3;
    for (i, (label, input)) in p.fields.iter().enumerate() {
        let y = inner.y + i as u16;
        let focused = i == p.focus;
        let style = if focused { Style::default().add_modifier(Modifier::BOLD) } else { dim() };
        let marker = if focused { "▶ " } else { "  " };
        let line = Line::from(vec![
            Span::styled(format!("{marker}{label:<w$}", w = label_w - 2), style),
            Span::raw(strip_controls(input.value())),
        ]);
        frame.render_widget(Paragraph::new(line), ratatui::layout::Rect { y, height: 1, ..inner });
        if focused {
            let x = inner.x + label_w as u16 + input.visual_cursor() as u16;
            frame.set_cursor_position((x.min(inner.right().saturating_sub(1)), y));
        }
    }
    let status = match (&p.error, p.saving) {
        (_, true) => Line::styled("Saving…", Style::default().fg(Color::Cyan)),
        (Some(e), _) => Line::styled(format!("✗ {e}"), Style::default().fg(Color::White).bg(Color::Red)),
        (None, _) => Line::raw(""),
    };
    let y = inner.y + p.fields.len() as u16 + 1;
    frame.render_widget(
        Paragraph::new(status),
        ratatui::layout::Rect { y: y.min(inner.bottom().saturating_sub(1)), height: 1, ..inner },
    );
}
