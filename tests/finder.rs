//! Find anyone, the upcoming list and the driver card (issue 10): the store on both backends,
//! `update` step by step, and snapshots.

mod common;

use chrono::{Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use calldesk::console::action::{Action, Effect};
use calldesk::console::state::{App, Modal, Screen};
use calldesk::console::update::update;
use calldesk::console::views::render;
use calldesk::domain::{CallStatus, FeedbackCatalog};
use calldesk::store::{DriverHit, Standing, SubmitFeedback};
use common::fixtures::{call, entry, identity, ist, now};

fn key(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn draw(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| render(app, f)).expect("draw");
    t.backend().to_string()
}

fn hit(i: usize, due: Option<i64>, priority: i64) -> DriverHit {
    let e = entry(i);
    DriverHit {
        driver_id: e.driver_id,
        name: e.name,
        mobile: e.mobile,
        tmid: e.tmid,
        city: e.city,
        state: e.state,
        timezone: None,
        due_at: due.map(|m| (now() + Duration::minutes(m)).naive_utc()),
        priority: due.map(|_| priority),
        attempts: due.map(|_| 1),
        last_outcome: Some("Ringing / Call Busy".into()),
        ..Default::default()
    }
}

fn app() -> App {
    let mut a = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    update(&mut a, Action::Resize { width: 120, height: 30 });
    let g = a.queue.generation;
    update(
        &mut a,
        Action::QueueLoaded { generation: g, append: false, rows: vec![entry(0)], due: 1, total: 3, limit: 200 },
    );
    a
}

#[tokio::test]
async fn search_finds_any_of_the_callers_drivers_by_any_format_of_their_number() {
    common::each_backend(|db| async move {
        let r = common::rig(db, 60_000).await;
        let s = &r.db.store;
        // D2: called, not reached, re-queued for later; D3: closed with an outcome.
        let c = r.dialer.place_call(3, "D2", None, calldesk::coord::dialer::CallKind::Manual).await.expect("call");
        let f = SubmitFeedback {
            call_id: c.id,
            status: Some(CallStatus::Missed),
            feedback: "Ringing / Call Busy".into(),
            remarks: "wants the Pune route, call after 6".into(),
            call_duration: Some(5),
        };
        s.submit_feedback(&f, &FeedbackCatalog::default(), Utc::now()).await.expect("save");
        let c = r.dialer.place_call(3, "D3", None, calldesk::coord::dialer::CallKind::Manual).await.expect("call");
        let f = SubmitFeedback {
            call_id: c.id,
            status: None,
            feedback: "Interview Fixed".into(),
            remarks: String::new(),
            call_duration: Some(60),
        };
        s.submit_feedback(&f, &FeedbackCatalog::default(), Utc::now()).await.expect("save");
        let mobile = s.driver("D2").await.expect("d").expect("driver").mobile;
        let ten = &mobile[mobile.len() - 10..];
        for q in [format!("+91 {}-{}", &ten[..5], &ten[5..]), format!("0{} {}", &ten[..5], &ten[5..]), mobile.clone()] {
            let hits = s.search_drivers(3, &q, 50).await.expect("search");
            assert_eq!(hits.iter().map(|h| h.driver_id.as_str()).collect::<Vec<_>>(), ["D2"], "{q}");
            assert!(matches!(hits[0].standing(Utc::now()), Standing::Scheduled(_)), "{q}: retry later");
        }
        let done = s.search_drivers(3, "Driver 3", 50).await.expect("search");
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].standing(Utc::now()), Standing::Done);
        assert!(s.search_drivers(4, "Driver 2", 50).await.expect("search").is_empty(), "only the caller's drivers");
        let calls = s.driver_calls("D2", 10).await.expect("calls");
        assert_eq!(calls[0].remarks.as_deref(), Some("wants the Pune route, call after 6"));
        let up = s.upcoming(3, Utc::now(), None, 10).await.expect("upcoming");
        assert_eq!(up.iter().map(|h| h.driver_id.as_str()).collect::<Vec<_>>(), ["D2"]);
        let after = up[0].due_at.map(|t| (t, up[0].driver_id.clone()));
        assert!(s.upcoming(3, Utc::now(), after, 10).await.expect("page 2").is_empty());
    })
    .await;
}

