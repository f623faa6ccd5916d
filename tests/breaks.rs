//! Breaks and progress in the agent console: the `b` key and its picker, dialing refused on a
//! break (Enter and "save and call next" alike), a restart resuming a break, and the status bar
//! and stats view showing the state and today's progress against the target.

mod common;

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use calldesk::console::action::{Action, Effect};
use calldesk::console::state::{App, LiveCall, Modal, Progress, Screen};
use calldesk::console::update::update;
use calldesk::console::views::render;
use calldesk::coord::dialer::CallKind;
use calldesk::domain::{CallStatus, FeedbackCatalog, Presence, PresenceChange};
use calldesk::store::StatsBundle;
use common::fixtures::{call, entry, identity, ist, now};

fn draw(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| render(app, f)).expect("draw");
    t.backend().to_string()
}

fn app(w: u16, h: u16) -> App {
    let mut app = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    update(&mut app, Action::Resize { width: w, height: h });
    app.queue.generation = 1;
    let rows: Vec<_> = (0..10).map(entry).collect();
    update(&mut app, Action::QueueLoaded { generation: 1, append: false, rows, due: 10, total: 10, limit: 200 });
    app.last_webhook = Some(now() - Duration::seconds(12));
    app
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn status_bar(screen: &str) -> &str {
    screen.lines().rev().nth(2).unwrap_or_default()
}

fn on_lunch(app: &mut App) {
    key(app, KeyCode::Char('b'));
    key(app, KeyCode::Char('l'));
}

#[test]
fn b_picks_a_reason_stores_the_break_and_b_again_returns_to_ready() {
    let mut a = app(80, 24);
    assert!(key(&mut a, KeyCode::Char('b')).is_empty(), "the picker opens; nothing is stored yet");
    assert!(matches!(a.modal, Some(Modal::Break(_))));
    key(&mut a, KeyCode::Down);
    let fx = key(&mut a, KeyCode::Enter);
    let lunch = Presence::Break("lunch".into());
    assert_eq!(fx, vec![Effect::SavePresence { presence: lunch.clone(), at: now() }]);
    assert!(a.modal.is_none());
    assert_eq!(a.presence.presence, lunch);

    a.now = now() + Duration::minutes(12);
    let fx = key(&mut a, KeyCode::Char('b'));
    assert_eq!(fx, vec![Effect::SavePresence { presence: Presence::Ready, at: a.now }]);
    assert_eq!(a.presence.presence, Presence::Ready);
    assert!(a.modal.is_none(), "b on a break returns to ready without the picker");

    key(&mut a, KeyCode::Char('b'));
    let fx = key(&mut a, KeyCode::Char('m'));
    assert_eq!(fx, vec![Effect::SavePresence { presence: Presence::Break("meeting".into()), at: a.now }]);
    key(&mut a, KeyCode::Char('b'));
    assert_eq!(a.presence.presence, Presence::Ready);
    key(&mut a, KeyCode::Char('b'));
    assert!(matches!(a.modal, Some(Modal::Break(_))));
    key(&mut a, KeyCode::Char('b'));
    assert!(a.modal.is_none() && a.presence.presence == Presence::Ready, "b closes the picker too");
}

#[test]
fn dialing_is_refused_on_a_break_by_enter_and_by_save_and_call_next() {
    let mut a = app(80, 24);
    on_lunch(&mut a);
    let fx = key(&mut a, KeyCode::Enter);
    assert!(fx.is_empty());
    assert!(a.modal.is_none(), "no call dialog on a break");
    let n = a.notice.clone().expect("notice").text;
    assert_eq!(n, "You are on break (lunch, since 11:30): press b to return to ready.");

    // "Save and call next" waits for the queue, then dials through the same guard.
    a.pending_call_next = true;
    a.queue.generation = 2;
    let rows: Vec<_> = (0..3).map(entry).collect();
    let fx = update(&mut a, Action::QueueLoaded { generation: 2, append: false, rows, due: 3, total: 3, limit: 200 });
    assert!(!fx.iter().any(|e| matches!(e, Effect::Dial { .. })), "{fx:?}");
    assert!(a.notice.expect("notice").text.starts_with("You are on break (lunch"));
}

#[test]
fn a_restart_resumes_the_stored_break_and_progress_follows_the_calls() {
    let mut a = app(80, 24);
    let since = now() - Duration::minutes(40);
    let stored = PresenceChange { caller_id: 3, presence: Presence::Break("training".into()), since };
    update(&mut a, Action::PresenceLoaded(Some(stored)));
    assert_eq!(a.presence.presence, Presence::Break("training".into()));
    assert_eq!(a.presence.since, since);
    let bar = draw(&a, 120, 24);
    assert!(status_bar(&bar).contains("BREAK training 40m"), "{bar}");

    let p = Progress { calls: 12, connected: 5, positive: 3, target: Some(10), not_placed: 0 };
    update(&mut a, Action::ProgressLoaded(p));
    assert_eq!(a.progress, Some(p));
    let fx = update(
        &mut a,
        Action::CallPlaced { call: call(10, 1, "manual", CallStatus::Initiated), kind: CallKind::Manual },
    );
    assert!(fx.contains(&Effect::LoadProgress), "a new call re-reads the progress: {fx:?}");
}

fn in_state(state: &str, w: u16) -> App {
    let mut a = app(w, 24);
    a.now = now() + Duration::minutes(12);
    a.progress = Some(Progress { calls: 12, connected: 5, positive: 3, target: Some(10), not_placed: 0 });
    match state {
        "ready" => {}
        "break" => {
            key(&mut a, KeyCode::Char('b'));
            a.now = now();
            key(&mut a, KeyCode::Char('l'));
            a.now = now() + Duration::minutes(12);
        }
        "in_call" => {
            a.live = Some(LiveCall::new(call(10, 1, "telecmi", CallStatus::Connected), CallKind::Telecmi));
        }
        _ => a.wrapups.push_back((call(10, 1, "manual", CallStatus::Completed), None)),
    }
    a
}

#[test]
fn the_status_bar_shows_each_state_with_its_time_at_70_and_120_columns() {
    for (state, words) in
        [("ready", "READY 12m"), ("break", "BREAK lunch 12m"), ("in_call", "IN CALL"), ("wrap_up", "WRAP-UP")]
    {
        for w in [70, 120] {
            let a = in_state(state, w);
            let screen = draw(&a, w, 24);
            let bar = status_bar(&screen);
            assert!(bar.contains("Pooja (3)"), "{state} {w}: {bar}");
            if state == "wrap_up" {
                assert!(bar.contains("1 wrap-up waiting: w"), "the wrap-up indicator comes first at {w}: {bar}");
            }
            if w == 120 {
                assert!(bar.contains(words), "{state} {w}: {bar}");
                assert!(bar.contains("3/10 ✓"), "{state} {w}: {bar}");
            }
            insta::assert_snapshot!(format!("status_bar_{state}_{w}"), bar);
        }
    }
}

#[test]
fn break_picker_80x24() {
    let mut a = app(80, 24);
    key(&mut a, KeyCode::Char('b'));
    key(&mut a, KeyCode::Down);
    let screen = draw(&a, 80, 24);
    assert!(screen.contains("Take a break") && screen.contains("lunch"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn stats_view_shows_progress_against_the_target() {
    let mut a = app(110, 30);
    a.screen = Screen::Stats;
    a.stats = Some(StatsBundle::default());
    a.progress = Some(Progress { calls: 12, connected: 5, positive: 3, target: Some(10), not_placed: 0 });
    let screen = draw(&a, 110, 30);
    assert!(screen.contains("Today: 12 calls · 5 connected · 3 positive of 10 target"), "{screen}");
    insta::assert_snapshot!(screen);
}

/// The real console under tmux: a break taken at the keyboard refuses Enter, is stored, survives a
/// restart, and `b` ends it; the daily target set on the command line shows in the status bar.
#[tokio::test]
async fn a_break_at_the_keyboard_is_stored_and_survives_a_restart() {
    use common::e2e::Env;
    use common::tmux::{self, Session};
    if !tmux::available() {
        return;
    }
    let env = Env::new(&[("D1", "Ramesh Kumar", "9876543211")]).await;
    env.calldesk(&["caller", "target", "3", "5"]);
    let script = env.console_script("");
    let tm = Session::start(&script, 120, 30);
    tm.wait_text("Ramesh Kumar", 10).await;
    tm.wait_text("0/5 ✓", 10).await;
    tm.keys(&["b"]);
    tm.wait_text("Take a break", 5).await;
    tm.keys(&["l"]);
    tm.wait_text("BREAK lunch", 5).await;
    tm.keys(&["Enter"]);
    tm.wait_text("You are on break (lunch, since", 5).await;
    let store = env.store().await;
    let stored = store.presence(3).await.expect("read").expect("stored");
    assert_eq!(stored.presence, Presence::Break("lunch".into()));
    tm.keys(&["q"]);
    tm.wait_for("the console to quit", 10, |s| !s.contains("BREAK lunch")).await;
    drop(tm);

    let tm = Session::start(&script, 120, 30);
    tm.wait_text("BREAK lunch", 10).await;
    tm.keys(&["b"]);
    tm.wait_text("READY", 5).await;
    let stored = store.presence(3).await.expect("read").expect("stored");
    assert_eq!(stored.presence, Presence::Ready);
    tm.keys(&["q"]);
}
