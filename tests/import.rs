//! The streaming import through the real binary, on SQLite and MariaDB: a file of several batches
//! keeps every refused row's line and every repeat's first line across batch boundaries; the
//! file may move a number from one driver to another; a failure at the merge, or a kill -9
//! mid-import, leaves nothing loaded.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use calldesk::store::ROWS_PER_INSERT;
use common::{TestDb, each_backend};

const HEADER: &str = "id,name,mobile,tmid,city,state,assigned_to\n";

struct Cli {
    url: String,
    dir: tempfile::TempDir,
}

impl Cli {
    fn on(db: &TestDb) -> Self {
        Self { url: db.url.clone(), dir: tempfile::tempdir().expect("tmp") }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_calldesk"));
        c.args(args)
            .env("DATABASE_URL", &self.url)
            .env("CALLDESK_LOG_DIR", self.dir.path().join("logs"))
            .env_remove("TELECMI_APP_SECRET");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run calldesk")
    }

    /// Writes `rows` (after the header) to `drivers.csv`; returns its path.
    fn file(&self, rows: &[String]) -> String {
        let csv = self.dir.path().join("drivers.csv");
        std::fs::write(&csv, format!("{HEADER}{}\n", rows.join("\n"))).expect("csv");
        csv.to_str().expect("path").to_string()
    }

    /// Imports `rows`; returns (exit code, stdout, the `drivers.csv:LINE: reason` lines).
    fn import(&self, rows: &[String]) -> (Option<i32>, String, Vec<String>) {
        let out = self.run(&["import", "drivers", &self.file(rows)]);
        let err = String::from_utf8_lossy(&out.stderr);
        let refused = err.lines().filter_map(|l| l.split_once("drivers.csv:").map(|(_, r)| r.to_string())).collect();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), refused)
    }
}

/// The row on line `line` of a generated file: driver `G<line>`, a mobile of its own, caller 3.
fn row(line: usize) -> String {
    format!("G{line},Driver {line},{},TM{line},Pune,MH,3", mobile(line))
}

fn mobile(line: usize) -> String {
    format!("98{line:08}")
}

/// `rows[i]` is on line `i + 2`.
fn at(rows: &mut [String], line: usize) -> &mut String {
    &mut rows[line - 2]
}

async fn count(db: &TestDb, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("connect");
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await.expect("count");
        pool.close().await;
        n
    } else {
        let pool = sqlx::MySqlPool::connect(&db.url).await.expect("connect");
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await.expect("count");
        pool.close().await;
        n
    }
}

async fn execute(db: &TestDb, sql: &str) {
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&pool).await.expect("execute");
        pool.close().await;
    } else {
        let pool = sqlx::MySqlPool::connect(&db.url).await.expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&pool).await.expect("execute");
        pool.close().await;
    }
}

#[tokio::test]
async fn a_file_of_many_batches_keeps_every_line_and_every_first_line() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        assert!(cli.run(&["caller", "add", "3", "Pooja"]).status.success());
        let n = 9 * ROWS_PER_INSERT + 500;
        let mut rows: Vec<String> = (2..n + 2).map(row).collect();
        let chunk_end = ROWS_PER_INSERT + 1; // the last line of the first multi-row INSERT
        let batch_end = 4 * ROWS_PER_INSERT + 1; // the last line of the fourth batch
        *at(&mut rows, 3) = "G3,Driver 3,12345,,,,3".into();
        // Same id as line 2 (without case), at the end of an INSERT: refused. Its mobile was
        // never loaded, so the next line (the next INSERT) may have it.
        *at(&mut rows, chunk_end) = format!("g2,Again,{},,,,3", mobile(chunk_end));
        *at(&mut rows, chunk_end + 1) = format!("H{},Takes it,{},,,,3", chunk_end + 1, mobile(chunk_end));
        // The first line of the second batch repeats the mobile of the last line of the first.
        *at(&mut rows, batch_end + 1) = format!("H{},Same number,{},,,,3", batch_end + 1, mobile(batch_end));
        *at(&mut rows, 4500) = "G4500,,9800004500,,,,3".into();
        // The id of a refused row is free for a later one.
        *at(&mut rows, 6000) = format!("H{},Late,{},,,,", batch_end + 1, mobile(6000));
        *at(&mut rows, 6001) = format!("G6001,Twin,{},,,,3", mobile(5999));
        *at(&mut rows, 9000) = format!("G9000,Driver,{},,,,8", mobile(9000));
        *at(&mut rows, n + 1) = format!("G{},Last,+91 {},,,,3", n + 1, mobile(2));

        let (code, out, refused) = cli.import(&rows);
        assert_eq!(code, Some(2), "{out}");
        let expected = [
            "3: mobile \"12345\": phone number has 5 digits; it needs 10 to 15".to_string(),
            format!("{chunk_end}: duplicate id g2 (first on line 2)"),
            format!(
                "{}: mobile 91{} is also driver G{batch_end}'s (line {batch_end})",
                batch_end + 1,
                mobile(batch_end)
            ),
            "4500: name is empty".into(),
            "6001: mobile 919800005999 is also driver G5999's (line 5999)".into(),
            "9000: assigned_to 8 is not a registered caller (add it with `calldesk caller add`)".into(),
            format!("{}: mobile 91{} is also driver G2's (line 2)", n + 1, mobile(2)),
        ];
        assert_eq!(refused, expected);
        let loaded = n - expected.len();
        // Line 6000 names no agent: the team pool's.
        assert!(
            out.contains(&format!(
                "{loaded} new, 0 updated, {loaded} queued (1 to the team pool: no assigned_to); 7 bad rows"
            )),
            "{out}"
        );
        assert_eq!(count(&db, "drivers").await, loaded as i64);
        let taker = db.store.driver(&format!("H{}", chunk_end + 1)).await.expect("q").expect("loaded");
        assert_eq!(taker.mobile, format!("91{}", mobile(chunk_end)));
        let late = db.store.driver(&format!("H{}", batch_end + 1)).await.expect("q").expect("loaded");
        assert_eq!((late.name.as_str(), late.assigned_to), ("Late", None));
        assert_eq!(db.store.driver("G2").await.expect("q").map(|d| d.name), Some("Driver 2".into()));
    })
    .await;
}