#[test]
fn slash_searches_as_you_type_and_enter_on_a_hit_opens_the_call_dialog_with_the_last_remarks() {
    let mut a = app();
    update(&mut a, key(KeyCode::Char('/')));
    assert_eq!(a.screen, Screen::Search);
    let mut fx = Vec::new();
    for c in "+91 98765".chars() {
        fx = update(&mut a, key(KeyCode::Char(c)));
    }
    let [Effect::Search { generation, query }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(query, "+91 98765");
    update(&mut a, Action::SearchLoaded { generation: *generation, hits: vec![hit(1, Some(90), 1), hit(2, None, 1)] });
    insta::assert_snapshot!("search_results", draw(&a, 120, 30));
    update(&mut a, key(KeyCode::Enter));
    assert!(!a.search.typing, "Enter goes to the results");
    update(&mut a, key(KeyCode::Down));
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(fx.contains(&Effect::LoadLastCall("D2".into())), "{fx:?}");
    let mut last = call(7, 2, "telecmi", CallStatus::Missed);
    last.feedback = Some("Ringing / Call Busy".into());
    last.remarks = Some("[no answer] wants the Pune route".into());
    update(&mut a, Action::LastCallLoaded { driver_id: "D2".into(), call: Some(last) });
    let screen = draw(&a, 120, 30);
    assert!(screen.contains("wants the Pune route"), "{screen}");
    insta::assert_snapshot!("call_dialog_with_last_remarks", screen);
}

#[test]
fn i_opens_the_card_with_every_call_and_full_remarks() {
    let mut a = app();
    let fx = update(&mut a, key(KeyCode::Char('i')));
    assert_eq!(fx, vec![Effect::LoadCard("D0".into())]);
    let long = "Driver said he is on a long route to Nagpur till Friday; call him Saturday morning about the \
                Pune depot interview, he prefers Hindi and wants the salary details first.";
    let mut c1 = call(9, 0, "telecmi", CallStatus::Completed);
    c1.feedback = Some("Call Tomorrow Morning".into());
    c1.remarks = Some(long.into());
    c1.call_duration = Some(75);
    let mut c2 = call(8, 0, "manual", CallStatus::Missed);
    c2.feedback = Some("Ringing / Call Busy".into());
    let recorded = [9].into();
    update(
        &mut a,
        Action::CardLoaded { driver_id: "D0".into(), hit: Some(hit(0, Some(0), 0)), calls: vec![c1, c2], recorded },
    );
    let screen = draw(&a, 120, 30);
    assert!(screen.contains("salary details first"), "full remarks:\n{screen}");
    insta::assert_snapshot!("driver_card", screen);
    update(&mut a, key(KeyCode::Down));
    assert!(matches!(&a.modal, Some(Modal::Card(c)) if c.scroll == 1));
    update(&mut a, key(KeyCode::Esc));
    assert!(a.modal.is_none());
}

#[test]
fn four_lists_the_upcoming_callbacks_and_retries() {
    let mut a = app();
    let fx = update(&mut a, key(KeyCode::Char('4')));
    let [Effect::LoadUpcoming { generation, after: None }] = fx.as_slice() else { panic!("{fx:?}") };
    update(
        &mut a,
        Action::UpcomingLoaded {
            generation: *generation,
            append: false,
            rows: vec![hit(4, Some(30), 0), hit(5, Some(120), 1)],
        },
    );
    insta::assert_snapshot!("upcoming", draw(&a, 100, 20));
    let fx = update(&mut a, key(KeyCode::Char('i')));
    assert_eq!(fx, vec![Effect::LoadCard("D4".into())]);
}

#[test]
fn fixing_mistakes_from_the_queue() {
    let mut a = app();
    // Skip: to the end of the queue.
    let fx = update(&mut a, key(KeyCode::Char('s')));
    assert!(
        matches!(fx.as_slice(), [Effect::Reschedule { driver_id, due_at, .. }] if driver_id == "D0" && *due_at == now())
    );
    // Snooze: a time is asked for, and a bad one keeps the prompt with the reason.
    update(&mut a, key(KeyCode::Char('z')));
    assert!(matches!(a.modal, Some(Modal::Prompt(_))));
    for c in "soon".chars() {
        update(&mut a, key(KeyCode::Char(c)));
    }
    assert!(update(&mut a, key(KeyCode::Enter)).is_empty());
    assert!(matches!(&a.modal, Some(Modal::Prompt(p)) if p.error.as_deref().is_some_and(|e| e.contains("not a time"))));
    update(&mut a, key(KeyCode::Esc));
    // Edit: name and mobile, prefilled.
    update(&mut a, Action::Key(KeyEvent::new(KeyCode::Char('E'), KeyModifiers::SHIFT)));
    insta::assert_snapshot!("edit_driver_prompt", draw(&a, 100, 20));
    for _ in 0..8 {
        update(&mut a, key(KeyCode::Backspace));
    }
    for c in "Ramesh K".chars() {
        update(&mut a, key(KeyCode::Char(c)));
    }
    update(&mut a, key(KeyCode::Tab));
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::EditDriver { driver_id, name: Some(n), mobile: Some(m) }]
            if driver_id == "D0" && n == "Ramesh K" && m == "+91 98765 43200"),
        "{fx:?}"
    );
    update(&mut a, Action::PromptDone(Ok("Driver updated (name).".into())));
    assert!(a.modal.is_none());
    // Cancel: only a live call that has not connected.
    update(
        &mut a,
        Action::CallPlaced {
            call: call(40, 0, "manual", CallStatus::Initiated),
            kind: calldesk::coord::dialer::CallKind::Manual,
        },
    );
    let fx = update(&mut a, Action::Key(KeyEvent::new(KeyCode::Char('X'), KeyModifiers::SHIFT)));
    assert_eq!(fx, vec![Effect::CancelDial(40)]);
    // A TeleCMI call cannot be stopped from here: X says so and changes nothing.
    update(
        &mut a,
        Action::CallPlaced {
            call: call(41, 0, "telecmi", CallStatus::Ringing),
            kind: calldesk::coord::dialer::CallKind::Telecmi,
        },
    );
    assert!(update(&mut a, Action::Key(KeyEvent::new(KeyCode::Char('X'), KeyModifiers::SHIFT))).is_empty());
    assert!(a.notice.as_ref().is_some_and(|n| n.text.contains("cannot stop it")), "{:?}", a.notice);
}

