//! The wrap-up at the keyboard, keys exactly as a person types them, against the real binary in
//! tmux and the simulator: each test is one way the console used to store what the agent did not
//! mean (issue 8), and checks the stored row.

mod common;

use std::process::Command;
use std::time::Duration;

use calldesk::telecmi::simulator::Outcome;
use common::e2e::Env;
use common::tmux::{self, Session};

const DRIVERS: &[(&str, &str, &str)] =
    &[("D1", "Ramesh Gupta", "9000000012"), ("D2", "Ganesh Singh", "9000000018"), ("D3", "Rakesh Patel", "9000000019")];

/// Starts the console at 120×40 and waits for the queue.
async fn console(env: &Env, after: &str) -> Session {
    let tm = Session::start(&env.console_script(after), 120, 40);
    tm.wait_text("3 due", 15).await;
    tm
}

/// Enter on the selected driver, `t` for TeleCMI, and wait for the wrap-up to open by itself.
async fn telecmi_call(tm: &Session, env: &Env, outcome: Outcome, name: &str) -> String {
    env.sim.push_outcome(outcome);
    tm.keys(&["Enter"]);
    tm.wait_text("TeleCMI IVR", 5).await;
    tm.keys(&["t"]);
    tm.wait_form(name, 20).await
}

#[tokio::test]
async fn tab_then_remarks_keeps_the_outcome_and_every_letter() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = console(&env, "").await;
    telecmi_call(&tm, &env, Outcome::Answered { talk_secs: 20 }, "Ramesh Gupta").await;
    tm.keys(&["m", "Tab"]);
    tm.type_text("Interview fixed Monday 10am");
    tm.wait_text("Interview fixed Monday 10am", 3).await;
    tm.keys(&["Enter"]);
    tm.wait_text("Saved \"Interview Fixed\"", 5).await;
    let c = env.last_call().await;
    assert_eq!(
        (c.feedback.as_deref(), c.remarks.as_deref()),
        (Some("Interview Fixed"), Some("Interview fixed Monday 10am"))
    );

    // A manual call, the same keys: the remarks get the text, the duration keeps its number.
    tm.wait_text("2 due", 5).await;
    tm.keys(&["Enter"]);
    tm.wait_text("Manual Call", 5).await;
    tm.keys(&["m"]);
    tm.wait_text("Manual call: dial", 5).await;
    tm.keys(&["e"]);
    tm.wait_form("Ganesh Singh", 5).await;
    tm.keys(&["m", "Tab"]);
    tm.type_text("Interview fixed Monday 10am");
    tm.wait_text("Interview fixed Monday 10am", 3).await;
    tm.keys(&["Enter"]);
    tm.wait_text("Saved \"Interview Fixed\"", 5).await;
    let c = env.last_call().await;
    assert_eq!(
        (c.feedback.as_deref(), c.remarks.as_deref(), c.provider.as_deref()),
        (Some("Interview Fixed"), Some("Interview fixed Monday 10am"), Some("manual"))
    );
    assert!(c.call_duration.is_some_and(|d| d < 60), "duration is the time on the line: {:?}", c.call_duration);
}

#[tokio::test]
async fn enter_enter_on_a_rejected_call_stores_ringing_busy_not_a_connected_outcome() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = console(&env, "").await;
    tm.keys(&["Down"]);
    telecmi_call(&tm, &env, Outcome::Rejected, "Ganesh Singh").await;
    let screen = tm.wait_text("The driver rejected the call.", 10).await;
    assert!(screen.contains("Ringing / Call Busy  (from the call's facts)"), "{screen}");
    // A Connected outcome is refused, with the reason; the choice stays.
    tm.keys(&["Delete", "m"]);
    tm.wait_text("does not fit: the driver never answered", 3).await;
    tm.keys(&["t", "Enter", "Enter"]);
    tm.wait_text("Saved \"Ringing / Call Busy\"", 5).await;
    let c = env.last_call().await;
    assert_eq!(
        (c.status.as_deref(), c.feedback.as_deref(), c.remarks.as_deref()),
        (Some("missed"), Some("Ringing / Call Busy"), Some("[driver rejected]"))
    );
}

#[tokio::test]
async fn an_agent_who_missed_the_call_does_not_charge_the_driver() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = console(&env, "").await;
    tm.keys(&["Down", "Down"]);
    telecmi_call(&tm, &env, Outcome::AgentNoAnswer, "Rakesh Patel").await;
    tm.wait_text("Your phone was not answered — the driver was not called.", 10).await;
    tm.keys(&["Enter"]);
    tm.wait_text("Saved \"Driver Not Called\": Rakesh Patel stays first in the queue", 5).await;
    let c = env.last_call().await;
    assert_eq!(
        (c.feedback.as_deref(), c.remarks.as_deref()),
        (Some("Driver Not Called"), Some("[agent's phone not answered; driver not called]"))
    );
    let q = env.store().await.queue_entry("D3").await.expect("q").expect("still queued");
    assert_eq!(q.attempts, 0, "the attempt is not the driver's");
    assert!(q.is_callback(), "first in the queue");
    assert!(q.due_at <= chrono::Utc::now().naive_utc(), "due now");
}