#[tokio::test]
async fn a_number_of_another_driver_is_refused_unless_the_file_moves_it() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        assert!(cli.run(&["caller", "add", "3", "Pooja"]).status.success());
        let (code, _, _) = cli.import(&["D9,Nine,9876543210,,,,3".into(), "D3,Three,9876543211,,,,3".into()]);
        assert_eq!(code, Some(0));
        // D1 takes D9's number: refused. D2 takes D3's, which the same file moves to another.
        let (code, out, refused) = cli.import(&[
            "D1,One,9876543210,,,,3".into(),
            "D2,Two,9876543211,,,,3".into(),
            "D3,Three,9876543212,,,,3".into(),
        ]);
        assert_eq!(code, Some(2), "{out}");
        assert_eq!(refused, ["2: mobile 919876543210 already belongs to driver D9"]);
        assert!(out.contains("1 new, 1 updated, 1 queued; 1 bad row skipped"), "{out}");
        assert!(db.store.driver("D1").await.expect("q").is_none());
        assert_eq!(db.store.driver("D2").await.expect("q").map(|d| d.mobile), Some("919876543211".into()));
        assert_eq!(db.store.driver("D3").await.expect("q").map(|d| d.mobile), Some("919876543212".into()));
    })
    .await;
}

#[tokio::test]
async fn a_failure_at_the_merge_loads_nothing() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        assert!(cli.run(&["caller", "add", "3", "Pooja"]).status.success());
        let (code, _, _) = cli.import(&["D1,Ramesh,9876543210,,,,3".into()]);
        assert_eq!(code, Some(0));
        // A row the database itself refuses, last in a file of several batches.
        execute(
            &db,
            if db.name == "sqlite" {
                "CREATE TRIGGER boom BEFORE INSERT ON drivers WHEN NEW.id = 'BOOM' \
                 BEGIN SELECT RAISE(ABORT, 'boom refused'); END"
            } else {
                "CREATE TRIGGER boom BEFORE INSERT ON drivers FOR EACH ROW \
                 IF NEW.id = 'BOOM' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom refused'; END IF"
            },
        )
        .await;
        let mut rows: Vec<String> = (2..5 * ROWS_PER_INSERT + 2).map(row).collect();
        rows[0] = "D1,Ramesh renamed,9876543299,,,,3".into();
        rows.push("BOOM,Last,9700000000,,,,3".into());
        let out = cli.run(&["import", "drivers", &cli.file(&rows)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("nothing was imported") && err.contains("boom refused"), "{err}");
        assert_eq!(count(&db, "drivers").await, 1);
        assert_eq!(count(&db, "call_queue").await, 1);
        let d1 = db.store.driver("D1").await.expect("q").expect("D1");
        assert_eq!((d1.name.as_str(), d1.mobile.as_str()), ("Ramesh", "919876543210"));

        // The database is left as it was: the same file without that row loads.
        rows.pop();
        let (code, out, refused) = cli.import(&rows);
        assert_eq!((code, refused.len()), (Some(0), 0), "{out}");
        assert!(out.contains(&format!("{} new, 1 updated", rows.len() - 1)), "{out}");
        assert_eq!(count(&db, "drivers").await, rows.len() as i64);
        assert_eq!(db.store.driver("D1").await.expect("q").map(|d| d.name), Some("Ramesh renamed".into()));
    })
    .await;
}

#[tokio::test]
async fn a_kill_mid_import_leaves_none_or_all() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        assert!(cli.run(&["caller", "add", "3", "Pooja"]).status.success());
        let rows: Vec<String> = (2..40_000).map(row).collect();
        let path = cli.file(&rows);
        for wait in [150, 600] {
            let mut child = cli
                .command(&["import", "drivers", &path])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            tokio::time::sleep(Duration::from_millis(wait)).await;
            child.kill().expect("kill -9");
            child.wait().expect("reaped");
            let (drivers, queued) = (count(&db, "drivers").await, count(&db, "call_queue").await);
            assert!(
                (drivers, queued) == (0, 0) || (drivers, queued) == (rows.len() as i64, rows.len() as i64),
                "killed after {wait} ms: {drivers} drivers, {queued} queued"
            );
        }
        let (code, out, _) = cli.import(&rows);
        assert_eq!(code, Some(0), "the database takes an import after the kills: {out}");
        assert_eq!(count(&db, "drivers").await, rows.len() as i64);
    })
    .await;
}