#[tokio::test]
async fn a_cancelled_dial_gives_the_attempt_back_and_edits_keep_the_old_values() {
    common::each_backend(|db| async move {
        let r = common::rig(db, 60_000).await;
        let s = &r.db.store;
        let before = s.queue_entry("D4").await.expect("q").expect("queued").attempts;
        let c = r.dialer.place_call(3, "D4", None, calldesk::coord::dialer::CallKind::Manual).await.expect("call");
        assert_eq!(s.queue_entry("D4").await.expect("q").expect("queued").attempts, before + 1);
        let cancelled = s.cancel_dial(c.id, 3, Utc::now()).await.expect("cancel").expect("cancelled");
        assert_eq!(
            (cancelled.status.as_deref(), cancelled.remarks.as_deref()),
            (Some("failed"), Some(calldesk::store::CANCELLED))
        );
        assert_eq!(s.queue_entry("D4").await.expect("q").expect("queued").attempts, before);
        assert!(s.cancel_dial(c.id, 3, Utc::now()).await.expect("again").is_none(), "only a live call");
        let old = s.driver("D4").await.expect("d").expect("driver");
        s.edit_driver("D4", "mobile", "919000000099", 3, Utc::now()).await.expect("edit");
        assert_eq!(s.driver("D4").await.expect("d").expect("driver").mobile, "919000000099");
        let edits = s.driver_edits("D4").await.expect("edits");
        assert_eq!(edits[0].1.as_deref(), Some(old.mobile.as_str()));
        assert_eq!(s.call(c.id).await.expect("c").expect("call").driver_mobile, Some(old.mobile), "history kept");
        let later = Utc::now() + Duration::hours(2);
        assert!(s.reschedule("D4", 3, later).await.expect("snooze"));
        assert!(!s.reschedule("D4", 4, later).await.expect("not theirs"));
    })
    .await;
}

