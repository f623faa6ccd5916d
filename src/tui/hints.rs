//! Key hints drawn inside panes and modals, taken from the key table (never typed by hand), so
//! they name the keys the dispatcher really uses.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::tui::keys::{Command, Context, hint};

/// One hint: the keys of these commands in this context, with the table's footer label of the
/// first command, or the label given (for keys run together, such as `↑↓ choose`).
pub type Hint<'a> = (Context, &'a [Command], Option<&'static str>);

/// The hints as spans, `key label · key label …`, each starting with `sep` but the first.
pub fn hint_spans(hints: &[Hint<'_>], first_sep: bool) -> Vec<Span<'static>> {
    let key = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let mut spans = Vec::new();
    for (i, (ctx, cmds, label)) in hints.iter().enumerate() {
        let (keys, label) = hint(*ctx, cmds, *label);
        if keys.is_empty() {
            continue;
        }
        if i > 0 || first_sep {
            spans.push(Span::raw(" · "));
        }
        spans.push(Span::styled(keys, key));
        spans.push(Span::raw(format!(" {label}")));
    }
    spans
}

/// The hints on a line of their own.
pub fn key_hints(hints: &[Hint<'_>]) -> Line<'static> {
    Line::from(hint_spans(hints, false))
}
