//! The wrap-up form: every outcome on its own key, remarks, and the duration of manual calls.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use tui_input::Input;

use super::{centered, clock, dim, status_style};
use crate::console::state::{App, FeedbackForm, Field, REMARKS_MAX};
use crate::domain::FeedbackGroup;
use crate::domain::feedback::outcome_key;
use crate::domain::text::strip_controls;

pub fn render(app: &App, f: &FeedbackForm, frame: &mut Frame) {
    let connected = app.catalog.indexed(FeedbackGroup::Connected).count() as u16;
    let half = connected.div_ceil(2);
    let height = half + 1 + 5 + 1 + u16::from(f.manual) + 1 + 1 + 2;
    let area = centered(frame.area(), 100, height);
    frame.render_widget(Clear, area);
    let c = &f.call;
    let st = c.call_status();
    let title = Line::from(vec![
        Span::styled(" Wrap-up: ", Style::default().add_modifier(Modifier::BOLD)),
        Span::styled(
            strip_controls(c.driver_name.as_deref().unwrap_or("?")),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" · {} · ", c.driver_mobile.clone().unwrap_or_default())),
        Span::styled(st.as_str(), status_style(st)),
        Span::raw(if f.manual {
            " · manual ".to_string()
        } else {
            format!(" · talk {} ", clock(c.call_duration.unwrap_or(0)))
        }),
    ]);
    let block = Block::default().borders(Borders::ALL).border_style(Style::default().fg(Color::Cyan)).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let [conn_area, rest_area, remarks_area, duration_area, error_area, keys_area] = Layout::vertical([
        Constraint::Length(half + 1),
        Constraint::Length(5),
        Constraint::Length(1),
        Constraint::Length(if f.manual { 1 } else { 0 }),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);

    let col = usize::from(inner.width / 2).saturating_sub(3);
    let item = |i: usize, label: &str| -> Line<'static> {
        let label = ellipsize(label, col);
        let key = outcome_key(i).map_or("  ".to_string(), |k| format!("{k} "));
        let mut style = Style::default();
        if f.chosen == Some(i) {
            style = style.fg(Color::Black).bg(Color::Green).add_modifier(Modifier::BOLD);
        } else if f.focus == Field::Outcome && f.cursor == i {
            style = style.add_modifier(Modifier::REVERSED);
        }
        Line::from(vec![
            Span::styled(key, Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD)),
            Span::styled(label, style),
        ])
    };
    let heading = |g: FeedbackGroup| {
        Line::styled(g.label(), Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED))
    };

    let conn: Vec<(usize, String)> =
        app.catalog.indexed(FeedbackGroup::Connected).map(|(i, o)| (i, o.label.clone())).collect();
    let [cl, cr] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(conn_area);
    let (left, right) = conn.split_at(usize::from(half).min(conn.len()));
    let mut l_lines = vec![heading(FeedbackGroup::Connected)];
    l_lines.extend(left.iter().map(|(i, l)| item(*i, l)));
    let mut r_lines = vec![Line::raw("")];
    r_lines.extend(right.iter().map(|(i, l)| item(*i, l)));
    frame.render_widget(Paragraph::new(l_lines), cl);
    frame.render_widget(Paragraph::new(r_lines), cr);

    let [nl, nr] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(rest_area);
    let mut n_lines = vec![heading(FeedbackGroup::NotConnected)];
    n_lines.extend(app.catalog.indexed(FeedbackGroup::NotConnected).map(|(i, o)| item(i, &o.label)));
    let mut b_lines = vec![heading(FeedbackGroup::CallBackLater)];
    b_lines.extend(app.catalog.indexed(FeedbackGroup::CallBackLater).map(|(i, o)| item(i, &o.label)));
    frame.render_widget(Paragraph::new(n_lines), nl);
    frame.render_widget(Paragraph::new(b_lines), nr);

    render_input(frame, remarks_area, "Remarks", &f.remarks, f.focus == Field::Remarks, Some(REMARKS_MAX));
    if f.manual {
        render_input(frame, duration_area, "Duration (s)", &f.duration, f.focus == Field::Duration, None);
    }
    let status = if f.saving {
        Line::styled("Saving…", Style::default().fg(Color::Cyan))
    } else if let Some(e) = &f.error {
        Line::styled(format!("✗ {e}"), Style::default().fg(Color::White).bg(Color::Red))
    } else {
        let chosen = f
            .chosen
            .and_then(|i| app.catalog.all().get(i))
            .map_or("none yet".to_string(), |o| format!("{} › {}", o.group.label(), o.label));
        Line::from(vec![Span::styled("Outcome: ", dim()), Span::raw(chosen)])
    };
    frame.render_widget(Paragraph::new(status), error_area);
    let key = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let last = outcome_key(app.catalog.all().len().saturating_sub(1)).unwrap_or('a');
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(format!("a–{last}"), key),
            Span::raw(" outcome · "),
            Span::styled("Enter", key),
            Span::raw(" save · "),
            Span::styled("Ctrl+N", key),
            Span::raw(" save & call next · "),
            Span::styled("Tab", key),
            Span::raw(" field · "),
            Span::styled("Esc", key),
            Span::raw(" later"),
        ])),
        keys_area,
    );
}

/// One text field: label, the part of the value that fits (scrolled with the cursor), an optional
/// counter, and the terminal cursor when it has focus.
fn render_input(frame: &mut Frame, area: Rect, label: &str, input: &Input, focused: bool, max: Option<usize>) {
    let label_w = label.chars().count() as u16 + 2;
    let counter = max.map(|m| format!(" {}/{m}", input.value().chars().count())).unwrap_or_default();
    let width = usize::from(area.width.saturating_sub(label_w + 10).max(1));
    let scroll = input.visual_scroll(width);
    let shown: String = strip_controls(input.value()).chars().skip(scroll).take(width).collect();
    let field_style =
        if focused { Style::default().bg(Color::Indexed(238)) } else { Style::default().bg(Color::Indexed(235)) };
    let pad = width.saturating_sub(shown.chars().count());
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!("{label}: "),
                if focused { Style::default().add_modifier(Modifier::BOLD) } else { dim() },
            ),
            Span::styled(format!("{shown}{}", " ".repeat(pad)), field_style),
            Span::styled(counter, dim()),
        ])),
        area,
    );
    if focused {
        let x = area.x + label_w + u16::try_from(input.visual_cursor().saturating_sub(scroll)).unwrap_or(0);
        frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
    }
}

/// `label` cut to `max` characters, ending in `…` when cut.
fn ellipsize(label: &str, max: usize) -> String {
    if label.chars().count() <= max || max < 2 {
        return label.to_string();
    }
    let mut s: String = label.chars().take(max - 1).collect();
    s.push('…');
    s
}
