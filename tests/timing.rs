//! TeleCMI's real timing, compressed: long talks past the reconcile window, slow click-to-call
//! answers, lost final webhooks, duplicates, the old leg-less format, and ids that MariaDB commits
//! out of order. Each scenario runs over real HTTP (simulator → listener), on a real SQLite file
//! and MariaDB, and checks the stored row, the driver's queue entry and what the console shows.

mod common;

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use calldesk::console::action::Action;
use calldesk::console::state::App;
use calldesk::console::update::update;
use calldesk::console::views::render;
use calldesk::coord::bus::{CallUpdate, Source};
use calldesk::coord::dialer::{CallKind, DialError, Dialer, NOT_PLACED_REMARK};
use calldesk::coord::feed::Follower;
use calldesk::coord::reconcile::{CEILING, Policy, reconcile_once};
use calldesk::domain::{CallLog, CallStatus, FeedbackCatalog, UNCONFIRMED_REMARK};
use calldesk::telecmi::simulator::Outcome;
use common::fixtures::{identity, ist};
use common::{Rig, TestDb, each_backend, rig, settle, test_config};

/// The client's click-to-call timeout in these tests (TeleCMI's 10 s, compressed).
const CLIENT_TIMEOUT: StdDuration = StdDuration::from_millis(400);

fn policy() -> Policy {
    Policy { stale_after: Duration::minutes(10), ceiling: Duration::hours(4) }
}

/// A rig whose dialer gives up on TeleCMI's answer after [`CLIENT_TIMEOUT`], and a follower
/// reading the event table as every console does.
async fn timing_rig(db: TestDb, scale: f64) -> (Rig, Follower) {
    let mut r = rig(db, 10).await;
    r.sim.set_time_scale(scale);
    let config = std::sync::Arc::new(test_config(&r.sim.base_url()));
    r.dialer =
        Dialer::with_timeout(r.db.store.clone(), config, r.bus.clone(), CLIENT_TIMEOUT).expect("short-timeout dialer");
    let follower = Follower::from_now(&r.db.store).await;
    (r, follower)
}

async fn get(r: &Rig, id: i64) -> CallLog {
    r.db.store.call(id).await.expect("read").expect("call")
}

