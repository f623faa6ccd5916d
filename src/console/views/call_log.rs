//! The call log: this caller's calls, newest first, filtered by status, outcome and dates.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::{clock, dim, selected_style, status_style, when};
use crate::console::state::App;
use crate::domain::text::strip_controls;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let v = &app.call_log;
    let feedback = v.feedback.and_then(|i| app.catalog.all().get(i)).map_or("any outcome", |o| o.label.as_str());
    let title = Line::from(vec![
        Span::styled(" Call log ", Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(format!(
            "· {} call(s) · status: {} · outcome: {} · {} ",
            v.total,
            v.status.as_deref().unwrap_or("any"),
            feedback,
            v.range.label()
        )),
    ]);
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if v.rows.is_empty() {
        let msg = if v.loading { "Loading…" } else { "No calls match. s, f and d change the filters." };
        frame.render_widget(Paragraph::new(msg).style(dim()), inner);
        return;
    }
    let visible = usize::from(inner.height.saturating_sub(1));
    let start = v.offset.min(v.rows.len().saturating_sub(1));
    let end = (start + visible).min(v.rows.len());
    let rows = v.rows[start..end].iter().enumerate().map(|(i, c)| {
        let st = c.call_status();
        let row = Row::new(vec![
            Cell::from(when(c.created_at, app.now, app.tz)),
            Cell::from(strip_controls(c.driver_name.as_deref().unwrap_or(""))),
            Cell::from(c.driver_mobile.clone().unwrap_or_default()),
            Cell::from(c.call_type.clone().unwrap_or_default()),
            Cell::from(Span::styled(st.as_str(), status_style(st))),
            Cell::from(clock(c.call_duration.unwrap_or(0))),
            Cell::from(strip_controls(c.feedback.as_deref().unwrap_or("—"))),
            Cell::from(strip_controls(c.remarks.as_deref().unwrap_or(""))),
        ]);
        if start + i == v.selected { row.style(selected_style()) } else { row }
    });
    let widths = [
        Constraint::Length(12),
        Constraint::Min(12),
        Constraint::Length(13),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Min(14),
        Constraint::Min(10),
    ];
    let header = Row::new(["When", "Driver", "Mobile", "Type", "Status", "Talk", "Outcome", "Remarks"])
        .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    frame.render_widget(Table::new(rows, widths).header(header).column_spacing(1), inner);
}
