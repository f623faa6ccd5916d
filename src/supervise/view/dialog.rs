//! The move dialog: from whom, to whom (the other agents, the chosen one highlighted), how many,
//! and what the move did or why it was refused.

use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::supervise::moving::label;
use crate::supervise::state::{MoveDialog, SuperView};
use crate::tui::keys::{Command, Context, first_key};
use crate::tui::widgets::{centered, dim, selected_style};

/// The most agents listed at once.
const LISTED: usize = 6;

pub fn render(v: &SuperView, d: &MoveDialog, frame: &mut Frame) {
    let listed = d.targets.len().clamp(1, LISTED);
    let height = u16::try_from(listed + 11).unwrap_or(u16::MAX);
    let area = centered(frame.area(), 66, height);
    frame.render_widget(Clear, area);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let from = v.snapshot.agents.iter().find(|a| a.caller.id == d.from.id);
    let queue = from.map_or(String::new(), |a| format!(": {} queued, {} due now", a.queued, a.due));
    let mut lines = vec![
        Line::from(vec![Span::raw("From "), Span::styled(label(&d.from), bold), Span::raw(queue)]),
        Line::raw("To:"),
    ];
    lines.extend(targets(v, d, listed));
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::raw("How many: "),
        Span::styled(format!("{}▏", d.count), bold),
        Span::styled(if d.count.is_empty() { " (empty: every one that may move)" } else { "" }, dim()),
    ]));
    lines.push(Line::raw(""));
    lines.push(outcome(d));
    let enter = first_key(Context::MoveDialog, Command::Confirm);
    let esc = first_key(Context::MoveDialog, Command::Close);
    let keys = match &d.outcome {
        Some(Ok(_)) => format!(" {enter} closes · ↑↓ or a number for another move "),
        _ => format!(" ↑↓ choose · {enter} moves · {esc} closes "),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Move queued drivers ", bold))
        .title_bottom(Line::styled(keys, Style::default().fg(Color::Yellow)))
        .border_style(Style::default().fg(Color::Cyan));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), area);
}

/// The other agents around the chosen one, with their state and queue.
fn targets(v: &SuperView, d: &MoveDialog, listed: usize) -> Vec<Line<'static>> {
    if d.targets.is_empty() {
        return vec![Line::styled("  No other agent to move drivers to.", dim())];
    }
    let first = (d.pick + 1).saturating_sub(listed);
    d.targets
        .iter()
        .enumerate()
        .skip(first)
        .take(listed)
        .map(|(i, c)| {
            let row = v.snapshot.agents.iter().find(|a| a.caller.id == c.id);
            let about = row.map_or(String::new(), |a| format!("{} · {} queued", a.state.label(), a.queued));
            let text = format!("{} {:<28} {about}", if i == d.pick { "▶" } else { " " }, label(c));
            if i == d.pick { Line::styled(text, selected_style()) } else { Line::raw(text) }
        })
        .collect()
}

fn outcome(d: &MoveDialog) -> Line<'static> {
    match &d.outcome {
        _ if d.moving => Line::styled("Moving…", Style::default().fg(Color::Yellow)),
        Some(Ok(words)) => Line::styled(format!("✓ {words}"), Style::default().fg(Color::Green)),
        Some(Err(why)) => {
            Line::styled(format!("✗ {why}"), Style::default().fg(Color::Red).add_modifier(Modifier::BOLD))
        }
        None => Line::styled("Never one in a call, being dialed or owing a wrap-up: those stay.", dim()),
    }
}
