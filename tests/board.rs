//! The supervisor board that acts: alerts listed first, today's numbers per agent, an agent's
//! calls today, the move dialog and the help, drawn at 120×40 and 80×24; and end to end, a
//! supervisor moving drivers with `a` while the agent's console is open and in a call.

mod common;

use chrono::Duration;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use calldesk::domain::{CallLog, CallStatus};
use calldesk::store::{AgentDay, Caller};
use calldesk::supervise::action::{Action, CallsPage, Effect};
use calldesk::supervise::board::Thresholds;
use calldesk::supervise::snapshot::{AgentRow, AgentState, Snapshot};
use calldesk::supervise::state::{MoveDialog, SuperView};
use calldesk::supervise::update::update;
use calldesk::supervise::view::render;
use common::e2e::Env;
use common::fixtures::{call, ist, now};
use common::tmux::{self, Session};

fn agent(id: i64, name: &str, state: AgentState, ago_secs: i64) -> AgentRow {
    AgentRow {
        caller: Caller { id, name: name.into(), role: "agent".into() },
        state,
        since: Some(now() - Duration::seconds(ago_secs)),
        current: None,
        due: 12,
        callbacks_due: 2,
        queued: 40,
        break_reason: None,
        break_secs: 0,
    }
}

fn day(caller_id: i64, calls: i64, connected: i64, positive: i64, target: Option<i64>, talk: i64) -> AgentDay {
    AgentDay { caller_id, calls, connected, positive, target, talk_secs: talk, ..AgentDay::default() }
}

/// Five agents: Pooja on a call, Ravi in a wrap-up, Sana idle 12 minutes (an alert), Zoya on a
/// lunch break for 41 minutes (an alert), Amit offline; Ravi selected.
fn board() -> SuperView {
    let live = call(31, 4, "telecmi", CallStatus::Connected);
    let mut pooja = agent(3, "Pooja", AgentState::OnCall, 95);
    pooja.current = Some(live.clone());
    let mut ravi = agent(4, "Ravi", AgentState::WrapUp, 200);
    ravi.current = Some(call(30, 2, "manual", CallStatus::Completed));
    ravi.break_secs = 10 * 60;
    let sana = agent(5, "Sana", AgentState::Idle, 12 * 60);
    let mut zoya = agent(7, "Zoya", AgentState::Break, 41 * 60);
    zoya.break_reason = Some("lunch".into());
    zoya.break_secs = 55 * 60;
    let mut amit = agent(6, "Amit Kumar Srivastava", AgentState::Offline, 3 * 3600);
    amit.queued = 0;
    let snapshot = Snapshot {
        agents: vec![pooja, ravi, sana, zoya, amit],
        live: vec![live],
        agent_days: vec![
            day(3, 42, 17, 3, Some(10), 2 * 3600 + 310),
            day(4, 35, 12, 1, Some(8), 3000),
            day(5, 8, 2, 0, None, 130),
            day(7, 20, 9, 4, Some(10), 1500),
            day(6, 0, 0, 0, None, 0),
        ],
        taken_at: Some(now()),
        totals_at: Some(now()),
        ..Snapshot::default()
    };
    let mut v = SuperView::new(now() + Duration::seconds(1), ist(), "sqlite calldesk.db".into(), "Meera (9)".into());
    v.snapshot = snapshot;
    v.selected = Some(4);
    v
}

fn draw(v: &SuperView, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| render(v, f)).expect("draw");
    t.backend().to_string()
}

fn line_of<'a>(screen: &'a str, who: &str) -> &'a str {
    screen.lines().find(|l| l.contains(who)).unwrap_or_default()
}

/// The row index of each name on the screen, top to bottom.
fn rows_of(screen: &str, names: &[&str]) -> Vec<usize> {
    names.iter().map(|n| screen.lines().position(|l| l.contains(n)).unwrap_or(usize::MAX)).collect()
}

