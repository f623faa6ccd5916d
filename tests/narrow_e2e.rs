//! The real console under tmux in a 70×20 terminal: every mobile in the queue is shown whole, and a
//! wrap-up put aside stays visible in the status bar.

mod common;

use std::process::Command;

use common::tmux::{self, Session};

#[tokio::test]
async fn at_70x20_mobiles_are_whole_and_a_waiting_wrap_up_is_visible() {
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("narrow.db").display());
    let logs = dir.path().join("logs");
    let bin = env!("CARGO_BIN_EXE_calldesk");
    let run = |args: &[&str]| {
        let out = Command::new(bin)
            .args(args)
            .env("DATABASE_URL", &url)
            .env("CALLDESK_LOG_DIR", &logs)
            .output()
            .expect("run calldesk");
        assert!(out.status.success(), "calldesk {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["caller", "add", "3", "Pooja"]);
    let csv = dir.path().join("drivers.csv");
    let mut rows = String::from("id,name,mobile,tmid,city,state,assigned_to\n");
    for i in 1..=12 {
        rows.push_str(&format!("D{i},Ramesh Kumar Yadav {i},91900000{i:04},TM-{i:05},Visakhapatnam,AP,3\n"));
    }
    std::fs::write(&csv, rows).expect("csv");
    run(&["import", "drivers", csv.to_str().expect("path")]);
    let script = dir.path().join("console.sh");
    std::fs::write(
        &script,
        format!(
            "export DATABASE_URL='{url}' CALLDESK_USER_ID=3 WEBHOOK_ADDR=127.0.0.1:0 CALLDESK_LOG_DIR='{}' CALLING_HOURS=00:00-24:00\n\
             exec {bin} console\n",
            logs.display()
        ),
    )
    .expect("script");
    let tm = Session::start(&script, 70, 20);
    let screen = tm.wait_text("12 due", 15).await;
    // As people dial them, `+91 90000 00001`, and whole.
    let numbers: Vec<String> =
        screen.match_indices("+91").map(|(i, _)| screen[i..].chars().take(15).collect()).collect();
    assert!(numbers.len() >= 10, "the queue shows its mobiles:\n{screen}");
    for n in numbers {
        let shape: String = n.chars().map(|c| if c.is_ascii_digit() { '9' } else { c }).collect();
        assert_eq!(shape, "+99 99999 99999", "{n} is cut:\n{screen}");
    }

    tm.keys(&["Enter"]);
    tm.wait_text("Manual", 5).await;
    tm.keys(&["m"]);
    tm.wait_text("Manual call: dial", 5).await;
    tm.keys(&["e"]);
    tm.wait_form("Ramesh", 5).await;
    tm.keys(&["Escape"]);
    let screen = tm.wait_text("1 wrap-up waiting: w", 5).await;
    let bar = screen.lines().rev().nth(2).unwrap_or_default().to_string();
    assert!(bar.contains("1 wrap-up waiting: w") && bar.contains("Pooja (3)"), "status bar: {bar}\n{screen}");
    tm.keys(&["q"]);
}
