//! The board of agents: alerts first (`⚠`, red), then everyone by name; per agent the state and
//! for how long, today's calls, connects, positive outcomes against target, talk and break time,
//! who they are with and their queue. Only the rows that fit are drawn, the selected one always.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Table};

use super::{alert_style, time_style};
use crate::domain::text::strip_controls;
use crate::store::AgentDay;
use crate::supervise::board;
use crate::supervise::snapshot::{AgentRow, AgentState};
use crate::supervise::state::SuperView;
use crate::tui::columns::{Column, Fitted, fit, widest};
use crate::tui::format::duration;
use crate::tui::widgets::{dim, more_below, selected_style};

/// The columns, the least important dropped first on a narrow terminal: the queue's, then who
/// the agent is with, then today's numbers; the agent, their state and its time always stay.
fn columns(names: &[String], with: u16) -> [Column; 12] {
    [
        Column::flex("Agent", 12, None).wants(widest(names.iter().map(String::as_str))),
        Column::whole("State", 9),
        Column::whole("For", 7),
        Column::fixed("Calls", 5, 7),
        Column::fixed("Conn", 4, 6),
        Column::fixed("Target", 6, 8),
        Column::fixed("Talk", 7, 5),
        Column::fixed("Breaks", 7, 4),
        Column::flex("With", 10, Some(3)).wants(with),
        Column::fixed("Due", 4, 2),
        Column::fixed("CB due", 6, 0),
        Column::fixed("Queued", 6, 1),
    ]
}

pub fn render(v: &SuperView, frame: &mut Frame, area: Rect) {
    let rows = &v.snapshot.agents;
    let order = board::order(rows, v.now, v.alerts);
    let alerts = board::alert_count(rows, v.now, v.alerts);
    let mut title =
        vec![Span::styled(format!(" Agents · {} ", rows.len()), Style::default().add_modifier(Modifier::BOLD))];
    if alerts > 0 {
        title.push(Span::styled(format!("⚠ {alerts} "), alert_style()));
    }
    // The team pool (drivers of no agent, offered to all after their own): its own count, as
    // the agents' Due columns count only their own drivers.
    if let Some((_, due, _, queued)) = v.snapshot.queue_sizes.iter().find(|(c, ..)| *c == crate::store::POOL)
        && *queued > 0
    {
        title.push(Span::raw(format!("· team pool {due} due of {queued} ")));
    }
    let block = Block::default().borders(Borders::ALL).title(Line::from(title));
    let inner = block.inner(area);
    let visible = usize::from(inner.height.saturating_sub(1));
    let first = board::first_shown(board::position(rows, &order, v.selected), visible);
    let shown: Vec<&AgentRow> = order.iter().skip(first).take(visible).filter_map(|i| rows.get(*i)).collect();
    let block = match more_below(order.len().saturating_sub(first + shown.len()), false) {
        Some(note) => block.title_bottom(note),
        None => block,
    };
    // Scrolled past the top: the rows above are counted, and the alerts among them (they are
    // listed first) stay in sight as a red note.
    let block = match (first, alerts.min(first)) {
        (0, _) => block,
        (n, 0) => {
            block.title(Line::styled(format!(" ↑ {n} more "), Style::default().fg(Color::Yellow)).right_aligned())
        }
        (n, hidden) => {
            block.title(Line::styled(format!(" ↑ {n} more · ⚠ {hidden} above "), alert_style()).right_aligned())
        }
    };
    frame.render_widget(block, area);
    let names: Vec<String> =
        shown.iter().map(|a| format!("{} ({})", strip_controls(&a.caller.name), a.caller.id)).collect();
    let with = widest(shown.iter().map(|a| with_text(a)));
    let cols = columns(&names, with);
    let fitted = fit(&cols, inner.width, 1);
    let name_width = usize::from(fitted.widths.first().copied().unwrap_or(0));
    let table_rows = shown.iter().map(|a| {
        let row = fitted.row(cells(v, a, fit_name(&a.caller.name, a.caller.id, name_width)));
        if Some(a.caller.id) == v.selected { row.style(selected_style()) } else { row }
    });
    let header = fitted.header(&cols).style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    frame.render_widget(Table::new(table_rows, Fitted::constraints(&fitted)).header(header).column_spacing(1), inner);
}

