//! The batch commands through the real binary: callers, tokens, driver import and log export.

mod common;

use std::process::{Command, Output};

use calldesk::store::Store;
use common::fixtures;

struct Cli {
    dir: tempfile::TempDir,
    url: String,
}

impl Cli {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let url = format!("sqlite://{}", dir.path().join("cli.db").display());
        Self { dir, url }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_calldesk"))
            .args(args)
            .env("DATABASE_URL", &self.url)
            .env("CALLDESK_LOG_DIR", self.dir.path().join("logs"))
            .env_remove("TELECMI_APP_SECRET")
            .output()
            .expect("run calldesk")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[tokio::test]
async fn import_reports_bad_rows_by_line_and_loads_the_rest() {
    let cli = Cli::new();
    cli.ok(&["caller", "add", "3", "Pooja"]);
    let csv = cli.dir.path().join("drivers.csv");
    std::fs::write(
        &csv,
        "id,name,mobile,tmid,city,state,assigned_to\n\
         D1,Ramesh,+91 98765-43210,TM1,Pune,MH,3\n\
         D2,Suresh,12345,TM2,Pune,MH,3\n\
         D3,Mahesh,09876543212,TM3,Pune,MH,\n\
         D4,Dinesh,9876543213,TM4,Pune,MH,8\n",
    )
    .expect("csv");
    let out = cli.run(&["import", "drivers", csv.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2), "bad rows make the exit code say so");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("drivers.csv:3: mobile \"12345\""), "{err}");
    assert!(err.contains("drivers.csv:5: assigned_to 8 is not a registered caller"), "{err}");
    // D3 names no agent: it goes to the team pool.
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("2 new, 0 updated, 2 queued (1 to the team pool: no assigned_to); 2 bad rows skipped"),
        "{said}"
    );
    let store = Store::open(&cli.url).await.expect("store");
    assert_eq!(store.driver("D3").await.expect("q").map(|d| d.mobile), Some("919876543212".into()));
    assert!(store.queue_entry("D1").await.expect("q").is_some());
    assert!(store.queue_entry("D3").await.expect("q").is_some(), "unassigned drivers are queued in the team pool");

    let wrong = cli.dir.path().join("wrong.csv");
    std::fs::write(&wrong, "name,phone\nx,y\n").expect("csv");
    let out = cli.run(&["import", "drivers", wrong.to_str().expect("path")]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the header must be exactly `id,name,mobile,tmid,city,state,assigned_to`")
    );
}

#[test]
fn caller_list_is_a_table_with_a_header() {
    let cli = Cli::new();
    cli.ok(&["caller", "add", "3", "Pooja"]);
    cli.ok(&["caller", "add", "12", "Meera Iyer", "--role", "supervisor"]);
    let out = Command::new(env!("CARGO_BIN_EXE_calldesk"))
        .args(["caller", "list"])
        .env("DATABASE_URL", &cli.url)
        .env("CALLDESK_LOG_DIR", cli.dir.path().join("logs"))
        .env("TELECMI_AGENTS", "3:5003")
        .output()
        .expect("run calldesk");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].contains("ID") && lines[0].contains("NAME") && lines[0].contains("ROLE"), "{text}");
    assert!(lines[0].ends_with("TELECMI EXT"), "{text}");
    // Aligned: each column starts where its header does.
    for (header, row, value) in [("NAME", 1, "Pooja"), ("ROLE", 1, "agent"), ("ROLE", 2, "supervisor")] {
        assert_eq!(lines[0].find(header), lines[row].find(value), "{header} column: {text}");
    }
    assert_eq!(lines[0].find("TELECMI EXT"), lines[1].find("5003"), "{text}");
    assert!(lines[2].ends_with(" -"), "no extension: {text}");
    assert_eq!(lines[3], "2 callers.");
}

#[tokio::test]
async fn tokens_are_printed_once_and_stored_hashed() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    let out = cli.run(&["token", "issue", "--user", "3"]);
    assert!(!out.status.success(), "unknown callers get no token");
    assert!(String::from_utf8_lossy(&out.stderr).contains("caller 3 is not registered"));
    cli.ok(&["caller", "add", "3", "Pooja"]);
    let out = cli.run(&["token", "issue", "--user", "3"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "stdout is the bare token, for scripts: {stdout}");
    let token = stdout.trim().to_string();
    assert!(token.starts_with("cd_") && token.len() == 67, "{token}");
    // Said even when stderr is not a terminal (a script's log, a pipe).
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("This token is shown once: store it now."), "{err}");
    assert!(err.contains("Revoke with `calldesk token revoke --user 3`."), "{err}");
    assert!(!err.contains(&token), "the token only on stdout: {err}");
    let store = Store::open(&cli.url).await.expect("store");
    assert_eq!(store.caller_for_token(&calldesk::domain::token::hash(&token)).await.expect("q"), Some(3));
    let raw = std::fs::read(cli.dir.path().join("cli.db")).unwrap_or_default();
    let wal = std::fs::read(cli.dir.path().join("cli.db-wal")).unwrap_or_default();
    let needle = token.as_bytes();
    assert!(
        !raw.windows(needle.len()).any(|w| w == needle) && !wal.windows(needle.len()).any(|w| w == needle),
        "the token itself is not stored"
    );
    assert!(cli.ok(&["token", "revoke", "--user", "3"]).contains("1 token of caller 3 revoked"));
    assert_eq!(store.caller_for_token(&calldesk::domain::token::hash(&token)).await.expect("q"), None);
}

#[tokio::test]
async fn export_writes_every_call_as_csv_json_or_ndjson() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    let empty = cli.ok(&["export", "logs"]);
    assert!(empty.starts_with("id,reference_id,caller_id,driver_id"), "an empty export still has its header: {empty}");
    cli.ok(&["caller", "add", "3", "Pooja"]);
    let store = Store::open(&cli.url).await.expect("store");
    let drivers: Vec<calldesk::domain::Driver> = (0..1500)
        .map(|i| fixtures::driver(&format!("D{i}"), &format!("Driver, \"{i}\""), &format!("9190000{i:05}"), Some(3)))
        .collect();
    store.import_drivers(&drivers, chrono::Utc::now()).await.expect("drivers");
    for d in &drivers {
        store.start_call(&fixtures::manual_call(d, 3), chrono::Utc::now()).await.expect("call");
    }
    let csv_text = cli.ok(&["export", "logs", "--format", "csv"]);
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().collect::<Result<_, _>>().expect("valid csv");
    assert_eq!(rows.len(), 1500, "all pages, one header");
    assert_eq!(rdr.headers().expect("header").len(), 16);
    assert!(rows.iter().any(|r| r.get(5) == Some("Driver, \"7\"")), "quoting survives");
    let json_text = cli.ok(&["export", "logs", "--format", "json", "--caller", "3"]);
    let all: Vec<serde_json::Value> = serde_json::from_str(&json_text).expect("one JSON array");
    assert_eq!(all.len(), 1500);
    assert_eq!(all[0]["provider"], serde_json::json!("manual"));
    let ndjson_text = cli.ok(&["export", "logs", "--format", "ndjson", "--caller", "3"]);
    let lines: Vec<serde_json::Value> =
        ndjson_text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 1500);
}
