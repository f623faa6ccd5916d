//! Data in and out through the real binary, on SQLite and MariaDB: the import's rules (repeated
//! ids and mobiles, finished drivers, escape sequences) and the export's (one JSON array, ndjson,
//! times with their offset, day filters, formula cells), plus the demo's refusal of a database.

mod common;

use std::process::{Command, Output};

use calldesk::domain::FeedbackCatalog;
use calldesk::store::{NewCall, Store, SubmitFeedback};
use chrono::{DateTime, Utc};
use common::{TestDb, each_backend, fixtures};

const HEADER: &str = "id,name,mobile,tmid,city,state,assigned_to\n";

struct Cli {
    url: String,
    dir: tempfile::TempDir,
}

impl Cli {
    fn on(db: &TestDb) -> Self {
        Self { url: db.url.clone(), dir: tempfile::tempdir().expect("tmp") }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_calldesk"))
            .args(args)
            .env("DATABASE_URL", &self.url)
            .env("CALLDESK_LOG_DIR", self.dir.path().join("logs"))
            .env("TZ", "Asia/Kolkata")
            .env_remove("TELECMI_APP_SECRET")
            .output()
            .expect("run calldesk")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Imports `rows` (after the header); returns (exit code, stdout, stderr).
    fn import(&self, rows: &str, extra: &[&str]) -> (Option<i32>, String, String) {
        let csv = self.dir.path().join("drivers.csv");
        std::fs::write(&csv, format!("{HEADER}{rows}")).expect("csv");
        let mut args = vec!["import", "drivers", csv.to_str().expect("path")];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

async fn call(store: &Store, id: &str, name: &str, at: DateTime<Utc>) -> i64 {
    let d = fixtures::driver(id, name, "919876543210", Some(3));
    let new = NewCall { min_gap: chrono::Duration::seconds(0), ..fixtures::manual_call(&d, 3) };
    store.start_call(&new, at).await.expect("call").id
}

async fn outcome(store: &Store, call_id: i64, feedback: &str) {
    let f = SubmitFeedback {
        call_id,
        status: None,
        feedback: feedback.into(),
        remarks: "done".into(),
        call_duration: Some(60),
    };
    store.submit_feedback(&f, &FeedbackCatalog::default(), Utc::now()).await.expect("feedback");
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
}

#[tokio::test]
async fn a_repeated_id_names_both_lines_and_the_first_row_stays() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        cli.ok(&["caller", "add", "3", "Pooja"]);
        let (code, out, err) =
            cli.import("D3,First,9876543210,,,,3\nD4,Other,9876543211,,,,3\nD3,Second,9876543212,,,,3\n", &[]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("drivers.csv:4: duplicate id D3 (first on line 2)"), "{err}");
        assert!(out.contains("2 new, 0 updated, 2 queued; 1 bad row skipped"), "{out}");
        let d = db.store.driver("D3").await.expect("q").expect("D3");
        assert_eq!((d.name.as_str(), d.mobile.as_str()), ("First", "919876543210"), "the later row is not loaded");
    })
    .await;
}

#[tokio::test]
async fn a_mobile_of_another_driver_is_refused_by_line() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        cli.ok(&["caller", "add", "3", "Pooja"]);
        cli.import("D1,Ramesh,9876543210,,,,3\n", &[]);
        let (code, out, err) =
            cli.import("D2,Suresh,+91 98765-43210,,,,3\nD3,Mahesh,9876543212,,,,3\nD4,Dinesh,09876543212,,,,3\n", &[]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("drivers.csv:2: mobile 919876543210 already belongs to driver D1"), "{err}");
        assert!(err.contains("drivers.csv:4: mobile 919876543212 is also driver D3's (line 3)"), "{err}");
        assert!(out.contains("1 new, 0 updated, 1 queued; 2 bad rows skipped"), "{out}");
        assert!(db.store.driver("D2").await.expect("q").is_none());
        assert!(db.store.driver("D4").await.expect("q").is_none());
        // The same driver keeping their own number is no conflict.
        let (code, out, err) = cli.import("D1,Ramesh K,9876543210,,,,3\n", &[]);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("0 new, 1 updated, 0 queued"), "{out}");
    })
    .await;
}

