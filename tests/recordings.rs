//! Call recordings end to end, on SQLite and MariaDB: the simulator places and finishes a call
//! over HTTP, leg B's report (`record`, `filename`) reaches the real listener and is stored once,
//! and the real binary's `calldesk recording ID -o FILE` fetches exactly the simulator's bytes
//! through `/v2/play` — or fails naming the call, never the play URL or the secret.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use calldesk::coord::dialer::CallKind;
use calldesk::telecmi::simulator::{Outcome, recording_bytes};
use common::{APP_ID, Rig, SECRET, TestDb, each_backend, rig, settle};

/// Runs the real binary against `db` and the simulator at `base_url`, with TeleCMI credentials
/// when `secret` is given, logging everything (`RUST_LOG=trace`) into `logs`.
async fn calldesk(db: &TestDb, base_url: &str, secret: Option<&str>, logs: &Path, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_calldesk"));
    cmd.args(args)
        .current_dir(logs.parent().expect("a folder"))
        .env("DATABASE_URL", &db.url)
        .env("CALLDESK_LOG_DIR", logs)
        .env("TELECMI_BASE_URL", base_url)
        .env("RUST_LOG", "trace")
        .env_remove("TELECMI_APP_ID")
        .env_remove("TELECMI_APP_SECRET");
    if let Some(s) = secret {
        cmd.env("TELECMI_APP_ID", APP_ID).env("TELECMI_APP_SECRET", s);
    }
    cmd.output().await.expect("run calldesk")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Every file in `dir` (to see that a failure left nothing behind, not even a temporary file).
fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Rows in `call_recordings` for the call, read past the store.
async fn recording_rows(db: &TestDb, call: i64) -> i64 {
    let sql = "SELECT COUNT(*) FROM call_recordings WHERE call_log_id = ?";
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        let (n,): (i64,) = sqlx::query_as(sql).bind(call).fetch_one(&pool).await.expect("count");
        pool.close().await;
        n
    } else {
        let pool = sqlx::MySqlPool::connect(&db.url).await.expect("mysql");
        let (n,): (i64,) = sqlx::query_as(sql).bind(call).fetch_one(&pool).await.expect("count");
        pool.close().await;
        n
    }
}

/// Places an answered TeleCMI call to `driver` and waits until its webhooks are in.
async fn answered_call(r: &Rig, driver: &str) -> i64 {
    r.sim.push_outcome(Outcome::Answered { talk_secs: 3 });
    let call = r.dialer.place_call(3, driver, None, CallKind::Telecmi).await.expect("placed");
    let done = settle(&r.db.store, call.id).await;
    assert_eq!(done.status.as_deref(), Some("completed"));
    call.id
}

/// Posts one webhook body to the rig's listener; its HTTP status.
async fn post(r: &Rig, body: &serde_json::Value) -> u16 {
    let url = format!("http://{}/webhook/telecmi/{}", r.addr, r.token);
    reqwest::Client::new().post(url).json(body).send().await.expect("post").status().as_u16()
}

#[tokio::test]
async fn a_recorded_call_is_stored_once_and_downloads_exactly_the_simulators_bytes() {
    each_backend(|db| async move {
        let r = rig(db, 5).await;
        let work = tempfile::tempdir().expect("tmp");
        let logs = work.path().join("logs");
        let id = answered_call(&r, "D1").await;
        let rec = r.db.store.recording(id).await.expect("q").expect("leg B's report named a recording");
        assert!(rec.filename.ends_with(".mp3"), "{rec:?}");
        assert_eq!(r.sim.recordings(), vec![rec.filename.clone()], "the file the simulator reported");
        assert_eq!(r.db.store.recorded_among(&[id, id + 1000]).await.expect("q"), [id].into());

        let out_file = work.path().join("call.mp3");
        let out_arg = out_file.to_str().expect("path");
        let id_arg = id.to_string();
        let out = calldesk(&r.db, &r.sim.base_url(), Some(SECRET), &logs, &["recording", &id_arg, "-o", out_arg]).await;
        assert!(out.status.success(), "{}", text(&out));
        let bytes = std::fs::read(&out_file).expect("saved");
        assert_eq!(bytes, recording_bytes(&rec.filename), "exactly the simulator's bytes");
        assert!(bytes.len() > 4000);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("call {id}: recording saved to")),
            "{}",
            text(&out)
        );

        // An existing file is kept unless --force.
        std::fs::write(&out_file, b"mine").expect("write");
        let out = calldesk(&r.db, &r.sim.base_url(), Some(SECRET), &logs, &["recording", &id_arg, "-o", out_arg]).await;
        assert!(!out.status.success());
        assert!(text(&out).contains("already exists: pass --force"), "{}", text(&out));
        assert_eq!(std::fs::read(&out_file).expect("kept"), b"mine");
        let args = ["recording", &id_arg, "-o", out_arg, "--force"];
        let out = calldesk(&r.db, &r.sim.base_url(), Some(SECRET), &logs, &args).await;
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(std::fs::read(&out_file).expect("replaced"), recording_bytes(&rec.filename));
        assert_eq!(files_in(work.path()), ["call.mp3", "logs"], "no temporary file left");
    })
    .await;
}

