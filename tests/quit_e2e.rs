//! Quitting the console logs no error (issue 22): everything that uses the database — the
//! webhook listener, the event feed, reconciliation, work in flight, the draft writer — stops
//! before the connection pool closes. The real binary in tmux, with requests arriving at its
//! listener while it quits (TeleCMI and health checks do not wait for an agent to finish).

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use calldesk::telecmi::simulator::Outcome;
use common::e2e::Env;
use common::tmux::{self, Session};

/// Asks `GET /healthz` (a database round trip) on `port` again and again until `stop`; counts
/// the answers.
fn keep_asking(port: u16, stop: Arc<AtomicBool>, answered: Arc<AtomicUsize>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                std::thread::sleep(std::time::Duration::from_millis(1));
                continue;
            };
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            let mut reply = String::new();
            if s.read_to_string(&mut reply).is_ok() && reply.starts_with("HTTP/1.1") {
                answered.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
}

/// Every line of every log file in `dir`.
fn log_lines(dir: &std::path::Path) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).expect("log dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("log file");
        lines.extend(text.lines().map(str::to_string));
    }
    lines
}

/// Presses `keys` to quit while requests keep arriving at the console's listener; returns the
/// log lines that are errors.
async fn quit_under_traffic(env: &Env, tm: &Session, keys: &[&str]) -> Vec<String> {
    let (stop, answered) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let asker = keep_asking(env.port, stop.clone(), answered.clone());
    while answered.load(Ordering::Relaxed) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    tm.keys(keys);
    tm.wait_text("EXIT=0", 20).await;
    stop.store(true, Ordering::Relaxed);
    asker.join().expect("asker");
    let lines = log_lines(&env.dir.path().join("logs"));
    assert!(lines.iter().any(|l| l.contains("listening for TeleCMI webhooks")), "the log was read: {lines:#?}");
    lines.into_iter().filter(|l| l.contains("ERROR") || l.contains("closed pool")).collect()
}

const DRIVERS: &[(&str, &str, &str)] = &[("D1", "Ramesh Gupta", "9000000012"), ("D2", "Ganesh Singh", "9000000018")];

#[tokio::test]
async fn quitting_logs_no_error() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = Session::start(&env.console_script("echo \"EXIT=$?\"; sleep 60"), 120, 40);
    tm.wait_text("2 due", 15).await;
    let errors = quit_under_traffic(&env, &tm, &["q"]).await;
    assert!(errors.is_empty(), "a normal quit logged errors:\n{errors:#?}");
}

/// A wrap-up put aside is written as a draft at quit, before the database closes.
#[tokio::test]
async fn quitting_with_a_wrap_up_put_aside_logs_no_error_and_keeps_the_draft() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = Session::start(&env.console_script("echo \"EXIT=$?\"; sleep 60"), 120, 40);
    tm.wait_text("2 due", 15).await;
    env.sim.push_outcome(Outcome::Answered { talk_secs: 5 });
    tm.keys(&["Enter"]);
    tm.wait_text("TeleCMI IVR", 5).await;
    tm.keys(&["t"]);
    tm.wait_form("Ramesh Gupta", 20).await;
    tm.keys(&["c", "Tab"]);
    tm.type_text("call back about the Pune route");
    tm.wait_text("call back about the Pune route", 3).await;
    tm.keys(&["Escape"]);
    tm.wait_for("the wrap-up put aside", 3, |s| !s.contains("Wrap-up: Ramesh Gupta")).await;
    // A wrap-up waiting: the quit asks first (it reopens next time), then y quits.
    tm.keys(&["q"]);
    tm.wait_text("1 wrap-up still waiting for an outcome", 3).await;
    let errors = quit_under_traffic(&env, &tm, &["y"]).await;
    assert!(errors.is_empty(), "quitting with a wrap-up waiting logged errors:\n{errors:#?}");
    let w = env.store().await.unfinished_wrapups(3, chrono::Utc::now() - chrono::Duration::days(1)).await.expect("w");
    let d = w.first().and_then(|(_, d)| d.clone()).expect("draft");
    assert_eq!(d.remarks.as_deref(), Some("call back about the Pune route"));
}

/// During a live call the quit asks first; the confirmed quit logs no error either.
#[tokio::test]
async fn quitting_during_a_live_call_after_the_question_logs_no_error() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = Session::start(&env.console_script("echo \"EXIT=$?\"; sleep 60"), 120, 40);
    tm.wait_text("2 due", 15).await;
    tm.keys(&["Enter"]);
    tm.wait_text("Manual Call", 5).await;
    tm.keys(&["m"]);
    tm.wait_text("Manual call: dial", 5).await;
    tm.keys(&["q"]);
    tm.wait_text("Quit calldesk?", 3).await;
    let errors = quit_under_traffic(&env, &tm, &["y"]).await;
    assert!(errors.is_empty(), "a confirmed quit logged errors:\n{errors:#?}");
}

/// The terminal goes away under the console (its window closed: tmux kills the pane, as a
/// dropped line closes sshd's pty): the console ends as on SIGHUP — its session recorded as a
/// hangup, its database closed — instead of aborting when ratatui cannot show the cursor on a
/// terminal that is gone. Before, the process died of SIGABRT and its session stayed open.
#[tokio::test]
async fn a_terminal_that_goes_away_ends_the_session_as_a_hangup() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = Session::start(&env.console_script(""), 120, 40);
    tm.wait_text("2 due", 15).await;
    tm.kill();
    let store = env.store().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if store.open_sessions(3).await.expect("sessions").is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the console's session is still open:\n{:#?}",
            log_lines(&env.dir.path().join("logs"))
        );
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    // The session's end is written before the database is closed (and logged): wait for both.
    loop {
        let lines = log_lines(&env.dir.path().join("logs"));
        let ended = lines.iter().any(|l| l.contains("session ended") && l.contains("hangup"));
        if ended && lines.iter().any(|l| l.contains("database closed")) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{lines:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
}
