//! The status bar (who, how calls go out, webhook listener, database), the notice line and the
//! footer of keys taken from the key table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::state::{AgentStatus, App, Level, Modal, Progress, TelephonyMode};
use crate::domain::text::{plural, strip_controls};
use crate::tui::format::age;
use crate::tui::keys::{Context, footer, hint};
use crate::tui::widgets::dim;

/// A piece of the status bar; when the bar is too narrow the lowest `keep` goes first.
struct Part {
    spans: Vec<Span<'static>>,
    keep: u8,
    /// A shorter form tried before the part is dropped.
    short: Option<Vec<Span<'static>>>,
}

impl Part {
    fn width(&self) -> usize {
        self.spans.iter().map(Span::width).sum()
    }
}

/// Wrap-ups waiting besides the one open on screen.
pub fn pending_wrapups(app: &App) -> usize {
    let open = app.form().map(|f| f.call.id);
    app.wrapups.iter().filter(|(c, _)| Some(c.id) != open).count()
}

/// The status line: who, how calls are placed, waiting wrap-ups, the agent's state, today's
/// progress, the webhook and the database, the least needed dropped or shortened first.
pub fn render_status(app: &App, frame: &mut Frame, area: Rect) {
    let mut parts = vec![name_part(app), mode_part(app)];
    parts.extend(wrapups_part(app));
    parts.push(state_part(app));
    if let Some(p) = app.progress {
        parts.push(progress_part(p));
    }
    parts.push(webhook_part(app));
    parts.push(Part {
        spans: vec![Span::raw("│ "), Span::styled(app.me.database.clone(), dim())],
        keep: 1,
        short: None,
    });
    let spans: Vec<Span> = fit_parts(parts, usize::from(area.width)).into_iter().flat_map(|p| p.spans).collect();
    frame.render_widget(Paragraph::new(Line::from(spans)).style(Style::default().bg(Color::Indexed(236))), area);
}

/// Drops (or shortens, where a part has a short form) the parts least needed until the line fits
/// `width`; the name and a waiting wrap-up always stay.
fn fit_parts(mut parts: Vec<Part>, width: usize) -> Vec<Part> {
    while parts.iter().map(Part::width).sum::<usize>() > width {
        let Some(pos) = parts.iter().enumerate().min_by_key(|(_, p)| p.keep).map(|(i, _)| i) else { break };
        if parts[pos].keep >= 9 {
            break;
        }
        match parts[pos].short.take() {
            Some(short) => parts[pos].spans = short,
            None => drop(parts.remove(pos)),
        }
    }
    parts
}

fn name_part(app: &App) -> Part {
    Part {
        spans: vec![Span::styled(
            format!(" {} ({}) ", strip_controls(&app.me.caller_name), app.me.caller_id),
            Style::default().add_modifier(Modifier::BOLD),
        )],
        keep: 9,
        short: None,
    }
}

/// How calls are placed. However the console was started, a caller TeleCMI is refused to places
/// manual calls only.
fn mode_part(app: &App) -> Part {
    let mode = match app.me.mode {
        TelephonyMode::Telecmi if app.me.telecmi_refusal.is_some() => TelephonyMode::ManualOnly,
        mode => mode,
    };
    let mode_style = match mode {
        TelephonyMode::Telecmi => Style::default().fg(Color::Black).bg(Color::Green),
        TelephonyMode::Simulated => Style::default().fg(Color::Black).bg(Color::Cyan),
        TelephonyMode::ManualOnly => Style::default().fg(Color::Black).bg(Color::Yellow),
    };
    Part {
        spans: vec![Span::raw("│"), Span::styled(format!(" {} ", mode.label()), mode_style)], keep: 8, short: None
    }
}

