//! Every pane and modal rendered into ratatui's `TestBackend` and compared with insta snapshots.
//! The clock and time zone are fixed, so the pictures are stable.

mod common;

use chrono::Duration;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use calldesk::console::action::Action;
use calldesk::console::state::{App, FeedbackForm, LiveCall, Modal};
use calldesk::console::update::update;
use calldesk::console::views::render;
use calldesk::coord::dialer::CallKind;
use calldesk::domain::wrapup::CallEnd;
use calldesk::domain::{CallStatus, CallingHours, FeedbackCatalog, RetryPolicy, Schedule};
use calldesk::store::{DayStats, FeedbackCount, Stats, StatsBundle, StatusCount, StoredEvent};
use common::fixtures::{call, entry, identity, ist, now};

fn draw(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| render(app, f)).expect("draw");
    t.backend().to_string()
}

fn app(allowed: bool, w: u16, h: u16) -> App {
    let mut app = App::new(identity(allowed), FeedbackCatalog::default(), now(), ist());
    update(&mut app, Action::Resize { width: w, height: h });
    app.queue.generation = 1;
    let mut rows: Vec<_> = (0..40).map(entry).collect();
    rows[0].priority = 0;
    rows[0].last_outcome = Some("Busy Right Now".into());
    rows[0].attempts = 1;
    rows[3].name = "Evil\u{1b}[2J\u{1b}[31mName".into();
    update(&mut app, Action::QueueLoaded { generation: 1, append: false, rows, due: 40, total: 52, limit: 200 });
    app.last_webhook = Some(now() - Duration::seconds(12));
    app
}

fn event(id: i64, secs: i64, leg: &str, kind: &str, status: &str) -> StoredEvent {
    StoredEvent {
        id,
        received_at: (now() + Duration::seconds(secs)).naive_utc(),
        call_log_id: Some(10),
        kind: kind.into(),
        leg: leg.into(),
        status: status.into(),
    }
}

fn with_live_call(app: &mut App) {
    let mut c = call(10, 1, "telecmi", CallStatus::Connected);
    c.telecmi_user_id = Some("5003_33336628".into());
    app.live = Some(LiveCall {
        call: c,
        kind: CallKind::Telecmi,
        events: vec![
            event(1, 1, "a", "event", "started"),
            event(2, 3, "a", "event", "answered"),
            event(3, 4, "b", "event", "started"),
            event(4, 9, "b", "event", "answered"),
        ],
        end: CallEnd::Unknown,
        ended_at: None,
    });
    app.now = now() + Duration::seconds(51);
    let mut done = call(9, 7, "telecmi", CallStatus::Completed);
    done.call_duration = Some(95);
    done.feedback = Some("Interview Fixed".into());
    app.recent.push_back(done);
    app.recent.push_back(call(8, 8, "manual", CallStatus::Missed));
}

#[test]
fn queue_and_idle_live_pane_80x24() {
    let mut a = app(true, 80, 24);
    a.queue.selected = 2;
    insta::assert_snapshot!(draw(&a, 80, 24));
}

#[test]
fn queue_and_live_call_120x40() {
    let mut a = app(true, 120, 40);
    with_live_call(&mut a);
    a.info("Calling Driver 1. Your phone will ring shortly. Answer to connect with the driver.");
    insta::assert_snapshot!(draw(&a, 120, 40));
}

#[test]
fn queue_filter_being_typed() {
    let mut a = app(true, 80, 24);
    a.queue.filtering = true;
    a.queue.filter = tui_input::Input::new("driver 1".into());
    insta::assert_snapshot!(draw(&a, 80, 24));
}

#[test]
fn call_dialog_allowed() {
    let mut a = app(true, 80, 24);
    update(&mut a, Action::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter)));
    assert!(matches!(a.modal, Some(Modal::CallDialog(_))));
    insta::assert_snapshot!(draw(&a, 80, 24));
}

#[test]
fn call_dialog_telecmi_refused() {
    let mut a = app(false, 80, 24);
    update(&mut a, Action::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter)));
    insta::assert_snapshot!(draw(&a, 80, 24));
}

