//! The console while the database goes away (issue 26, points 2 and 3): the real binary in tmux on
//! a private MariaDB server that is stopped, restarted, paused (SIGSTOP) and resumed under it.
//! What the agent types during an outage survives a dropped line (SIGHUP); a save pressed during
//! an outage waits, says so, and is made by itself once the database answers — exactly once.

mod common;

use std::process::Command;
use std::time::Duration;

use calldesk::store::CallFilter;
use calldesk::telecmi::simulator::Outcome;
use common::e2e::Env;
use common::private_mariadb::PrivateMariaDb;
use common::tmux::{self, Session};

const DRIVERS: &[(&str, &str, &str)] = &[("D1", "Ramesh Gupta", "9000000012"), ("D2", "Ganesh Singh", "9000000018")];

/// Starts the console at 120×40 and waits for the queue; the shell says how calldesk exited.
async fn console(env: &Env) -> Session {
    let tm = Session::start(&env.console_script("echo \"EXIT=$?\"; sleep 120"), 120, 40);
    tm.wait_text("2 due", 30).await;
    tm
}

/// A TeleCMI call the driver answers; waits for its wrap-up to open by itself.
async fn answered_call(tm: &Session, env: &Env) {
    env.sim.push_outcome(Outcome::Answered { talk_secs: 20 });
    tm.keys(&["Enter"]);
    tm.wait_text("TeleCMI IVR", 5).await;
    tm.keys(&["t"]);
    tm.wait_form("Ramesh Gupta", 30).await;
}

/// The calldesk process under the pane's shell.
fn console_pid(tm: &Session) -> String {
    let out =
        Command::new("tmux").args(["display", "-p", "-t", &tm.name, "#{pane_pid}"]).output().expect("tmux display");
    let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = Command::new("pgrep").args(["-P", &shell]).output().expect("pgrep");
    String::from_utf8_lossy(&out.stdout).lines().next().expect("calldesk runs").trim().to_string()
}

/// Calls with an outcome, as stored.
async fn outcomes(env: &Env) -> Vec<(i64, String, String)> {
    let page = calldesk::store::CallPage { before_id: None, offset: None, limit: 50 };
    let calls = env.store().await.list_calls(&CallFilter::default(), page).await.expect("calls");
    calls
        .into_iter()
        .filter(|c| c.feedback.as_deref().is_some_and(|f| !f.is_empty()))
        .map(|c| (c.id, c.feedback.unwrap_or_default(), c.remarks.unwrap_or_default()))
        .collect()
}

/// The remarks of each draft in the local draft file, by call id.
fn local_remarks(env: &Env) -> Vec<(i64, String)> {
    let Ok(entries) = std::fs::read_dir(env.data_dir()) else { return Vec::new() };
    let Some(file) = entries.filter_map(Result::ok).find(|e| {
        let n = e.file_name().to_string_lossy().into_owned();
        n.starts_with("drafts-") && n.ends_with(".json")
    }) else {
        return Vec::new();
    };
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(file.path()).expect("read")).expect("json");
    let drafts = kept["drafts"].as_object().cloned().unwrap_or_default();
    drafts
        .into_iter()
        .map(|(id, d)| (id.parse().expect("id"), d["draft"]["remarks"].as_str().unwrap_or("").to_string()))
        .collect()
}

/// Type a wrap-up, stop the database, type more, drop the line (SIGHUP), start the database
/// again, start the console again: the text typed during the outage is in the reopened form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_typed_during_an_outage_survives_a_dropped_line() {
    if !tmux::available() {
        return;
    }
    let Some(mut db) = PrivateMariaDb::start(&[]) else { return };
    let env = Env::on(Some(db.url()), DRIVERS).await;
    let tm = console(&env).await;
    answered_call(&tm, &env).await;
    tm.keys(&["m", "Tab"]);
    tm.type_text("before the outage,");
    tm.wait_text("before the outage,", 3).await;
    tokio::time::sleep(Duration::from_millis(800)).await;

    db.stop();
    tm.type_text(" typed while the database was down");
    tm.wait_text("typed while the database was down", 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    Command::new("kill").args(["-HUP", &console_pid(&tm)]).status().expect("kill -HUP");
    tm.wait_text("EXIT=", 40).await;

    db.restart();
    let again = Session::start(&env.console_script(""), 120, 40);
    let screen = again.wait_text("typed while the database was down", 60).await;
    assert!(screen.contains("Wrap-up: Ramesh Gupta"), "{screen}");
    assert!(screen.contains("before the outage, typed while the database was down"), "{screen}");
    // The reopened copy went back to the database as well.
    let mut stored = None;
    for _ in 0..50 {
        let w = env.store().await.unfinished_wrapups(3, chrono::Utc::now() - chrono::Duration::days(1)).await;
        stored = w.expect("wrap-ups").first().and_then(|(_, d)| d.as_ref()).and_then(|d| d.remarks.clone());
        if stored.as_deref().is_some_and(|r| r.ends_with("down")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored.as_deref(), Some("before the outage, typed while the database was down"));
}

/// A dropped line while the database is paused (SIGSTOP: connections open, nothing answered): the
/// console still closes within seconds (it does not wait on the database to end its session or
/// close its pool), and what was typed is in the local file for the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_line_while_the_database_is_paused_closes_at_once_and_keeps_the_text() {
    if !tmux::available() {
        return;
    }
    let Some(db) = PrivateMariaDb::start(&[]) else { return };
    let env = Env::on(Some(db.url()), DRIVERS).await;
    let tm = console(&env).await;
    answered_call(&tm, &env).await;
    tm.keys(&["m", "Tab"]);
    tm.type_text("typed before the pause,");
    tm.wait_text("typed before the pause,", 3).await;
    tokio::time::sleep(Duration::from_millis(800)).await;

    db.pause();
    tm.type_text(" and during it");
    tm.wait_text("and during it", 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hup = std::time::Instant::now();
    Command::new("kill").args(["-HUP", &console_pid(&tm)]).status().expect("kill -HUP");
    tm.wait_text("EXIT=", 20).await;
    let took = hup.elapsed();
    db.resume();
    assert!(took < Duration::from_secs(15), "closing took {took:?} with the database paused");
    let kept = local_remarks(&env);
    assert!(kept.iter().any(|(_, r)| r == "typed before the pause, and during it"), "{kept:?}");
}

/// Enter while the database is stopped: the form says the save waits; once the database is back
/// the screen says saved with no key pressed, and the call has exactly one outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_pressed_while_the_database_is_stopped_is_made_when_it_returns() {
    if !tmux::available() {
        return;
    }
    let Some(mut db) = PrivateMariaDb::start(&[]) else { return };
    let env = Env::on(Some(db.url()), DRIVERS).await;
    let tm = console(&env).await;
    answered_call(&tm, &env).await;
    tm.keys(&["m", "Tab"]);
    tm.type_text("interview on Monday");
    tm.wait_text("interview on Monday", 3).await;

    db.stop();
    tm.keys(&["Enter"]);
    let screen = tm.wait_text("Database unavailable", 30).await;
    assert!(screen.contains("will be saved when it returns"), "{screen}");
    assert!(screen.contains("Wrap-up: Ramesh Gupta"), "the form stays with what was typed:\n{screen}");
    assert!(!screen.contains("Enter retries"), "{screen}");

    db.restart();
    let screen = tm.wait_text("Saved \"Interview Fixed\"", 60).await;
    assert!(!screen.contains("Database unavailable"), "the stale line is gone:\n{screen}");
    assert!(!screen.contains('✗'), "no error left on screen:\n{screen}");
    let saved = outcomes(&env).await;
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!((saved[0].1.as_str(), saved[0].2.as_str()), ("Interview Fixed", "interview on Monday"));
    assert!(local_remarks(&env).iter().all(|(id, _)| *id != saved[0].0), "the local draft of a saved call goes");
}

