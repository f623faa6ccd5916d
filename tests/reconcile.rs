//! Calls that never got a final webhook are closed from TeleCMI's CDR lists, or marked failed.

mod common;

use chrono::{Duration, Utc};

use calldesk::dialer::CallKind;
use calldesk::telecmi::reconcile::{NO_REPORT, reconcile_once};
use calldesk::telecmi::simulator::{ListedCdr, Outcome};
use common::{each_backend, rig};

#[tokio::test]
async fn silent_calls_are_closed_from_cdr_lists_or_failed() {
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
        // Not stale yet: nothing happens.
        let n = reconcile_once(&r.db.store, client.as_ref(), &r.bus, Duration::minutes(10), Utc::now())
            .await
            .expect("pass");
        assert_eq!(n, 0);
        let later = Utc::now() + Duration::minutes(11);
        let n = reconcile_once(&r.db.store, client.as_ref(), &r.bus, Duration::minutes(10), later).await.expect("pass");
        assert_eq!(n, 3);
        let get = |id| {
            let s = r.db.store.clone();
            async move { s.call(id).await.expect("q").expect("call") }
        };
        let a = get(answered.id).await;
        assert_eq!((a.status.as_deref(), a.call_duration), (Some("completed"), Some(77)));
        assert_eq!(get(missed.id).await.status.as_deref(), Some("missed"));
        let u = get(unknown.id).await;
        assert_eq!((u.status.as_deref(), u.remarks.as_deref()), (Some("failed"), Some(NO_REPORT)));
        assert_eq!(get(manual.id).await.status.as_deref(), Some("initiated"), "manual calls wait for the agent");
        assert!(
            r.db.store.live_calls(None).await.expect("live").iter().all(|c| c.provider.as_deref() == Some("manual"))
        );
    })
    .await;
}