/// The team calls 09:00–21:00 in Kolkata; drivers 1 and 2 live in New York.
fn app_with_hours(w: u16, h: u16) -> App {
    let mut a = app(true, w, h);
    let hours = CallingHours::parse("09:00-21:00").expect("hours");
    a.catalog = (*a.catalog).clone().with_rules(RetryPolicy::default(), Schedule::new(ist(), hours)).into();
    for r in &mut a.queue.rows[1..3] {
        r.timezone = Some("America/New_York".into());
    }
    a
}

#[test]
fn queue_shows_drivers_outside_their_hours_as_waiting() {
    // 11:30 in Kolkata is 01:00 in New York: drivers 1 and 2 wait for 09:00 their time.
    let mut a = app_with_hours(100, 16);
    a.queue.selected = 3;
    let screen = draw(&a, 100, 16);
    assert!(screen.contains("⏸ Driver 1") && screen.contains("waits 19:30"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn call_dialog_refused_outside_calling_hours() {
    // 23:30 in Kolkata: the team's window is closed too; the title says when it opens.
    let mut a = app_with_hours(80, 24);
    a.now = now() + Duration::hours(12);
    update(&mut a, Action::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter)));
    update(&mut a, Action::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('m'))));
    assert!(matches!(a.modal, Some(Modal::CallDialog(_))), "the dialog stays open with the reason");
    assert!(!a.dialing, "nothing was dialed");
    let screen = draw(&a, 80, 24);
    assert!(screen.contains("Outside calling hours"), "{screen}");
    insta::assert_snapshot!(screen);
}

/// A driver whose number is on the do-not-call list: the dialog says so, since when, by whom and
/// why, both kinds of call are off, and t / m refuse with the same words.
#[test]
fn call_dialog_refused_for_a_number_on_the_do_not_call_list() {
    let mut a = app(true, 80, 24);
    update(&mut a, Action::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter)));
    let entry = calldesk::store::DncEntry {
        number: entry(0).mobile,
        reason: Some("asked on call 7: works abroad now".into()),
        added_by: Some(3),
        added_by_name: "Pooja".into(),
        added_at: now() - Duration::days(2),
    };
    update(
        &mut a,
        Action::DoNotCallChecked { driver_id: "D0".into(), entry: Some(calldesk::store::DoNotCall::Listed(entry)) },
    );
    for key in ['t', 'm'] {
        let fx = update(&mut a, Action::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(key))));
        assert!(fx.is_empty(), "{key}: nothing is dialed: {fx:?}");
        assert!(matches!(a.modal, Some(Modal::CallDialog(_))), "the dialog stays, with the reason");
    }
    insta::assert_snapshot!(draw(&a, 80, 24));
}

fn form(a: &mut App, manual: bool) -> &mut FeedbackForm {
    let mut c = call(
        10,
        1,
        if manual { "manual" } else { "telecmi" },
        if manual { CallStatus::Initiated } else { CallStatus::Completed },
    );
    c.call_duration = Some(if manual { 0 } else { 42 });
    let f = FeedbackForm::new(c, None, &a.catalog, Some(75));
    a.modal = Some(Modal::Feedback(Box::new(f)));
    a.form_mut().expect("form")
}

#[test]
fn feedback_form_empty_manual_80x24() {
    let mut a = app(true, 80, 24);
    form(&mut a, true);
    insta::assert_snapshot!(draw(&a, 80, 24));
}

#[test]
fn feedback_form_filled_120x40() {
    let mut a = app(true, 120, 40);
    let f = form(&mut a, false);
    f.chosen = Some(12);
    f.cursor = 12;
    f.focus = calldesk::console::state::Field::Remarks;
    f.remarks = tui_input::Input::new("Interview Monday 10am at the Pune depot".into());
    insta::assert_snapshot!(draw(&a, 120, 40));
}

#[test]
fn feedback_form_save_failed() {
    let mut a = app(true, 100, 30);
    let f = form(&mut a, true);
    f.chosen = Some(19);
    f.remarks = tui_input::Input::new("switched off twice".into());
    update(&mut a, Action::FeedbackFailed("database unavailable: connection refused".into()));
    insta::assert_snapshot!(draw(&a, 100, 30));
}

#[test]
fn help_80x24_and_120x48() {
    let mut a = app(true, 80, 24);
    a.modal = Some(Modal::Help);
    insta::assert_snapshot!("help_80x24", draw(&a, 80, 24));
    insta::assert_snapshot!("help_120x48", draw(&a, 120, 48));
}