/// The same under SIGSTOP/SIGCONT: a database that holds its connections and answers nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_pressed_while_the_database_is_paused_is_made_when_it_resumes() {
    if !tmux::available() {
        return;
    }
    let Some(db) = PrivateMariaDb::start(&[]) else { return };
    let env = Env::on(Some(db.url()), DRIVERS).await;
    let tm = console(&env).await;
    answered_call(&tm, &env).await;
    tm.keys(&["c", "Tab"]);
    tm.type_text("already has a plan");
    tm.wait_text("already has a plan", 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    db.pause();
    tm.keys(&["Enter"]);
    tm.wait_text("Database unavailable", 30).await;
    tm.type_text(" until March");
    tm.wait_text("already has a plan until March", 3).await;
    // Stays waiting (retries meet a database that answers nothing) and the UI keeps answering.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let screen = tm.wait_text("Database unavailable", 3).await;
    assert!(screen.contains("Wrap-up: Ramesh Gupta"), "{screen}");
    let kept: Vec<String> = local_remarks(&env).into_iter().map(|(_, r)| r).collect();
    assert_eq!(kept, vec!["already has a plan until March".to_string()], "kept on this host meanwhile");

    db.resume();
    let screen = tm.wait_text("Saved \"Already Subscribed\"", 60).await;
    assert!(!screen.contains("Database unavailable"), "{screen}");
    let saved = outcomes(&env).await;
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(saved[0].1, "Already Subscribed");
    assert_eq!(saved[0].2, "already has a plan until March", "typed while waiting is saved too");
}

/// Enter while the database is stopped (the save waits), then the line drops (SIGHUP) before the
/// database is back: the next console makes that save by itself, with no key pressed, says so,
/// and the call has exactly one outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_waiting_when_the_line_drops_is_made_by_the_next_console() {
    if !tmux::available() {
        return;
    }
    let Some(mut db) = PrivateMariaDb::start(&[]) else { return };
    let env = Env::on(Some(db.url()), DRIVERS).await;
    let tm = console(&env).await;
    answered_call(&tm, &env).await;
    tm.keys(&["l", "Tab"]);
    tm.type_text("has a job already");
    tm.wait_text("has a job already", 3).await;
    tokio::time::sleep(Duration::from_millis(800)).await;

    db.stop();
    tm.keys(&["Enter"]);
    let screen = tm.wait_text("Database unavailable", 30).await;
    assert!(screen.contains("will be saved when it returns"), "{screen}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    Command::new("kill").args(["-HUP", &console_pid(&tm)]).status().expect("kill -HUP");
    tm.wait_text("EXIT=", 40).await;

    db.restart();
    assert!(outcomes(&env).await.is_empty(), "nothing was saved while the database was away");
    let again = Session::start(&env.console_script(""), 120, 40);
    let screen = again.wait_text("Saved \"Not Interested\"", 60).await;
    assert!(screen.contains("the save you pressed before the console closed"), "{screen}");
    assert!(screen.contains("Ramesh Gupta"), "{screen}");
    assert!(!screen.contains("Wrap-up: Ramesh Gupta"), "no form left to save by hand:\n{screen}");
    let saved = outcomes(&env).await;
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!((saved[0].1.as_str(), saved[0].2.as_str()), ("Not Interested", "has a job already"));
    assert!(local_remarks(&env).iter().all(|(id, _)| *id != saved[0].0), "the local draft of a saved call goes");
}
