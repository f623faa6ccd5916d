//! The call log: this caller's calls, newest first, filtered by status, outcome and dates.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Table};

use crate::console::state::App;
use crate::domain::phone::readable;
use crate::domain::text::{plural, strip_controls};
use crate::tui::columns::{Column, fit, widest};
use crate::tui::format::{duration, when};
use crate::tui::keys::{Command, Context, key};
use crate::tui::widgets::{REC, dim, more_below, rec_style, selected_style, status_style};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let v = &app.call_log;
    let mut block = Block::default().borders(Borders::ALL).title(title(app));
    // The filtered total is counted: the rows after the last one shown are known.
    let end =
        (v.offset.min(v.rows.len().saturating_sub(1)) + usize::from(area.height.saturating_sub(3))).min(v.rows.len());
    let below = (v.rows.len() - end).max(usize::try_from(v.total).unwrap_or(0).saturating_sub(end));
    if let Some(more) = more_below(if v.rows.is_empty() { 0 } else { below }, false) {
        block = block.title_bottom(more);
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if v.rows.is_empty() {
        let msg = if v.loading { "Loading…".to_string() } else { no_match() };
        frame.render_widget(Paragraph::new(msg).style(dim()), inner);
        return;
    }
    let visible = usize::from(inner.height.saturating_sub(1));
    let start = v.offset.min(v.rows.len().saturating_sub(1));
    let end = (start + visible).min(v.rows.len());
    frame.render_widget(table(app, start, end, inner.width), inner);
}

/// The count and the filters in force.
fn title(app: &App) -> Line<'static> {
    let v = &app.call_log;
    let feedback = v.feedback.and_then(|i| app.catalog.all().get(i)).map_or("any outcome", |o| o.label.as_str());
    Line::from(vec![
        Span::styled(" Call log ", Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(format!(
            "· {} · status: {} · outcome: {} · {} ",
            plural(v.total, "call"),
            v.status.as_deref().unwrap_or("any"),
            feedback,
            v.range.label()
        )),
        Span::styled(
            v.text.as_deref().map(|t| format!("· “{}” ", crate::domain::text::strip_controls(t))).unwrap_or_default(),
            Style::default().fg(ratatui::style::Color::Yellow),
        ),
    ])
}

/// The rows `start..end` as a table fitted to `width`.
fn table(app: &App, start: usize, end: usize, width: u16) -> Table<'static> {
    let v = &app.call_log;
    let shown = &v.rows[start..end];
    let at: Vec<String> = shown.iter().map(|c| when(c.created_at, app.now, app.tz)).collect();
    let names: Vec<String> = shown.iter().map(|c| strip_controls(c.driver_name.as_deref().unwrap_or(""))).collect();
    let mobiles: Vec<String> = shown.iter().map(|c| readable(c.driver_mobile.as_deref().unwrap_or(""))).collect();
    let talk: Vec<String> = shown.iter().map(|c| duration(c.call_duration.unwrap_or(0))).collect();
    let cols = [
        Column::whole("When", widest(at.iter().map(String::as_str))),
        // On a narrow terminal the type, the rec mark and the remarks go before a name is cut.
        Column::flex("Driver", 10, None).wants(widest(names.iter().map(String::as_str))).whole_before(2),
        Column::whole("Mobile", widest(mobiles.iter().map(String::as_str))),
        Column::fixed("Type", 6, 1),
        Column::whole("Status", 9),
        Column::fixed("Talk", widest(talk.iter().map(String::as_str)), 3),
        // `rec`: TeleCMI recorded the call (`calldesk recording ID -o FILE` fetches it).
        Column::fixed("Rec", 3, 1),
        Column::flex("Outcome", 14, Some(2)).wants(widest(shown.iter().map(|c| c.feedback.as_deref().unwrap_or("")))),
        Column::flex("Remarks", 10, Some(0)).wants(widest(shown.iter().map(|c| c.remarks.as_deref().unwrap_or("")))),
    ];
    let fitted = fit(&cols, width, 1);
    let cells = at.into_iter().zip(talk).zip(mobiles.into_iter().zip(names));
    let rows: Vec<_> = shown
        .iter()
        .zip(cells)
        .enumerate()
        .map(|(i, (c, ((at, talk), (mobile, name))))| {
            let st = c.call_status();
            let row = fitted.row(vec![
                at.into(),
                name.into(),
                mobile.into(),
                c.call_type.clone().unwrap_or_default().into(),
                Span::styled(st.as_str(), status_style(st)).into(),
                talk.into(),
                if v.recorded.contains(&c.id) { Span::styled(REC, rec_style()).into() } else { "".into() },
                strip_controls(c.feedback.as_deref().unwrap_or("—")).into(),
                strip_controls(c.remarks.as_deref().unwrap_or("")).into(),
            ]);
            if start + i == v.selected { row.style(selected_style()) } else { row }
        })
        .collect();
    let header = fitted.header(&cols).style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    Table::new(rows, fitted.constraints()).header(header).column_spacing(1)
}

/// `No calls match. s, f, d and t change the filters.`, the keys from the table.
fn no_match() -> String {
    let [s, f, d, t] =
        [Command::CycleStatusFilter, Command::CycleFeedbackFilter, Command::CycleDateFilter, Command::SearchCallLog]
            .map(|c| key(Context::CallLog, c));
    format!("No calls match. {s}, {f}, {d} and {t} change the filters.")
}
