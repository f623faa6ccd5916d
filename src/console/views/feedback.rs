//! The wrap-up form: the outcome list, the remarks and (manual calls) the duration, each in its own
//! box; the focused box is drawn thick and bright with a ▶ in its title, and holds the cursor.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};
use tui_input::Input;

use crate::console::state::{App, FeedbackForm, Field};
use crate::domain::feedback::outcome_key;
use crate::domain::phone::readable;
use crate::domain::text::strip_controls;
use crate::domain::{FeedbackCatalog, FeedbackGroup};
use crate::tui::format::clock;
use crate::tui::hints::hint_spans;
use crate::tui::keys::{Command, Context, shown};
use crate::tui::widgets::{centered, dim, status_style};

/// Narrowest column of outcomes.
const MIN_CELL: u16 = 21;

pub fn render(app: &App, f: &FeedbackForm, frame: &mut Frame) {
    let cells = cells(&app.catalog);
    let width = frame.area().width.min(120);
    let facts = facts_line(app, f);
    // Everything but the list: borders, facts, the list's own border, text fields, two lines.
    let chrome = 2 + u16::from(facts.is_some()) + 2 + 3 + 2;
    let cols = columns(width.saturating_sub(4), frame.area().height.saturating_sub(chrome), cells.len());
    let list_rows = u16::try_from(cells.len().div_ceil(cols)).unwrap_or(u16::MAX);
    let height = chrome + list_rows;
    let area = centered(frame.area(), width, height);
    frame.render_widget(Clear, area);
    let block = Block::default().borders(Borders::ALL).border_style(Style::default().fg(Color::Cyan)).title(title(f));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [facts_area, list_area, text_area, status_area, keys_area] = Layout::vertical([
        Constraint::Length(u16::from(facts.is_some())),
        Constraint::Min(3),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    if let Some(line) = facts {
        frame.render_widget(Paragraph::new(line), facts_area);
    }
    render_outcomes(app, f, &cells, cols, frame, list_area);
    render_text_fields(app, f, frame, text_area);
    frame.render_widget(Paragraph::new(status_line(app, f)), status_area);
    frame.render_widget(Paragraph::new(tab_line(f, keys_area.width)), keys_area);
}

fn title(f: &FeedbackForm) -> Line<'static> {
    let c = &f.call;
    let st = c.call_status();
    let bold = Style::default().add_modifier(Modifier::BOLD);
    Line::from(vec![
        Span::styled(" Wrap-up: ", bold),
        Span::styled(strip_controls(c.driver_name.as_deref().unwrap_or("?")), bold),
        Span::raw(format!(" · {} · ", readable(c.driver_mobile.as_deref().unwrap_or("")))),
        Span::styled(st.as_str(), status_style(st)),
        Span::raw(if f.manual {
            " · manual ".to_string()
        } else {
            format!(" · talk {} ", clock(c.call_duration.unwrap_or(0)))
        }),
    ])
}

/// What the facts say about the call, and which outcomes they rule out.
fn facts_line(app: &App, f: &FeedbackForm) -> Option<Line<'static>> {
    let connected_off =
        app.catalog.indexed(FeedbackGroup::Connected).next().and_then(|(i, _)| f.refusal(&app.catalog, i));
    let mut spans = Vec::new();
    if let Some(s) = f.end.sentence() {
        spans.push(Span::styled(s, status_style(f.call.call_status()).add_modifier(Modifier::BOLD)));
    }
    if let Some(why) = connected_off {
        spans.push(Span::styled(format!(" Connected outcomes off: {why}."), dim()));
    }
    (!spans.is_empty()).then(|| Line::from(spans))
}

/// One entry of the outcome list: a group heading or an outcome (its catalogue index).
#[derive(Debug, Clone, Copy)]
enum Cell {
    Heading(FeedbackGroup),
    Outcome(usize),
}

fn cells(catalog: &FeedbackCatalog) -> Vec<Cell> {
    FeedbackGroup::ALL
        .iter()
        .flat_map(|g| std::iter::once(Cell::Heading(*g)).chain(catalog.indexed(*g).map(|(i, _)| Cell::Outcome(i))))
        .collect()
}

/// Two columns when they fit the height (full labels), else as many as fit the width, up to three.
fn columns(width: u16, height: u16, n: usize) -> usize {
    let widest = usize::from((width / MIN_CELL).clamp(1, 3)).min(n.max(1));
    (2..=widest).find(|c| n.div_ceil(*c) <= usize::from(height)).unwrap_or(widest)
}

