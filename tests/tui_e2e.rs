//! The real binary under tmux against the simulator: a whole call at the keyboard, and a console
//! killed in the middle of a wrap-up that gets its draft back.

mod common;

use std::path::PathBuf;
use std::process::Command;

use calldesk::store::Store;
use calldesk::telecmi::simulator::{Outcome, Simulator};
use common::tmux::{self, Session};
use common::{APP_ID, SECRET};

const TOKEN: &str = "e2e-webhook-token-0123456789";

struct Env {
    dir: tempfile::TempDir,
    url: String,
    sim: Simulator,
    port: u16,
}

fn calldesk(env: &Env, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_calldesk"))
        .args(args)
        .env("DATABASE_URL", &env.url)
        .env("CALLDESK_LOG_DIR", env.dir.path().join("logs"))
        .output()
        .expect("run calldesk");
    assert!(out.status.success(), "calldesk {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A fresh database (`url`, or a SQLite file when `None`) with Pooja and two drivers.
async fn setup(url: Option<String>) -> Env {
    let dir = tempfile::tempdir().expect("tmp");
    let url = url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("e2e.db").display()));
    let sim = Simulator::start(APP_ID, SECRET, std::time::Duration::from_millis(300)).await.expect("simulator");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    sim.set_webhook_url(format!("http://127.0.0.1:{port}/webhook/telecmi/{TOKEN}"));
    let env = Env { dir, url, sim, port };
    calldesk(&env, &["caller", "add", "3", "Pooja"]);
    let csv = env.dir.path().join("drivers.csv");
    std::fs::write(&csv, "id,name,mobile,tmid,city,state,assigned_to\nD1,Ramesh Kumar,9876543211,TM1,Pune,MH,3\nD2,Suresh Yadav,9876543212,TM2,Nagpur,MH,3\n").expect("csv");
    calldesk(&env, &["import", "drivers", csv.to_str().expect("path")]);
    env
}

/// A script that starts the console with this test's settings.
fn console_script(env: &Env) -> PathBuf {
    let path = env.dir.path().join("console.sh");
    let script = format!(
        "export DATABASE_URL='{}' CALLDESK_USER_ID=3 TELECMI_APP_ID={APP_ID} TELECMI_APP_SECRET={SECRET} \
         TELECMI_BASE_URL='{}' TELECMI_AGENTS=3:5003 WEBHOOK_ADDR=127.0.0.1:{} WEBHOOK_TOKEN={TOKEN} \
         CALLDESK_LOG_DIR='{}' CALLING_HOURS=00:00-24:00\nexec {} console\n",
        env.url,
        env.sim.base_url(),
        env.port,
        env.dir.path().join("logs").display(),
        env!("CARGO_BIN_EXE_calldesk"),
    );
    std::fs::write(&path, script).expect("script");
    path
}

async fn open(env: &Env) -> Store {
    Store::connect(&env.url).await.expect("store")
}

#[tokio::test]
async fn a_telecmi_call_at_the_keyboard() {
    if !tmux::available() {
        return;
    }
    call_at_the_keyboard(None).await;
    // The same, with the console on MariaDB (a team's shared database).
    if let Some(url) = common::mysql_url().await {
        call_at_the_keyboard(Some(url)).await;
    }
}

async fn call_at_the_keyboard(url: Option<String>) {
    let env = setup(url).await;
    let tm = Session::start(&console_script(&env), 120, 40);
    tm.wait_text("2 due", 15).await;
    env.sim.push_outcome(Outcome::Answered { talk_secs: 33 });
    tm.keys(&["Enter"]);
    tm.wait_text("TeleCMI IVR", 5).await;
    tm.keys(&["t"]);
    tm.wait_text("Your phone will ring shortly. Answer to connect with the driver.", 5).await;
    tm.wait_text("CONNECTED", 10).await;
    let screen = tm.wait_form("Ramesh Kumar", 10).await;
    assert!(screen.contains("completed"), "{screen}");
    tm.keys(&["m"]);
    tm.type_text("Interview on Monday");
    tm.wait_text("Interview on Monday", 3).await;
    tm.keys(&["Enter"]);
    let screen = tm.wait_text("Saved \"Interview Fixed\"", 5).await;
    assert!(screen.contains("1 due"), "the driver left the queue:\n{screen}");
    // Leg B's report (with the talk time) may land after the save; the recent list shows it.
    tm.wait_text("completed 0:33", 10).await;
    tm.keys(&["q"]);

    let store = open(&env).await;
    let calls = store
        .list_calls(&Default::default(), calldesk::store::CallPage { before_id: None, offset: None, limit: 10 })
        .await
        .expect("calls");
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(
        (c.status.as_deref(), c.feedback.as_deref(), c.remarks.as_deref(), c.call_duration, c.provider.as_deref()),
        (Some("completed"), Some("Interview Fixed"), Some("Interview on Monday"), Some(33), Some("telecmi"))
    );
    assert!(store.queue_entry("D1").await.expect("q").is_none(), "driver left the queue");
    assert!(store.queue_entry("D2").await.expect("q").is_some());
}

#[tokio::test]
async fn a_console_killed_mid_wrap_up_gets_its_draft_back() {
    if !tmux::available() {
        return;
    }
    let env = setup(None).await;
    let script = console_script(&env);
    let tm = Session::start(&script, 100, 30);
    tm.wait_text("2 due", 15).await;
    tm.keys(&["Down", "Enter"]);
    tm.wait_text("Manual Call", 5).await;
    tm.keys(&["m"]);
    tm.wait_text("Manual call: dial", 5).await;
    tm.keys(&["e"]);
    tm.wait_form("Suresh Yadav", 5).await;
    tm.keys(&["w"]);
    tm.type_text("call after 6pm");
    tm.wait_text("call after 6pm", 3).await;
    // The draft is written on the next tick; then the console dies without a goodbye.
    let store = open(&env).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let w = store.unfinished_wrapups(3, chrono::Utc::now() - chrono::Duration::days(1)).await.expect("wrapups");
        if w.first().and_then(|(_, d)| d.as_ref()).and_then(|d| d.remarks.clone()).as_deref() == Some("call after 6pm")
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "draft never saved: {w:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tm.kill();
    drop(tm);

    let tm = Session::start(&script, 100, 30);
    let screen = tm.wait_form("Suresh Yadav", 15).await;
    assert!(screen.contains("call after 6pm"), "{screen}");
    assert!(screen.contains("Call Back Later › Call Tomorrow Morning"), "{screen}");
    assert!(screen.contains("Unfinished wrap-up reopened"), "{screen}");
    tm.keys(&["Enter"]);
    tm.wait_text("Saved \"Call Tomorrow Morning\"", 5).await;
    tm.keys(&["q"]);
    let calls = store
        .list_calls(&Default::default(), calldesk::store::CallPage { before_id: None, offset: None, limit: 10 })
        .await
        .expect("calls");
    assert_eq!(
        (calls[0].feedback.as_deref(), calls[0].remarks.as_deref()),
        (Some("Call Tomorrow Morning"), Some("call after 6pm"))
    );
    let q = store.queue_entry("D2").await.expect("q").expect("still queued as a callback");
    assert!(q.is_callback());
}