#[tokio::test]
async fn a_resent_or_repeated_report_keeps_one_recording_row() {
    each_backend(|db| async move {
        let r = rig(db, 5).await;
        let id = answered_call(&r, "D1").await;
        let first = r.db.store.recording(id).await.expect("q").expect("recorded");
        let placed = r.sim.placed().last().cloned().expect("placed");
        let extra = serde_json::to_string(&placed.extra_params).expect("json");
        let report = |status: &str, filename: &str| {
            serde_json::json!({"type": "cdr", "leg": "b", "status": status, "answeredsec": 3, "record": "true",
                "filename": filename, "request_id": placed.request_id, "extra_params": extra, "appid": APP_ID,
                "to": placed.to, "hangup_reason": "recv_bye"})
        };
        // The same report again (de-duplicated), and one under another status word (applied
        // again): the first recording stands, in one row, and no delivery fails.
        assert_eq!(post(&r, &report("answered", &first.filename)).await, 200);
        assert_eq!(post(&r, &report("completed", "another.mp3")).await, 200);
        assert_eq!(post(&r, &report("completed", "another.mp3")).await, 200);
        assert_eq!(recording_rows(&r.db, id).await, 1);
        assert_eq!(r.db.store.recording(id).await.expect("q").expect("kept").filename, first.filename);

        // Every webhook of a call delivered twice: one row.
        r.sim.push_outcome(Outcome::Duplicate);
        let dup = r.dialer.place_call(3, "D2", None, CallKind::Telecmi).await.expect("placed");
        settle(&r.db.store, dup.id).await;
        assert_eq!(recording_rows(&r.db, dup.id).await, 1);

        // A path in the filename is not a recording to fetch; leg A's report is not leg B's.
        r.sim.push_outcome(Outcome::Silent);
        let bad = r.dialer.place_call(3, "D3", None, CallKind::Telecmi).await.expect("placed");
        let placed = r.sim.placed().last().cloned().expect("placed");
        let extra = serde_json::to_string(&placed.extra_params).expect("json");
        let mut leg_a = report("answered", "a-leg.mp3");
        leg_a["leg"] = "a".into();
        leg_a["request_id"] = placed.request_id.clone().into();
        leg_a["extra_params"] = extra.clone().into();
        assert_eq!(post(&r, &leg_a).await, 200);
        let mut evil = report("answered", "../../etc/passwd");
        evil["request_id"] = placed.request_id.clone().into();
        evil["extra_params"] = extra.into();
        assert_eq!(post(&r, &evil).await, 200);
        assert_eq!(r.db.store.call(bad.id).await.expect("q").expect("call").status.as_deref(), Some("completed"));
        assert_eq!(recording_rows(&r.db, bad.id).await, 0);
    })
    .await;
}

#[tokio::test]
async fn downloads_that_cannot_work_fail_naming_the_call_and_leave_no_file() {
    each_backend(|db| async move {
        let r = rig(db, 5).await;
        let work = tempfile::tempdir().expect("tmp");
        let logs = work.path().join("logs");
        let out_file: PathBuf = work.path().join("out.mp3");
        let out_arg = out_file.to_str().expect("path").to_string();
        let sim = r.sim.base_url();
        let run = |id: i64, base: String, secret: Option<&'static str>| {
            let (db, logs, out_arg) = (r.db.clone(), logs.clone(), out_arg.clone());
            async move { calldesk(&db, &base, secret, &logs, &["recording", &id.to_string(), "-o", &out_arg]).await }
        };
        let fails = |out: &Output, want: &str| {
            let all = text(out);
            assert!(!out.status.success(), "{want}: {all}");
            assert!(all.contains(want), "want {want:?} in:\n{all}");
            assert!(!all.contains(SECRET) && !all.contains("/v2/play") && !all.contains("secret="), "{all}");
            assert!(!all.contains("wrong-secret-77"), "{all}");
        };

        let manual = r.dialer.place_call(3, "D2", None, CallKind::Manual).await.expect("manual call");
        fails(&run(manual.id, sim.clone(), Some(SECRET)).await, &format!("call {} has no recording", manual.id));
        fails(&run(987_654, sim.clone(), Some(SECRET)).await, "call 987654 does not exist");

        let id = answered_call(&r, "D1").await;
        let named = format!("call {id}: ");
        let out = run(id, sim.clone(), Some("wrong-secret-77")).await;
        fails(&out, &named);
        fails(&out, "HTTP 401, authentication failed; check TELECMI_APP_ID and TELECMI_APP_SECRET");
        fails(&run(id, sim.clone(), None).await, "set TELECMI_APP_ID and TELECMI_APP_SECRET");
        // Nothing listens on the discard port.
        let out = run(id, "http://127.0.0.1:9".into(), Some(SECRET)).await;
        fails(&out, &format!("{named}cannot reach TeleCMI"));
        assert_eq!(files_in(work.path()), ["logs"], "no file, not even a temporary one");

        // A recording TeleCMI no longer has: 404.
        r.sim.push_outcome(Outcome::Silent);
        let gone = r.dialer.place_call(3, "D3", None, CallKind::Telecmi).await.expect("placed");
        let placed = r.sim.placed().last().cloned().expect("placed");
        let body = serde_json::json!({"type": "cdr", "leg": "b", "status": "answered", "answeredsec": 9,
            "record": true, "filename": "deleted-at-telecmi.mp3", "request_id": placed.request_id,
            "extra_params": serde_json::to_string(&placed.extra_params).expect("json"), "hangup_reason": "recv_bye"});
        assert_eq!(post(&r, &body).await, 200);
        let out = run(gone.id, sim.clone(), Some(SECRET)).await;
        fails(&out, &format!("call {}: TeleCMI refused the recording: HTTP 404", gone.id));
        assert_eq!(files_in(work.path()), ["logs"]);
    })
    .await;
}