fn render_outcomes(app: &App, f: &FeedbackForm, cells: &[Cell], cols: usize, frame: &mut Frame, area: Rect) {
    let focused = f.focus == Field::Outcome;
    let list = Context::FeedbackList;
    let (arrows, pick) =
        (shown(list, &[Command::SelectPrev, Command::SelectNext]), shown(list, &[Command::PickHighlighted]));
    let hint = if !focused {
        format!("{} here to change", shown(Context::Feedback, &[Command::PrevField]))
    } else if f.chosen.is_some() {
        let clear = shown(list, &[Command::ClearOutcome]);
        format!("typing goes to remarks · {arrows} {pick} or Alt+letter change it · {clear} clears")
    } else {
        format!("press a letter · or {arrows} and {pick}")
    };
    let block = field_block(Field::Outcome.label(), &hint, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = cells.len().div_ceil(cols);
    let visible = usize::from(inner.height).max(1);
    // Keep the highlighted outcome on screen when the list is taller than the box.
    let cursor_row = cells.iter().position(|c| matches!(c, Cell::Outcome(i) if *i == f.cursor)).map_or(0, |p| p % rows);
    let skip = cursor_row.saturating_sub(visible - 1);
    let col_areas = Layout::horizontal(vec![Constraint::Ratio(1, cols as u32); cols]).split(inner);
    for (c, col_area) in col_areas.iter().enumerate() {
        let width = usize::from(col_area.width.saturating_sub(1));
        let lines: Vec<Line> =
            cells.iter().skip(c * rows).take(rows).skip(skip).map(|cell| cell_line(app, f, *cell, width)).collect();
        frame.render_widget(Paragraph::new(lines), *col_area);
    }
}

fn cell_line(app: &App, f: &FeedbackForm, cell: Cell, width: usize) -> Line<'static> {
    let i = match cell {
        Cell::Heading(g) => {
            return Line::styled(g.label(), Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
        }
        Cell::Outcome(i) => i,
    };
    let label = app.catalog.all().get(i).map_or("", |o| o.label.as_str());
    let refused = f.refusal(&app.catalog, i).is_some();
    let mut style = Style::default();
    let mut mark = "  ";
    if f.chosen == Some(i) {
        style = style.fg(Color::Black).bg(Color::Green).add_modifier(Modifier::BOLD);
        mark = "✓ ";
    } else if refused {
        style = dim().add_modifier(Modifier::CROSSED_OUT);
    }
    if f.focus == Field::Outcome && f.cursor == i {
        style = style.add_modifier(Modifier::REVERSED);
    }
    let key = match outcome_key(i) {
        Some(k) => format!("{k} "),
        // The one outcome without a letter is picked by its chord, shown from the key table.
        None if app.catalog.do_not_call().is_some_and(|(d, _)| d == i) => {
            format!("{} ", shown(Context::Feedback, &[Command::PickDoNotCall]))
        }
        None => "  ".to_string(),
    };
    let room = width.saturating_sub(key.chars().count() + 2);
    let key_style = if refused { dim() } else { Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD) };
    Line::from(vec![
        Span::styled(key, key_style),
        Span::styled(format!("{mark}{}", ellipsize_middle(label, room)), style),
    ])
}

/// A field's box: thick, bright and marked ▶ when it has focus; thin and grey when not.
fn field_block(label: &str, hint: &str, focused: bool) -> Block<'static> {
    let (title, border, title_style, kind) = if focused {
        (
            format!(" ▶ {label} "),
            Style::default().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::default().fg(Color::Black).bg(Color::Cyan).add_modifier(Modifier::BOLD),
            BorderType::Thick,
        )
    } else {
        (format!(" {label} "), dim(), dim(), BorderType::Plain)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(kind)
        .border_style(border)
        .title(Line::from(vec![Span::styled(title, title_style), Span::styled(format!(" {hint} "), dim())]))
}

fn render_text_fields(app: &App, f: &FeedbackForm, frame: &mut Frame, area: Rect) {
    let [remarks, duration] = if f.manual {
        Layout::horizontal([Constraint::Min(20), Constraint::Length(24)]).areas(area)
    } else {
        Layout::horizontal([Constraint::Min(20), Constraint::Length(0)]).areas(area)
    };
    let count = format!("{}/{}", f.remarks.value().chars().count(), f.remarks_max());
    render_input(frame, remarks, Field::Remarks.label(), &count, &f.remarks, f.focus == Field::Remarks);
    if f.manual {
        // Nobody talked on a Not Connected call: its talk time is saved as 0 whatever the box holds.
        let not_connected = f.chosen_group(&app.catalog) == Some(crate::domain::FeedbackGroup::NotConnected);
        let hint = if not_connected { "→ 0" } else { "" };
        render_input(frame, duration, "Duration (s)", hint, &f.duration, f.focus == Field::Duration);
    }
}

