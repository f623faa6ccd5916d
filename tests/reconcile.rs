//! Calls that never got a final webhook are closed from TeleCMI's CDR lists; one the lists do not
//! show stays as it is until the call ceiling, then is closed provisionally with its own reason.

mod common;

use chrono::{Duration, Utc};

use calldesk::coord::dialer::CallKind;
use calldesk::coord::reconcile::{CEILING, Policy, after_outage, reconcile_once};
use calldesk::telecmi::TelecmiClient;
use calldesk::telecmi::simulator::{ListedCdr, Outcome};
use common::{TestDb, each_backend, rig};

#[tokio::test]
async fn silent_calls_are_closed_from_cdr_lists_or_at_the_ceiling() {
    each_backend(|db| async move {
        let r = rig(db, 10).await;
        for _ in 0..3 {
            r.sim.push_outcome(Outcome::Silent);
        }
        let answered = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect("placed");
        let missed = r.dialer.place_call(3, "D2", None, CallKind::Telecmi).await.expect("placed");
        let unknown = r.dialer.place_call(3, "D3", None, CallKind::Telecmi).await.expect("placed");
        let manual = r.dialer.place_call(3, "D4", None, CallKind::Manual).await.expect("placed");
        // 25 other records so the answer spans two pages of 20.
        for i in 0..25 {
            r.sim.add_cdr(ListedCdr {
                answered: true,
                agent: "5099".into(),
                to: 919_000_000_000 + i,
                time_ms: answered.created_at.timestamp_millis(),
                duration: 9,
            });
        }
        r.sim.add_cdr(ListedCdr {
            answered: true,
            agent: "5003".into(),
            to: 919_876_543_211,
            time_ms: answered.created_at.timestamp_millis() + 2000,
            duration: 77,
        });
        r.sim.add_cdr(ListedCdr {
            answered: false,
            agent: "5003".into(),
            to: 919_876_543_212,
            time_ms: missed.created_at.timestamp_millis() + 1000,
            duration: 0,
        });

        let client = r.dialer.client.clone();
        let policy = Policy { stale_after: Duration::minutes(10), ceiling: Duration::hours(4) };
        // Not stale yet: nothing happens.
        let n = reconcile_once(&r.db.store, client.as_ref(), &r.bus, policy, Utc::now()).await.expect("pass");
        assert_eq!(n, 0);
        let later = Utc::now() + Duration::minutes(11);
        let n = reconcile_once(&r.db.store, client.as_ref(), &r.bus, policy, later).await.expect("pass");
        assert_eq!(n, 2, "the unlisted call is not closed for silence");
        let get = |id| {
            let s = r.db.store.clone();
            async move { s.call(id).await.expect("q").expect("call") }
        };
        let a = get(answered.id).await;
        assert_eq!((a.status.as_deref(), a.call_duration), (Some("completed"), Some(77)));
        assert_eq!(get(missed.id).await.status.as_deref(), Some("missed"));
        assert_eq!(get(unknown.id).await.status.as_deref(), Some("initiated"), "not listed yet: left as it is");
        let ceiling = Utc::now() + Duration::hours(4) + Duration::minutes(1);
        let n = reconcile_once(&r.db.store, client.as_ref(), &r.bus, policy, ceiling).await.expect("pass");
        assert_eq!(n, 1);
        let u = get(unknown.id).await;
        assert_eq!(u.status.as_deref(), Some("failed"));
        assert!(u.remarks.as_deref().is_some_and(|m| m.starts_with(CEILING)), "{u:?}");
        assert!(r.db.store.provisional(unknown.id).await.expect("mark").is_some_and(|p| p.state == "provisional"));
        assert_eq!(get(manual.id).await.status.as_deref(), Some("initiated"), "manual calls wait for the agent");
        assert!(
            r.db.store.live_calls(None).await.expect("live").iter().all(|c| c.provider.as_deref() == Some("manual"))
        );
    })
    .await;
}