#[test]
fn call_log_view() {
    let mut a = app(true, 110, 20);
    update(&mut a, Action::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('2'))));
    let g = a.call_log.generation;
    let rows: Vec<_> = (0..5)
        .map(|i| {
            let mut c = call(
                20 - i,
                i as usize,
                if i % 2 == 0 { "telecmi" } else { "manual" },
                if i == 3 { CallStatus::Missed } else { CallStatus::Completed },
            );
            c.feedback = Some(if i == 3 { "Ringing / Call Busy" } else { "Not Interested" }.into());
            c.remarks = (i == 1).then(|| "asked about\u{1b}[5m salary".to_string());
            c.call_duration = Some(i * 37);
            c.created_at = now() - Duration::minutes(i * 7);
            c
        })
        .collect();
    // Calls 20 and 18 were recorded by TeleCMI.
    let recorded = [20, 18].into();
    update(&mut a, Action::CallLogLoaded { generation: g, append: false, rows, total: 5, recorded });
    a.call_log.selected = 1;
    insta::assert_snapshot!(draw(&a, 110, 20));
    // The mark stays at 80 columns: `rec` beside the talk time of calls 20 and 18 only.
    let screen = draw(&a, 80, 24);
    let marked: Vec<&str> = screen.lines().filter(|l| l.contains(" rec ")).collect();
    assert_eq!(marked.len(), 2, "{screen}");
    assert!(marked[0].contains("Driver 0") && marked[1].contains("Driver 2"), "{screen}");
}

#[test]
fn stats_view() {
    let mut a = app(true, 110, 30);
    a.screen = calldesk::console::state::Screen::Stats;
    let sc = |s: &str, n: i64, d: f64| StatusCount { status: s.into(), count: n, avg_duration: Some(d) };
    let today = Stats {
        by_status: vec![sc("completed", 12, 84.0), sc("missed", 5, 0.0), sc("failed", 1, 0.0)],
        by_feedback: vec![
            FeedbackCount { feedback: "Not Interested".into(), count: 7 },
            FeedbackCount { feedback: "Interview Fixed".into(), count: 3 },
        ],
        total: 18,
        avg_duration: Some(56.0),
        talks: 12,
        avg_talk: Some(84.0),
        connected_outcomes: vec![
            FeedbackCount { feedback: "Not Interested".into(), count: 7 },
            FeedbackCount { feedback: "Interview Fixed".into(), count: 3 },
        ],
        not_placed: 2,
    };
    let days = (0..7)
        .map(|i| DayStats {
            date: now().date_naive() - Duration::days(i),
            total_calls: 20 + i,
            completed: 10 + i / 2,
            failed: i % 3,
            missed: i % 4,
            avg_duration: Some(60.0 + i as f64),
            talks: 10 + i / 2,
            avg_talk: Some(90.0 + i as f64),
            connected_outcomes: vec![FeedbackCount { feedback: "Interview Fixed".into(), count: 1 + i % 3 }],
            not_placed: i % 2,
        })
        .collect();
    a.stats = Some(StatsBundle { today: today.clone(), week: Stats { total: 120, ..today }, days });
    insta::assert_snapshot!(draw(&a, 110, 30));
}

#[test]
fn hostile_names_are_drawn_without_control_characters() {
    let a = app(true, 80, 24);
    let screen = draw(&a, 80, 24);
    assert!(!screen.contains('\u{1b}'));
    assert!(screen.contains("Evil[2J[31mName"));
}

#[test]
fn drawing_costs_the_same_for_ten_drivers_or_two_hundred_thousand() {
    let time = |n: usize| {
        let mut a = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
        update(&mut a, Action::Resize { width: 120, height: 40 });
        a.queue.generation = 1;
        update(
            &mut a,
            Action::QueueLoaded {
                generation: 1,
                append: false,
                rows: (0..n).map(entry).collect(),
                due: n as i64,
                total: n as i64,
                limit: 200,
            },
        );
        a.queue.selected = n / 2;
        a.queue.offset = n / 2;
        let mut t = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
        let start = std::time::Instant::now();
        for _ in 0..30 {
            t.draw(|f| render(&a, f)).expect("draw");
        }
        start.elapsed()
    };
    let small = time(10);
    let big = time(200_000);
    assert!(big < small * 5 + std::time::Duration::from_millis(100), "10 rows: {small:?}, 200k rows: {big:?}");
}