/// One text field in its box: the part of the value that fits (scrolled with the cursor), and the
/// terminal cursor when it has focus.
fn render_input(frame: &mut Frame, area: Rect, label: &str, hint: &str, input: &Input, focused: bool) {
    let block = field_block(label, hint, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width.saturating_sub(1).max(1));
    let scroll = input.visual_scroll(width);
    let shown: String = strip_controls(input.value()).chars().skip(scroll).take(width).collect();
    frame.render_widget(Paragraph::new(shown), inner);
    if focused {
        let x = inner.x + u16::try_from(input.visual_cursor().saturating_sub(scroll)).unwrap_or(0);
        frame.set_cursor_position((x.min(inner.right().saturating_sub(1)), inner.y));
    }
}

fn status_line(app: &App, f: &FeedbackForm) -> Line<'static> {
    if f.saving && !app.waiting.contains_key(&f.call.id) {
        return Line::styled("Saving…", Style::default().fg(Color::Cyan));
    }
    if let Some(q) = f.error.as_deref().and_then(|e| e.strip_prefix(crate::console::wrapup::QUESTION)) {
        return Line::styled(format!("? {q}"), Style::default().fg(Color::Black).bg(Color::Yellow));
    }
    if let Some(e) = &f.error {
        return Line::styled(format!("✗ {e}"), Style::default().fg(Color::White).bg(Color::Red));
    }
    if let Some(w) = app.waiting.get(&f.call.id) {
        return Line::styled(format!("⧗ {}", w.line()), Style::default().fg(Color::Black).bg(Color::Yellow));
    }
    if !f.ignored.is_empty() {
        // Keys typed as the form opened by itself, shown so the agent knows they did nothing.
        return Line::styled(
            format!("Ignored {} (typed as this form opened by itself): type again.", f.ignored),
            Style::default().fg(Color::Black).bg(Color::Yellow),
        );
    }
    match f.chosen.and_then(|i| app.catalog.all().get(i)) {
        Some(o) => {
            let mut spans = vec![
                Span::styled("Outcome: ", dim()),
                Span::styled(
                    format!("{} › {}", o.group.label(), o.label),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
            ];
            // First, so it shows at 80 columns: this outcome ends the driver's tries.
            if let Some(n) = f.attempts.filter(|n| app.catalog.exhausts_attempts(&o.label, *n)) {
                spans.push(Span::raw("  "));
                spans.push(Span::styled(
                    format!("⚠ last try ({n}/{}): leaves queue", app.catalog.retry.max_attempts),
                    Style::default().fg(Color::Black).bg(Color::Yellow),
                ));
            }
            spans.push(Span::styled(if f.preselected { "  (from the call's facts)" } else { "" }, dim()));
            Line::from(spans)
        }
        None => Line::from(vec![
            Span::styled("Outcome: ", dim()),
            Span::styled("none picked yet", Style::default().fg(Color::Yellow)),
        ]),
    }
}

/// The fixed Tab order with the current field marked, then the form's keys when they fit (the
/// footer lists them too).
fn tab_line(f: &FeedbackForm, width: u16) -> Line<'static> {
    let key = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let mut spans = vec![Span::styled(shown(Context::Feedback, &[Command::NextField]), key), Span::raw(": ")];
    for (n, field) in f.fields().iter().enumerate() {
        if n > 0 {
            spans.push(Span::styled(" › ", dim()));
        }
        if *field == f.focus {
            let style = Style::default().fg(Color::Cyan).add_modifier(Modifier::BOLD);
            spans.push(Span::styled(format!("[{}]", field.label()), style));
        } else {
            spans.push(Span::styled(field.label(), dim()));
        }
    }
    let form = Context::Feedback;
    let keys = hint_spans(
        &[
            (form, &[Command::SaveFeedback], None),
            (form, &[Command::SaveAndCallNext], None),
            (form, &[Command::Close], None),
        ],
        true,
    );
    let len = |s: &[Span]| s.iter().map(|s| s.content.chars().count()).sum::<usize>();
    if len(&spans) + len(&keys) <= usize::from(width) {
        spans.extend(keys);
    }
    Line::from(spans)
}

/// `label` cut to `max` characters by dropping its middle and keeping a "(…)" ending whole, so
/// "(Today)" and "(Tomorrow)" stay told apart.
fn ellipsize_middle(label: &str, max: usize) -> String {
    let n = label.chars().count();
    if n <= max || max < 5 {
        return label.to_string();
    }
    let paren = label.rfind(" (").filter(|_| label.ends_with(')')).map(|i| label[i + 1..].chars().count());
    let tail = match paren {
        Some(p) if p + 4 <= max => p,
        _ => (max - 1) / 2,
    };
    let head = max - 1 - tail;
    let start: String = label.chars().take(head).collect();
    let end: String = label.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}