#[tokio::test]
async fn the_play_url_and_the_secret_never_reach_the_log_file() {
    let db = common::sqlite_db().await;
    let r = rig(db, 5).await;
    let work = tempfile::tempdir().expect("tmp");
    let logs = work.path().join("logs");
    let id = answered_call(&r, "D1").await;
    let out_file = work.path().join("call.mp3");
    let args = ["recording", &id.to_string(), "-o", out_file.to_str().expect("path")].map(str::to_string);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // A download that works, one refused, one that cannot connect: all logged at trace level.
    assert!(calldesk(&r.db, &r.sim.base_url(), Some(SECRET), &logs, &args).await.status.success());
    std::fs::remove_file(&out_file).expect("rm");
    assert!(!calldesk(&r.db, &r.sim.base_url(), Some("wrong-secret-77"), &logs, &args).await.status.success());
    assert!(!calldesk(&r.db, "http://127.0.0.1:9", Some(SECRET), &logs, &args).await.status.success());
    let mut log = String::new();
    for entry in std::fs::read_dir(&logs).expect("logs") {
        log.push_str(&std::fs::read_to_string(entry.expect("entry").path()).expect("read"));
    }
    assert!(log.contains("recording downloaded"), "the log has content:\n{log}");
    assert!(log.contains(&format!("call {id}: TeleCMI refused the recording")), "failures are logged:\n{log}");
    for leak in [SECRET, "wrong-secret-77", "/v2/play", "secret="] {
        assert!(!log.contains(leak), "{leak:?} leaked into the log:\n{log}");
    }
}

#[tokio::test]
async fn reconciliation_keeps_the_recording_the_cdr_list_names() {
    use calldesk::coord::reconcile::{Policy, reconcile_once};
    use calldesk::telecmi::simulator::ListedCdr;
    use chrono::{Duration, Utc};
    each_backend(|db| async move {
        let r = rig(db, 5).await;
        r.sim.push_outcome(Outcome::Silent);
        r.sim.push_outcome(Outcome::Silent);
        let answered = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect("placed");
        let missed = r.dialer.place_call(3, "D2", None, CallKind::Telecmi).await.expect("placed");
        let time_ms = answered.created_at.timestamp_millis() + 1000;
        r.sim.add_cdr(ListedCdr { answered: true, agent: "5003".into(), to: 919_876_543_211, time_ms, duration: 40 });
        r.sim.add_cdr(ListedCdr {
            answered: false,
            agent: "5003".into(),
            to: 919_876_543_212,
            time_ms: missed.created_at.timestamp_millis() + 1000,
            duration: 0,
        });
        let policy = Policy { stale_after: Duration::minutes(10), ceiling: Duration::hours(4) };
        let later = Utc::now() + Duration::minutes(11);
        let n = reconcile_once(&r.db.store, r.dialer.client.as_ref(), &r.bus, policy, later).await.expect("pass");
        assert_eq!(n, 2);
        let rec = r.db.store.recording(answered.id).await.expect("q").expect("the list's filename is kept");
        assert_eq!(rec.filename, format!("cdr-{time_ms}.mp3"));
        assert_eq!(r.db.store.recording(missed.id).await.expect("q"), None, "a missed call has no recording");

        let work = tempfile::tempdir().expect("tmp");
        let out_file = work.path().join("r.mp3");
        let args = ["recording", &answered.id.to_string(), "-o", out_file.to_str().expect("path")].map(str::to_string);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = calldesk(&r.db, &r.sim.base_url(), Some(SECRET), &work.path().join("logs"), &args).await;
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(std::fs::read(&out_file).expect("saved"), recording_bytes(&rec.filename));
    })
    .await;
}