fn pane_pid(tm: &Session) -> u32 {
    let out =
        Command::new("tmux").args(["display", "-p", "-t", &tm.name, "#{pane_pid}"]).output().expect("tmux display");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("pid")
}

/// The calldesk process under the pane's shell.
fn console_pid(tm: &Session) -> String {
    let out = Command::new("pgrep").args(["-P", &pane_pid(tm).to_string()]).output().expect("pgrep");
    String::from_utf8_lossy(&out.stdout).lines().next().expect("calldesk runs").trim().to_string()
}

#[tokio::test]
async fn sigterm_restores_the_terminal_and_keeps_the_draft() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = console(&env, "echo \"EXIT=$?\"; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; sleep 60").await;
    telecmi_call(&tm, &env, Outcome::Answered { talk_secs: 5 }, "Ramesh Gupta").await;
    tm.keys(&["c", "Tab"]);
    tm.type_text("call back about the Pune route");
    tm.wait_text("call back about the Pune route", 3).await;
    Command::new("kill").args(["-TERM", &console_pid(&tm)]).status().expect("kill");
    // Waits for stty's line too: it prints just after EXIT=.
    let screen = tm
        .wait_for("the exit and stty's word", 10, |s| {
            s.contains("EXIT=") && s.lines().any(|l| l.trim().ends_with("icanon"))
        })
        .await;
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(screen.lines().any(|l| l.trim() == "icanon"), "the terminal is back in cooked mode:\n{screen}");
    assert!(!screen.contains("Wrap-up"), "the alternate screen is gone:\n{screen}");
    let w = env.store().await.unfinished_wrapups(3, chrono::Utc::now() - chrono::Duration::days(1)).await.expect("w");
    let d = w.first().and_then(|(_, d)| d.clone()).expect("draft");
    assert_eq!(
        (d.feedback.as_deref(), d.remarks.as_deref()),
        (Some("Already Subscribed"), Some("call back about the Pune route"))
    );
}

#[tokio::test]
async fn kill_9_loses_nothing_typed_250_ms_before() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = console(&env, "").await;
    telecmi_call(&tm, &env, Outcome::Answered { talk_secs: 5 }, "Ramesh Gupta").await;
    tm.keys(&["o", "Tab"]);
    tm.type_text("wants a night route");
    tm.wait_text("wants a night route", 3).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    Command::new("kill").args(["-KILL", &console_pid(&tm)]).status().expect("kill");
    let w = env.store().await.unfinished_wrapups(3, chrono::Utc::now() - chrono::Duration::days(1)).await.expect("w");
    let d = w.first().and_then(|(_, d)| d.clone()).expect("draft");
    assert_eq!((d.feedback.as_deref(), d.remarks.as_deref()), (Some("Others"), Some("wants a night route")));
}

#[tokio::test]
async fn q_during_a_live_call_asks_first() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = console(&env, "echo \"EXIT=$?\"; sleep 60").await;
    tm.keys(&["Enter"]);
    tm.wait_text("Manual Call", 5).await;
    tm.keys(&["m"]);
    tm.wait_text("Manual call: dial", 5).await;
    tm.keys(&["q"]);
    tm.wait_text("Quit calldesk?", 3).await;
    tm.keys(&["n"]);
    tm.wait_for("the question to close", 3, |s| !s.contains("Quit calldesk?")).await;
    assert!(!tm.screen().contains("EXIT="), "still running");
    tm.keys(&["q", "y"]);
    tm.wait_text("EXIT=0", 5).await;
}

#[test]
fn without_a_terminal_the_console_says_it_needs_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_calldesk"))
        .arg("console")
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("x.db").display()))
        .env("CALLDESK_USER_ID", "3")
        .env("CALLDESK_LOG_DIR", dir.path().join("logs"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test]
async fn the_stats_count_missed_calls_and_not_interested_is_no_success() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = console(&env, "").await;
    telecmi_call(&tm, &env, Outcome::Answered { talk_secs: 40 }, "Ramesh Gupta").await;
    tm.keys(&["l", "Enter"]);
    tm.wait_text("Saved \"Not Interested\"", 5).await;
    telecmi_call(&tm, &env, Outcome::Rejected, "Ganesh Singh").await;
    tm.wait_text("The driver rejected the call.", 10).await;
    tm.keys(&["Enter"]);
    tm.wait_text("Saved \"Ringing / Call Busy\"", 5).await;
    tm.keys(&["3"]);
    let screen = tm.wait_text("connect rate", 5).await;
    assert!(screen.contains("2 calls · connect rate 50% (1 connected)"), "{screen}");
    assert!(screen.contains("conversion 0%"), "Not Interested is no success:\n{screen}");
    assert!(screen.contains("missed 1"), "the missed call is counted as missed:\n{screen}");
    assert!(screen.contains("avg talk 40s over 1 talk"), "{screen}");
}