/// `Name (id)` in `width` cells: a name too long is cut (`Amit Kumar Sri… (6)`), never the id,
/// so two agents with the same first letters stay apart.
pub fn fit_name(name: &str, id: i64, width: usize) -> String {
    let name = strip_controls(name);
    let suffix = format!(" ({id})");
    let room = width.saturating_sub(suffix.chars().count());
    if name.chars().count() <= room {
        return format!("{name}{suffix}");
    }
    let cut: String = name.chars().take(room.saturating_sub(1)).collect();
    format!("{}…{suffix}", cut.trim_end())
}

/// Who the agent is with: the break's reason on a break, else the driver of their call.
fn with_text(a: &AgentRow) -> &str {
    a.break_reason.as_deref().or_else(|| a.current.as_ref().and_then(|c| c.driver_name.as_deref())).unwrap_or("")
}

fn state_style(state: AgentState) -> Style {
    match state {
        AgentState::OnCall => Style::default().fg(Color::Green).add_modifier(Modifier::BOLD),
        AgentState::WrapUp => Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        AgentState::Idle => Style::default(),
        AgentState::Offline => dim(),
        AgentState::Break => Style::default().fg(Color::Magenta).add_modifier(Modifier::BOLD),
    }
}

/// One agent's cells, one per column.
fn cells<'a>(v: &SuperView, a: &'a AgentRow, name: String) -> Vec<Text<'a>> {
    let secs = a.since.map_or(0, |s| (v.now - s).num_seconds());
    let alerted = board::alerted(a, v.now, v.alerts);
    let (state, style) = if alerted {
        (format!("⚠ {}", a.state.label()), alert_style())
    } else {
        (a.state.label().to_string(), state_style(a.state))
    };
    let time_style = if alerted { alert_style() } else { time_style(a.state, secs) };
    let time = if a.since.is_some() { duration(secs) } else { "—".into() };
    let with = if a.break_reason.is_some() {
        Span::styled(strip_controls(with_text(a)), style)
    } else {
        Span::raw(strip_controls(with_text(a)))
    };
    let [calls, connected, target, talk] = today_cells(v.snapshot.today_of(a.caller.id));
    vec![
        name.into(),
        Span::styled(state, style).into(),
        Span::styled(time, time_style).into(),
        calls.into(),
        connected.into(),
        target.into(),
        talk.into(),
        if a.break_secs > 0 { duration(a.break_secs) } else { "—".into() }.into(),
        with.into(),
        a.due.to_string().into(),
        a.callbacks_due.to_string().into(),
        a.queued.to_string().into(),
    ]
}

/// Calls, connected, positive against target (`3/10`, `3/—` without one) and talk time today;
/// dashes until the first read of the day's numbers.
fn today_cells(day: Option<&AgentDay>) -> [String; 4] {
    let Some(d) = day else { return ["—".into(), "—".into(), "—".into(), "—".into()] };
    let target = d.target.map_or("—".to_string(), |t| t.to_string());
    let talk = if d.talk_secs > 0 { duration(d.talk_secs) } else { "—".into() };
    [d.calls.to_string(), d.connected.to_string(), format!("{}/{target}", d.positive), talk]
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cut_name_keeps_its_id() {
        use super::fit_name;
        assert_eq!(fit_name("Pooja", 3, 15), "Pooja (3)");
        assert_eq!(fit_name("Amit Kumar Srivastava", 6, 15), "Amit Kumar… (6)");
        assert_eq!(fit_name("Agent with a long name 1", 11, 15), "Agent wit… (11)");
    }
}
