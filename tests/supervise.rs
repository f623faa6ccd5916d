//! The supervisor console: a snapshot of its screen, and end to end — a call placed through the
//! API of a real `calldesk serve` shows up in a supervisor console under tmux.

mod common;

use std::process::{Command, Stdio};

use chrono::Duration;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use calldesk::domain::CallStatus;
use calldesk::store::{Caller, DayStats, FeedbackCount, Stats, StatsBundle, StatusCount};
use calldesk::supervise::snapshot::{AgentRow, AgentState, Snapshot};
use calldesk::supervise::state::SuperView;
use calldesk::supervise::view::render;
use calldesk::telecmi::simulator::{Outcome, Simulator};
use common::fixtures::{call, ist, now};
use common::tmux::{self, Session};
use common::{APP_ID, SECRET};

/// Runs `calldesk ARGS` on the database at `url` (logs under `logs`), which must succeed; its
/// standard output, trimmed.
fn calldesk_ok(url: &str, logs: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_calldesk"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("CALLDESK_LOG_DIR", logs)
        .output()
        .expect("run");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn agent(
    id: i64,
    name: &str,
    state: AgentState,
    ago_secs: i64,
    current: Option<calldesk::domain::CallLog>,
) -> AgentRow {
    AgentRow {
        caller: Caller { id, name: name.into(), role: "agent".into() },
        state,
        since: Some(now() - Duration::seconds(ago_secs)),
        current,
        due: 12,
        callbacks_due: 2,
        queued: 40,
        break_reason: None,
        break_secs: 0,
    }
}

#[test]
fn supervisor_screen_snapshot() {
    let live = call(31, 4, "telecmi", CallStatus::Connected);
    let snapshot = Snapshot {
        agents: vec![
            agent(3, "Pooja", AgentState::OnCall, 95, Some(live.clone())),
            agent(4, "Ravi", AgentState::WrapUp, 200, Some(call(30, 2, "manual", CallStatus::Completed))),
            agent(5, "Sana", AgentState::Idle, 420, None),
        ],
        live: vec![live],
        stats: StatsBundle {
            today: Stats {
                by_status: vec![
                    StatusCount { status: "completed".into(), count: 9, avg_duration: Some(70.0) },
                    StatusCount { status: "missed".into(), count: 3, avg_duration: Some(0.0) },
                ],
                by_feedback: vec![FeedbackCount { feedback: "Not Interested".into(), count: 5 }],
                total: 12,
                avg_duration: Some(52.5),
                talks: 9,
                avg_talk: Some(70.0),
                connected_outcomes: vec![FeedbackCount { feedback: "Not Interested".into(), count: 5 }],
                not_placed: 2,
            },
            week: Stats::default(),
            days: (0..7)
                .map(|i| DayStats {
                    date: now().date_naive() - Duration::days(i),
                    total_calls: 10,
                    completed: 4 + i / 2,
                    failed: 1,
                    avg_duration: Some(50.0),
                    ..DayStats::default()
                })
                .collect(),
        },
        taken_at: Some(now()),
        ..Snapshot::default()
    };
    let v = SuperView {
        snapshot,
        ..SuperView::new(now() + Duration::seconds(1), ist(), "mysql db:3306/calldesk".into(), "Meera (9)".into())
    };
    let mut t = Terminal::new(TestBackend::new(110, 24)).expect("terminal");
    t.draw(|f| render(&v, f)).expect("draw");
    insta::assert_snapshot!(t.backend().to_string());
}

#[test]
fn supervisor_shows_breaks_with_their_reason_and_todays_break_time() {
    let mut on_break = agent(5, "Sana", AgentState::Break, 12 * 60, None);
    on_break.break_reason = Some("lunch".into());
    on_break.break_secs = 25 * 60;
    let mut ready = agent(4, "Ravi", AgentState::Idle, 90, None);
    ready.break_secs = 10 * 60;
    let live = call(31, 4, "telecmi", CallStatus::Connected);
    let snapshot = Snapshot {
        agents: vec![agent(3, "Pooja", AgentState::OnCall, 95, Some(live.clone())), ready, on_break],
        live: vec![live],
        taken_at: Some(now()),
        ..Snapshot::default()
    };
    let mut v = SuperView::new(now() + Duration::seconds(1), ist(), "sqlite calldesk.db".into(), "Meera (9)".into());
    v.snapshot = snapshot;
    let mut t = Terminal::new(TestBackend::new(110, 24)).expect("terminal");
    t.draw(|f| render(&v, f)).expect("draw");
    let screen = t.backend().to_string();
    let sana = screen.lines().find(|l| l.contains("Sana (5)")).unwrap_or_default();
    assert!(sana.contains("break") && sana.contains("lunch") && sana.contains("25m 00s"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[tokio::test]
async fn a_call_placed_through_the_api_shows_up_in_the_supervisor_console() {
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("team.db").display());
    let logs = dir.path().join("logs");
    let bin = env!("CARGO_BIN_EXE_calldesk");
    let run = |args: &[&str]| calldesk_ok(&url, &logs, args);
    run(&["caller", "add", "3", "Pooja"]);
    run(&["caller", "add", "9", "Meera", "--role", "supervisor"]);
    let csv = dir.path().join("d.csv");
    std::fs::write(&csv, "id,name,mobile,tmid,city,state,assigned_to\nD1,Ramesh Kumar,9876543211,TM1,Pune,MH,3\n")
        .expect("csv");
    run(&["import", "drivers", csv.to_str().expect("path")]);
    let token = run(&["token", "issue", "--user", "3"]);

    let sim = Simulator::start(APP_ID, SECRET, std::time::Duration::from_millis(700)).await.expect("sim");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let wh = "team-webhook-token-0123456789";
    sim.set_webhook_url(format!("http://127.0.0.1:{port}/webhook/telecmi/{wh}"));
    let mut server = Command::new(bin)
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("CALLDESK_LOG_DIR", &logs)
        .env("TELECMI_APP_ID", APP_ID)
        .env("TELECMI_APP_SECRET", SECRET)
        .env("TELECMI_BASE_URL", sim.base_url())
        .env("TELECMI_AGENTS", "3:5003")
        .env("WEBHOOK_ADDR", format!("127.0.0.1:{port}"))
        .env("WEBHOOK_TOKEN", wh)
        .env("CALLING_HOURS", common::ALL_DAY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let http = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{port}/healthz");
    let mut up = false;
    for _ in 0..100 {
        if http.get(&health).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "calldesk serve did not come up");

    let script = dir.path().join("sup.sh");
    std::fs::write(
        &script,
        format!(
            "export DATABASE_URL='{url}' CALLDESK_USER_ID=9 CALLDESK_LOG_DIR='{}'\nexec {bin} supervise\n",
            logs.display()
        ),
    )
    .expect("script");
    // Pooja's console is open (its session row; the test ends well within STALE_AFTER).
    let store = calldesk::store::Store::open(&url).await.expect("open");
    let pooja = calldesk::store::NewSession {
        caller_id: 3,
        kind: calldesk::domain::session::SessionKind::Console,
        origin: "local".into(),
        host: String::new(),
        pid: 1,
    };
    let (session, _) = store.open_session(&pooja).await.expect("session");
    // Her console's heartbeat, so a slow run does not see her go offline.
    let beating = store.clone();
    let heartbeat = tokio::spawn(async move {
        loop {
            let _ = beating.heartbeat(session.id).await;
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
    });
    let tm = Session::start(&script, 120, 30);
    tm.wait_text("SUPERVISOR", 10).await;
    tm.wait_text("No call in progress.", 10).await;

    sim.push_outcome(Outcome::Answered { talk_secs: 25 });
    let resp = http
        .post(format!("http://127.0.0.1:{port}/api/telecmi_production_api.php?action=click_to_call"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"caller_id": 3, "driver_id": "D1", "driver_mobile": "919876543211"}))
        .send()
        .await
        .expect("api");
    assert_eq!(resp.status().as_u16(), 200);
    let screen = tm.wait_text("Live calls · 1", 5).await;
    assert!(screen.contains("Ramesh Kumar"), "{screen}");
    assert!(screen.contains("on a call"), "{screen}");
    tm.wait_text("connected", 10).await;
    tm.wait_for("the call to end", 15, |s| s.contains("wrap-up") && s.contains("Live calls · 0")).await;
    // The day's numbers follow the live board within TOTALS_AFTER_CHANGE and a tick.
    tm.wait_text("completed 1", 8).await;

    // The agent goes on a break (as their console stores it): the supervisor sees it, with the reason.
    let lunch = calldesk::domain::Presence::Break("lunch".into());
    store.set_presence(3, &lunch, chrono::Utc::now() - Duration::minutes(3)).await.expect("break");
    let screen = tm
        .wait_for("Pooja's break", 10, |s| {
            s.lines().any(|l| l.contains("Pooja (3)") && l.contains("break") && l.contains("lunch"))
        })
        .await;
    assert!(screen.contains("Breaks"), "{screen}");
    assert!(screen.contains("3m 0") || screen.contains("3m 1"), "today's break time: {screen}");
    tm.keys(&["q"]);
    heartbeat.abort();
    let _ = server.kill();
    let _ = server.wait();
}

/// SIGTERM (or SIGHUP, SIGINT) closes the supervisor screen like `q`: exit 0, the terminal back in
/// cooked mode and off the alternate screen. Before, it died with 143 and left the shell invisible.
#[tokio::test]
async fn sigterm_closes_the_supervisor_and_restores_the_terminal() {
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("team.db").display());
    let logs = dir.path().join("logs");
    let bin = env!("CARGO_BIN_EXE_calldesk");
    calldesk_ok(&url, &logs, &["caller", "add", "9", "Meera", "--role", "supervisor"]);
    let script = dir.path().join("sup.sh");
    std::fs::write(
        &script,
        format!(
            "export DATABASE_URL='{url}' CALLDESK_USER_ID=9 CALLDESK_LOG_DIR='{}'\n{bin} supervise\n\
             echo \"EXIT=$?\"; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; sleep 60\n",
            logs.display()
        ),
    )
    .expect("script");
    let tm = Session::start(&script, 100, 30);
    tm.wait_text("SUPERVISOR", 10).await;
    // The calldesk process under the pane's shell.
    let pane = Command::new("tmux").args(["display", "-p", "-t", &tm.name, "#{pane_pid}"]).output().expect("tmux");
    let pane = String::from_utf8_lossy(&pane.stdout).trim().to_string();
    let child = Command::new("pgrep").args(["-P", &pane]).output().expect("pgrep");
    let pid = String::from_utf8_lossy(&child.stdout).lines().next().expect("calldesk runs").trim().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    // Waits for stty's line too: it prints just after EXIT=.
    let screen = tm
        .wait_for("the exit and stty's word", 10, |s| {
            s.contains("EXIT=") && s.lines().any(|l| l.trim().ends_with("icanon"))
        })
        .await;
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(screen.lines().any(|l| l.trim() == "icanon"), "the terminal is back in cooked mode:\n{screen}");
    assert!(!screen.contains("SUPERVISOR"), "the alternate screen is gone:\n{screen}");
}

#[test]
fn without_a_terminal_the_supervisor_says_it_needs_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    calldesk_ok(&url, &dir.path().join("logs"), &["caller", "add", "9", "Meera", "--role", "supervisor"]);
    let out = Command::new(env!("CARGO_BIN_EXE_calldesk"))
        .arg("supervise")
        .env("DATABASE_URL", &url)
        .env("CALLDESK_USER_ID", "9")
        .env("CALLDESK_LOG_DIR", dir.path().join("logs"))
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("needs a terminal"), "{err}");
}

/// An outcome saved (the agent goes from wrap-up to idle) reaches the day's numbers within
/// seconds although no webhook tells of it: a change on the board owes the totals a read.
#[test]
fn a_saved_outcome_on_the_board_owes_the_totals_a_read() {
    use calldesk::supervise::update::{Action, Effect, TOTALS_AFTER_CHANGE, update};
    let t0 = now();
    let mut v = SuperView::new(t0, ist(), "sqlite x".into(), "Meera".into());
    update(&mut v, Action::Tick(t0));
    let wrapping = Snapshot {
        agents: vec![agent(3, "Pooja", AgentState::WrapUp, 20, Some(call(7, 3, "telecmi", CallStatus::Completed)))],
        taken_at: Some(t0),
        totals_at: Some(t0),
        ..Snapshot::default()
    };
    update(&mut v, Action::SnapshotLoaded { result: Ok(Box::new(wrapping.clone())), at: t0 });
    assert!(!v.reads.totals_owed);
    // The next second's read: same board, nothing owed.
    let t1 = t0 + Duration::seconds(1);
    update(&mut v, Action::Tick(t1));
    update(&mut v, Action::SnapshotLoaded { result: Ok(Box::new(wrapping.clone())), at: t1 });
    assert!(!v.reads.totals_owed, "an unchanged board owes nothing");
    // Then Pooja saves: idle on the board.
    let t2 = t0 + Duration::seconds(2);
    update(&mut v, Action::Tick(t2));
    let idle = Snapshot { agents: vec![agent(3, "Pooja", AgentState::Idle, 0, None)], ..wrapping };
    update(&mut v, Action::SnapshotLoaded { result: Ok(Box::new(idle)), at: t2 });
    assert!(v.reads.totals_owed, "the save is owed to the totals");
    let fx = update(&mut v, Action::Tick(t0 + TOTALS_AFTER_CHANGE + Duration::seconds(1)));
    assert!(
        matches!(&fx[..], [Effect::LoadSnapshot { previous }] if previous.totals_at.is_none()),
        "the next tick reads them: {fx:?}"
    );
}
