//! Outside calling hours the queue lists first the drivers who may be called now (issue 22): each
//! driver's window is read in their own zone; only the order changes (nothing is hidden), paging
//! crosses from those who may be called to those who wait without losing or repeating a row, and
//! a zone given by a later import moves the driver. On SQLite and MariaDB.

mod common;

use chrono::{DateTime, Timelike, Utc};

use calldesk::console::action::{Action, Effect};
use calldesk::console::effects::{self, DraftWriter, EffectCtx};
use calldesk::coord::dialer::CallKind;
use calldesk::domain::{CallingHours, Driver, Role, Schedule};
use calldesk::store::{QueueEntry, Store, SubmitFeedback};
use common::fixtures::driver_in;
use common::{each_backend, rig_with};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
}

/// Kolkata's team, calling 09:00–21:00 in each driver's zone.
fn nine_to_nine() -> Schedule {
    Schedule::new(chrono_tz::Asia::Kolkata, CallingHours::parse("09:00-21:00").expect("hours"))
}

/// 07:30 in Kolkata on 25 Nov 2026: the drivers are imported (due from then on).
const IMPORTED: &str = "2026-11-25T02:00:00Z";
/// 22:00 in Kolkata (closed); 20:30 in Dubai, 16:30 in London, 11:30 in New York (open).
const NIGHT: &str = "2026-11-25T16:30:00Z";
/// 12:30 in Kolkata and 11:00 in Dubai (open); 07:00 in London, 02:00 in New York (closed).
const NOON: &str = "2026-11-25T07:00:00Z";

/// A manual call to `id` at `when` (inside their window) ending "Busy Right Now": a callback two
/// hours on, listed first among its part.
async fn callback(store: &Store, dialer: &calldesk::coord::dialer::Dialer, id: &str, when: &str) {
    let call = dialer.place_call_at(3, id, None, CallKind::Manual, at(when)).await.expect("dial");
    let f = SubmitFeedback {
        call_id: call.id,
        status: None,
        feedback: "Busy Right Now".into(),
        remarks: String::new(),
        call_duration: Some(30),
    };
    store.submit_feedback(&f, &dialer.config.catalog(), at(when)).await.expect("save");
}

fn ids(rows: &[QueueEntry]) -> Vec<(String, bool)> {
    rows.iter().map(|e| (e.driver_id.clone(), e.waiting)).collect()
}

fn expect(list: &[(&str, bool)]) -> Vec<(String, bool)> {
    list.iter().map(|(id, w)| ((*id).to_string(), *w)).collect()
}

/// Every page of `limit` rows after the previous page's last row, joined.
async fn paged(store: &Store, now: DateTime<Utc>, schedule: &Schedule, limit: u32) -> Vec<QueueEntry> {
    let mut all: Vec<QueueEntry> = Vec::new();
    loop {
        let after = all.last().map(QueueEntry::cursor);
        let page = store.due_queue(3, now, schedule, after.as_ref(), limit, None).await.expect("page");
        assert!(page.len() <= limit as usize);
        let done = page.len() < limit as usize;
        all.extend(page);
        if done {
            return all;
        }
    }
}

