//! Drawing: a pure function of [`App`]. One file per pane or modal; modals draw `Clear` first.

mod break_picker;
mod call_dialog;
mod call_log;
mod card;
mod feedback;
pub mod help;
pub mod hints;
mod live;
mod prompt;
mod queue;
mod search;
pub mod stats;
mod status;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};

use super::state::{App, Modal, Screen};
use crate::domain::CallStatus;

pub use status::footer_contexts;

/// Draws the whole console.
pub fn render(app: &App, frame: &mut Frame) {
    let [main, status_row, notice_row, footer_row] =
        Layout::vertical([Constraint::Min(5), Constraint::Length(1), Constraint::Length(1), Constraint::Length(1)])
            .areas(frame.area());
    match app.screen {
        Screen::Queue => {
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(main);
            queue::render(app, frame, left);
            live::render(app, frame, right);
        }
        Screen::CallLog => call_log::render(app, frame, main),
        Screen::Stats => stats::render(app, frame, main),
        Screen::Search => search::render(app, frame, main),
        Screen::Upcoming => search::render_upcoming(app, frame, main),
    }
    status::render_status(app, frame, status_row);
    status::render_notice(app, frame, notice_row);
    status::render_footer(app, frame, footer_row);
    match &app.modal {
        Some(Modal::CallDialog(d)) => call_dialog::render(app, d, frame),
        Some(Modal::Card(c)) => card::render(app, c, frame),
        Some(Modal::Prompt(p)) => prompt::render(p, frame),
        Some(Modal::Break(p)) => break_picker::render(*p, frame),
        Some(Modal::Feedback(f)) => feedback::render(app, f, frame),
        Some(Modal::Help) => help::render(frame, app.help_scroll),
        Some(Modal::ConfirmQuit(_)) => {
            render_confirm_quit(&app.quit_stakes().unwrap_or_else(|| "Nothing is in progress now.".into()), frame)
        }
        None => {}
    }
}

fn render_confirm_quit(stakes: &str, frame: &mut Frame) {
    use ratatui::text::{Line, Span};
    use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
    let area = centered(frame.area(), 72, 7);
    frame.render_widget(Clear, area);
    use crate::tui::keys::{Command, Context};
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::Yellow))
        .title(Span::styled(" Quit calldesk? ", Style::default().add_modifier(Modifier::BOLD)));
    let text = vec![
        Line::raw(crate::domain::text::strip_controls(stakes)),
        Line::raw(""),
        hints::key_hints(&[
            (Context::ConfirmQuit, &[Command::ConfirmQuit], None),
            (Context::ConfirmQuit, &[Command::Close], None),
        ]),
    ];
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).block(block), area);
}

/// The note on a list's bottom border when its rows do not all fit: how many come after the last
/// row shown, `↓ 23 more` (`↓ 23+ more` when more may wait that are not read yet).
pub fn more_below(below: usize, unread: bool) -> Option<ratatui::text::Line<'static>> {
    let text = match (below, unread) {
        (0, false) => return None,
        (0, true) => " ↓ more ".to_string(),
        (n, false) => format!(" ↓ {n} more "),
        (n, true) => format!(" ↓ {n}+ more "),
    };
    Some(ratatui::text::Line::styled(text, Style::default().fg(Color::Yellow)).right_aligned())
}

/// A box of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

pub fn status_style(s: CallStatus) -> Style {
    match s {
        CallStatus::Initiated => Style::default().fg(Color::Cyan),
        CallStatus::Ringing => Style::default().fg(Color::Yellow),
        CallStatus::Connected => Style::default().fg(Color::Green).add_modifier(Modifier::BOLD),
        CallStatus::Completed => Style::default().fg(Color::Green),
        CallStatus::Missed => Style::default().fg(Color::Magenta),
        CallStatus::Failed => Style::default().fg(Color::Red),
    }
}

/// The mark of a call TeleCMI recorded (call log, driver card; explained in the help).
pub const REC: &str = "rec";

pub fn rec_style() -> Style {
    Style::default().fg(Color::LightBlue)
}

pub fn selected_style() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

pub fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

pub fn hhmmss(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%H:%M:%S").to_string()
}

/// `HH:MM` today, `24 Nov HH:MM` on another day.
pub fn when(t: DateTime<Utc>, now: DateTime<Utc>, tz: Tz) -> String {
    let (lt, ln) = (t.with_timezone(&tz), now.with_timezone(&tz));
    if lt.date_naive() == ln.date_naive() {
        lt.format("%H:%M").to_string()
    } else {
        lt.format("%d %b %H:%M").to_string()
    }
}

/// `m:ss` (or `h:mm:ss`).
pub fn clock(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A length of time with its units: `45s`, `1m 12s`, `2m 05s`, `1h 02m`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A mean number of seconds with its units, or `—` when there is nothing to average.
pub fn mean_duration(secs: Option<f64>) -> String {
    secs.map_or_else(|| "—".to_string(), |s| duration(s.round() as i64))
}

/// `4s`, `3m`, `2h`, `5d`.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clocks_and_ages() {
        assert_eq!(super::clock(42), "0:42");
        assert_eq!(super::clock(3725), "1:02:05");
        assert_eq!(super::age(4), "4s");
        assert_eq!(super::age(190), "3m");
        assert_eq!(super::age(90_000), "1d");
        assert_eq!(super::duration(8), "8s");
        assert_eq!(super::duration(72), "1m 12s");
        assert_eq!(super::duration(125), "2m 05s");
        assert_eq!(super::duration(3725), "1h 02m");
        assert_eq!(super::mean_duration(None), "—");
    }
}