/// Writes a call row's status, start and last change directly (a call saved minutes ago).
async fn set_row(db: &TestDb, id: i64, status: &str, created: chrono::DateTime<Utc>, updated: chrono::DateTime<Utc>) {
    let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    // A closed call has its wrap-up saved (the agent may dial the driver again).
    let sql = "UPDATE call_logs SET status = ?, call_duration = 0, created_at = ?, updated_at = ?, \
               feedback = ? WHERE id = ?";
    let feedback = matches!(status, "missed" | "completed").then_some("No answer");
    let (created, updated) = (fmt(created), fmt(updated));
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        sqlx::query(sql)
            .bind(status)
            .bind(&created)
            .bind(&updated)
            .bind(feedback)
            .bind(id)
            .execute(&pool)
            .await
            .expect("update");
        pool.close().await;
    } else {
        let pool = sqlx::MySqlPool::connect(&db.url).await.expect("mysql");
        sqlx::query(sql)
            .bind(status)
            .bind(&created)
            .bind(&updated)
            .bind(feedback)
            .bind(id)
            .execute(&pool)
            .await
            .expect("update");
        pool.close().await;
    }
}

/// A CDR-list record belongs to the call of that agent and number placed closest to its start:
/// after an outage, a redial that is connected and talking (not listed yet: TeleCMI lists a call
/// once it is finished) is not closed with the earlier call's "missed" record, and a call the
/// agent closed by hand does not take a later call's talk time and recording.
#[tokio::test]
async fn a_record_belongs_to_the_closest_call_not_to_a_redial() {
    each_backend(|db| async move {
        let r = rig(db, 10).await;
        for _ in 0..4 {
            r.sim.push_outcome(Outcome::Silent);
        }
        let now = Utc::now();
        let t0 = now - Duration::minutes(3);
        // Driver D1: the first call rang out ("missed", listed); the redial 50 s later connected.
        let first = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect("placed");
        set_row(&r.db, first.id, "missed", t0, t0 + Duration::seconds(30)).await;
        let redial = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect("placed");
        set_row(&r.db, redial.id, "connected", t0 + Duration::seconds(50), t0 + Duration::seconds(55)).await;
        r.sim.add_cdr(ListedCdr {
            answered: false,
            agent: "5003".into(),
            to: 919_876_543_211,
            time_ms: t0.timestamp_millis(),
            duration: 0,
        });
        // Driver D2: the first call the agent closed by hand during the outage (its report could
        // not arrive, and TeleCMI lists nothing for it); the redial was answered and talked 120 s.
        let by_hand = r.dialer.place_call(3, "D2", None, CallKind::Telecmi).await.expect("placed");
        set_row(&r.db, by_hand.id, "completed", t0, now).await;
        let talked = r.dialer.place_call(3, "D2", None, CallKind::Telecmi).await.expect("placed");
        set_row(&r.db, talked.id, "connected", t0 + Duration::seconds(50), t0 + Duration::seconds(55)).await;
        r.sim.add_cdr(ListedCdr {
            answered: true,
            agent: "5003".into(),
            to: 919_876_543_212,
            time_ms: (t0 + Duration::seconds(52)).timestamp_millis(),
            duration: 120,
        });

        let client = r.dialer.client.clone();
        let policy = Policy { stale_after: Duration::minutes(10), ceiling: Duration::hours(4) };
        let began = now - Duration::minutes(1);
        // The CDR lists do not answer: nothing changes, and the pass is still owed.
        let creds = common::test_config("http://127.0.0.1:9").telecmi.expect("creds");
        let down = TelecmiClient::new("http://127.0.0.1:9", &creds).expect("client");
        let n = after_outage(&r.db.store, Some(&down), &r.bus, policy, began, now).await.expect("pass");
        assert_eq!(n, None, "the calls stay owed while the CDR lists cannot be fetched");
        let n = after_outage(&r.db.store, client.as_ref(), &r.bus, policy, began, now).await.expect("pass");
        assert_eq!(n, Some(1), "only the call that talked is closed");
        let get = |id| {
            let s = r.db.store.clone();
            async move { s.call(id).await.expect("q").expect("call") }
        };
        let c = get(redial.id).await;
        assert_eq!(
            (c.status.as_deref(), c.call_duration),
            (Some("connected"), Some(0)),
            "the talking redial is not closed with the first call's record: {c:?}"
        );
        let c = get(first.id).await;
        assert_eq!(c.status.as_deref(), Some("missed"));
        let c = get(by_hand.id).await;
        assert_eq!(
            (c.status.as_deref(), c.call_duration),
            (Some("completed"), Some(0)),
            "the call closed by hand keeps no talk time of the redial: {c:?}"
        );
        let c = get(talked.id).await;
        assert_eq!((c.status.as_deref(), c.call_duration), (Some("completed"), Some(120)), "{c:?}");
    })
    .await;
}
