//! The do-not-call block follows the driver who asked, not only the number (SQLite and MariaDB):
//! once a driver is closed with "Asked not to be called", no call goes to them after `dnc remove`,
//! after their mobile is edited, or after an import gives them another number (`--requeue` or
//! not) — through the dialer, the console's check and the old API — and their new number is listed.
//! Also: an old call row with no driver, the number column's collation on MariaDB, and refusals
//! not logged as errors.

mod common;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};

use calldesk::commands::tokens;
use calldesk::console::action::{Action, Effect};
use calldesk::console::effects::{DraftWriter, EffectCtx, run};
use calldesk::coord::dialer::{CallKind, DialError};
use calldesk::domain::{DO_NOT_CALL, DO_NOT_CALL_REASON, FeedbackCatalog, Phone};
use calldesk::store::{DoNotCall, Standing, Store, SubmitFeedback};
use calldesk::telecmi::simulator::Outcome;
use common::fixtures::{self, driver_in};
use common::{Rig, TestDb, each_backend, rig, settle};

async fn click_to_call(r: &Rig, driver: &str, mobile: &str) -> (StatusCode, Value) {
    let token = tokens::generate();
    r.db.store.insert_token(3, &calldesk::domain::token::hash(&token), Utc::now()).await.expect("token");
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/telecmi_production_api.php?action=click_to_call", r.addr))
        .bearer_auth(token)
        .json(&json!({"caller_id": 3, "driver_id": driver, "driver_mobile": mobile}))
        .send()
        .await
        .expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn ctx(r: &Rig) -> EffectCtx {
    EffectCtx {
        store: r.db.store.clone(),
        dialer: r.dialer.clone(),
        catalog: FeedbackCatalog::default(),
        caller_id: 3,
        tz: chrono_tz::Asia::Kolkata,
        drafts: DraftWriter::start(r.db.store.clone()),
        saves: Default::default(),
    }
}

/// Driver `id` talks on a TeleCMI call and asks not to be called; returns the call's id.
async fn asks(r: &Rig, id: &str) -> i64 {
    r.sim.push_outcome(Outcome::Answered { talk_secs: 5 });
    let call = r.dialer.place_call(3, id, None, CallKind::Telecmi).await.expect("placed");
    settle(&r.db.store, call.id).await;
    let f = SubmitFeedback { call_id: call.id, feedback: DO_NOT_CALL.into(), ..SubmitFeedback::default() };
    r.db.store.submit_feedback(&f, &FeedbackCatalog::default(), Utc::now()).await.expect("saved");
    assert_eq!(r.db.store.driver_closed_reason(id).await.expect("r").as_deref(), Some(DO_NOT_CALL_REASON));
    call.id
}

/// Every way of calling driver `id` is refused as "asked not to be called" (on `asked_on`), on
/// `mobile` too, and nothing is written or dialed.
async fn refused(r: &Rig, id: &str, mobile: &str, asked_on: i64) {
    let s = &r.db.store;
    let (calls, placed) = (s.driver_calls(id, 50).await.expect("calls").len(), r.sim.placed().len());
    for kind in [CallKind::Telecmi, CallKind::Manual] {
        match r.dialer.place_call(3, id, None, kind).await {
            Err(e @ DialError::DoNotCall(_)) => {
                let m = e.to_string();
                assert!(m.contains("asked not to be called") && m.contains(&format!("on call {asked_on}")), "{m}");
                assert_eq!(e.http_status(), 403);
            }
            other => panic!("{id} {kind:?}: {other:?}"),
        }
    }
    let (status, v) = click_to_call(r, id, mobile).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert!(v["message"].as_str().unwrap_or_default().contains("not to be called"), "{v}");
    // The console's check when the call dialog opens.
    match run(&ctx(r), Effect::CheckDoNotCall { driver_id: id.into(), mobile: mobile.into() }).await {
        Some(Action::DoNotCallChecked { entry: Some(_), .. }) => {}
        other => panic!("the console's check lets {id} be called: {other:?}"),
    }
    assert_eq!(s.driver_calls(id, 50).await.expect("calls").len(), calls, "no call_logs row");
    assert_eq!(r.sim.placed().len(), placed, "TeleCMI was not asked");
    assert!(s.queue_entry(id).await.expect("q").is_none(), "{id} is not queued");
    let hit = s.driver_hit(id).await.expect("hit").expect("driver");
    assert_eq!(hit.standing(Utc::now()), Standing::DoNotCall, "search and the card say DO NOT CALL");
    assert!(hit.asked_not_to_be_called());
}

#[tokio::test]
async fn removing_the_number_does_not_make_a_driver_who_asked_callable() {
    each_backend(|db| async move {
        let r = rig(db, 20).await;
        let s = &r.db.store;
        let asked_on = asks(&r, "D3").await;
        let removed = s.dnc_remove(&Phone::parse("9876543213").expect("phone")).await.expect("remove");
        assert!(removed.is_some(), "the number was listed by the outcome");
        refused(&r, "D3", "919876543213", asked_on).await;
        // The console says so without claiming the number is listed.
        match run(&ctx(&r), Effect::CheckDoNotCall { driver_id: "D3".into(), mobile: "919876543213".into() }).await {
            Some(Action::DoNotCallChecked { entry: Some(DoNotCall::Asked(a)), .. }) => {
                assert_eq!((a.driver_id.as_str(), a.call_id), ("D3", Some(asked_on)));
            }
            other => panic!("{other:?}"),
        }
        let hits = s.search_drivers(3, "98765 43213", 10).await.expect("search");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].standing(Utc::now()), Standing::DoNotCall);
        assert!(hits[0].dnc_since.is_none(), "the number itself is no longer listed");
        // Another driver is not affected.
        r.sim.push_outcome(Outcome::Answered { talk_secs: 1 });
        let other = r.dialer.place_call(3, "D4", None, CallKind::Telecmi).await.expect("D4 can be called");
        settle(s, other.id).await;
    })
    .await;
}

