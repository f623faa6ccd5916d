//! A typo in DATABASE_URL must not start an empty database (issue 22): the console, the
//! supervisor, `serve` and every command that works on data already there stop at a SQLite file
//! that is not there, naming it; the commands that put the first data in create it and say so.
//! The real binary in a real temporary folder.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::tmux::{self, Session};

/// Runs calldesk in `dir` with `DATABASE_URL=sqlite://typo.db` (relative, as typed by hand).
fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calldesk"))
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", "sqlite://typo.db")
        .env("CALLDESK_USER_ID", "3")
        .env("CALLDESK_LOG_DIR", dir.join("logs"))
        .env("WEBHOOK_ADDR", "127.0.0.1:0")
        .env_remove("TELECMI_APP_SECRET")
        .output()
        .expect("run calldesk")
}

fn no_files(dir: &Path) {
    for f in ["typo.db", "typo.db-wal", "typo.db-shm"] {
        assert!(!dir.join(f).exists(), "{f} was created");
    }
}

fn refusal(dir: &Path) -> String {
    let path = dir.join("typo.db");
    format!(
        "error: no database at {} (DATABASE_URL=sqlite://typo.db); create it with `calldesk migrate`",
        path.display()
    )
}

#[test]
fn commands_on_existing_data_refuse_a_missing_file() {
    let cases: [&[&str]; 10] = [
        &["supervise"],
        &["serve"],
        &["export", "logs"],
        &["recording", "1", "-o", "x.mp3"],
        &["caller", "list"],
        &["caller", "target", "3", "5"],
        &["token", "issue", "--user", "3"],
        &["token", "revoke", "--user", "3"],
        &["dnc", "list"],
        &["dnc", "remove", "9000000012"],
    ];
    for args in cases {
        let dir = tempfile::tempdir().expect("tmp");
        let out = run(dir.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.trim_end(), refusal(dir.path()), "{args:?}: one line naming the file");
        no_files(dir.path());
    }
}

#[test]
fn commands_that_load_first_data_create_the_file_and_say_so() {
    let cases: [&[&str]; 5] = [
        &["migrate"],
        &["caller", "add", "3", "Pooja"],
        &["import", "drivers", "drivers.csv"],
        &["dnc", "add", "9000000012"],
        &["dnc", "import", "dnc.csv"],
    ];
    for args in cases {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("drivers.csv"), "id,name,mobile,tmid,city,state,assigned_to\n").expect("csv");
        std::fs::write(dir.path().join("dnc.csv"), "number\n9000000013\n").expect("csv");
        let said = format!("created a new database at {}", dir.path().join("typo.db").display());
        let out = run(dir.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(err.lines().any(|l| l == said), "{args:?}: {err}");
        assert!(dir.path().join("typo.db").exists(), "{args:?}");
        // Once it is there, nothing more is said.
        let again = run(dir.path(), args);
        assert!(!String::from_utf8_lossy(&again.stderr).contains("created"), "{args:?}");
    }
}

#[tokio::test]
async fn the_console_refuses_a_missing_file() {
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let script = dir.path().join("console.sh");
    std::fs::write(
        &script,
        format!(
            "cd '{}' && DATABASE_URL=sqlite://typo.db CALLDESK_USER_ID=3 CALLDESK_LOG_DIR=logs \
             WEBHOOK_ADDR=127.0.0.1:0 {}\necho \"EXIT=$?\"; sleep 60\n",
            dir.path().display(),
            env!("CARGO_BIN_EXE_calldesk")
        ),
    )
    .expect("script");
    let tm = Session::start(&script, 400, 10);
    let screen = tm.wait_text("EXIT=", 15).await;
    assert!(screen.contains("EXIT=1"), "{screen}");
    assert!(screen.contains(&refusal(dir.path())), "{screen}");
    no_files(dir.path());
}

/// A creating command with a bad argument says what is wrong and creates nothing.
#[test]
fn a_creating_command_with_bad_arguments_creates_no_database() {
    let cases: [(&[&str], &str); 4] = [
        (&["import", "drivers", "nosuch.csv"], "cannot open nosuch.csv"),
        (&["dnc", "add", "abc"], "invalid number"),
        (&["dnc", "import", "nosuch.csv"], "cannot open nosuch.csv"),
        (&["caller", "add", "0", "Pooja"], "caller id must be a positive number"),
    ];
    for (args, says) in cases {
        let dir = tempfile::tempdir().expect("tmp");
        let out = run(dir.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(says) && !err.contains("created a new database"), "{args:?}: {err}");
        no_files(dir.path());
    }
}
