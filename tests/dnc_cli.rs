//! `calldesk dnc add|remove|list|import` through the real binary, on SQLite and MariaDB.

mod common;

use std::process::{Command, Output};

use calldesk::domain::Phone;
use common::{TestDb, each_backend, fixtures};

struct Cli {
    url: String,
    dir: tempfile::TempDir,
}

impl Cli {
    fn on(db: &TestDb) -> Self {
        Self { url: db.url.clone(), dir: tempfile::tempdir().expect("tmp") }
    }

    fn run(&self, args: &[&str], user: Option<&str>) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_calldesk"));
        c.args(args)
            .env("DATABASE_URL", &self.url)
            .env("CALLDESK_LOG_DIR", self.dir.path().join("logs"))
            .env("TZ", "Asia/Kolkata")
            .env("USER", "ops")
            .env_remove("CALLDESK_USER_ID");
        if let Some(u) = user {
            c.env("CALLDESK_USER_ID", u);
        }
        c.output().expect("run calldesk")
    }

    /// (exit code, stdout, stderr)
    fn out(&self, args: &[&str], user: Option<&str>) -> (Option<i32>, String, String) {
        let o = self.run(args, user);
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str], user: Option<&str>) -> String {
        let (code, out, err) = self.out(args, user);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        out
    }
}

#[tokio::test]
async fn add_remove_and_list_speak_plainly_and_every_format_is_one_number() {
    each_backend(|db| async move {
        let now = chrono::Utc::now();
        db.store.add_caller(3, "Pooja", calldesk::domain::Role::Agent, now).await.expect("caller");
        let cli = Cli::on(&db);
        assert_eq!(cli.ok(&["dnc", "list"], None), "The do-not-call list is empty.\n");
        let out = cli.ok(&["dnc", "add", "+91 90000 00012", "--reason", "asked by email"], None);
        assert_eq!(out, "919000000012 added to the do-not-call list by cli (ops) (asked by email).\n");
        // Again, in two other formats and as another person: already listed, since when and by whom.
        for again in ["9000000012", "09000000012"] {
            let out = cli.ok(&["dnc", "add", again, "--reason", "other"], Some("3"));
            assert!(out.starts_with("919000000012 is already on the do-not-call list since "), "{out}");
            assert!(out.contains("added by cli (ops): asked by email."), "{out}");
        }
        let out = cli.ok(&["dnc", "add", "9000000013"], Some("3"));
        assert_eq!(out, "919000000013 added to the do-not-call list by Pooja.\n");
        let e = db.store.dnc_entry(&Phone::parse("9000000013").expect("phone")).await.expect("entry").expect("listed");
        assert_eq!(e.added_by, Some(3));

        let list = cli.ok(&["dnc", "list"], None);
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), 4, "{list}");
        assert!(lines[0].starts_with("NUMBER") && lines[0].contains("ADDED BY") && lines[0].ends_with("REASON"));
        assert!(list.contains("919000000012") && list.contains("asked by email") && list.contains("cli (ops)"));
        assert!(list.contains("Pooja"), "{list}");
        assert_eq!(lines[3], "2 numbers on the do-not-call list.");

        let out = cli.ok(&["dnc", "remove", "0 9000 000 012"], None);
        assert!(out.starts_with("919000000012 removed from the do-not-call list (it was listed since "), "{out}");
        assert_eq!(
            cli.ok(&["dnc", "remove", "9000000012"], None),
            "919000000012 is not on the do-not-call list: nothing removed.\n"
        );

        let (code, _, err) = cli.out(&["dnc", "add", "12345"], None);
        assert_eq!(code, Some(1));
        assert!(err.contains("invalid number \"12345\"") && err.contains("10 to 15"), "{err}");
        for sub in ["add", "remove", "list", "import"] {
            let help = cli.ok(&["dnc", sub, "--help"], None);
            assert!(help.contains("do-not-call") || help.contains("number"), "{sub}: {help}");
        }
    })
    .await;
}

#[tokio::test]
async fn import_loads_good_rows_and_reports_bad_ones_by_line() {
    each_backend(|db| async move {
        let cli = Cli::on(&db);
        cli.ok(&["dnc", "add", "9000000012", "--reason", "first"], None);
        let csv = cli.dir.path().join("dnc.csv");
        std::fs::write(
            &csv,
            "number,reason\n\
             +91 90000 00012,duplicate of a listed one\n\
             12345,too short\n\
             09000000014,asked on the phone\n\
             9000000015\n\
             90000x0016,typo\n\
             9000000014,twice in the file\n",
        )
        .expect("csv");
        let (code, out, err) = cli.out(&["dnc", "import", csv.to_str().expect("path")], None);
        assert_eq!(code, Some(2), "bad rows give exit code 2: {err}");
        assert_eq!(out, "2 added to the do-not-call list, 2 already listed; 2 bad rows skipped\n");
        let bad: Vec<&str> = err.lines().collect();
        assert_eq!(bad.len(), 2, "{err}");
        assert!(bad[0].ends_with(":3: number \"12345\": phone number has 5 digits; it needs 10 to 15"), "{err}");
        assert!(bad[1].contains(":6: number \"90000x0016\""), "{err}");
        let list = db.store.dnc_list().await.expect("list");
        let mut numbers: Vec<(&str, Option<&str>)> =
            list.iter().map(|e| (e.number.as_str(), e.reason.as_deref())).collect();
        numbers.sort_unstable();
        assert_eq!(
            numbers,
            [("919000000012", Some("first")), ("919000000014", Some("asked on the phone")), ("919000000015", None),]
        );
        let bad_header = cli.dir.path().join("bad.csv");
        std::fs::write(&bad_header, "phone\n9000000017\n").expect("csv");
        let (code, _, err) = cli.out(&["dnc", "import", bad_header.to_str().expect("path")], None);
        assert_eq!(code, Some(1));
        assert!(err.contains("number,reason"), "{err}");
        // The drivers the file takes out of the queue are named, compactly.
        let many: String = (0..12).map(|i| format!("90000001{i:02}\n")).collect();
        let drivers: Vec<calldesk::domain::Driver> = (0..12)
            .map(|i| fixtures::driver(&format!("M{i:02}"), &format!("Driver {i}"), &format!("9190000001{i:02}"), None))
            .collect();
        db.store.import_drivers(&drivers, chrono::Utc::now()).await.expect("drivers");
        let many_csv = cli.dir.path().join("many.csv");
        std::fs::write(&many_csv, format!("number\n{many}")).expect("csv");
        let out = cli.ok(&["dnc", "import", many_csv.to_str().expect("path")], None);
        assert_eq!(
            out,
            "12 added to the do-not-call list, 0 already listed; 0 bad rows skipped\n\
             Out of the queue (their number is listed): 12 drivers: M00, M01, M02, M03, M04, M05, M06, M07, \
             M08, M09 and 2 more.\n"
        );
    })
    .await;
}
