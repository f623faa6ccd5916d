//! The record across several calls, at the keyboard (issue 22): the real binary in tmux against
//! the simulator, keys as a person types them.

mod common;

use std::time::Duration;

use calldesk::telecmi::simulator::Outcome;
use common::e2e::Env;
use common::tmux::{self, Session};

const DRIVERS: &[(&str, &str, &str)] =
    &[("D1", "Ramesh Gupta", "9000000014"), ("D2", "Ganesh Singh", "9000000016"), ("D3", "Rakesh Patel", "9000000013")];

async fn console(env: &Env) -> Session {
    let tm = Session::start(&env.console_script(""), 120, 40);
    tm.wait_text("3 due", 15).await;
    tm
}

/// Enter, t, and the wrap-up of `name` opening by itself when the answered call ends.
async fn answered_call(tm: &Session, env: &Env, name: &str) {
    env.sim.push_outcome(Outcome::Answered { talk_secs: 2 });
    tm.keys(&["Enter"]);
    tm.wait_text("TeleCMI IVR", 5).await;
    tm.keys(&["t"]);
    tm.wait_form(name, 20).await;
}

#[tokio::test]
async fn no_second_call_while_a_wrap_up_waits_and_its_form_ignores_a_stray_w() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = console(&env).await;
    answered_call(&tm, &env, "Ramesh Gupta").await;
    let first = env.last_call().await;
    // Put aside: the driver is still first; Enter refuses, naming the call and the key.
    tm.keys(&["Escape"]);
    tm.wait_text("1 wrap-up waiting: w", 5).await;
    tm.keys(&["Enter"]);
    let screen = tm.wait_text("has no outcome yet", 5).await;
    assert!(
        screen.contains(&format!("#{}", first.id)) && screen.contains("press w to finish its wrap-up first"),
        "{screen}"
    );
    assert!(!screen.contains(" Call Ramesh Gupta "), "no call dialog:\n{screen}");

    // Another driver: call, talk, save. The waiting wrap-up opens by itself after the save,
    // and the agent — who read "waiting: w" — presses w a moment later.
    tm.keys(&["Down"]);
    answered_call(&tm, &env, "Ganesh Singh").await;
    tm.keys(&["m", "Enter"]);
    tm.wait_text("Wrap-up: Ramesh Gupta", 5).await;
    tm.keys(&["w"]);
    tm.wait_text("Ignored w", 3).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    // Now keys count: n picks "Ready for Interview", Enter saves.
    tm.keys(&["n"]);
    tm.wait_text("Outcome: ", 3).await;
    tm.keys(&["Enter"]);
    tm.wait_text("Saved \"", 5).await;
    let c = env.store().await.call(first.id).await.expect("get").expect("call");
    let n_label = calldesk::domain::FeedbackCatalog::default()
        .by_key('n')
        .map(|(_, o)| o.label.clone())
        .expect("an outcome on n");
    assert_eq!(c.feedback.as_deref(), Some(n_label.as_str()), "the w was ignored, n saved");
}

#[tokio::test]
async fn a_manual_call_ended_with_e_and_put_aside_lets_the_next_driver_be_called() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    let tm = console(&env).await;
    tm.keys(&["Enter"]);
    tm.wait_text("Manual Call", 5).await;
    tm.keys(&["m"]);
    tm.wait_text("Manual call: dial", 5).await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    tm.keys(&["e"]);
    tm.wait_form("Ramesh Gupta", 5).await;
    tm.keys(&["Escape"]);
    let screen = tm.wait_text("ended · on the line", 5).await;
    assert!(screen.contains("its wrap-up waits (w)"), "{screen}");
    let at = |s: &str| s.lines().find(|l| l.contains("ended · on the line")).map(str::to_string);
    let frozen = at(&screen);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(at(&tm.screen()), frozen, "the live pane stopped counting");
    tm.keys(&["Down", "Enter"]);
    let screen = tm.wait_text(" Call Ganesh Singh ", 5).await;
    assert!(!screen.contains("still in progress"), "{screen}");
}