#[tokio::test]
async fn a_new_mobile_of_a_driver_who_asked_is_listed_and_refused() {
    each_backend(|db| async move {
        let r = rig(db, 20).await;
        let s = &r.db.store;
        let asked_on = asks(&r, "D3").await;
        // Through the console's edit prompt (E).
        let edit = Effect::EditDriver { driver_id: "D3".into(), name: None, mobile: Some("+91 90000 11113".into()) };
        match run(&ctx(&r), edit).await {
            Some(Action::PromptDone(Ok(_))) => {}
            other => panic!("edit: {other:?}"),
        }
        assert_eq!(s.driver("D3").await.expect("d").expect("D3").mobile, "919000011113");
        let e = s.dnc_entry(&Phone::parse("9000011113").expect("phone")).await.expect("entry").expect("listed");
        assert!(e.reason.as_deref().is_some_and(|r| r.contains("asked not to be called")), "{e:?}");
        assert_eq!((e.added_by, e.added_by_name.as_str()), (Some(3), "Pooja"));
        assert!(s.dnc_entry(&Phone::parse("9876543213").expect("p")).await.expect("e").is_some(), "old one stays");
        refused(&r, "D3", "919000011113", asked_on).await;
        // A driver who did not ask gets no entry when their number is edited.
        s.edit_driver("D4", "mobile", "919000011114", 3, Utc::now()).await.expect("edit");
        assert!(s.dnc_entry(&Phone::parse("9000011114").expect("p")).await.expect("e").is_none());
    })
    .await;
}