#[test]
fn the_board_lists_alerts_first_with_todays_numbers_120x40() {
    let screen = draw(&board(), 120, 40);
    let rows = rows_of(&screen, &["Sana (5)", "Zoya (7)", "Amit Kumar", "Pooja (3)", "Ravi (4)"]);
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "alerts first, then by name: {rows:?}\n{screen}");
    let sana = line_of(&screen, "Sana (5)");
    assert!(sana.contains("⚠ idle") && sana.contains("12m 01s"), "{screen}");
    assert!(line_of(&screen, "Zoya (7)").contains("⚠ break"), "{screen}");
    assert!(!line_of(&screen, "Pooja (3)").contains('⚠'), "{screen}");
    let pooja = line_of(&screen, "Pooja (3)");
    assert!(
        pooja.contains("42") && pooja.contains("17") && pooja.contains("3/10") && pooja.contains("2h 05m"),
        "{screen}"
    );
    assert!(screen.contains("⚠ 2 alerts"), "the status bar counts them:\n{screen}");
    assert!(!screen.contains("read-only"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn the_board_fits_80x24_without_losing_the_alerts() {
    let screen = draw(&board(), 80, 24);
    assert!(screen.lines().all(|l| l.trim_matches('"').chars().count() <= 80));
    for who in ["Sana (5)", "Zoya (7)"] {
        let row = line_of(&screen, who);
        assert!(row.contains('⚠'), "{who}'s alert at 80 columns:\n{screen}");
    }
    let pooja = line_of(&screen, "Pooja (3)");
    assert!(pooja.contains("3/10") && pooja.contains("on a call") && pooja.contains("1m 3"), "{screen}");
    assert!(screen.contains("⚠ 2 alerts"), "{screen}");
    assert!(screen.contains("Live calls · 1") && screen.contains("Today, everyone"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn scrolled_down_a_long_board_the_alerts_above_are_named() {
    let mut v = board();
    for id in 10..40 {
        v.snapshot.agents.push(agent(id, &format!("Agent {id}"), AgentState::Offline, 600));
    }
    v.selected = Some(39);
    let screen = draw(&v, 80, 24);
    assert!(screen.contains("Agent 39 (39)"), "the selected agent is in sight:\n{screen}");
    assert!(!screen.contains("Sana (5)"), "{screen}");
    assert!(screen.contains("⚠ 2 above") && screen.contains("⚠ 2 alerts"), "{screen}");
}

#[test]
fn thresholds_come_from_the_settings() {
    let mut v = board();
    v.alerts = Thresholds::minutes(15, 60);
    let screen = draw(&v, 120, 40);
    assert!(!screen.contains('⚠'), "12 min idle and 41 min on a break are within 15 and 60:\n{screen}");
    assert!(screen.contains("no alerts"), "{screen}");
}

fn calls_today(n: i64) -> Vec<CallLog> {
    (0..n)
        .map(|i| {
            let status = if i % 3 == 0 { CallStatus::Missed } else { CallStatus::Completed };
            let mut c = call(500 - i, usize::try_from(i % 40).unwrap_or(0), "telecmi", status);
            c.created_at = now() - Duration::minutes(7 * i);
            if status == CallStatus::Completed {
                c.call_duration = Some(60 + i);
                c.feedback = Some(if i % 2 == 0 { "Interview Fixed" } else { "Not Interested" }.into());
                c.remarks = Some(format!("spoke about route {i}"));
            } else {
                c.feedback = Some("Ringing / Call Busy".into());
            }
            c
        })
        .collect()
}

#[test]
fn enter_opens_the_agents_calls_a_page_at_a_time() {
    let mut v = board();
    v.selected = Some(3);
    let fx = update(&mut v, Action::Command(calldesk::tui::keys::Command::ShowAgentCalls));
    assert!(matches!(&fx[..], [Effect::LoadCalls { caller: 3, before: None, .. }]), "{fx:?}");
    let page = CallsPage { calls: calls_today(50), total: Some(300) };
    update(&mut v, Action::CallsLoaded { caller: 3, before: None, result: Ok(page) });
    let screen = draw(&v, 120, 40);
    assert!(screen.contains("Pooja (3) · calls today, newest first · 50 of 300 read"), "{screen}");
    assert!(screen.contains("Live: Driver 4"), "her live call:\n{screen}");
    assert!(screen.contains("42 calls · 17 connected · 3/10 positive"), "{screen}");
    assert!(screen.contains(" more "), "the calls not shown are counted:\n{screen}");
    insta::assert_snapshot!("drill_down_120x40", screen);
    // Down to near the end of the page: the next page is read after the last call read.
    let mut fx = Vec::new();
    for _ in 0..46 {
        fx.extend(update(&mut v, Action::Command(calldesk::tui::keys::Command::SelectNext)));
    }
    assert!(matches!(&fx[..], [Effect::LoadCalls { caller: 3, before: Some(451), .. }]), "{fx:?}");
    let screen = draw(&v, 80, 24);
    assert!(screen.lines().all(|l| l.trim_matches('"').chars().count() <= 80));
    insta::assert_snapshot!("drill_down_80x24", screen);
}

fn dialog(v: &SuperView, outcome: Option<Result<String, String>>) -> MoveDialog {
    let targets = v.snapshot.agents.iter().map(|a| a.caller.clone()).filter(|c| c.id != 3).collect();
    MoveDialog {
        from: v.snapshot.agents[0].caller.clone(),
        targets,
        pick: 1,
        count: "5".into(),
        moving: false,
        outcome,
    }
}

#[test]
fn the_move_dialog_says_what_moved_at_80x24() {
    let mut v = board();
    let words = "Moved 5 drivers from Pooja (3) to Ravi (4). 2 stayed with Pooja (3): 1 in a call, 1 waiting \
                 for a wrap-up.";
    v.dialog = Some(dialog(&v, Some(Ok(words.into()))));
    let screen = draw(&v, 80, 24);
    assert!(screen.contains("Moved 5 drivers") && screen.contains("1 in a call"), "{screen}");
    insta::assert_snapshot!(screen);
    v.dialog = Some(dialog(&v, Some(Err("caller 9 (Meera) is a supervisor: drivers go to agents".into()))));
    let screen = draw(&v, 80, 24);
    assert!(screen.contains("✗ caller 9 (Meera) is a supervisor"), "a refusal says why:\n{screen}");
    assert!(screen.contains("How many: 5"), "what was typed stays:\n{screen}");
}

fn key(code: crossterm::event::KeyCode) -> Action {
    Action::Key(crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE))
}

#[test]
fn the_dialog_takes_a_count_and_moves_as_the_supervisor() {
    use crossterm::event::KeyCode::{Backspace, Char, Down, Enter, Esc, Up};
    let mut v = board();
    v.me = 9;
    v.selected = Some(3);
    assert!(update(&mut v, key(Char('a'))).is_empty());
    let d = v.dialog.as_ref().expect("the dialog opens on the selected agent");
    assert_eq!(d.from.id, 3);
    let names: Vec<&str> = d.targets.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Amit Kumar Srivastava", "Ravi", "Sana", "Zoya"], "the other agents, by name");
    for k in [Down, Down, Down, Down, Up] {
        update(&mut v, key(k));
    }
    for c in ['1', 'x', '2', '0', 'q'] {
        update(&mut v, key(Char(c)));
    }
    assert!(!v.reads.quit, "q is typed into the dialog, not a quit");
    update(&mut v, key(Backspace));
    assert_eq!(v.dialog.as_ref().map(|d| (d.pick, d.count.as_str())), Some((2, "12")), "digits only");
    let fx = update(&mut v, key(Enter));
    let [Effect::MoveDrivers { req, from, to }] = &fx[..] else { panic!("{fx:?}") };
    assert_eq!((req.from, req.to, req.count, req.by), (3, 5, Some(12), Some(9)));
    assert_eq!((from.as_str(), to.as_str()), ("Pooja (3)", "Sana (5)"));
    assert!(update(&mut v, key(Enter)).is_empty(), "one move at a time");
    assert!(update(&mut v, key(Esc)).is_empty() && v.dialog.is_some(), "the answer is awaited");
    // Refused: the dialog keeps the choice and the count, and says why.
    update(&mut v, Action::DriversMoved { result: Err("database unavailable".into()) });
    let d = v.dialog.as_ref().expect("still open");
    assert_eq!((d.pick, d.count.as_str(), d.outcome.clone()), (2, "12", Some(Err("database unavailable".into()))));
    // Moved: the board is read again at once, with its queue sizes.
    let fx = update(&mut v, key(Enter));
    assert_eq!(fx.len(), 1);
    v.reads.loading = false;
    let fx = update(&mut v, Action::DriversMoved { result: Ok("Moved 12 drivers from Pooja (3) to Sana (5).".into()) });
    assert!(matches!(&fx[..], [Effect::LoadSnapshot { previous }] if previous.totals_at.is_none()), "{fx:?}");
    update(&mut v, key(Enter));
    assert!(v.dialog.is_none(), "Enter after a move closes the dialog");
    // Nothing typed is a move of everything that may move; 0 is refused before any write.
    update(&mut v, key(Char('a')));
    let fx = update(&mut v, key(Enter));
    assert!(matches!(&fx[..], [Effect::MoveDrivers { req, .. }] if req.count.is_none()), "{fx:?}");
    update(&mut v, Action::DriversMoved { result: Ok("done".into()) });
    update(&mut v, key(Enter));
    update(&mut v, key(Char('a')));
    update(&mut v, key(Char('0')));
    assert!(update(&mut v, key(Enter)).is_empty());
    assert!(matches!(v.dialog.as_ref().and_then(|d| d.outcome.clone()), Some(Err(e)) if e.contains("0 moves nothing")));
}

#[test]
fn a_page_for_another_agent_or_a_stale_one_is_dropped() {
    let mut v = board();
    v.selected = Some(3);
    update(&mut v, Action::Command(calldesk::tui::keys::Command::ShowAgentCalls));
    let page = |n| CallsPage { calls: calls_today(n), total: Some(n) };
    update(&mut v, Action::CallsLoaded { caller: 4, before: None, result: Ok(page(3)) });
    assert!(v.drill.as_ref().is_some_and(|d| d.calls.is_empty() && d.loading), "Ravi's page is not Pooja's");
    update(&mut v, Action::CallsLoaded { caller: 3, before: None, result: Ok(page(3)) });
    let d = v.drill.as_ref().expect("open");
    assert_eq!((d.calls.len(), d.total, d.complete, d.loading), (3, 3, true, false));
    update(&mut v, Action::CallsLoaded { caller: 3, before: Some(1), result: Ok(page(3)) });
    assert_eq!(v.drill.as_ref().map(|d| d.calls.len()), Some(3), "a page after a call not last read");
    // Pooja's call ends (she is in her wrap-up now): her list is read again with the board.
    let mut s = v.snapshot.clone();
    s.agents[0].state = AgentState::WrapUp;
    let fx = update(&mut v, Action::SnapshotLoaded { result: Ok(Box::new(s.clone())), at: now() });
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadCalls { caller: 3, before: None, .. })), "{fx:?}");
    update(&mut v, Action::CallsLoaded { caller: 3, before: None, result: Ok(page(4)) });
    let fx = update(&mut v, Action::SnapshotLoaded { result: Ok(Box::new(s)), at: now() });
    assert!(!fx.iter().any(|e| matches!(e, Effect::LoadCalls { .. })), "nothing changed for her: {fx:?}");
    update(&mut v, key(crossterm::event::KeyCode::Esc));
    assert!(v.drill.is_none(), "Esc goes back to the board");
}

#[test]
fn the_help_is_not_cut_at_80x24() {
    let mut v = board();
    v.help = true;
    let screen = draw(&v, 80, 24);
    assert!(screen.contains("Supervisor keys"), "{screen}");
    assert!(!screen.contains("read-only"), "{screen}");
    assert!(screen.contains("scroll"), "a help taller than the screen says it scrolls:\n{screen}");
    insta::assert_snapshot!(screen);
    // Scrolled to the end, the last key shows.
    v.size = (80, 24);
    update(&mut v, Action::Command(calldesk::tui::keys::Command::Last));
    let screen = draw(&v, 80, 24);
    assert!(screen.contains("Quit"), "{screen}");
    let screen = draw(&v, 120, 48);
    assert!(!screen.contains("scroll ("), "at 120×48 it fits:\n{screen}");
}

// --- End to end -------------------------------------------------------------------------------

const DRIVERS: [(&str, &str, &str); 6] = [
    ("D1", "Anil Rao", "9876500001"),
    ("D2", "Bharat Singh", "9876500002"),
    ("D3", "Chetan Das", "9876500003"),
    ("D4", "Dinesh Patil", "9876500004"),
    ("D5", "Eshwar Naik", "9876500005"),
    ("D6", "Farhan Ali", "9876500006"),
];

/// A supervisor moves Pooja's drivers to Ravi with `a` while Pooja's console is open and in a
/// call: the driver she is calling stays, the rest move, and her queue shows it at its refresh.
#[tokio::test]
async fn a_supervisor_moves_drivers_while_the_agent_works() {
    if !tmux::available() {
        return;
    }
    moves_while_working(None).await;
    if let Some(url) = common::mysql_url().await {
        moves_while_working(Some(url)).await;
    }
}

async fn moves_while_working(url: Option<String>) {
    let env = Env::on(url, &DRIVERS).await;
    env.calldesk(&["caller", "add", "5", "Ravi"]);
    env.calldesk(&["caller", "add", "9", "Meera", "--role", "supervisor"]);
    let console = Session::start(&env.console_script(""), 120, 40);
    console.wait_text("6 due", 20).await;
    // Pooja dials Anil Rao by hand: a live call.
    console.keys(&["Enter"]);
    console.wait_text("Manual Call", 10).await;
    console.keys(&["m"]);
    console.wait_text("Manual call: dial", 10).await;

    let script = env.dir.path().join("sup.sh");
    std::fs::write(
        &script,
        format!(
            "export DATABASE_URL='{}' CALLDESK_USER_ID=9 CALLDESK_LOG_DIR='{}'\nexec {} supervise\n",
            env.url,
            env.dir.path().join("logs").display(),
            env!("CARGO_BIN_EXE_calldesk")
        ),
    )
    .expect("script");
    let sup = Session::start(&script, 120, 40);
    sup.wait_for("Pooja on a call", 20, |s| line_of(s, "Pooja (3)").contains("on a call")).await;
    // Pooja is first by name, so selected; `a`, Ravi is the only other agent; empty count: all.
    sup.keys(&["a"]);
    sup.wait_text("Move queued drivers", 10).await;
    sup.keys(&["Enter"]);
    let screen = sup.wait_text("Moved 5 drivers", 20).await;
    assert!(screen.contains("1 in a call"), "Anil Rao stays with Pooja:\n{screen}");
    sup.keys(&["Enter"]);
    sup.wait_for("the dialog to close", 10, |s| !s.contains("Move queued drivers")).await;

    // Pooja's console shows the change when it refreshes.
    console.keys(&["r"]);
    let screen = console
        .wait_for("the moved drivers to leave Pooja's queue", 40, |s| {
            !s.contains("Bharat Singh") && !s.contains("Farhan Ali")
        })
        .await;
    assert!(screen.contains("Anil Rao"), "{screen}");

    let store = env.store().await;
    for (id, ..) in &DRIVERS[1..] {
        let moves = store.driver_moves(id).await.expect("moves");
        assert_eq!(moves.len(), 1, "{id}: {moves:?}");
        assert_eq!((moves[0].from, moves[0].to, moves[0].by), (3, 5, Some(9)), "{id}: recorded with the supervisor");
    }
    assert!(store.driver_moves("D1").await.expect("moves").is_empty(), "the driver in a call stayed");
    sup.keys(&["q"]);
}

/// The team pool has its own count on the board (an agent's Due counts only their own drivers).
#[test]
fn the_board_counts_the_team_pool_apart() {
    let mut v = board();
    assert!(!draw(&v, 120, 40).contains("team pool"), "no pool, no word of it");
    v.snapshot.queue_sizes.push((calldesk::store::POOL, 12, 0, 40));
    let screen = draw(&v, 120, 40);
    assert!(screen.contains("team pool 12 due of 40"), "{screen}");
}

/// The database away: the status bar says so plainly, even at 80 columns, and how old the board
/// is; the raw driver error is left to the log.
#[test]
fn a_database_that_is_not_answering_is_said_plainly() {
    let mut v = board();
    v.error = Some(format!("{} (pool timed out while waiting for an open connection)", calldesk::store::NOT_ANSWERING));
    for w in [120, 80] {
        let screen = draw(&v, w, 24);
        let status = screen.lines().rev().nth(1).expect("status bar");
        assert!(status.contains("updated"), "{w} columns: {status}");
        let last = screen.lines().last().expect("keys row");
        assert!(last.contains("✗ database not answering · retrying"), "{w} columns: {last}");
        assert!(!screen.contains("pool timed out"), "{w} columns: {screen}");
    }
}
