//! The queue pane: the caller's due drivers, callbacks first. Only visible rows are drawn.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::{dim, selected_style, when};
use crate::console::state::App;
use crate::domain::text::strip_controls;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let q = &app.queue;
    let mut title = vec![
        Span::styled(" Queue ", Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(format!("· {} due · {} queued ", q.due, q.total)),
    ];
    if q.filtering || !q.filter.value().is_empty() {
        let cursor = if q.filtering { "▏" } else { "" };
        title.push(Span::styled(
            format!("· /{}{cursor} ", strip_controls(q.filter.value())),
            Style::default().fg(Color::Yellow),
        ));
    }
    let block = Block::default().borders(Borders::ALL).title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if q.rows.is_empty() {
        let msg = if q.loading {
            "Loading…"
        } else if q.filter.value().is_empty() {
            "Nobody is due right now. Import drivers with `calldesk import drivers FILE.csv`."
        } else {
            "No due driver matches the filter (Esc clears it)."
        };
        frame.render_widget(Paragraph::new(msg).style(dim()).wrap(ratatui::widgets::Wrap { trim: true }), inner);
        return;
    }
    let wide = inner.width >= 70;
    let visible = usize::from(inner.height.saturating_sub(1));
    let start = q.offset.min(q.rows.len().saturating_sub(1));
    let end = (start + visible).min(q.rows.len());
    let rows = q.rows[start..end].iter().enumerate().map(|(i, e)| {
        let mark = if e.is_callback() { "↺ " } else { "" };
        let mut cells = vec![
            Cell::from(format!("{mark}{}", strip_controls(&e.name))),
            Cell::from(e.mobile.clone()),
            Cell::from(strip_controls(e.tmid.as_deref().unwrap_or(""))),
        ];
        if wide {
            cells.push(Cell::from(strip_controls(e.city.as_deref().unwrap_or(""))));
        }
        cells.push(Cell::from(e.attempts.to_string()));
        cells.push(Cell::from(when(e.due_at.and_utc(), app.now, app.tz)));
        if wide {
            cells.push(Cell::from(strip_controls(e.last_outcome.as_deref().unwrap_or(""))));
        }
        let mut row = Row::new(cells);
        if e.is_callback() {
            row = row.style(Style::default().fg(Color::Yellow));
        }
        if start + i == q.selected {
            row = row.style(selected_style());
        }
        row
    });
    let (header, widths): (Vec<&str>, Vec<Constraint>) = if wide {
        (
            vec!["Name", "Mobile", "TMID", "City", "Try", "Due", "Last outcome"],
            vec![
                Constraint::Min(14),
                Constraint::Length(13),
                Constraint::Length(9),
                Constraint::Length(10),
                Constraint::Length(3),
                Constraint::Length(12),
                Constraint::Min(10),
            ],
        )
    } else {
        (
            vec!["Name", "Mobile", "TMID", "Try", "Due"],
            vec![
                Constraint::Min(10),
                Constraint::Length(12),
                Constraint::Length(8),
                Constraint::Length(3),
                Constraint::Length(5),
            ],
        )
    };
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)))
        .column_spacing(1);
    frame.render_widget(table, inner);
}
