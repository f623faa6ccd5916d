//! A database server with no connection left (MariaDB error 1040, "Too many connections") is
//! said plainly, in one line that says what to do, by each kind of process: a console, the
//! supervisor board, `serve`, and the one-shot commands (issue 26, point 5). A private MariaDB
//! server with `--max-connections=10` (its minimum), every connection held by the test.

mod common;

use std::process::{Command, Output};

use common::private_mariadb::PrivateMariaDb;

/// Runs calldesk; the console in a pseudo-terminal of `script` (it needs one), its stdout and
/// stderr then both on stdout.
fn run(url: &str, user: &str, args: &[&str]) -> Output {
    let logs = tempfile::tempdir().expect("tmp");
    let bin = env!("CARGO_BIN_EXE_calldesk");
    let mut cmd = if args == ["console"] {
        let mut c = Command::new("script");
        c.args(["-qec", &format!("{bin} console"), "/dev/null"]);
        c
    } else {
        let mut c = Command::new(bin);
        c.args(args);
        c
    };
    cmd.env("DATABASE_URL", url)
        .env("CALLDESK_USER_ID", user)
        .env("CALLDESK_LOG_DIR", logs.path())
        .env("WEBHOOK_ADDR", "127.0.0.1:0")
        .env_remove("TELECMI_APP_SECRET")
        .output()
        .expect("run calldesk")
}

#[track_caller]
fn ok(out: &Output) {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_no_connection_left_is_said_plainly() {
    let Some(db) = PrivateMariaDb::start(&["--max-connections=10"]) else { return };
    ok(&run(&db.url(), "3", &["migrate"]));
    ok(&run(&db.url(), "3", &["caller", "add", "3", "Asha"]));
    ok(&run(&db.url(), "3", &["caller", "add", "4", "Sunita", "--role", "supervisor"]));
    // The team's account has no SUPER / CONNECTION ADMIN: those get past max_connections.
    db.admin_sql(
        "CREATE USER 'team'@'127.0.0.1' IDENTIFIED BY 'team-secret';
         GRANT ALL PRIVILEGES ON calldesk.* TO 'team'@'127.0.0.1';",
    );
    let url = format!("mysql://team:team-secret@127.0.0.1:{}/calldesk", db.port());
    let pool = sqlx::mysql::MySqlPoolOptions::new().max_connections(10).connect(&url).await.expect("pool");
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(pool.acquire().await.expect("a connection"));
    }

    let cases: [(&str, &[&str]); 6] = [
        ("3", &["console"]),
        ("4", &["supervise"]),
        ("3", &["serve"]),
        ("3", &["migrate"]),
        ("3", &["caller", "list"]),
        ("3", &["export", "logs"]),
    ];
    for (user, args) in cases {
        let out = run(&url, user, args);
        let err = if args == ["console"] {
            // What the terminal shows once the screen is restored: the last line.
            let all = String::from_utf8_lossy(&out.stdout).into_owned();
            all.rsplit("\x1b[?1049l").next().unwrap_or_default().trim().to_string()
        } else {
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        let line = err.trim_end();
        assert_eq!(line.lines().count(), 1, "{args:?}: one line: {err:?}");
        assert!(line.starts_with("error: database unavailable: mysql 127.0.0.1:"), "{args:?}: {line}");
        for said in ["no connection left", "1040", "Too many connections", "raise its max_connections"] {
            assert!(line.contains(said), "{args:?} does not say {said:?}: {line}");
        }
        assert!(!line.contains("team-secret"), "{args:?}: the password shown: {line}");
    }

    // One connection closed: the same command works (once the server has let it go).
    held.pop().expect("held").close().await.expect("close");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let out = run(&url, "3", &["caller", "list"]);
        if out.status.success() || std::time::Instant::now() > until {
            ok(&out);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
