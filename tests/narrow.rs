//! Narrow terminals: a phone number is never cut (other columns shrink or go first), and a
//! pending wrap-up stays visible in the status bar down to 70 columns.

mod common;

use chrono::Duration;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use calldesk::console::action::Action;
use calldesk::console::state::{App, FeedbackForm, Modal, Screen};
use calldesk::console::update::update;
use calldesk::console::views::render;
use calldesk::domain::{CallStatus, FeedbackCatalog};
use common::fixtures::{call, entry, identity, ist, now};

fn draw(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| render(app, f)).expect("draw");
    t.backend().to_string()
}

/// Drivers with the demo's 12-digit mobiles (`9190000000NN`), long names and cities.
fn app(w: u16, h: u16) -> App {
    let mut app = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    update(&mut app, Action::Resize { width: w, height: h });
    app.queue.generation = 1;
    let rows: Vec<_> = (0..30)
        .map(|i| {
            let mut e = entry(i);
            e.mobile = format!("9190000000{i:02}");
            e.name = format!("Ramesh Kumar Yadav {i}");
            e.city = Some("Visakhapatnam".into());
            e.tmid = Some(format!("TMID-{i:04}"));
            e.last_outcome = (i % 3 == 0).then(|| "Call Tomorrow Morning".to_string());
            e
        })
        .collect();
    update(&mut app, Action::QueueLoaded { generation: 1, append: false, rows, due: 30, total: 30, limit: 200 });
    app.last_webhook = Some(now() - Duration::seconds(12));
    app
}

/// Every phone number on screen (`+91` and what follows) is whole, as people dial it:
/// `+91 90000 00012`; at least `min_seen` of them.
fn assert_whole(screen: &str, min_seen: usize, what: &str) {
    let numbers: Vec<String> =
        screen.match_indices("+91").map(|(i, _)| screen[i..].chars().take(15).collect()).collect();
    for n in &numbers {
        let shape: String = n.chars().map(|c| if c.is_ascii_digit() { '9' } else { c }).collect();
        assert_eq!(shape, "+99 99999 99999", "{what}: {n} is a cut number:\n{screen}");
    }
    assert!(numbers.len() >= min_seen, "{what}: only {} numbers on screen:\n{screen}", numbers.len());
}

#[test]
fn queue_mobiles_are_whole_at_70x20_and_80x24() {
    for (w, h) in [(70, 20), (80, 24)] {
        let a = app(w, h);
        let screen = draw(&a, w, h);
        assert_whole(&screen, usize::from(h) - 6, &format!("queue {w}×{h}"));
        insta::assert_snapshot!(format!("queue_{w}x{h}"), screen);
    }
}

#[test]
fn queue_at_120_columns_keeps_every_column() {
    let screen = draw(&app(120, 30), 120, 30);
    for header in ["Name", "Mobile", "TMID", "City", "Try", "Due", "Last outcome"] {
        assert!(screen.contains(header), "{header}:\n{screen}");
    }
}

#[test]
fn call_log_mobiles_are_whole_at_70x20() {
    let mut a = app(70, 20);
    update(&mut a, Action::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('2'))));
    let g = a.call_log.generation;
    let rows: Vec<_> = (0..6)
        .map(|i| {
            let mut c = call(20 - i, i as usize, "telecmi", CallStatus::Completed);
            c.driver_mobile = Some(format!("9190000000{i:02}"));
            c.driver_name = Some("Ramesh Kumar Yadav".into());
            c.feedback = Some("Will Subscribe when I need Job".into());
            c.remarks = Some("asked about the salary and the route".into());
            c.call_duration = Some(i * 37);
            c.created_at = now() - Duration::minutes(i * 7);
            c
        })
        .collect();
    let recorded = [20].into();
    update(&mut a, Action::CallLogLoaded { generation: g, append: false, rows, total: 6, recorded });
    assert_eq!(a.screen, Screen::CallLog);
    let screen = draw(&a, 70, 20);
    assert_whole(&screen, 6, "call log 70×20");
    assert!(screen.contains("1m 14s"), "talk time has units:\n{screen}");
    insta::assert_snapshot!("call_log_70x20", screen);
}

fn status_bar(screen: &str) -> &str {
    screen.lines().rev().nth(2).unwrap_or_default()
}

#[test]
fn a_pending_wrap_up_survives_in_the_status_bar_at_70_80_and_120_columns() {
    for w in [70, 80, 120] {
        let mut a = app(w, 24);
        a.wrapups.push_back((call(10, 1, "manual", CallStatus::Initiated), None));
        let screen = draw(&a, w, 24);
        let bar = status_bar(&screen);
        assert!(bar.contains("1 wrap-up waiting: w"), "{w} columns: {bar}");
        assert!(bar.contains("Pooja (3)"), "{w} columns: {bar}");
        insta::assert_snapshot!(format!("status_bar_wrap_up_{w}"), bar);
    }
}

#[test]
fn the_status_bar_counts_wrap_ups_besides_the_open_one() {
    let mut a = app(120, 48);
    let open = call(10, 1, "manual", CallStatus::Initiated);
    a.wrapups.push_back((open.clone(), None));
    a.wrapups.push_back((call(11, 2, "telecmi", CallStatus::Missed), None));
    a.modal = Some(Modal::Feedback(Box::new(FeedbackForm::new(open, None, &a.catalog, Some(30)))));
    let screen = draw(&a, 120, 48);
    let bar = status_bar(&screen);
    assert!(bar.contains("1 more wrap-up after this one"), "{screen}");
    // The form's letters pick outcomes: no key is offered that would pick one (w is an outcome).
    assert!(!bar.contains(": w"), "{bar}");
}

#[test]
fn supervisor_live_mobiles_are_whole_at_80x24() {
    use calldesk::store::Caller;
    use calldesk::supervise::snapshot::{AgentRow, AgentState, Snapshot};
    use calldesk::supervise::state::SuperView;
    use calldesk::supervise::view::render;
    let live: Vec<_> = (0..3)
        .map(|i| {
            let mut c = call(30 + i, i as usize, "telecmi", CallStatus::Connected);
            c.driver_mobile = Some(format!("9190000000{i:02}"));
            c.driver_name = Some("Ramesh Kumar Yadav".into());
            c
        })
        .collect();
    let agents = (0..3)
        .map(|i| AgentRow {
            caller: Caller { id: 3 + i, name: format!("Agent with a long name {i}"), role: "agent".into() },
            state: AgentState::OnCall,
            since: Some(now() - Duration::seconds(75)),
            current: live.get(usize::try_from(i).unwrap_or(0)).cloned(),
            due: 12,
            callbacks_due: 2,
            queued: 40,
            break_reason: None,
            break_secs: 0,
        })
        .collect();
    let v = SuperView {
        snapshot: Snapshot { agents, live, taken_at: Some(now()), ..Snapshot::default() },
        ..SuperView::new(now(), ist(), "sqlite calldesk.db".into(), "Meera (9)".into())
    };
    let mut t = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    t.draw(|f| render(&v, f)).expect("draw");
    let screen = t.backend().to_string();
    assert_whole(&screen, 3, "supervisor 80×24");
    assert!(screen.contains("1m 15s"), "{screen}");
    insta::assert_snapshot!("supervisor_80x24", screen);
}