#[test]
fn a_telecmi_call_without_any_webhook_says_where_to_look() {
    let mut a = app(true, 120, 30);
    a.live = Some(LiveCall::new(call(10, 1, "telecmi", CallStatus::Initiated), CallKind::Telecmi));
    a.now = now() + Duration::seconds(30);
    assert!(!draw(&a, 120, 30).contains("No word from TeleCMI"));
    a.now = now() + Duration::seconds(50);
    assert!(draw(&a, 120, 30).contains("No word from TeleCMI for 50s"));
}

#[test]
fn long_remarks_scroll_with_the_cursor() {
    let mut a = app(true, 80, 24);
    let f = form(&mut a, false);
    f.focus = calldesk::console::state::Field::Remarks;
    let text = format!("HEADMARK{}TAILMARK", "x".repeat(150));
    f.remarks = tui_input::Input::new(text.clone());
    let end = draw(&a, 80, 24);
    assert!(end.contains("TAILMARK") && !end.contains("HEADMARK"), "cursor at the end shows the end:\n{end}");
    a.form_mut().expect("form").remarks = tui_input::Input::new(text).with_cursor(0);
    let start = draw(&a, 80, 24);
    assert!(start.contains("HEADMARK") && !start.contains("TAILMARK"), "Home shows the start:\n{start}");
}

/// A TeleCMI call the driver rejected: the outcome follows from the facts (preselected and
/// marked so), Connected outcomes are dimmed with the reason, and the sentence says who missed.
#[test]
fn wrap_up_of_a_rejected_call_preselects_and_dims() {
    let mut a = app(true, 120, 40);
    let catalog = a.catalog.clone();
    let f = form(&mut a, false);
    f.call.status = Some("missed".into());
    f.learn(CallEnd::Rejected, &catalog);
    insta::assert_snapshot!(draw(&a, 120, 40));
}

#[test]
fn wrap_up_when_the_agents_phone_was_not_answered() {
    let mut a = app(true, 100, 30);
    let catalog = a.catalog.clone();
    let f = form(&mut a, false);
    f.call.status = Some("missed".into());
    f.learn(CallEnd::AgentMissed, &catalog);
    insta::assert_snapshot!(draw(&a, 100, 30));
}

/// Every outcome, a–z, stays on screen at 80×24 and at 70×20, with (Today) and (Tomorrow) told
/// apart.
#[test]
fn every_outcome_is_visible_on_small_terminals() {
    for (w, h) in [(80, 24), (70, 20)] {
        let mut a = app(true, w, h);
        form(&mut a, true);
        let screen = draw(&a, w, h);
        for key in 'a'..='z' {
            let label = a.catalog.by_key(key).map(|(_, o)| o.label.clone()).expect("outcome");
            let first_word = label.split(' ').next().unwrap_or_default();
            assert!(
                screen.lines().any(|l| l.contains(&format!("{key}   {first_word}"))),
                "{w}×{h}: outcome {key} ({label}) not visible:\n{screen}"
            );
        }
        assert!(screen.contains("(Today)") && screen.contains("(Tomorrow)"), "{w}×{h}:\n{screen}");
        assert!(screen.contains("▶ Outcome"), "{w}×{h}: the focus is marked:\n{screen}");
        insta::assert_snapshot!(format!("wrap_up_manual_{w}x{h}"), screen);
    }
}

#[test]
fn quit_asks_while_a_call_is_live() {
    let mut a = app(true, 100, 30);
    with_live_call(&mut a);
    update(&mut a, Action::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('q'))));
    assert!(!a.quit);
    insta::assert_snapshot!(draw(&a, 100, 30));
}

#[test]
fn help_scrolls_on_a_small_terminal() {
    let mut a = app(true, 80, 24);
    update(&mut a, Action::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('?'))));
    for _ in 0..60 {
        update(&mut a, Action::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Down)));
    }
    let screen = draw(&a, 80, 24);
    assert!(screen.contains("Close help"), "the last line is reachable:\n{screen}");
    insta::assert_snapshot!(screen);
}
