//! Small pieces of drawing both screens share: a centred box, the styles of a call's status, a
//! selected row and dim text, and the "↓ N more" note under a list.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use crate::domain::CallStatus;

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
