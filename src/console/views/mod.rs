//! Drawing: a pure function of [`App`]. One file per pane or modal; modals draw `Clear` first.

mod break_picker;
mod call_dialog;
mod call_log;
mod card;
mod feedback;
pub mod help;
mod live;
mod prompt;
mod queue;
mod search;
pub mod stats;
mod status;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};

use super::state::{App, Modal, Screen};
use crate::tui::hints;
use crate::tui::widgets::centered;

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