#[tokio::test]
async fn reimport_leaves_finished_drivers_out_unless_requeue() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        cli.ok(&["caller", "add", "3", "Pooja"]);
        let rows = "D1,Ramesh,9876543210,,,,3\nD2,Suresh,9876543211,,,,3\nD3,Mahesh,9876543212,,,,\n";
        cli.import(rows, &[]);
        let id = call(&db.store, "D1", "Ramesh", Utc::now()).await;
        outcome(&db.store, id, "Interview Fixed").await;
        assert!(db.store.queue_entry("D1").await.expect("q").is_none());

        // D3 was in the team pool (no caller): assigning them moves them to Pooja; D1 is finished.
        let sched = calldesk::domain::Schedule::default();
        let pool = db.store.due_queue(3, Utc::now(), &sched, None, 10, None).await.expect("queue");
        assert!(pool.iter().any(|e| e.driver_id == "D3" && e.pool), "{pool:?}");
        let assigned = "D1,Ramesh,9876543210,,,,3\nD2,Suresh,9876543211,,,,3\nD3,Mahesh,9876543212,,,,3\n";
        let (code, out, err) = cli.import(assigned, &[]);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("0 new, 3 updated, 0 queued, 1 finished left out of the queue"), "{out}");
        assert!(db.store.queue_entry("D1").await.expect("q").is_none(), "a finished driver is not re-queued");
        let mine = db.store.due_queue(3, Utc::now(), &sched, None, 10, None).await.expect("queue");
        assert!(mine.iter().any(|e| e.driver_id == "D3" && !e.pool), "D3 is Pooja's now: {mine:?}");

        let (code, out, err) = cli.import(assigned, &["--requeue"]);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("0 new, 3 updated, 1 queued;"), "{out}");
        let again = db.store.queue_entry("D1").await.expect("q").expect("requeued");
        assert_eq!(again.attempts, 0);
    })
    .await;
}

#[tokio::test]
async fn a_wrong_number_stays_closed_on_reimport_and_a_new_number_reopens() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        cli.ok(&["caller", "add", "3", "Pooja"]);
        cli.import("D1,Ramesh,9876543210,,,,3\n", &[]);
        let id = call(&db.store, "D1", "Ramesh", Utc::now()).await;
        let f = SubmitFeedback { call_id: id, feedback: "Invalid Number".into(), ..SubmitFeedback::default() };
        let fallback = Some(calldesk::domain::QueueEffect::WrongNumber);
        db.store.submit_feedback_with(&f, fallback, &FeedbackCatalog::default(), Utc::now()).await.expect("fb");
        let (_, out, _) = cli.import("D1,Ramesh,9876543210,,,,3\n", &[]);
        assert!(out.contains("0 queued, 1 finished left out"), "{out}");
        let (_, out, _) = cli.import("D1,Ramesh,9876543219,,,,3\n", &[]);
        assert!(out.contains("1 queued;"), "a corrected number reopens the driver: {out}");
    })
    .await;
}

