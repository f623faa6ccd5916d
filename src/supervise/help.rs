//! The supervisor's help: what the screen does and every key of it, from the key table. Sized to
//! its text and the terminal, scrolled when the terminal is shorter than the text.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::tui::keys::{self, BINDINGS, Command, Context, context_title};
use crate::tui::widgets::centered;

/// The sections, in the order the help lists them.
const ORDER: [Context; 4] = [Context::Board, Context::AgentCalls, Context::MoveDialog, Context::Supervise];

/// Every line of the help.
pub fn lines() -> Vec<Line<'static>> {
    let key = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let refresh = keys::key(Context::Supervise, Command::Refresh);
    let mut lines = vec![
        Line::raw("No key here places a call. a moves queued drivers between agents by"),
        Line::raw("the rules of calldesk assign (never one in a call, being dialed or"),
        Line::raw("owing a wrap-up); the move is recorded with your name."),
        Line::raw("Agents and live calls refresh every second and on every webhook;"),
        Line::raw(format!("today's numbers follow within a few seconds ({refresh}: at once).")),
    ];
    for ctx in ORDER {
        lines.push(Line::raw(""));
        lines.push(Line::styled(context_title(ctx), Style::default().add_modifier(Modifier::BOLD)));
        lines.extend(
            BINDINGS
                .iter()
                .filter(|b| b.ctx == ctx)
                .map(|b| Line::from(vec![Span::styled(format!("  {:<7}", b.shown), key), Span::raw(b.help)])),
        );
    }
    lines
}

/// Where the help goes on a `screen`: as wide as its widest line, as tall as its lines, at most
/// the screen.
pub fn area(screen: Rect) -> Rect {
    let lines = lines();
    let widest = lines.iter().map(Line::width).max().unwrap_or(0);
    let w = u16::try_from(widest + 2).unwrap_or(u16::MAX);
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    centered(screen, w, h)
}

/// Screen rows the help's text takes in `area` (a line too long for it wraps).
fn rows(area: Rect) -> usize {
    let width = usize::from(area.width.saturating_sub(2)).max(1);
    lines().iter().map(|l| l.width().max(1).div_ceil(width)).sum()
}

/// How far the help can scroll on a `width`×`height` terminal (0 when it fits).
pub fn max_scroll(width: u16, height: u16) -> u16 {
    let area = area(Rect::new(0, 0, width, height));
    let overflow = rows(area).saturating_sub(usize::from(area.height.saturating_sub(2)));
    u16::try_from(overflow).unwrap_or(u16::MAX)
}

/// Draws the help from row `scroll` on.
pub fn render(frame: &mut Frame, scroll: u16) {
    let screen = frame.area();
    let area = area(screen);
    let max = max_scroll(screen.width, screen.height);
    let scroll = scroll.min(max);
    let close = keys::first_key(Context::Help, Command::Close);
    let title = if max == 0 {
        format!(" Supervisor keys ({close} closes) ")
    } else {
        let shown = usize::from(scroll) + usize::from(area.height.saturating_sub(2));
        format!(" Supervisor keys — ↑↓ PgUp PgDn scroll ({shown}/{}) · {close} closes ", rows(area))
    };
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines())
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(Block::default().borders(Borders::ALL).title(title).border_style(Style::default().fg(Color::Cyan))),
        area,
    );
}
