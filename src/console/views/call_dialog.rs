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
    let last = last_call_lines(app, d);
    let closed = crate::console::dialing::closed_for(app, &d.driver);
    let refusal = closed.as_ref().map(|c| c.message());
    let extra = u16::from(app.me.telecmi_refusal.is_some()) + if refusal.is_some() { 3 } else { 0 };
    let height = 8 + extra + last.len() as u16;
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
    let telecmi_ok = app.me.telecmi_refusal.is_none() && refusal.is_none();
    let mut lines = vec![Line::styled(
        format!(
            "{} · TMID {} · {} · tries {}{}",
            e.mobile,
            strip_controls(e.tmid.as_deref().unwrap_or("-")),
            strip_controls(e.city.as_deref().unwrap_or("-")),
            e.attempts,
            e.last_outcome.as_deref().map(|o| format!(" · last: {}", strip_controls(o))).unwrap_or_default()
        ),
        dim(),
    )];
    lines.extend(last);
    if let Some(why) = &refusal {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("⛔ Not now. {why}"),
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    }
    lines.extend([
        Line::raw(""),
        option(
            CallKind::Telecmi,
            shown(Context::CallDialog, &[Command::DialTelecmi]),
            "TeleCMI IVR",
            "rings your phone, then the driver",
            telecmi_ok,
        ),
    ]);
    if let Some(reason) = &app.me.telecmi_refusal {
        lines.push(Line::styled(format!("     unavailable: {reason}"), Style::default().fg(Color::Red)));
    }
    lines.push(option(
        CallKind::Manual,
        shown(Context::CallDialog, &[Command::DialManual]),
        "Manual Call",
        "dial by hand; calldesk logs it",
        refusal.is_none(),
    ));
    lines.push(Line::raw(""));
    lines.push(key_hints(&[
        (Context::CallDialog, &[Command::Confirm], None),
        (Context::CallDialog, &[Command::SelectPrev, Command::SelectNext], Some("choose")),
        (Context::CallDialog, &[Command::Close], None),
    ]));
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}

/// The driver's last call, remarks in full, so the agent knows before dialing (two lines at most).
fn last_call_lines(app: &App, d: &CallDialog) -> Vec<Line<'static>> {
    match &d.last {
        None => vec![Line::styled("Last call: loading…", dim())],
        Some(None) => vec![Line::styled("Never called before.", dim())],
        Some(Some(c)) => {
            let head = format!(
                "Last call {} · {} · {}",
                super::when(c.created_at, app.now, app.tz),
                c.call_status(),
                strip_controls(c.feedback.as_deref().unwrap_or("no outcome"))
            );
            let mut v = vec![Line::styled(head, Style::default().add_modifier(Modifier::BOLD))];
            if let Some(r) = c.remarks.as_deref().filter(|r| !r.trim().is_empty()) {
                v.push(Line::raw(format!("“{}”", strip_controls(r))));
            }
            v
        }
    }
}