#[tokio::test]
async fn reimporting_a_driver_who_asked_with_a_new_number_keeps_them_closed_requeue_or_not() {
    each_backend(|db| async move {
        let r = rig(db, 20).await;
        let s = &r.db.store;
        let asked_on = asks(&r, "D3").await;
        s.dnc_remove(&Phone::parse("9876543213").expect("phone")).await.expect("remove");
        for (mobile, requeue) in [("919000022213", false), ("919000033313", true)] {
            let o = s.import_drivers_with(&[driver_in("D3", mobile, None)], requeue, Utc::now()).await.expect("import");
            assert_eq!((o.queued, o.kept_do_not_call), (0, 1), "requeue {requeue}: {o:?}");
            assert_eq!(s.driver_closed_reason("D3").await.expect("r").as_deref(), Some(DO_NOT_CALL_REASON));
            let e = s.dnc_entry(&Phone::parse(mobile).expect("phone")).await.expect("entry").expect("listed");
            assert_eq!(e.added_by_name, "import");
            refused(&r, "D3", mobile, asked_on).await;
        }
        // The same number again, --requeue: still closed (the number stays as it was listed).
        let o =
            s.import_drivers_with(&[driver_in("D3", "919000033313", None)], true, Utc::now()).await.expect("import");
        assert_eq!((o.queued, o.kept_do_not_call), (0, 1));
        refused(&r, "D3", "919000033313", asked_on).await;
    })
    .await;
}

/// Inserts a call row the old system wrote: no driver, the number as given.
async fn old_call(db: &TestDb, reference: &str, mobile: &str) -> i64 {
    let sql = "INSERT INTO call_logs (reference_id, caller_id, driver_id, driver_mobile, driver_name, call_type, \
               status, provider, created_at) VALUES (?, 3, NULL, ?, 'Old Row', 'ivr', 'completed', 'telecmi', ?)";
    let at = calldesk::store::db_time(Utc::now());
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        sqlx::query(sql).bind(reference).bind(mobile).bind(at).execute(&pool).await.expect("insert");
        pool.close().await;
    } else {
        let pool = sqlx::MySqlPool::connect(&db.url).await.expect("mysql");
        sqlx::query(sql).bind(reference).bind(mobile).bind(at).execute(&pool).await.expect("insert");
        pool.close().await;
    }
    db.store.call_by_reference(reference).await.expect("q").expect("row").id
}

async fn update_feedback(r: &Rig, reference: &str) -> (StatusCode, Value) {
    let token = tokens::generate();
    r.db.store.insert_token(3, &calldesk::domain::token::hash(&token), Utc::now()).await.expect("token");
    let body = json!({"reference_id": reference, "status": "connected", "feedback": DO_NOT_CALL});
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/telecmi_production_api.php?action=update_feedback", r.addr))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn asked_not_to_be_called_on_a_call_with_no_driver_lists_its_number_or_is_refused() {
    each_backend(|db| async move {
        let r = rig(db, 20).await;
        let s = &r.db.store;
        let listed = old_call(&r.db, "old_ref_1", "919000044415").await;
        let (status, v) = update_feedback(&r, "old_ref_1").await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let e = s.dnc_entry(&Phone::parse("9000044415").expect("phone")).await.expect("entry").expect("listed");
        assert_eq!(e.reason, Some(format!("asked on call {listed}")));
        assert_eq!(e.added_by_name, "Pooja");

        // A number not in full international form cannot be listed safely: 400, nothing saved.
        let refused = old_call(&r.db, "old_ref_2", "98765").await;
        let (status, v) = update_feedback(&r, "old_ref_2").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        let m = v["message"].as_str().unwrap_or_default();
        assert!(m.contains("no driver") && m.contains("calldesk dnc add"), "{v}");
        let call = s.call(refused).await.expect("q").expect("row");
        assert_eq!(call.feedback, None, "the outcome was not saved");
        assert_eq!(s.dnc_list().await.expect("list").len(), 1);
    })
    .await;
}