#[tokio::test]
async fn who_may_be_called_now_comes_first_and_paging_crosses_over() {
    each_backend(|db| async move {
        let rig = rig_with(db, 10, |s| s.calling_hours = Some("09:00-21:00".into())).await;
        let store = rig.db.store.clone();
        // The rig's own drivers belong to caller 4 here: this test's queue is its own.
        let rig_drivers: Vec<Driver> = store
            .due_queue(3, Utc::now(), &Schedule::default(), None, 50, None)
            .await
            .expect("rig queue")
            .into_iter()
            .map(|e| Driver { assigned_to: Some(4), ..driver_in(&e.driver_id, &e.mobile, None) })
            .collect();
        store.import_drivers(&rig_drivers, at(IMPORTED)).await.expect("move the rig's drivers");
        let drivers = [
            driver_in("K1", "919800000011", None),
            driver_in("K2", "919800000012", None),
            driver_in("K3", "919800000013", None),
            driver_in("DXB1", "919800000021", Some("Asia/Dubai")),
            driver_in("DXB2", "919800000022", Some("Asia/Dubai")),
            driver_in("LON1", "919800000031", Some("Europe/London")),
            driver_in("NY1", "919800000041", Some("America/New_York")),
        ];
        store.import_drivers(&drivers, at(IMPORTED)).await.expect("import");
        // Callbacks: K3 at 10:00 Kolkata (due 12:00 Kolkata), DXB2 at 10:00 Dubai (due 12:00 Dubai).
        callback(&store, &rig.dialer, "K3", "2026-11-25T04:30:00Z").await;
        callback(&store, &rig.dialer, "DXB2", "2026-11-25T06:00:00Z").await;
        let hours = nine_to_nine();

        // 22:00 in Kolkata: Dubai, London and New York may be called; Kolkata waits. Callbacks
        // first within each part; the Kolkata callback after every driver who may be called.
        let night = expect(&[
            ("DXB2", false),
            ("DXB1", false),
            ("LON1", false),
            ("NY1", false),
            ("K3", true),
            ("K1", true),
            ("K2", true),
        ]);
        let rows = store.due_queue(3, at(NIGHT), &hours, None, 50, None).await.expect("queue");
        assert_eq!(ids(&rows), night);
        for limit in [1, 2, 3, 4] {
            assert_eq!(ids(&paged(&store, at(NIGHT), &hours, limit).await), night, "pages of {limit}");
        }
        // The filter keeps the order and hides nothing else.
        let k = store.due_queue(3, at(NIGHT), &hours, None, 50, Some("Driver K")).await.expect("filter");
        assert_eq!(ids(&k), expect(&[("K3", true), ("K1", true), ("K2", true)]));

        // 12:30 in Kolkata: Kolkata and Dubai may be called, London and New York wait (DXB2's
        // callback is not due until 12:00 Dubai).
        let noon =
            expect(&[("K3", false), ("DXB1", false), ("K1", false), ("K2", false), ("LON1", true), ("NY1", true)]);
        assert_eq!(ids(&store.due_queue(3, at(NOON), &hours, None, 50, None).await.expect("queue")), noon);
        assert_eq!(ids(&paged(&store, at(NOON), &hours, 2).await), noon);

        // Without calling hours the order is the queue's own: callbacks, then by due time.
        let always = store.due_queue(3, at(NIGHT), &Schedule::default(), None, 50, None).await.expect("queue");
        assert_eq!(
            ids(&always),
            expect(&[
                ("K3", false),
                ("DXB2", false),
                ("DXB1", false),
                ("K1", false),
                ("K2", false),
                ("LON1", false),
                ("NY1", false),
            ])
        );

        // A driver taken off the queue and put back by a corrected outcome keeps their zone:
        // NY1, "Not Interested" at 10:00 New York, then "Busy Right Now" (a callback at noon there).
        let ten_ny = "2026-11-25T15:00:00Z";
        let call = rig.dialer.place_call_at(3, "NY1", None, CallKind::Manual, at(ten_ny)).await.expect("dial");
        let catalog = rig.dialer.config.catalog();
        let mut f = SubmitFeedback {
            call_id: call.id,
            status: None,
            feedback: "Not Interested".into(),
            remarks: String::new(),
            call_duration: Some(30),
        };
        store.submit_feedback(&f, &catalog, at(ten_ny)).await.expect("save");
        assert!(store.queue_entry("NY1").await.expect("q").is_none(), "off the queue");
        f.feedback = "Busy Right Now".into();
        store.submit_feedback(&f, &catalog, at(ten_ny)).await.expect("correct");
        let rows = store.due_queue(3, at("2026-11-25T17:00:00Z"), &hours, None, 50, None).await.expect("queue");
        assert_eq!(rows.first().map(|e| (e.driver_id.as_str(), e.waiting)), Some(("NY1", false)), "{:?}", ids(&rows));

        // An import that gives K2 Dubai's zone moves them; one that gives DXB1 none keeps theirs.
        store
            .import_drivers(
                &[driver_in("K2", "919800000012", Some("Asia/Dubai")), driver_in("DXB1", "919800000021", None)],
                at(NOON),
            )
            .await
            .expect("import again");
        let rows = store.due_queue(3, at(NIGHT), &hours, None, 50, None).await.expect("queue");
        assert_eq!(
            ids(&rows),
            expect(&[("DXB2", false), ("DXB1", false), ("K2", false), ("LON1", false), ("K3", true), ("K1", true),])
        );
    })
    .await;
}

/// The console reads its queue with the configured calling hours: its first row (where the
/// cursor starts) is a driver who may be called now.
#[tokio::test]
async fn the_consoles_queue_starts_with_a_driver_who_may_be_called() {
    each_backend(|db| async move {
        // A one-hour window that is open now six hours east of UTC and closed in UTC, the team's zone.
        let start = (Utc::now().hour() + 6) % 24;
        let rig = rig_with(db, 10, |s| {
            s.timezone = Some("UTC".into());
            s.calling_hours = Some(format!("{start:02}:00-{:02}:00", start + 1));
        })
        .await;
        let store = rig.db.store.clone();
        store.add_caller(3, "Pooja", Role::Agent, Utc::now()).await.expect("caller");
        store
            .import_drivers(
                &[driver_in("FAR", "919800000051", Some("Etc/GMT-6"))],
                Utc::now() - chrono::Duration::minutes(1),
            )
            .await
            .expect("import");
        let ctx = EffectCtx {
            store: store.clone(),
            dialer: rig.dialer.clone(),
            catalog: rig.dialer.config.catalog(),
            caller_id: 3,
            tz: chrono_tz::UTC,
            drafts: DraftWriter::start(store.clone()),
            saves: Default::default(),
        };
        let loaded =
            effects::run(&ctx, Effect::LoadQueue { generation: 1, after: None, filter: None, limit: 50 }).await;
        let Some(Action::QueueLoaded { rows, .. }) = loaded else { panic!("queue not loaded: {loaded:?}") };
        assert_eq!(rows.len(), 11, "nobody is hidden");
        assert_eq!((rows[0].driver_id.as_str(), rows[0].waiting), ("FAR", false));
        assert!(rows[1..].iter().all(|e| e.waiting), "the team's drivers wait");
    })
    .await;
}