#[tokio::test]
async fn a_driver_who_asked_not_to_be_called_stays_closed_on_reimport_requeue_or_not() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        cli.ok(&["caller", "add", "3", "Pooja"]);
        cli.import("D1,Ramesh,9876543210,,,,3\n", &[]);
        let id = call(&db.store, "D1", "Ramesh", Utc::now()).await;
        outcome(&db.store, id, calldesk::domain::DO_NOT_CALL).await;
        let out = cli.ok(&["dnc", "remove", "9876543210"]);
        assert!(out.contains("removed from the do-not-call list"), "{out}");
        assert!(out.contains("Driver D1 stays closed and cannot be called on any number"), "{out}");
        assert!(!out.contains("--requeue` queues"), "no promise an import reopens them: {out}");
        for (mobile, extra) in [("9876543219", &[][..]), ("9876543218", &["--requeue"][..])] {
            let (code, out, err) = cli.import(&format!("D1,Ramesh,{mobile},,,,3\n"), extra);
            assert_eq!(code, Some(0), "{err}");
            assert!(out.contains("0 queued, 1 who asked not to be called stay closed;"), "{extra:?}: {out}");
            assert!(db.store.queue_entry("D1").await.expect("q").is_none(), "{extra:?}");
            let phone = calldesk::domain::Phone::parse(mobile).expect("phone");
            assert!(db.store.dnc_entry(&phone).await.expect("entry").is_some(), "the new number {mobile} is listed");
        }
        assert_eq!(
            db.store.driver_closed_reason("D1").await.expect("reason").as_deref(),
            Some(calldesk::domain::DO_NOT_CALL_REASON)
        );
    })
    .await;
}

#[tokio::test]
async fn whole_escape_sequences_are_stripped_from_every_field() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        cli.ok(&["caller", "add", "3", "Pooja"]);
        let (code, _, err) =
            cli.import("D1,\x1b[31mRED\x1b[0m Kumar,9876543210,\x1b[1mTM1,\x1b]0;x\x07Pune,M\x1b[2JH,3\n", &[]);
        assert_eq!(code, Some(0), "{err}");
        let d = db.store.driver("D1").await.expect("q").expect("D1");
        assert_eq!(d.name, "RED Kumar");
        assert_eq!((d.tmid.as_deref(), d.city.as_deref(), d.state.as_deref()), (Some("TM1"), Some("Pune"), Some("MH")));
    })
    .await;
}

#[tokio::test]
async fn json_is_one_array_ndjson_a_line_each_with_offset_times() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        cli.ok(&["caller", "add", "3", "Pooja"]);
        let empty: serde_json::Value =
            serde_json::from_str(&cli.ok(&["export", "logs", "--format", "json"])).expect("json");
        assert_eq!(empty, serde_json::json!([]));
        cli.import("D1,Ramesh,9876543210,,,,3\n", &[]);
        for i in 0..1005 {
            // One driver each: a second call to a driver with a live call would be refused.
            call(&db.store, &format!("X{i}"), "Ramesh", at("2026-11-24T06:00:00Z") + chrono::Duration::seconds(i))
                .await;
        }
        let text = cli.ok(&["export", "logs", "--format", "json"]);
        let all: Vec<serde_json::Value> = serde_json::from_str(&text).expect("one JSON array over two pages");
        assert_eq!(all.len(), 1005);
        assert_eq!(all[1004]["created_at"], serde_json::json!("2026-11-24T11:30:00+05:30"));
        let lines = cli.ok(&["export", "logs", "--format", "ndjson", "--caller", "3"]);
        let objs: Vec<serde_json::Value> = lines.lines().map(|l| serde_json::from_str(l).expect("line")).collect();
        assert_eq!(objs.len(), 1005);
        assert_eq!(objs[0]["driver_name"], serde_json::json!("Ramesh"));
        let csv_text = cli.ok(&["export", "logs"]);
        assert!(csv_text.lines().last().is_some_and(|l| l.contains(",2026-11-24T11:30:00+05:30,")), "csv times too");
    })
    .await;
}

