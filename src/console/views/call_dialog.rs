//! The call dialog: TeleCMI IVR (disabled, with the reason, when not allowed) or a manual call;
//! neither for a number on the do-not-call list (the dialog says since when, by whom and why).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::console::state::{App, CallDialog};
use crate::coord::dialer::CallKind;
use crate::domain::phone::readable;
use crate::domain::text::strip_controls;
use crate::tui::hints::key_hints;
use crate::tui::keys::{Command, Context, shown};
use crate::tui::widgets::{centered, dim};

pub fn render(app: &App, d: &CallDialog, frame: &mut Frame) {
    let last = last_call_lines(app, d);
    let refused = refusal_lines(app, d, 74);
    let unavailable = unavailable_lines(app, 74);
    let height = 8 + unavailable.len() as u16 + last.len() as u16 + refused.1;
    let blocked = refused.1 > 0;
    let area: Rect = centered(frame.area(), 76, height);
    frame.render_widget(Clear, area);
    let e = &d.driver;
    let block = Block::default().borders(Borders::ALL).border_style(Style::default().fg(Color::Cyan)).title(
        Span::styled(format!(" Call {} ", strip_controls(&e.name)), Style::default().add_modifier(Modifier::BOLD)),
    );
    let option =
        |kind, cmd, name, what, enabled| option(d, kind, shown(Context::CallDialog, &[cmd]), name, what, enabled);
    let telecmi_ok = app.me.telecmi_refusal.is_none() && !blocked;
    let mut lines = vec![driver_line(e)];
    lines.extend(last);
    lines.extend(refused.0);
    lines.extend([
        Line::raw(""),
        option(CallKind::Telecmi, Command::DialTelecmi, "TeleCMI IVR", "rings your phone, then the driver", telecmi_ok),
    ]);
    lines.extend(unavailable);
    lines.push(option(
        CallKind::Manual,
        Command::DialManual,
        "Manual Call",
        "dial by hand; calldesk logs it",
        !blocked,
    ));
    lines.push(Line::raw(""));
    lines.push(keys_line(blocked));
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}

/// The driver in one dim line: number, TMID, city, tries and the last outcome.
fn driver_line(e: &crate::store::QueueEntry) -> Line<'static> {
    Line::styled(
        format!(
            "{} · TMID {} · {} · tries {}{}",
            readable(&e.mobile),
            strip_controls(e.tmid.as_deref().unwrap_or("-")),
            strip_controls(e.city.as_deref().unwrap_or("-")),
            e.attempts,
            e.last_outcome.as_deref().map(|o| format!(" · last: {}", strip_controls(o))).unwrap_or_default()
        ),
        dim(),
    )
}

/// One way to call: marked when highlighted, dim when it cannot be used now.
fn option(d: &CallDialog, kind: CallKind, k: String, name: &str, what: &str, enabled: bool) -> Line<'static> {
    let key = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let marker = if d.highlighted == kind && enabled { "▶ " } else { "  " };
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
}

/// The dialog's keys; when nothing here can be placed, the only way on is out.
fn keys_line(blocked: bool) -> Line<'static> {
    if blocked {
        key_hints(&[(Context::CallDialog, &[Command::Close], Some("close"))])
    } else {
        key_hints(&[
            (Context::CallDialog, &[Command::Confirm], None),
            (Context::CallDialog, &[Command::SelectPrev, Command::SelectNext], Some("choose")),
            (Context::CallDialog, &[Command::Close], None),
        ])
    }
}

/// Why no call can be placed now, in red, and the rows it takes at `width`: the number is on the
/// do-not-call list, or the driver's calling window is closed.
fn refusal_lines(app: &App, d: &CallDialog, width: usize) -> (Vec<Line<'static>>, u16) {
    if d.do_not_call.is_none() {
        let Some(closed) = crate::console::dialing::closed_for(app, &d.driver) else { return (vec![], 0) };
        // One column more for the wide sign.
        let text = format!("⛔ Not now. {}", closed.message());
        let rows = 1 + wrapped_rows(&format!(" {text}"), width);
        let style = Style::default().fg(Color::Red).add_modifier(Modifier::BOLD);
        return (vec![Line::raw(""), Line::styled(text, style)], u16::try_from(rows).unwrap_or(u16::MAX));
    }
    let Some(e) = &d.do_not_call else { return (vec![], 0) };
    let red = Style::default().fg(Color::Red);
    let detail = e.detail(app.tz);
    let head = format!("✗ DO NOT CALL: {}", e.headline());
    let rows = wrapped_rows(&head, width) + wrapped_rows(&detail, width);
    let lines = vec![Line::styled(head, red.add_modifier(Modifier::BOLD)), Line::styled(detail, red)];
    (lines, u16::try_from(rows).unwrap_or(u16::MAX))
}

/// Why TeleCMI is not offered to this caller, and who can change that, under its option: indented
/// to the option's text and wrapped at `width` by hand (so every row keeps the indent).
fn unavailable_lines(app: &App, width: usize) -> Vec<Line<'static>> {
    const INDENT: &str = "     ";
    let Some(reason) = &app.me.telecmi_refusal else { return vec![] };
    let red = Style::default().fg(Color::Red);
    let text = format!("unavailable: {}", strip_controls(reason));
    let room = width.saturating_sub(INDENT.len()).max(1);
    let mut rows: Vec<String> = vec![];
    for word in text.split_whitespace() {
        match rows.last_mut() {
            Some(row) if row.chars().count() + 1 + word.chars().count() <= room => {
                row.push(' ');
                row.push_str(word);
            }
            _ => rows.push(word.to_string()),
        }
    }
    rows.into_iter().map(|r| Line::styled(format!("{INDENT}{r}"), red)).collect()
}

/// Rows `text` takes when wrapped at word boundaries to `width` columns (as the dialog wraps it).
fn wrapped_rows(text: &str, width: usize) -> usize {
    let width = width.max(1);
    let mut rows = 1;
    let mut used = 0;
    for word in text.split(' ') {
        let w = word.chars().count();
        let need = if used == 0 { w } else { used + 1 + w };
        if need <= width {
            used = need;
        } else {
            rows += 1 + w.saturating_sub(1) / width;
            used = if w % width == 0 && w > 0 { width } else { w % width };
        }
    }
    rows
}

/// The driver's last call, remarks in full, so the agent knows before dialing (two lines at most).
fn last_call_lines(app: &App, d: &CallDialog) -> Vec<Line<'static>> {
    match &d.last {
        None => vec![Line::styled("Last call: loading…", dim())],
        Some(None) => vec![Line::styled("Never called before.", dim())],
        Some(Some(c)) => {
            let head = format!(
                "Last call {} · {} · {}",
                crate::tui::format::when(c.created_at, app.now, app.tz),
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
