//! Calls that never got a final webhook are closed from TeleCMI's CDR lists; one the lists do not
//! show stays as it is until the call ceiling, then is closed provisionally with its own reason.

mod common;

use chrono::{Duration, Utc};

use calldesk::coord::dialer::CallKind;
use calldesk::coord::reconcile::{CEILING, Policy, reconcile_once};
use calldesk::telecmi::simulator::{ListedCdr, Outcome};
use common::{each_backend, rig};

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
