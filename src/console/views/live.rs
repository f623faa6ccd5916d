//! The live call pane: the current call's stored timeline with a running timer, then the last
//! few finished calls.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::console::state::{App, LiveCall};
use crate::coord::dialer::CallKind;
use crate::domain::CallStatus;
use crate::domain::phone::readable;
use crate::domain::text::strip_controls;
use crate::tui::format::{clock, hhmmss, when};
use crate::tui::keys::{Command, Context, first_key, key};
use crate::tui::widgets::{dim, status_style};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let recent_h = (app.recent.len() as u16 + 2).clamp(3, 8);
    let [top, bottom] = Layout::vertical([Constraint::Min(4), Constraint::Length(recent_h)]).areas(area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Live call ", Style::default().add_modifier(Modifier::BOLD)));
    let inner = block.inner(top);
    frame.render_widget(block, top);
    let lines = match &app.live {
        Some(l) => fit(live_lines(app, l), usize::from(inner.height)),
        None if app.dialing => vec![Line::from("Dialing…")],
        None => {
            let enter = first_key(Context::Queue, Command::OpenCallDialog);
            vec![Line::styled(format!("No call in progress. Select a driver and press {enter}."), dim())]
        }
    };
    frame.render_widget(Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }), inner);

    let block = Block::default().borders(Borders::ALL).title(" Recent ");
    let inner = block.inner(bottom);
    frame.render_widget(block, bottom);
    let lines: Vec<Line> = app
        .recent
        .iter()
        .map(|c| {
            let st = c.call_status();
            Line::from(vec![
                Span::styled(format!("{} ", when(c.created_at, app.now, app.tz)), dim()),
                Span::raw(format!("{} ", strip_controls(c.driver_name.as_deref().unwrap_or("?")))),
                Span::styled(st.as_str(), status_style(st)),
                Span::raw(format!(" {} ", clock(c.call_duration.unwrap_or(0)))),
                Span::styled(strip_controls(c.feedback.as_deref().unwrap_or("")), dim()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// How long the call has rung or talked, running with the clock: `ringing 0:12`, `talking 0:42`,
/// `ended · talk 1:35` (the live pane and the driver card).
pub fn timer(app: &App, l: &LiveCall) -> String {
    let c = &l.call;
    let st = c.call_status();
    // Talk time runs from leg B's answer; before that, ring time from the dial.
    let answered_at = l
        .events
        .iter()
        .find(|e| e.leg == "b" && e.status == "answered" && e.kind == "event")
        .map(|e| e.received_at.and_utc());
    if st.is_final() {
        format!("ended · talk {}", clock(c.call_duration.unwrap_or(0)))
    } else if let Some(ended) = l.ended_at {
        // A manual call the agent ended: the clock stops there.
        format!("ended · on the line {}", clock((ended - c.created_at).num_seconds()))
    } else if st == CallStatus::Connected {
        format!("talking {}", clock((app.now - answered_at.unwrap_or(c.created_at)).num_seconds()))
    } else if l.kind == CallKind::Manual {
        format!("on the line? {}", clock((app.now - c.created_at).num_seconds()))
    } else {
        format!("ringing {}", clock((app.now - c.created_at).num_seconds()))
    }
}

/// Keeps the call's header (3 lines) and the newest timeline lines that fit.
fn fit(mut lines: Vec<Line<'static>>, height: usize) -> Vec<Line<'static>> {
    if lines.len() > height && height > 3 {
        let drop = lines.len() - height;
        lines.drain(3..3 + drop);
    }
    lines
}

/// The call's header and timeline, then what the agent should know about it.
fn live_lines(app: &App, l: &LiveCall) -> Vec<Line<'static>> {
    let mut lines = header(app, l);
    lines.extend(l.events.iter().map(|e| {
        let leg = if e.leg.is_empty() { "-" } else { e.leg.as_str() };
        let kind = if e.kind == "cdr" { "report" } else { e.kind.as_str() };
        Line::from(vec![
            Span::styled(format!("{} ", hhmmss(e.received_at.and_utc(), app.tz)), dim()),
            Span::raw(format!("leg {leg} {kind:<7} {}", strip_controls(&e.status))),
        ])
    }));
    lines.extend(notes(app, l));
    lines
}

/// Who is called, on which number, how and in what state, and the dial itself.
fn header(app: &App, l: &LiveCall) -> Vec<Line<'static>> {
    let c = &l.call;
    let st = c.call_status();
    let name = strip_controls(c.driver_name.as_deref().unwrap_or("?"));
    let how = match l.kind {
        CallKind::Telecmi => "TeleCMI IVR",
        CallKind::Manual => "Manual call",
    };
    let timer = timer(app, l);
    vec![
        Line::from(Span::styled(name, Style::default().add_modifier(Modifier::BOLD))),
        Line::styled(
            format!(
                "{} · {}",
                readable(c.driver_mobile.as_deref().unwrap_or("")),
                strip_controls(c.driver_tmid.as_deref().unwrap_or(""))
            ),
            dim(),
        ),
        Line::from(vec![
            Span::raw(format!("{how} · ")),
            Span::styled(
                if l.ended_at.is_some() { "ENDED".to_string() } else { st.as_str().to_uppercase() },
                status_style(st),
            ),
            Span::raw(format!(" · {timer}")),
        ]),
        Line::from(vec![
            Span::styled(format!("{} ", hhmmss(c.created_at, app.tz)), dim()),
            Span::raw("dial     initiated"),
        ]),
    ]
}

/// What the agent should know about the call: unconfirmed, how it ended, why it failed, a silent
/// TeleCMI, and for a manual call the key that ends it or opens its wrap-up.
fn notes(app: &App, l: &LiveCall) -> Vec<Line<'static>> {
    let c = &l.call;
    let st = c.call_status();
    let mut lines = Vec::new();
    if c.is_unconfirmed() {
        let age = (app.now - c.created_at).num_seconds();
        let wait = crate::coord::dialer::MARK_NOT_PLACED_AFTER_SECS - age;
        let n = key(Context::Queue, Command::MarkNotPlaced);
        let text = if wait > 0 {
            format!(
                "UNCONFIRMED: TeleCMI never answered the request; the call may still ring. {n} marks it not placed in {wait}s."
            )
        } else {
            format!(
                "UNCONFIRMED: TeleCMI never answered the request. If your phone did not ring, press {n}: not placed."
            )
        };
        lines.push(Line::styled(text, Style::default().fg(ratatui::style::Color::Yellow).add_modifier(Modifier::BOLD)));
    }
    if let Some(sentence) = l.end.sentence() {
        lines.push(Line::styled(sentence, status_style(st).add_modifier(Modifier::BOLD)));
    }
    if st == CallStatus::Failed
        && let Some(r) = &c.remarks
    {
        lines.push(Line::styled(strip_controls(r), status_style(st)));
    }
    let silent_for = (app.now - c.created_at).num_seconds();
    if l.kind == CallKind::Telecmi && st.is_live() && l.events.is_empty() && silent_for >= 45 {
        // The commonest real-world fault: TeleCMI's webhooks point somewhere else.
        lines.push(Line::styled(
            format!("No word from TeleCMI for {}s: is its webhook URL set to this listener?", silent_for),
            Style::default().fg(ratatui::style::Color::Yellow),
        ));
    }
    if l.kind == CallKind::Manual && l.in_progress() {
        let end = key(Context::Queue, Command::EndCall);
        lines.push(Line::styled(format!("Press {end} when the call ends."), dim()));
    } else if l.kind == CallKind::Manual && st.is_live() && app.form().is_none_or(|f| f.call.id != c.id) {
        let open = key(Context::Global, Command::ReopenWrapup);
        lines.push(Line::styled(format!("Ended: its wrap-up waits ({open})."), dim()));
    }
    lines
}