#[tokio::test]
async fn from_and_to_keep_whole_days_and_a_bad_date_names_its_flag() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        cli.ok(&["caller", "add", "3", "Pooja"]);
        cli.import("D1,Ramesh,9876543210,,,,3\n", &[]);
        // In India: 23rd 23:59, 24th 00:00, 24th 23:59, 25th 00:00.
        for (i, t) in ["2026-11-23T18:29:00Z", "2026-11-23T18:30:00Z", "2026-11-24T18:29:00Z", "2026-11-24T18:30:00Z"]
            .iter()
            .enumerate()
        {
            call(&db.store, &format!("X{i}"), "Ramesh", at(t)).await;
        }
        let day = cli.ok(&["export", "logs", "--format", "ndjson", "--from", "2026-11-24", "--to", "2026-11-24"]);
        let times: Vec<String> = day
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("line")["created_at"].to_string())
            .collect();
        assert_eq!(times, ["\"2026-11-24T23:59:00+05:30\"", "\"2026-11-24T00:00:00+05:30\""]);
        assert_eq!(cli.ok(&["export", "logs", "--format", "ndjson", "--from", "2026-11-25"]).lines().count(), 1);
        assert_eq!(cli.ok(&["export", "logs", "--format", "ndjson", "--to", "2026-11-23"]).lines().count(), 1);
        let bad = cli.run(&["export", "logs", "--from", "24/11/2026"]);
        assert!(!bad.status.success());
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains("--from") && err.contains("YYYY-MM-DD"), "{err}");
        let reversed = cli.run(&["export", "logs", "--from", "2026-11-25", "--to", "2026-11-24"]);
        assert!(String::from_utf8_lossy(&reversed.stderr).contains("--from 2026-11-25 is after --to 2026-11-24"));
    })
    .await;
}

#[tokio::test]
async fn csv_cells_a_spreadsheet_would_run_are_neutralised() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        cli.ok(&["caller", "add", "3", "Pooja"]);
        cli.import("D1,Ramesh,9876543210,,,,3\n", &[]);
        let id = call(&db.store, "D1", "=HYPERLINK(\"http://x\",\"y\")", Utc::now()).await;
        let f =
            SubmitFeedback { call_id: id, feedback: "@SUM(A1)".into(), remarks: "+1 -2".into(), ..Default::default() };
        db.store.submit_feedback(&f, &FeedbackCatalog::default(), Utc::now()).await.expect("fb");
        let text = cli.ok(&["export", "logs", "--format", "csv"]);
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let row = rdr.records().next().expect("row").expect("csv");
        assert_eq!(row.get(5), Some("'=HYPERLINK(\"http://x\",\"y\")"));
        assert_eq!(row.get(11), Some("'@SUM(A1)"));
        assert_eq!(row.get(12), Some("'+1 -2"));
        assert_eq!(row.get(3), Some("D1"), "ordinary cells are untouched");
        let json = cli.ok(&["export", "logs", "--format", "json"]);
        assert!(json.contains("\"driver_name\":\"=HYPERLINK"), "JSON keeps the value as it is: {json}");
    })
    .await;
}

#[tokio::test]
async fn demo_refuses_an_explicit_database_url() {
    let db = common::sqlite_db().await;
    let cli = Cli::on(&db);
    for args in [&["demo", "--database-url", "sqlite://mine.db"][..], &["--database-url", "sqlite://mine.db", "demo"]] {
        let out = cli.run(args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--database-url is refused"), "{args:?}: {err}");
    }
    // From the environment (often a .env kept for the console) it is only noted.
    let out = cli.run(&["demo"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the demo ignores DATABASE_URL"), "{err}");
    assert!(!err.contains("refused"), "{err}");
}

#[tokio::test]
async fn without_credentials_the_dialog_says_they_are_missing() {
    let db = common::sqlite_db().await;
    let mut config = common::test_config("http://127.0.0.1:9");
    config.telecmi = None;
    let dialer = calldesk::coord::dialer::Dialer::new(
        db.store.clone(),
        std::sync::Arc::new(config),
        calldesk::coord::bus::new_bus(),
    )
    .expect("dialer");
    for caller in [3, 99] {
        let reason = dialer.telecmi_refusal(caller).expect("refused");
        assert!(reason.contains("credentials missing"), "caller {caller}: {reason}");
    }
}
