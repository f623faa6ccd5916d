//! The day's friction (issue 22): what an agent reads on the console's screens — numbers as people
//! dial them, a driver card that follows the live call, snoozes called snoozes, names given the
//! width there is, lists that say how many more rows they hold, and keys named where they apply.

mod common;

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use calldesk::console::action::{Action, Effect};
use calldesk::console::state::{App, LiveCall, Screen};
use calldesk::console::update::update;
use calldesk::console::views::render;
use calldesk::coord::dialer::CallKind;
use calldesk::domain::{CallStatus, FeedbackCatalog};
use calldesk::store::DriverHit;
use common::fixtures::{call, entry, identity, ist, now};

fn key(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn draw(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| render(app, f)).expect("draw");
    t.backend().to_string()
}

fn hit(i: usize, due_in_minutes: Option<i64>, priority: i64) -> DriverHit {
    let e = entry(i);
    DriverHit {
        driver_id: e.driver_id,
        name: e.name,
        mobile: e.mobile,
        tmid: e.tmid,
        city: e.city,
        state: e.state,
        due_at: due_in_minutes.map(|m| (now() + Duration::minutes(m)).naive_utc()),
        priority: due_in_minutes.map(|_| priority),
        attempts: due_in_minutes.map(|_| 1),
        ..Default::default()
    }
}

/// A console `w`×`h` with `n` drivers due.
fn app(w: u16, h: u16, n: usize) -> App {
    let mut a = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    update(&mut a, Action::Resize { width: w, height: h });
    let g = a.queue.generation;
    let rows: Vec<_> = (0..n).map(entry).collect();
    let due = i64::try_from(n).expect("n");
    update(&mut a, Action::QueueLoaded { generation: g, append: false, rows, due, total: due, limit: 200 });
    a
}

/// `+91 98765 43201`, never `919876543201`: on every screen that shows driver 1's number.
fn assert_readable(screen: &str, what: &str) {
    assert!(screen.contains("+91 98765 43201"), "{what}: the number as people dial it:\n{screen}");
    assert!(!screen.contains("919876543201"), "{what}: the stored digits:\n{screen}");
}

