//! The status bar (who, how calls go out, webhook listener, database), the notice line and the
//! footer of keys taken from the key table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{age, dim};
use crate::console::keys::{Context, footer};
use crate::console::state::{App, Level, TelephonyMode};
use crate::domain::text::strip_controls;

pub fn render_status(app: &App, frame: &mut Frame, area: Rect) {
    let mode_style = match app.me.mode {
        TelephonyMode::Telecmi => Style::default().fg(Color::Black).bg(Color::Green),
        TelephonyMode::Simulated => Style::default().fg(Color::Black).bg(Color::Cyan),
        TelephonyMode::ManualOnly => Style::default().fg(Color::Black).bg(Color::Yellow),
    };
    let last = app
        .last_webhook
        .map_or_else(|| "none yet".to_string(), |t| format!("{} ago", age((app.now - t).num_seconds())));
    let mut spans = vec![
        Span::styled(
            format!(" {} ({}) ", strip_controls(&app.me.caller_name), app.me.caller_id),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw("│"),
        Span::styled(format!(" {} ", app.me.mode.label()), mode_style),
        Span::raw("│ webhook "),
        Span::raw(app.me.webhook_addr.clone()),
        Span::styled(format!(" · last {last} "), dim()),
        Span::raw("│ "),
        Span::styled(app.me.database.clone(), dim()),
    ];
    if !app.wrapups.is_empty() && app.form().is_none() {
        spans.push(Span::styled(
            format!(" │ {} wrap-up(s) waiting: w ", app.wrapups.len()),
            Style::default().fg(Color::Yellow),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(Style::default().bg(Color::Indexed(236))), area);
}

pub fn render_notice(app: &App, frame: &mut Frame, area: Rect) {
    let Some(n) = &app.notice else { return };
    let style = match n.level {
        Level::Info => Style::default().fg(Color::Cyan),
        Level::Error => Style::default().fg(Color::White).bg(Color::Red).add_modifier(Modifier::BOLD),
    };
    let prefix = if n.level == Level::Error { " ✗ " } else { " " };
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(format!("{prefix}{}", strip_controls(&n.text)), style))),
        area,
    );
}

/// The contexts whose keys apply right now, most specific first.
pub fn footer_contexts(app: &App) -> Vec<Context> {
    crate::console::update::contexts(app)
}

pub fn render_footer(app: &App, frame: &mut Frame, area: Rect) {
    let mut spans = vec![Span::raw(" ")];
    for (i, (key, label)) in footer(&footer_contexts(app)).into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", dim()));
        }
        spans.push(Span::styled(key, Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD)));
        spans.push(Span::raw(format!(" {label}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