/// A MariaDB whose drivers.mobile has another collation than the server's default (the table was
/// made long ago): 0017 gives dnc_numbers.number drivers.mobile's, so search and the queue work.
#[tokio::test]
async fn the_listed_number_has_the_collation_of_drivers_mobile_on_mariadb() {
    let Some(url) = common::mysql_url().await else { return };
    let dir = tempfile::tempdir().expect("tmp");
    for f in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/mysql")).expect("dir") {
        let f = f.expect("entry");
        let name = f.file_name().to_string_lossy().into_owned();
        if name.as_str() < "0017" {
            std::fs::copy(f.path(), dir.path().join(&name)).expect("copy");
        }
    }
    let pool = sqlx::MySqlPool::connect(&url).await.expect("open");
    sqlx::migrate::Migrator::new(dir.path()).await.expect("migrator").run(&pool).await.expect("up to 0016");
    let collation = |table: &'static str, column: &'static str| {
        let pool = pool.clone();
        async move {
            let (c,): (String,) = sqlx::query_as(
                "SELECT COLLATION_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
            )
            .bind(table)
            .bind(column)
            .fetch_one(&pool)
            .await
            .expect("collation");
            c
        }
    };
    let (default,): (String,) = sqlx::query_as("SELECT @@collation_database").fetch_one(&pool).await.expect("q");
    let other = if default == "utf8mb4_unicode_ci" { "utf8mb4_bin" } else { "utf8mb4_unicode_ci" };
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER TABLE drivers MODIFY mobile varchar(20) NOT NULL COLLATE {other}")))
        .execute(&pool)
        .await
        .expect("old collation");
    let store = Store::open(&url).await.expect("migrate the rest");
    assert_eq!(collation("dnc_numbers", "number").await, collation("drivers", "mobile").await);
    assert_eq!(collation("drivers", "mobile").await, other);
    let (key, nullable): (String, String) = sqlx::query_as(
        "SELECT COLUMN_KEY, IS_NULLABLE FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'dnc_numbers' AND COLUMN_NAME = 'number'",
    )
    .fetch_one(&pool)
    .await
    .expect("q");
    assert_eq!((key.as_str(), nullable.as_str()), ("PRI", "NO"));
    pool.close().await;

    let now = Utc::now();
    let drivers = [driver_in("D1", "919000055516", None), driver_in("D2", "919000055517", None)];
    fixtures::seed(&store, &[(3, "Pooja")], &drivers, now).await;
    let by = calldesk::store::DncAdder { caller_id: None, name: "cli".into() };
    store.dnc_add(&Phone::parse("9000055516").expect("p"), None, &by, now).await.expect("add");
    let hits = store.search_drivers(3, "90000 555", 10).await.expect("search joins the list");
    assert_eq!(hits.iter().filter(|h| h.standing(now) == Standing::DoNotCall).count(), 1);
    let due = store.due_queue(3, now, &Default::default(), None, 10, None).await.expect("queue joins the list");
    assert_eq!(due.iter().map(|q| q.driver_id.as_str()).collect::<Vec<_>>(), ["D2"]);
}

/// A buffer the log subscriber writes to.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

#[tokio::test]
async fn refusals_are_not_logged_as_errors_nor_with_the_drivers_words_but_failures_are() {
    each_backend(|db| async move {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let r = rig(db, 20).await;
        let by = calldesk::store::DncAdder { caller_id: None, name: "cli".into() };
        let reason = "private: moved to Dubai for surgery";
        r.db.store.dnc_add(&Phone::parse("9876543211").expect("p"), Some(reason), &by, Utc::now()).await.expect("add");
        assert!(matches!(r.dialer.place_call(3, "D1", None, CallKind::Manual).await, Err(DialError::DoNotCall(_))));
        let text = logs.text();
        assert!(text.contains("dial refused") && text.contains("do_not_call"), "{text}");
        assert!(!text.contains("ERROR"), "a refusal is not an error: {text}");
        assert!(!text.contains("Dubai"), "the reason stays out of the log: {text}");

        r.sim.push_outcome(Outcome::AuthFailure);
        assert!(matches!(r.dialer.place_call(3, "D2", None, CallKind::Telecmi).await, Err(DialError::Provider { .. })));
        assert!(logs.text().contains("ERROR"), "a real failure is: {}", logs.text());
    })
    .await;
}