/// Waits (up to 10 s) until the call has `status`.
async fn wait_status(r: &Rig, id: i64, status: CallStatus) -> CallLog {
    let deadline = Instant::now() + StdDuration::from_secs(10);
    loop {
        let c = get(r, id).await;
        if c.call_status() == status {
            return c;
        }
        assert!(Instant::now() < deadline, "call {id} never reached {status}: {c:?}");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// Waits until the simulator's CDR lists show a call (TeleCMI lists finished calls only).
async fn wait_listed(r: &Rig) {
    let deadline = Instant::now() + StdDuration::from_secs(10);
    while r.sim.listed().is_empty() {
        assert!(Instant::now() < deadline, "the call never appeared in the CDR lists");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// The call once TeleCMI's final reports are in: they come half a minute (scaled) after the
/// hangup, and the simulator lists the call only after sending them.
async fn reports_in(r: &Rig, id: i64) -> CallLog {
    wait_listed(r).await;
    get(r, id).await
}

async fn reconcile_at(r: &Rig, now: DateTime<Utc>) -> usize {
    reconcile_once(&r.db.store, r.dialer.client.as_ref(), &r.bus, policy(), now).await.expect("reconcile")
}

/// What the agent's console shows after it started with `live` on screen and then heard every
/// update the feed delivered (each stored event once).
async fn console_after(r: &Rig, follower: &mut Follower, live: &CallLog) -> String {
    let updates = follower.poll_updates(&r.db.store, Instant::now()).await.expect("feed");
    let mut seen = std::collections::HashSet::new();
    for u in &updates {
        let id = u.event_id.expect("feed updates carry their event id");
        assert!(seen.insert(id), "event {id} delivered twice");
    }
    let latest = get(r, live.id).await;
    draw(live, updates, &latest)
}

fn draw(live: &CallLog, mut updates: Vec<CallUpdate>, latest: &CallLog) -> String {
    let mut app = App::new(identity(true), FeedbackCatalog::default(), Utc::now(), ist());
    update(&mut app, Action::Resize { width: 140, height: 40 });
    update(
        &mut app,
        Action::StartupLoaded { wrapups: vec![], live: Some(live.clone()), recent: vec![], resave: vec![] },
    );
    if updates.is_empty() || updates.last().is_some_and(|u| &u.call != latest) {
        // What reconciliation or the dialer published on the console's own bus.
        updates.push(CallUpdate {
            call: latest.clone(),
            source: Source::Reconcile,
            leg: None,
            provider_status: None,
            event_id: None,
        });
    }
    for u in updates {
        update(&mut app, Action::CallUpdated(Box::new(u)));
    }
    let mut t = Terminal::new(TestBackend::new(140, 40)).expect("terminal");
    t.draw(|f| render(&app, f)).expect("draw");
    t.backend().to_string()
}

async fn attempts(r: &Rig, driver: &str) -> i64 {
    r.db.store.queue_entry(driver).await.expect("queue").expect("the driver stays queued until the wrap-up").attempts
}

/// A connected interview outlasts RECONCILE_AFTER_MINUTES: nothing is sent while two people talk
/// and the CDR lists do not list the call yet, so it stays connected and completes for real.
#[tokio::test]
async fn long_talk_beyond_the_reconcile_window_stays_connected() {
    each_backend(|db| async move {
        let (r, mut follower) = timing_rig(db, 0.002).await;
        r.sim.push_outcome(Outcome::LongTalk { talk_secs: 1800 });
        let call = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect("placed");
        wait_status(&r, call.id, CallStatus::Connected).await;
        for minutes in [11, 25, 50] {
            assert_eq!(reconcile_at(&r, call.created_at + Duration::minutes(minutes)).await, 0);
            let c = get(&r, call.id).await;
            assert_eq!(c.call_status(), CallStatus::Connected, "silence during a talk is not failure ({minutes} min)");
        }
        assert!(r.sim.listed().is_empty(), "a call in progress is not in the CDR lists");
        settle(&r.db.store, call.id).await;
        let done = reports_in(&r, call.id).await;
        assert_eq!((done.call_status(), done.call_duration), (CallStatus::Completed, Some(1800)));
        assert_eq!(done.remarks, None);
        assert_eq!(reconcile_at(&r, call.created_at + Duration::minutes(40)).await, 0, "a finished call is left alone");
        assert_eq!(attempts(&r, "D1").await, 1);
        let screen = console_after(&r, &mut follower, &call).await;
        assert!(screen.contains("COMPLETED") || screen.contains("completed"), "{screen}");
        assert!(screen.contains("record the outcome"), "the wrap-up opens by itself: {screen}");
        assert!(!screen.contains("failed"), "{screen}");
    })
    .await;
}

/// Past CALL_CEILING_HOURS a call still not listed is closed with its own reason, provisionally;
/// TeleCMI's own later report corrects it (the one move out of `failed`).
#[tokio::test]
async fn the_ceiling_closes_provisionally_and_telecmi_corrects_it() {
    each_backend(|db| async move {
        let (r, mut follower) = timing_rig(db, 0.0005).await;
        r.sim.push_outcome(Outcome::LongTalk { talk_secs: 4 * 3600 + 1200 });
        let call = r.dialer.place_call(3, "D2", None, CallKind::Telecmi).await.expect("placed");
        wait_status(&r, call.id, CallStatus::Connected).await;
        assert_eq!(reconcile_at(&r, call.created_at + Duration::minutes(3 * 60 + 59)).await, 0);
        assert_eq!(get(&r, call.id).await.call_status(), CallStatus::Connected);
        assert_eq!(reconcile_at(&r, call.created_at + Duration::minutes(4 * 60 + 1)).await, 1);
        let closed = get(&r, call.id).await;
        assert_eq!(closed.call_status(), CallStatus::Failed);
        let remarks = closed.remarks.clone().unwrap_or_default();
        assert!(remarks.starts_with(CEILING) && !remarks.contains("no report from TeleCMI"), "{remarks}");
        let mark = r.db.store.provisional(call.id).await.expect("mark").expect("closed provisionally");
        assert_eq!((mark.state.as_str(), mark.prior_status.as_str()), ("provisional", "connected"));
        // The real hangup and reports arrive: TeleCMI's word replaces calldesk's guess.
        wait_status(&r, call.id, CallStatus::Completed).await;
        let done = reports_in(&r, call.id).await;
        assert_eq!((done.call_status(), done.call_duration), (CallStatus::Completed, Some(4 * 3600 + 1200)));
        assert_eq!(done.remarks, None, "calldesk's provisional reason goes with it");
        assert!(r.db.store.provisional(call.id).await.expect("mark").is_none());
        assert_eq!(attempts(&r, "D2").await, 1);
        let screen = console_after(&r, &mut follower, &call).await;
        assert!(screen.contains("record the outcome"), "{screen}");
        assert!(!screen.contains(CEILING), "{screen}");
    })
    .await;
}

/// TeleCMI answers the click-to-call request after the client gave up, and places the call
/// anyway: the row is unconfirmed (not failed), no second call goes out, and the webhooks (which
/// carry our `extra_params`) bring it to its true status.
#[tokio::test]
async fn slow_answer_is_unconfirmed_then_settled_by_webhooks() {
    each_backend(|db| async move {
        let (r, mut follower) = timing_rig(db, 0.05).await;
        r.sim.push_outcome(Outcome::SlowAnswer { answer_after_secs: 40, events_after_secs: 20, talk_secs: 30 });
        let err = r.dialer.place_call(3, "D3", None, CallKind::Telecmi).await.expect_err("no answer in time");
        assert_eq!(err.http_status(), 504);
        let DialError::Unconfirmed { message, call } = err else { panic!("unconfirmed, got {err:?}") };
        assert!(message.contains("may still ring") && message.contains("unknown"), "{message}");
        assert!(call.is_unconfirmed(), "{call:?}");
        assert_eq!(call.call_status(), CallStatus::Initiated);
        assert!(call.remarks.as_deref().is_some_and(|m| m.starts_with(UNCONFIRMED_REMARK)));
        assert!(r.db.store.unconfirmed(call.id).await.expect("mark"));
        // No second click-to-call (nor a manual dial) while the outcome is unknown.
        let again = r.dialer.place_call(3, "D3", None, CallKind::Telecmi).await.expect_err("refused");
        assert!(matches!(&again, DialError::TooSoon(m) if m.contains("unconfirmed")), "{again:?}");
        assert!(r.dialer.place_call(4, "D3", None, CallKind::Manual).await.is_err(), "nobody dials the driver");
        assert_eq!(r.sim.placed().len(), 1, "exactly one click2call went out");
        assert!(!r.db.store.claim("D3", 4, Utc::now() + Duration::minutes(5), Utc::now()).await.expect("claim"));

        settle(&r.db.store, call.id).await;
        let done = reports_in(&r, call.id).await;
        assert_eq!((done.call_status(), done.call_duration), (CallStatus::Completed, Some(30)));
        assert!(!done.is_unconfirmed());
        assert_eq!(done.remarks, None);
        assert_eq!(done.reference_id.as_deref(), Some(r.sim.placed()[0].request_id.as_str()));
        assert!(!r.db.store.unconfirmed(call.id).await.expect("mark"));
        assert_eq!(attempts(&r, "D3").await, 1);
        let screen = console_after(&r, &mut follower, &call).await;
        assert!(screen.contains("record the outcome"), "{screen}");
    })
    .await;
}

/// The agent marks an unconfirmed call as not placed (after a minute); TeleCMI's webhooks for
/// it arrive later anyway and bring it from `failed` to its true status.
#[tokio::test]
async fn marked_not_placed_then_corrected_by_telecmi() {
    each_backend(|db| async move {
        let (r, mut follower) = timing_rig(db, 0.05).await;
        r.sim.push_outcome(Outcome::SlowAnswer { answer_after_secs: 80, events_after_secs: 60, talk_secs: 20 });
        let Err(DialError::Unconfirmed { call, .. }) = r.dialer.place_call(3, "D4", None, CallKind::Telecmi).await
        else {
            panic!("unconfirmed")
        };
        assert_eq!(attempts(&r, "D4").await, 1);
        let too_soon = r.dialer.mark_not_placed_at(3, call.id, call.created_at + Duration::seconds(30)).await;
        assert!(matches!(too_soon, Err(DialError::CannotMarkNotPlaced(_))), "{too_soon:?}");
        let not_mine = r.dialer.mark_not_placed_at(4, call.id, call.created_at + Duration::seconds(61)).await;
        assert!(matches!(not_mine, Err(DialError::NotYourCall)), "{not_mine:?}");
        let marked =
            r.dialer.mark_not_placed_at(3, call.id, call.created_at + Duration::seconds(61)).await.expect("mark");
        assert_eq!((marked.call_status(), marked.remarks.as_deref()), (CallStatus::Failed, Some(NOT_PLACED_REMARK)));
        assert_eq!(attempts(&r, "D4").await, 0, "a call that never happened is no attempt");
        assert!(r.db.store.claim("D4", 4, Utc::now() + Duration::minutes(5), Utc::now()).await.expect("claim"));
        r.db.store.release("D4", 4).await.expect("release");

        wait_status(&r, call.id, CallStatus::Completed).await;
        let done = reports_in(&r, call.id).await;
        assert_eq!((done.call_status(), done.call_duration), (CallStatus::Completed, Some(20)));
        assert_eq!(done.remarks, None);
        assert!(r.db.store.provisional(call.id).await.expect("mark").is_none());
        let screen = console_after(&r, &mut follower, &call).await;
        assert!(screen.contains("record the outcome"), "{screen}");
    })
    .await;
}

/// The hangup and final CDRs never arrive; the CDR list has the call once it finished.
#[tokio::test]
async fn final_webhook_lost_then_found_in_the_cdr_list() {
    each_backend(|db| async move {
        let (r, mut follower) = timing_rig(db, 0.002).await;
        r.sim.push_outcome(Outcome::LostFinal { talk_secs: 900 });
        let call = r.dialer.place_call(3, "D5", None, CallKind::Telecmi).await.expect("placed");
        wait_status(&r, call.id, CallStatus::Connected).await;
        assert_eq!(reconcile_at(&r, call.created_at + Duration::minutes(11)).await, 0);
        assert_eq!(get(&r, call.id).await.call_status(), CallStatus::Connected, "not listed yet: left alone");
        wait_listed(&r).await;
        assert_eq!(reconcile_at(&r, call.created_at + Duration::minutes(26)).await, 1);
        let done = get(&r, call.id).await;
        assert_eq!((done.call_status(), done.call_duration), (CallStatus::Completed, Some(900)));
        assert_eq!(attempts(&r, "D5").await, 1);
        let screen = console_after(&r, &mut follower, &call).await;
        assert!(screen.contains("record the outcome"), "{screen}");
    })
    .await;
}

/// The agent hangs up while the driver's phone rings: missed, with no talk time, even when the
/// reports come half a minute after the hangup.
#[tokio::test]
async fn hangup_before_answered_is_missed() {
    each_backend(|db| async move {
        let (r, mut follower) = timing_rig(db, 0.01).await;
        r.sim.push_outcome(Outcome::HangupBeforeAnswer);
        let call = r.dialer.place_call(3, "D6", None, CallKind::Telecmi).await.expect("placed");
        let done = settle(&r.db.store, call.id).await;
        wait_listed(&r).await;
        assert_eq!((done.call_status(), done.call_duration), (CallStatus::Missed, Some(0)));
        assert_eq!(reconcile_at(&r, call.created_at + Duration::minutes(11)).await, 0);
        assert_eq!(get(&r, call.id).await.call_status(), CallStatus::Missed);
        assert_eq!(attempts(&r, "D6").await, 1);
        let screen = console_after(&r, &mut follower, &call).await;
        assert!(screen.contains("missed") || screen.contains("MISSED"), "{screen}");
        assert!(screen.contains("record the outcome"), "{screen}");
    })
    .await;
}

/// Every webhook delivered twice: stored once, applied once, and each stored event reaches the
/// console once, with the id it was stored under.
#[tokio::test]
async fn duplicates_are_stored_and_shown_once() {
    each_backend(|db| async move {
        let (r, mut follower) = timing_rig(db, 0.01).await;
        let mut bus = r.bus.subscribe();
        r.sim.push_outcome(Outcome::Duplicate);
        let call = r.dialer.place_call(3, "D7", None, CallKind::Telecmi).await.expect("placed");
        let done = settle(&r.db.store, call.id).await;
        assert_eq!((done.call_status(), done.call_duration), (CallStatus::Completed, Some(30)));
        let stored = r.db.store.call_events(call.id).await.expect("events");
        assert_eq!(stored.len(), 8, "16 deliveries, 8 events");
        let mut from_listener = Vec::new();
        while let Ok(u) = bus.try_recv() {
            if u.source == Source::Webhook {
                from_listener.push(u.event_id.expect("the listener's updates carry the stored id"));
            }
        }
        let from_feed: Vec<i64> = follower
            .poll_updates(&r.db.store, Instant::now())
            .await
            .expect("feed")
            .iter()
            .filter_map(|u| u.event_id)
            .collect();
        let ids: Vec<i64> = stored.iter().map(|e| e.id).collect();
        from_listener.sort_unstable();
        assert_eq!(from_feed, ids, "the feed delivers each stored event once, in order");
        assert_eq!(from_listener, ids, "the listener and the feed name the same events");
        assert_eq!(attempts(&r, "D7").await, 1);
        let screen = draw(&call, vec![], &done);
        assert!(screen.contains("record the outcome"), "{screen}");
    })
    .await;
}

/// An old account's leg-less payloads (`cmiuid`, no leg, no request_id): matched by agent and
/// number, kept connected through a long talk, completed with its talk time.
#[tokio::test]
async fn old_legless_format_through_a_long_talk() {
    each_backend(|db| async move {
        let (r, mut follower) = timing_rig(db, 0.002).await;
        r.sim.push_outcome(Outcome::Legacy { talk_secs: 900 });
        let call = r.dialer.place_call(3, "D8", None, CallKind::Telecmi).await.expect("placed");
        wait_status(&r, call.id, CallStatus::Connected).await;
        assert_eq!(reconcile_at(&r, call.created_at + Duration::minutes(11)).await, 0);
        assert_eq!(get(&r, call.id).await.call_status(), CallStatus::Connected);
        let done = settle(&r.db.store, call.id).await;
        wait_listed(&r).await;
        tokio::time::sleep(StdDuration::from_millis(300)).await;
        let done = get(&r, done.id).await;
        assert_eq!(done.call_status(), CallStatus::Completed);
        assert!(done.call_duration.is_some_and(|d| d >= 900), "talk time kept: {done:?}");
        assert_eq!(attempts(&r, "D8").await, 1);
        let screen = console_after(&r, &mut follower, &call).await;
        assert!(screen.contains("record the outcome"), "{screen}");
    })
    .await;
}

/// The driver rejects: missed, no talk time; reconciliation later changes nothing.
#[tokio::test]
async fn rejected_is_missed() {
    each_backend(|db| async move {
        let (r, mut follower) = timing_rig(db, 0.01).await;
        r.sim.push_outcome(Outcome::Rejected);
        let call = r.dialer.place_call(3, "D9", None, CallKind::Telecmi).await.expect("placed");
        let done = settle(&r.db.store, call.id).await;
        assert_eq!((done.call_status(), done.call_duration), (CallStatus::Missed, Some(0)));
        wait_listed(&r).await;
        assert_eq!(reconcile_at(&r, call.created_at + Duration::minutes(11)).await, 0);
        assert_eq!(attempts(&r, "D9").await, 1);
        let screen = console_after(&r, &mut follower, &call).await;
        assert!(screen.contains("record the outcome"), "{screen}");
    })
    .await;
}

/// The agent's own phone is not picked up: leg A missed, the driver never rang.
#[tokio::test]
async fn agent_not_answering_is_missed() {
    each_backend(|db| async move {
        let (r, mut follower) = timing_rig(db, 0.01).await;
        r.sim.push_outcome(Outcome::AgentNoAnswer);
        let call = r.dialer.place_call(3, "D0", None, CallKind::Telecmi).await.expect("placed");
        let done = settle(&r.db.store, call.id).await;
        assert_eq!((done.call_status(), done.call_duration), (CallStatus::Missed, Some(0)));
        let legs: Vec<String> =
            r.db.store.call_events(call.id).await.expect("events").into_iter().map(|e| e.leg).collect();
        assert!(legs.iter().all(|l| l == "a"), "the driver was never rung: {legs:?}");
        wait_listed(&r).await;
        assert_eq!(reconcile_at(&r, call.created_at + Duration::minutes(11)).await, 0);
        assert_eq!(attempts(&r, "D0").await, 1);
        let screen = console_after(&r, &mut follower, &call).await;
        assert!(screen.contains("record the outcome"), "{screen}");
    })
    .await;
}

/// Only a definite refusal is `failed`: TeleCMI's body code ≠ 200, or a connection refused before
/// anything was sent. An answer lost after the request went out is unconfirmed.
#[tokio::test]
async fn refusals_fail_but_a_lost_answer_is_unconfirmed() {
    each_backend(|db| async move {
        let (r, _) = timing_rig(db, 0.01).await;
        r.sim.push_outcome(Outcome::AuthFailure);
        let err = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect_err("refused");
        let DialError::Provider { call, .. } = err else { panic!("provider refusal: {err:?}") };
        assert_eq!(call.call_status(), CallStatus::Failed);

        // Nothing listens: the connection is refused before anything is sent.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let dead = format!("http://{}", closed.local_addr().expect("addr"));
        drop(closed);
        let d = Dialer::with_timeout(
            r.db.store.clone(),
            std::sync::Arc::new(test_config(&dead)),
            r.bus.clone(),
            CLIENT_TIMEOUT,
        )
        .expect("dialer");
        let err = d.place_call(3, "D2", None, CallKind::Telecmi).await.expect_err("refused");
        assert!(
            matches!(&err, DialError::Provider { call, .. } if call.call_status() == CallStatus::Failed),
            "{err:?}"
        );

        // Something reads the whole request, then drops the connection without answering.
        let rude = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let rude_url = format!("http://{}", rude.local_addr().expect("addr"));
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            while let Ok((mut sock, _)) = rude.accept().await {
                let mut buf = vec![0u8; 65536];
                let _ = tokio::time::timeout(StdDuration::from_millis(100), sock.read(&mut buf)).await;
                drop(sock);
            }
        });
        let d = Dialer::with_timeout(
            r.db.store.clone(),
            std::sync::Arc::new(test_config(&rude_url)),
            r.bus.clone(),
            CLIENT_TIMEOUT,
        )
        .expect("dialer");
        let err = d.place_call(3, "D3", None, CallKind::Telecmi).await.expect_err("no answer");
        let DialError::Unconfirmed { call, .. } = err else { panic!("unconfirmed: {err:?}") };
        assert!(call.is_unconfirmed());
        assert_eq!(attempts(&r, "D3").await, 1);
    })
    .await;
}

/// The old API says the outcome is unknown: HTTP 504 in its `{success, message, data}` envelope,
/// and refuses a second click_to_call for the driver while the first is unconfirmed.
#[tokio::test]
async fn the_api_says_the_outcome_is_unknown() {
    each_backend(|db| async move {
        let (r, _) = timing_rig(db, 0.05).await;
        let token = calldesk::commands::tokens::generate();
        r.db.store.insert_token(3, &calldesk::domain::token::hash(&token), Utc::now()).await.expect("token");
        let state = calldesk::server::AppState::new(
            r.db.store.clone(),
            r.bus.clone(),
            calldesk::config::Secret::new(r.token.clone()),
            Some(common::APP_ID),
        );
        let app = calldesk::server::api::router(state, r.dialer.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(calldesk::server::serve(listener, app, std::future::pending()));
        r.sim.push_outcome(Outcome::SlowAnswer { answer_after_secs: 40, events_after_secs: 30, talk_secs: 10 });
        let post = || async {
            let resp = reqwest::Client::new()
                .post(format!("http://{addr}/api/telecmi_production_api.php?action=click_to_call"))
                .bearer_auth(&token)
                .json(&serde_json::json!({"caller_id": 3, "driver_id": "D5", "driver_mobile": "919876543215"}))
                .send()
                .await
                .expect("post");
            let status = resp.status().as_u16();
            (status, resp.json::<serde_json::Value>().await.expect("json"))
        };
        let (status, body) = post().await;
        assert_eq!(status, 504, "{body}");
        assert_eq!(body["success"], serde_json::json!(false));
        let msg = body["message"].as_str().unwrap_or_default();
        assert!(msg.contains("may still ring") && msg.contains("unknown"), "{msg}");
        let (status, body) = post().await;
        assert_eq!(status, 409, "{body}");
        assert!(body["message"].as_str().unwrap_or_default().contains("unconfirmed"), "{body}");
        assert_eq!(r.sim.placed().len(), 1);
    })
    .await;
}

/// MariaDB commits auto-increment ids out of order: id N+1 is committed and read while N's
/// transaction is still open. A follower still delivers N when it commits, and each only once.
#[tokio::test]
async fn the_feed_sees_ids_committed_out_of_order() {
    each_backend(|db| async move {
        let (r, mut follower) = timing_rig(db, 0.01).await;
        let call = r.dialer.place_call(3, "D1", None, CallKind::Manual).await.expect("placed");
        let insert = "INSERT INTO webhook_events (received_at, dedup_key, call_log_id, reference, kind, leg, status, payload) \
                      VALUES (?, ?, ?, NULL, 'event', ?, 'hangup', '{}')";
        let now = Utc::now().naive_utc();
        let (low, high) = if r.db.store.is_mysql() {
            let pool = sqlx::mysql::MySqlPoolOptions::new()
                .max_connections(2)
                .connect(&r.db.url)
                .await
                .expect("pool");
            let mut first = pool.begin().await.expect("begin");
            let low = sqlx::query(insert)
                .bind(now)
                .bind("ooo|a")
                .bind(call.id)
                .bind("a")
                .execute(&mut *first)
                .await
                .expect("insert N")
                .last_insert_id() as i64;
            let mut second = pool.begin().await.expect("begin");
            let high = sqlx::query(insert)
                .bind(now)
                .bind("ooo|b")
                .bind(call.id)
                .bind("b")
                .execute(&mut *second)
                .await
                .expect("insert N+1")
                .last_insert_id() as i64;
            second.commit().await.expect("commit N+1");
            assert!(high > low);
            let seen = follower.poll_updates(&r.db.store, Instant::now()).await.expect("feed");
            assert_eq!(seen.iter().map(|u| u.event_id).collect::<Vec<_>>(), vec![Some(high)]);
            first.commit().await.expect("commit N");
            (low, high)
        } else {
            // SQLite has one writer: ids commit in order. The follower sees both once.
            let cdr = |leg: &str| calldesk::domain::ProviderEvent {
                dedup_key: format!("ooo|{leg}"),
                call_log_id: Some(call.id),
                request_id: None,
                telecmi_user: None,
                number: None,
                kind: "event".into(),
                leg: calldesk::domain::Leg::A,
                provider_status: "hangup".into(),
                signal: None,
                duration: None,
                recording: None,
                payload: "{}".into(),
            };
            let id = |o| match o {
                calldesk::store::ApplyOutcome::Applied { event_id, .. } => event_id,
                other => panic!("{other:?}"),
            };
            let low = id(r.db.store.apply_event(&cdr("a"), Utc::now()).await.expect("a"));
            let high = id(r.db.store.apply_event(&cdr("b"), Utc::now()).await.expect("b"));
            let seen = follower.poll_updates(&r.db.store, Instant::now()).await.expect("feed");
            assert_eq!(seen.iter().map(|u| u.event_id).collect::<Vec<_>>(), vec![Some(low), Some(high)]);
            return;
        };
        let seen = follower.poll_updates(&r.db.store, Instant::now()).await.expect("feed");
        assert_eq!(seen.iter().map(|u| u.event_id).collect::<Vec<_>>(), vec![Some(low)], "the late id arrives");
        let again = follower.poll_updates(&r.db.store, Instant::now()).await.expect("feed");
        assert!(again.is_empty(), "each event exactly once: {again:?}");
        assert_eq!(follower.pending_gaps(), 0);
        assert_eq!(follower.last(), high);
    })
    .await;
}