#[test]
fn every_screen_shows_a_number_as_people_dial_it() {
    // The queue (driver 1 is on it) and the live pane.
    let mut a = app(120, 30, 3);
    a.live = Some(LiveCall::new(call(10, 1, "telecmi", CallStatus::Ringing), CallKind::Telecmi));
    assert_readable(&draw(&a, 120, 30), "queue and live pane");
    a.live = None;
    // The call dialog.
    update(&mut a, key(KeyCode::Down));
    update(&mut a, key(KeyCode::Enter));
    assert_readable(&draw(&a, 120, 30), "call dialog");
    update(&mut a, key(KeyCode::Esc));
    // The driver card.
    update(&mut a, key(KeyCode::Char('i')));
    update(
        &mut a,
        Action::CardLoaded {
            driver_id: "D1".into(),
            hit: Some(hit(1, Some(30), 1)),
            calls: vec![call(9, 1, "manual", CallStatus::Completed)],
            recorded: Default::default(),
        },
    );
    assert_readable(&draw(&a, 120, 30), "driver card");
    update(&mut a, key(KeyCode::Esc));
    // Search.
    update(&mut a, key(KeyCode::Char('/')));
    update(&mut a, key(KeyCode::Char('D')));
    let g = a.search.generation;
    update(&mut a, Action::SearchLoaded { generation: g, hits: vec![hit(1, Some(30), 1)] });
    assert_readable(&draw(&a, 120, 30), "search");
    // Upcoming.
    update(&mut a, key(KeyCode::Esc));
    let fx = update(&mut a, key(KeyCode::Char('4')));
    let [Effect::LoadUpcoming { generation, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    update(&mut a, Action::UpcomingLoaded { generation: *generation, append: false, rows: vec![hit(1, Some(30), 1)] });
    assert_readable(&draw(&a, 120, 30), "upcoming");
    // The call log.
    update(&mut a, key(KeyCode::Char('2')));
    assert_eq!(a.screen, Screen::CallLog);
    let g = a.call_log.generation;
    let rows = vec![call(9, 1, "manual", CallStatus::Completed)];
    update(
        &mut a,
        Action::CallLogLoaded { generation: g, append: false, rows, total: 1, recorded: Default::default() },
    );
    assert_readable(&draw(&a, 120, 30), "call log");
}

/// The demo's drivers: names up to 15 letters, short cities, no outcome yet.
fn demo_like(w: u16, h: u16) -> App {
    let mut a = app(w, h, 0);
    let names = ["Ramesh Gupta", "Naresh Tiwari", "Jaswant Rathore", "Balwant Singh", "Gurpreet Gill"];
    let rows: Vec<_> = (0..40)
        .map(|i| {
            let mut e = entry(i);
            e.name = names[i % names.len()].into();
            e.mobile = format!("9190000000{i:02}");
            e.tmid = Some(format!("TM1000{i:02}"));
            e.city = Some("Indore".into());
            e
        })
        .collect();
    let g = a.queue.generation;
    update(&mut a, Action::QueueLoaded { generation: g, append: false, rows, due: 40, total: 40, limit: 200 });
    a
}

#[test]
fn names_use_the_width_there_is() {
    // At 120 columns the queue's names were cut at 12 letters beside an empty "Last outcome".
    let a = demo_like(120, 40);
    let screen = draw(&a, 120, 40);
    for name in ["Naresh Tiwari", "Jaswant Rathore", "Balwant Singh", "Gurpreet Gill"] {
        assert!(screen.contains(&format!("│{name} ")), "{name} whole in the queue:\n{screen}");
    }
    // The call log: long names whole before the outcome and remarks take the rest.
    let mut a = demo_like(120, 30);
    update(&mut a, key(KeyCode::Char('2')));
    let g = a.call_log.generation;
    let rows: Vec<_> = (0..5u8)
        .map(|i| {
            let mut c = call(20 - i64::from(i), usize::from(i), "telecmi", CallStatus::Completed);
            c.driver_name = Some(format!("Ramesh Kumar Yadav Singh {i}"));
            c.feedback = Some("Call Tomorrow Morning".into());
            c.remarks = Some("wants the Pune route and asks about the salary, call after six".into());
            c
        })
        .collect();
    update(
        &mut a,
        Action::CallLogLoaded { generation: g, append: false, rows, total: 5, recorded: Default::default() },
    );
    let screen = draw(&a, 120, 30);
    assert!(screen.contains("Ramesh Kumar Yadav Singh 3 "), "whole names in the call log:\n{screen}");
    assert!(screen.contains("Call Tomorrow Morning "), "whole outcomes in the call log:\n{screen}");
    // Search and upcoming share one table.
    let mut a = demo_like(100, 30);
    update(&mut a, key(KeyCode::Char('/')));
    update(&mut a, key(KeyCode::Char('R')));
    let g = a.search.generation;
    let mut long = hit(1, Some(30), 1);
    long.name = "Ramesh Kumar Yadav Singh".into();
    long.last_outcome = Some("Switched Off / Not Reachable / Disconnected".into());
    update(&mut a, Action::SearchLoaded { generation: g, hits: vec![long] });
    let screen = draw(&a, 100, 30);
    assert!(screen.contains("│Ramesh Kumar Yadav Singh "), "a whole name in search:\n{screen}");
}

/// The bottom border line of the list (the last row of the main area at `h` rows).
fn bottom_border(screen: &str, h: usize) -> &str {
    screen.lines().nth(h - 4).unwrap_or("")
}

#[test]
fn at_60x15_a_list_that_does_not_fit_says_how_many_more_there_are() {
    // The queue: 40 due, 9 rows on screen.
    let mut a = app(60, 15, 40);
    let screen = draw(&a, 60, 15);
    assert!(bottom_border(&screen, 15).contains("↓ 31 more"), "queue:\n{screen}");
    // Further down, fewer below; at the end, none.
    for _ in 0..5 {
        update(&mut a, key(KeyCode::PageDown));
    }
    let screen = draw(&a, 60, 15);
    assert!(!screen.contains("more"), "the end of the queue:\n{screen}");
    // The call log: 57 calls counted, 10 read so far.
    update(&mut a, key(KeyCode::Char('2')));
    let g = a.call_log.generation;
    let rows: Vec<_> = (0..10).map(|i| call(100 - i, 1, "manual", CallStatus::Completed)).collect();
    update(
        &mut a,
        Action::CallLogLoaded { generation: g, append: false, rows, total: 57, recorded: Default::default() },
    );
    let screen = draw(&a, 60, 15);
    assert!(bottom_border(&screen, 15).contains("↓ 48 more"), "call log:\n{screen}");
    // Search: 12 found, 7 on screen under the search box.
    update(&mut a, key(KeyCode::Char('/')));
    update(&mut a, key(KeyCode::Char('D')));
    let g = a.search.generation;
    update(&mut a, Action::SearchLoaded { generation: g, hits: (0..12).map(|i| hit(i, Some(30), 1)).collect() });
    let screen = draw(&a, 60, 15);
    assert!(bottom_border(&screen, 15).contains("↓ 6 more"), "search:\n{screen}");
    // Upcoming: a first page of 200, more unread.
    update(&mut a, key(KeyCode::Esc));
    let fx = update(&mut a, key(KeyCode::Char('4')));
    let [Effect::LoadUpcoming { generation, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    let rows = (0..200u16).map(|i| hit(usize::from(i % 40), Some(30 + i64::from(i)), 1)).collect();
    update(&mut a, Action::UpcomingLoaded { generation: *generation, append: false, rows });
    let screen = draw(&a, 60, 15);
    assert!(bottom_border(&screen, 15).contains("↓ 191+ more"), "upcoming:\n{screen}");
    insta::assert_snapshot!("upcoming_60x15_says_how_many_more", screen);
}

/// The lines of the driver card's call to `id` (its line starts `• ` or `▶ `).
fn card_call_line(screen: &str, at: &str) -> String {
    screen.lines().find(|l| l.contains(&format!("• {at}")) || l.contains(&format!("▶ {at}"))).unwrap_or("").to_string()
}

fn webhook(call: calldesk::domain::CallLog) -> Action {
    Action::CallUpdated(Box::new(calldesk::coord::bus::CallUpdate {
        call,
        source: calldesk::coord::bus::Source::Webhook,
        leg: Some("b".into()),
        provider_status: None,
        event_id: None,
    }))
}

#[test]
fn the_driver_card_follows_the_live_call() {
    let mut a = app(120, 40, 3);
    // A TeleCMI call to driver 1, placed at 11:30; the card opened while it rings.
    let placed = call(10, 1, "telecmi", CallStatus::Initiated);
    update(&mut a, Action::CallPlaced { call: placed.clone(), kind: CallKind::Telecmi });
    update(&mut a, key(KeyCode::Down));
    assert_eq!(update(&mut a, key(KeyCode::Char('i'))), vec![Effect::LoadCard("D1".into())]);
    let mut earlier = call(9, 1, "manual", CallStatus::Missed);
    earlier.created_at = now() - Duration::days(1);
    update(
        &mut a,
        Action::CardLoaded {
            driver_id: "D1".into(),
            hit: Some(hit(1, Some(0), 1)),
            calls: vec![placed.clone(), earlier],
            recorded: Default::default(),
        },
    );
    let line = card_call_line(&draw(&a, 120, 40), "11:30");
    assert!(line.contains("initiated · ringing 0:00"), "{line}");
    // TeleCMI's webhooks: ringing, then the driver answers 9 s after the dial.
    a.now = now() + Duration::seconds(5);
    update(&mut a, webhook(calldesk::domain::CallLog { status: Some("ringing".into()), ..placed.clone() }));
    let line = card_call_line(&draw(&a, 120, 40), "11:30");
    assert!(line.contains("ringing · 0:05"), "{line}");
    update(&mut a, webhook(calldesk::domain::CallLog { status: Some("connected".into()), ..placed.clone() }));
    let answered = calldesk::store::StoredEvent {
        id: 1,
        received_at: (now() + Duration::seconds(9)).naive_utc(),
        call_log_id: Some(10),
        kind: "event".into(),
        leg: "b".into(),
        status: "answered".into(),
    };
    update(&mut a, Action::TimelineLoaded { call_id: 10, events: vec![answered] });
    // The talk time runs with the clock.
    update(&mut a, Action::Tick(now() + Duration::seconds(51)));
    let line = card_call_line(&draw(&a, 120, 40), "11:30");
    assert!(line.contains("connected · talking 0:42"), "{line}");
    update(&mut a, Action::Tick(now() + Duration::seconds(80)));
    let line = card_call_line(&draw(&a, 120, 40), "11:30");
    assert!(line.contains("connected · talking 1:11"), "{line}");
    // Leg B's report ends it with TeleCMI's talk time; the card stays open (the wrap-up waits).
    let done = calldesk::domain::CallLog { status: Some("completed".into()), call_duration: Some(95), ..placed };
    update(&mut a, webhook(done));
    let screen = draw(&a, 120, 40);
    assert!(card_call_line(&screen, "11:30").contains("completed · 1m 35s"), "{screen}");
    insta::assert_snapshot!("driver_card_after_the_live_call_ended", screen);
}

#[test]
fn a_snooze_is_called_a_snooze_with_the_driver_and_the_day() {
    let mut a = app(100, 20, 3);
    update(&mut a, key(KeyCode::Char('z')));
    for c in "10:00".chars() {
        update(&mut a, key(KeyCode::Char(c)));
    }
    // It is 11:30 in Kolkata: 10:00 is tomorrow's.
    let fx = update(&mut a, key(KeyCode::Enter));
    let [Effect::Snooze { driver_id, until, what }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!((driver_id.as_str(), *until), ("D0", now() + Duration::minutes(22 * 60 + 30)));
    assert_eq!(what, "Snoozed Driver 0 until tomorrow 10:00.");
    update(&mut a, Action::PromptDone(Ok(what.clone())));
    assert_eq!(a.notice.as_ref().map(|n| n.text.as_str()), Some("Snoozed Driver 0 until tomorrow 10:00."));
    // Upcoming: the snooze says so; a retry and a callback say what they are.
    let mut snoozed = hit(0, Some(60), 1);
    snoozed.snoozed_until = snoozed.due_at;
    let mut retried = hit(1, Some(90), 1);
    // A snooze an outcome has since replaced (another due time) is a retry.
    retried.snoozed_until = snoozed.due_at;
    let fx = update(&mut a, key(KeyCode::Char('4')));
    let [Effect::LoadUpcoming { generation, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    let rows = vec![snoozed, retried, hit(2, Some(120), 0)];
    update(&mut a, Action::UpcomingLoaded { generation: *generation, append: false, rows });
    let screen = draw(&a, 100, 20);
    assert!(screen.contains("│Driver 0 ") && screen.contains("snoozed 12:30"), "{screen}");
    assert!(screen.contains("retry 13:00") && screen.contains("callback 13:30"), "{screen}");
    // The queue: a snooze that has come due says it was one.
    update(&mut a, key(KeyCode::Char('1')));
    let mut due = entry(5);
    due.snoozed_until = Some(due.due_at);
    let g = a.queue.generation;
    update(&mut a, Action::QueueLoaded { generation: g, append: false, rows: vec![due], due: 1, total: 3, limit: 200 });
    let screen = draw(&a, 100, 20);
    assert!(screen.contains("snoozed 11:30"), "{screen}");
}

/// The snooze is stored as one: the upcoming list and the queue read it back, and a skip or an
/// outcome that moves the driver makes them an ordinary entry again.
#[tokio::test]
async fn a_snooze_is_stored_as_a_snooze_until_something_else_moves_the_driver() {
    use calldesk::store::SubmitFeedback;
    common::each_backend(|db| async move {
        let r = common::rig(db, 60_000).await;
        let s = &r.db.store;
        let now = chrono::Utc::now();
        let later = now + Duration::hours(2);
        assert!(s.snooze("D4", 3, later).await.expect("snooze"));
        assert!(!s.snooze("D4", 4, later).await.expect("not theirs"));
        let up = s.upcoming(3, now, None, 10).await.expect("upcoming");
        assert!(up.iter().any(|h| h.driver_id == "D4" && h.is_snoozed()), "{up:?}");
        let due =
            s.due_queue(3, later + Duration::minutes(1), &Default::default(), None, 50, None).await.expect("queue");
        assert!(due.iter().any(|e| e.driver_id == "D4" && e.is_snoozed()), "still a snooze once due");
        // A skip: an ordinary entry.
        s.reschedule("D4", 3, now).await.expect("skip");
        assert!(!s.queue_entry("D4").await.expect("q").expect("queued").is_snoozed());
        // An outcome after a snooze: a retry, not a snooze.
        s.snooze("D5", 3, later).await.expect("snooze");
        let c = r.dialer.place_call(3, "D5", None, CallKind::Manual).await.expect("call");
        let f = SubmitFeedback {
            call_id: c.id,
            status: Some(CallStatus::Missed),
            feedback: "Ringing / Call Busy".into(),
            remarks: String::new(),
            call_duration: Some(0),
        };
        s.submit_feedback(&f, &FeedbackCatalog::default(), now).await.expect("save");
        let q = s.queue_entry("D5").await.expect("q").expect("queued again");
        assert!(!q.is_snoozed() && q.snoozed_until.is_none(), "{q:?}");
    })
    .await;
}

/// A caller TeleCMI is refused to (not in `TELECMI_AGENTS`): the reason the dialer gives names
/// who can change it, and the status bar says calls are manual only.
#[tokio::test]
async fn an_agent_not_in_telecmi_agents_sees_manual_only_and_who_can_allow_telecmi() {
    let db = common::sqlite_db().await;
    let r = common::rig_with(db, 60_000, |s| s.telecmi_agents = Some("4:5004".into())).await;
    let reason = r.dialer.telecmi_refusal(3).expect("refused");
    assert!(reason.contains("supervisor") && reason.contains("TELECMI_AGENTS as 3:EXTENSION"), "{reason}");
    let mut me = identity(false);
    me.telecmi_refusal = Some(reason);
    let mut a = App::new(me, FeedbackCatalog::default(), now(), ist());
    update(&mut a, Action::Resize { width: 100, height: 30 });
    let g = a.queue.generation;
    update(
        &mut a,
        Action::QueueLoaded { generation: g, append: false, rows: vec![entry(0)], due: 1, total: 1, limit: 200 },
    );
    update(&mut a, key(KeyCode::Enter));
    let screen = draw(&a, 100, 30);
    let status = screen.lines().nth(27).unwrap_or("");
    assert!(status.contains("MANUAL ONLY") && !status.contains("TELECMI"), "{status}");
    let dialog: String =
        screen.lines().map(|l| l.trim_matches(|c| c == '"' || c == '│' || c == ' ')).collect::<Vec<_>>().join(" ");
    assert!(dialog.contains("Ask your supervisor (or whoever runs calldesk) to add you to TELECMI_AGENTS"), "{screen}");
}

/// The same through the real binary: a console whose caller is not in `TELECMI_AGENTS`.
#[tokio::test]
async fn the_real_console_says_manual_only_to_an_agent_not_in_telecmi_agents() {
    if !common::tmux::available() {
        return;
    }
    let env = common::e2e::Env::new(&[("D1", "Ramesh Gupta", "9000000012")]).await;
    let tm = common::tmux::Session::start(&env.console_script_with("", "TELECMI_AGENTS=4:5004"), 100, 30);
    let screen = tm.wait_text("1 due", 15).await;
    assert!(screen.contains("MANUAL ONLY"), "{screen}");
    tm.keys(&["Enter"]);
    let screen = tm.wait_text("unavailable:", 5).await;
    assert!(screen.contains("supervisor") && screen.contains("TELECMI_AGENTS"), "{screen}");
    tm.keys(&["Escape"]);
    tm.keys(&["q"]);
}

#[test]
fn the_call_log_search_names_its_keys() {
    let mut a = app(100, 24, 3);
    update(&mut a, key(KeyCode::Char('2')));
    update(&mut a, key(KeyCode::Char('t')));
    let screen = draw(&a, 100, 24);
    let footer = screen.lines().last().unwrap_or("");
    // From the key table: Enter and Esc as the dispatcher binds them, named for a search; no
    // "save", no Tab (there is no other field).
    assert!(footer.contains("Enter search (empty shows all) · Esc cancel"), "{footer}");
    assert!(!footer.contains("save") && !footer.contains("Tab"), "{footer}");
    let bottom = screen.lines().find(|l| l.contains("└ Enter")).unwrap_or("");
    assert!(bottom.contains("Enter search (empty shows all) · Esc cancel"), "{screen}");
    insta::assert_snapshot!("call_log_search_prompt", screen);
    // What the footer names is what the keys do: Enter searches, Esc closes.
    for c in "Ramesh".chars() {
        update(&mut a, key(KeyCode::Char(c)));
    }
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::LoadCallLog { filter, .. }] if filter.text.as_deref() == Some("Ramesh")),
        "{fx:?}"
    );
    update(&mut a, key(KeyCode::Char('t')));
    update(&mut a, key(KeyCode::Esc));
    assert!(a.modal.is_none());
}
