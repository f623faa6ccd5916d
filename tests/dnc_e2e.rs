//! The do-not-call list at the keyboard, in a real console under tmux (SQLite and MariaDB): a
//! listed driver is out of the queue, search and the card say DO NOT CALL with the reason, the
//! call dialog refuses both kinds of call, and "save and call next" (Ctrl+N) skips a driver listed
//! while the wrap-up was open.

mod common;

use calldesk::store::Store;
use common::e2e::Env;
use common::tmux::{self, Session};

async fn calls_to(store: &Store, driver: &str) -> usize {
    store.driver_calls(driver, 10).await.expect("calls").len()
}

#[tokio::test]
async fn a_listed_driver_found_by_search_cannot_be_called_and_shows_why() {
    if !tmux::available() {
        return;
    }
    dialog_refuses(None).await;
    if let Some(url) = common::mysql_url().await {
        dialog_refuses(Some(url)).await;
    }
}

async fn dialog_refuses(url: Option<String>) {
    let env = Env::on(url, &[("D1", "Ramesh Gupta", "9000000012"), ("D2", "Ganesh Singh", "9000000013")]).await;
    env.calldesk(&["dnc", "add", "+91 90000 00012", "--reason", "asked by SMS"]);
    let tm = Session::start(&env.console_script(""), 120, 40);
    let screen = tm.wait_text("1 due", 15).await;
    assert!(!screen.contains("Ramesh Gupta"), "the listed driver is out of the queue:\n{screen}");

    tm.keys(&["/"]);
    tm.type_text("Ramesh");
    let screen = tm.wait_text("1 found", 5).await;
    assert!(screen.contains("DO NOT CALL") && screen.contains("do not call: asked by SMS"), "{screen}");
    tm.keys(&["Enter", "Enter"]);
    let screen = tm.wait_text("DO NOT CALL: +91 90000 00012 is on the do-not-call list", 5).await;
    assert!(screen.contains("added by cli") && screen.contains("asked by SMS"), "{screen}");
    for key in ["t", "m", "Enter"] {
        tm.keys(&[key]);
        tm.wait_text("✗ +91 90000 00012 is on the do-not-call list (since", 5).await;
    }
    tm.keys(&["Escape", "i"]);
    let screen = tm.wait_text("✗ DO NOT CALL: on the do-not-call list since", 5).await;
    assert!(screen.contains("asked by SMS"), "{screen}");
    tm.keys(&["Escape", "q"]);

    let store = env.store().await;
    assert_eq!(calls_to(&store, "D1").await, 0, "no call_logs row");
    assert!(env.sim.placed().is_empty(), "TeleCMI was never asked");
}

#[tokio::test]
async fn save_and_call_next_skips_a_driver_listed_during_the_wrap_up() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(&[
        ("D1", "Ramesh Gupta", "9000000012"),
        ("D2", "Ganesh Singh", "9000000013"),
        ("D3", "Suresh Yadav", "9000000014"),
    ])
    .await;
    let tm = Session::start(&env.console_script(""), 120, 40);
    tm.wait_text("3 due", 15).await;
    tm.keys(&["Enter"]);
    tm.wait_text("Manual Call", 5).await;
    tm.keys(&["m"]);
    tm.wait_text("Manual call: dial", 5).await;
    tm.keys(&["e"]);
    tm.wait_form("Ramesh Gupta", 5).await;
    // Meanwhile the next driver in line asks (through the office) not to be called.
    env.calldesk(&["dnc", "add", "09000000013", "--reason", "asked by email"]);
    tm.keys(&["l", "C-n"]);
    let store = env.store().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while calls_to(&store, "D3").await == 0 {
        assert!(std::time::Instant::now() < deadline, "the next driver was never called:\n{}", tm.screen());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let screen = tm.wait_text("Suresh Yadav now", 5).await;
    assert!(screen.contains("1 due · 1 queued"), "the listed driver is not counted:\n{screen}");
    assert_eq!(calls_to(&store, "D2").await, 0, "the listed driver was not called:\n{screen}");
}