/// A wrap-up left waiting costs a driver's outcome: it outlives everything but the name.
fn wrapups_part(app: &App) -> Option<Part> {
    let pending = pending_wrapups(app);
    if pending == 0 {
        return None;
    }
    // While a form is open its letters pick outcomes: no key is offered then (a `w` typed
    // for "waiting: w" would pick an outcome); the next one opens after this save.
    let text = if app.form().is_some() {
        format!(" {} after this one ", plural(pending, "more wrap-up"))
    } else {
        let key = crate::tui::keys::key(Context::Global, crate::tui::keys::Command::ReopenWrapup);
        format!(" {} waiting: {key} ", plural(pending, "wrap-up"))
    };
    Some(Part {
        spans: vec![
            Span::raw("│"),
            Span::styled(text, Style::default().fg(Color::Black).bg(Color::Yellow).add_modifier(Modifier::BOLD)),
        ],
        keep: 10,
        short: None,
    })
}

/// Where webhooks come in and when the last one did.
fn webhook_part(app: &App) -> Part {
    let last = app
        .last_webhook
        .map_or_else(|| "none yet".to_string(), |t| format!("{} ago", age((app.now - t).num_seconds())));
    Part {
        spans: vec![
            Span::raw("│ webhook "),
            Span::raw(app.me.webhook_addr.clone()),
            Span::styled(format!(" · last {last} "), dim()),
        ],
        keep: 5,
        short: Some(vec![Span::raw("│ webhook "), Span::styled(format!("{last} "), dim())]),
    }
}

/// Ready, on break (with the reason), in a call or in wrap-up, with the time in it where the
/// agent chose it; outlives everything but the name and a waiting wrap-up.
fn state_part(app: &App) -> Part {
    let since = |t: chrono::DateTime<chrono::Utc>| age((app.now - t).num_seconds());
    let black = Style::default().fg(Color::Black).add_modifier(Modifier::BOLD);
    let (long, short, style) = match app.status() {
        AgentStatus::Ready(t) => (format!(" READY {} ", since(t)), None, black.bg(Color::Green)),
        AgentStatus::Break(reason, t) => {
            let reason = strip_controls(reason);
            (format!(" BREAK {reason} {} ", since(t)), Some(format!(" BREAK {} ", since(t))), black.bg(Color::Magenta))
        }
        AgentStatus::InCall => (" IN CALL ".to_string(), None, black.bg(Color::Cyan)),
        AgentStatus::WrapUp => (" WRAP-UP ".to_string(), None, black.bg(Color::Yellow)),
    };
    Part {
        spans: vec![Span::raw("│"), Span::styled(long, style)],
        keep: 7,
        short: short.map(|s| vec![Span::raw("│"), Span::styled(s, style)]),
    }
}

/// Today's calls, connects and positive outcomes against the target: `12 calls · 5 conn · 3/10 ✓`,
/// with `2 not placed` (the driver never rung: not calls) when there are some; shortened to `3/10 ✓`.
fn progress_part(p: Progress) -> Part {
    let reached = p.target.is_some_and(|t| p.positive >= t);
    let style = if reached { Style::default().fg(Color::Green).add_modifier(Modifier::BOLD) } else { Style::default() };
    let positive = match p.target {
        Some(t) => format!("{}/{t} ✓", p.positive),
        None => format!("{} ✓", p.positive),
    };
    let mut long =
        vec![Span::raw("│ "), Span::styled(format!("{} · {} conn · ", plural(p.calls, "call"), p.connected), dim())];
    if p.not_placed > 0 {
        long.push(Span::styled(format!("{} not placed", p.not_placed), Style::default().fg(Color::Yellow)));
        long.push(Span::styled(" · ", dim()));
    }
    long.extend([Span::styled(positive.clone(), style), Span::raw(" ")]);
    Part { spans: long, keep: 6, short: Some(vec![Span::raw("│ "), Span::styled(positive, style), Span::raw(" ")]) }
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
    let entries: Vec<(String, &str)> = match &app.modal {
        // A prompt's keys are named for what they do in it (Enter searches the call log).
        Some(Modal::Prompt(p)) => {
            super::prompt::hints(p).iter().map(|(ctx, cmds, label)| hint(*ctx, cmds, *label)).collect()
        }
        _ => footer(&footer_contexts(app)).into_iter().map(|(key, label)| (key.to_string(), label)).collect(),
    };
    let mut spans = vec![Span::raw(" ")];
    for (i, (key, label)) in entries.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", dim()));
        }
        spans.push(Span::styled(key, Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD)));
        spans.push(Span::raw(format!(" {label}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
