//! The call dialog: TeleCMI IVR (disabled, with the reason, when not allowed) or a manual call.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::hints::key_hints;
use super::{centered, dim};
use crate::console::keys::{Command, Context, shown};
use crate::console::state::{App, CallDialog};
use crate::dialer::CallKind;
use crate::domain::text::strip_controls;

pub fn render(app: &App, d: &CallDialog, frame: &mut Frame) {
    let height = if app.me.telecmi_refusal.is_some() { 9 } else { 8 };
    let area: Rect = centered(frame.area(), 76, height);
    frame.render_widget(Clear, area);
    let e = &d.driver;
    let block = Block::default().borders(Borders::ALL).border_style(Style::default().fg(Color::Cyan)).title(
        Span::styled(format!(" Call {} ", strip_controls(&e.name)), Style::default().add_modifier(Modifier::BOLD)),
    );
    let key = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let option = |kind: CallKind, k: String, name: &'static str, what: &'static str, enabled: bool| {
        let marker = if d.highlighted == kind { "▶ " } else { "  " };
        let style = if !enabled {
            dim()
        } else if d.highlighted == kind {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        Line::from(vec![
            Span::raw(marker),
            Span::styled(k, if enabled { key } else { dim() }),
            Span::styled(format!("  {name:<13}"), style),
            Span::styled(format!(" {what}"), dim()),
        ])
    };
    let telecmi_ok = app.me.telecmi_refusal.is_none();
    let mut lines = vec![
        Line::styled(
            format!(
                "{} · TMID {} · {} · tries {}{}",
                e.mobile,
                strip_controls(e.tmid.as_deref().unwrap_or("-")),
                strip_controls(e.city.as_deref().unwrap_or("-")),
                e.attempts,
                e.last_outcome.as_deref().map(|o| format!(" · last: {}", strip_controls(o))).unwrap_or_default()
            ),
            dim(),
        ),
        Line::raw(""),
        option(
            CallKind::Telecmi,
            shown(Context::CallDialog, &[Command::DialTelecmi]),
            "TeleCMI IVR",
            "rings your phone, then the driver",
            telecmi_ok,
        ),
    ];
    if let Some(reason) = &app.me.telecmi_refusal {
        lines.push(Line::styled(format!("     unavailable: {reason}"), Style::default().fg(Color::Red)));
    }
    lines.push(option(
        CallKind::Manual,
        shown(Context::CallDialog, &[Command::DialManual]),
        "Manual Call",
        "dial by hand; calldesk logs it",
        true,
    ));
    lines.push(Line::raw(""));
    lines.push(key_hints(&[
        (Context::CallDialog, &[Command::Confirm], None),
        (Context::CallDialog, &[Command::SelectPrev, Command::SelectNext], Some("choose")),
        (Context::CallDialog, &[Command::Close], None),
    ]));
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}