#[test]
fn the_call_log_searches_by_name_or_number() {
    let mut a = app();
    update(&mut a, key(KeyCode::Char('2')));
    update(&mut a, key(KeyCode::Char('t')));
    for c in "+91 98765-43202".chars() {
        update(&mut a, key(KeyCode::Char(c)));
    }
    let fx = update(&mut a, key(KeyCode::Enter));
    let [Effect::LoadCallLog { filter, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(filter.text.as_deref(), Some("+91 98765-43202"));
}

#[tokio::test]
async fn the_call_log_filter_matches_names_and_numbers_in_any_format() {
    common::each_backend(|db| async move {
        let r = common::rig(db, 60_000).await;
        let c = r.dialer.place_call(3, "D5", None, calldesk::coord::dialer::CallKind::Manual).await.expect("call");
        r.dialer.place_call(3, "D6", None, calldesk::coord::dialer::CallKind::Manual).await.expect("call");
        let mobile = c.driver_mobile.clone().expect("mobile");
        let ten = &mobile[mobile.len() - 10..];
        for text in [format!("+91 {}-{}", &ten[..5], &ten[5..]), "Driver 5".to_string(), format!("0{ten}")] {
            let f = calldesk::store::CallFilter { caller_id: Some(3), text: Some(text.clone()), ..Default::default() };
            let page = calldesk::store::CallPage { before_id: None, offset: None, limit: 10 };
            let rows = r.db.store.list_calls(&f, page).await.expect("calls");
            assert_eq!(rows.iter().map(|c| c.id).collect::<Vec<_>>(), [c.id], "{text}");
            assert_eq!(r.db.store.count_calls(&f).await.expect("count"), 1);
        }
    })
    .await;
}

/// A finished driver called again from search and given a callback comes back into the queue
/// whole (the row is inserted with its time where its time goes).
#[tokio::test]
async fn a_finished_driver_called_again_and_given_a_callback_is_queued_properly() {
    common::each_backend(|db| async move {
        let r = common::rig(db, 60_000).await;
        let s = &r.db.store;
        let cat = FeedbackCatalog::default();
        let c = r.dialer.place_call(3, "D7", None, calldesk::coord::dialer::CallKind::Manual).await.expect("call");
        let f = SubmitFeedback {
            call_id: c.id,
            status: Some(CallStatus::Completed),
            feedback: "Interview Fixed".into(),
            remarks: String::new(),
            call_duration: Some(9),
        };
        s.submit_feedback(&f, &cat, Utc::now()).await.expect("save");
        assert!(s.queue_entry("D7").await.expect("q").is_none());
        // Past the redial gap.
        common::set_created_at(&r.db, c.id, "2026-01-01 10:00:00").await;
        let c =
            r.dialer.place_call(3, "D7", None, calldesk::coord::dialer::CallKind::Manual).await.expect("call again");
        let f = SubmitFeedback {
            call_id: c.id,
            status: None,
            feedback: "Busy Right Now".into(),
            remarks: String::new(),
            call_duration: Some(9),
        };
        s.submit_feedback(&f, &cat, Utc::now()).await.expect("save the callback");
        let q = s.queue_entry("D7").await.expect("readable").expect("queued again");
        assert!(q.is_callback() && q.due_at > Utc::now().naive_utc(), "{q:?}");
        assert_eq!(q.attempts, 1);
        s.due_queue(3, Utc::now(), &Default::default(), None, 50, None).await.expect("the queue still loads");
        // A call someone answered is not "a dial started by mistake".
        let c = r.dialer.place_call(3, "D8", None, calldesk::coord::dialer::CallKind::Manual).await.expect("call");
        common::set_status(&r.db, c.id, "connected").await;
        assert!(s.cancel_dial(c.id, 3, Utc::now()).await.expect("cancel").is_none());
    })
    .await;
}
