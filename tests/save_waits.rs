//! A wrap-up save that did not reach the database waits and is tried again by itself (issue 26,
//! point 3), one `update` test per rule: it says plainly what waits, it tries again after a pause
//! (a ping first), "saved" replaces the waiting line, a try that had reached the database is not
//! taken for a save elsewhere, a refusal by a rule ends the wait, and a quit says what is kept.

mod common;

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use calldesk::console::action::{Action, Effect};
use calldesk::console::state::{App, Level, Modal};
use calldesk::console::update::update;
use calldesk::coord::bus::{CallUpdate, Source};
use calldesk::coord::dialer::CallKind;
use calldesk::domain::{CallStatus, FeedbackCatalog, QueueDecision};
use calldesk::store::SubmitFeedback;
use common::fixtures::{call, identity, ist, now};

fn key(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn notice(app: &App) -> String {
    app.notice.as_ref().map(|n| n.text.clone()).unwrap_or_default()
}

/// A console whose TeleCMI call 40 was answered and ended, its wrap-up open with "Interview
/// Fixed" picked and Enter pressed; returns the save it asked for.
fn saved_once() -> (App, SubmitFeedback) {
    let mut app = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    update(&mut app, Action::Resize { width: 120, height: 40 });
    update(&mut app, Action::StartupLoaded { wrapups: vec![], live: None, recent: vec![], resave: vec![] });
    let placed = call(40, 0, "telecmi", CallStatus::Initiated);
    update(&mut app, Action::CallPlaced { call: placed, kind: CallKind::Telecmi });
    let ended = call(40, 0, "telecmi", CallStatus::Completed);
    update(
        &mut app,
        Action::CallUpdated(Box::new(CallUpdate {
            call: ended,
            source: Source::Webhook,
            leg: Some("b".into()),
            provider_status: Some("hangup".into()),
            event_id: None,
        })),
    );
    later(&mut app, 2);
    assert_eq!(app.form().map(|f| f.call.id), Some(40));
    update(&mut app, key(KeyCode::Char('m')));
    let fx = update(&mut app, key(KeyCode::Enter));
    let [Effect::Submit { feedback, retry: false, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    (app, feedback.clone())
}

fn later(app: &mut App, secs: i64) {
    let t = app.now + Duration::seconds(secs);
    update(app, Action::Clock(t));
}

/// A tick `secs` later; returns the saves it started.
fn tick(app: &mut App, secs: i64) -> Vec<Effect> {
    let t = app.now + Duration::seconds(secs);
    update(app, Action::Tick(t)).into_iter().filter(|e| matches!(e, Effect::Submit { .. })).collect()
}

fn waiting(app: &mut App, feedback: &SubmitFeedback) {
    let why = "database unavailable: Connection refused (os error 111)".to_string();
    update(app, Action::FeedbackWaiting { call_id: 40, feedback: feedback.clone(), why });
}

fn saved_call() -> calldesk::domain::CallLog {
    let mut c = call(40, 0, "telecmi", CallStatus::Completed);
    c.feedback = Some("Interview Fixed".into());
    c
}

#[test]
fn a_save_that_did_not_reach_the_database_waits_says_so_and_is_tried_again_by_itself() {
    let (mut a, feedback) = saved_once();
    waiting(&mut a, &feedback);
    let f = a.form().expect("the form stays, with what was typed");
    assert!(!f.saving && f.error.is_none(), "{f:?}");
    assert!(a.waiting.contains_key(&40));
    assert!(notice(&a).starts_with("Database unavailable: the wrap-up for"), "{}", notice(&a));
    assert_eq!(a.notice.as_ref().map(|n| n.level), Some(Level::Info), "waiting is not an error");
    assert_eq!(a.waiting[&40].line(), "Database unavailable — your wrap-up is kept and will be saved when it returns.");

    assert!(tick(&mut a, 1).is_empty(), "no try before the pause is over");
    let fx = tick(&mut a, 2);
    let [Effect::Submit { feedback: again, call_next: false, retry: true }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(again, &feedback, "the same save");
    assert!(tick(&mut a, 10).is_empty(), "one try at a time");

    waiting(&mut a, &feedback);
    assert_eq!(a.waiting[&40].tries, 2);
    assert!(tick(&mut a, 3).is_empty(), "the pause grows");
    assert_eq!(tick(&mut a, 2).len(), 1);

    update(
        &mut a,
        Action::FeedbackSaved { call: Box::new(saved_call()), decision: QueueDecision::Remove, call_next: false },
    );
    assert!(a.form().is_none());
    assert!(a.waiting.is_empty());
    assert!(notice(&a).starts_with("Saved \"Interview Fixed\""), "{}", notice(&a));
    assert!(notice(&a).ends_with("(The database is back.)"), "{}", notice(&a));
    assert!(tick(&mut a, 30).is_empty());
}

/// The first try committed but its answer was lost with the connection: the retry finds the
/// outcome saved — by this very save, not "elsewhere".
#[test]
fn a_try_that_had_reached_the_database_counts_as_saved() {
    let (mut a, feedback) = saved_once();
    waiting(&mut a, &feedback);
    assert_eq!(tick(&mut a, 2).len(), 1);
    let fx = update(&mut a, Action::FeedbackAlreadySaved(Box::new(saved_call())));
    assert!(!fx.iter().any(|e| matches!(e, Effect::AddRemarks { .. })), "{fx:?}");
    assert!(a.form().is_none());
    assert!(a.waiting.is_empty());
    assert!(notice(&a).starts_with("Saved \"Interview Fixed\" for"), "{}", notice(&a));
    assert!(!notice(&a).contains("elsewhere"), "{}", notice(&a));
}

/// A save refused by a rule is not retried: the form says why, as before.
#[test]
fn a_refusal_by_a_rule_ends_the_wait() {
    let (mut a, feedback) = saved_once();
    waiting(&mut a, &feedback);
    assert_eq!(tick(&mut a, 2).len(), 1);
    update(&mut a, Action::FeedbackFailed("that call belongs to another agent".into()));
    assert!(a.waiting.is_empty());
    let f = a.form().expect("form");
    assert!(f.error.as_deref().is_some_and(|e| e.starts_with("Not saved: that call")), "{f:?}");
    assert!(tick(&mut a, 30).is_empty());
}

/// Put aside while it waits, the save is still made by itself, as it was sent.
#[test]
fn a_waiting_save_put_aside_is_still_made() {
    let (mut a, feedback) = saved_once();
    waiting(&mut a, &feedback);
    update(&mut a, key(KeyCode::Esc));
    assert!(a.form().is_none());
    assert!(notice(&a).contains("still waits for the database"), "{}", notice(&a));
    let fx = tick(&mut a, 2);
    assert!(matches!(fx.as_slice(), [Effect::Submit { retry: true, .. }]), "{fx:?}");
}

/// q with a save waiting asks first and says that nothing is lost: the draft keeps it.
#[test]
fn quitting_with_a_save_waiting_says_the_draft_keeps_it() {
    let (mut a, feedback) = saved_once();
    waiting(&mut a, &feedback);
    update(&mut a, key(KeyCode::Esc));
    let fx = update(&mut a, key(KeyCode::Char('q')));
    assert!(fx.is_empty(), "asks first: {fx:?}");
    assert!(matches!(a.modal, Some(Modal::ConfirmQuit(_))), "{:?}", a.modal);
    let stakes = a.quit_stakes().unwrap_or_default();
    assert!(stakes.contains("waiting for the database") && stakes.contains("kept as a draft"), "{stakes}");
}

/// A console started after one that closed while its save waited (the local draft file says the
/// save was pressed): the wrap-up is saved with no key pressed, once its form knows how the call
/// ended, and the notice says it is the save pressed before the console closed.
#[test]
fn a_save_pressed_before_the_console_closed_is_made_by_the_next_one() {
    let mut a = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    update(&mut a, Action::Resize { width: 120, height: 40 });
    let draft = calldesk::store::FeedbackDraft {
        call_log_id: 40,
        caller_id: 3,
        feedback: Some("Not Interested".into()),
        remarks: Some("has a job already".into()),
        ..Default::default()
    };
    let ended = call(40, 0, "telecmi", CallStatus::Completed);
    update(
        &mut a,
        Action::StartupLoaded { wrapups: vec![(ended, Some(draft))], live: None, recent: vec![], resave: vec![40] },
    );
    assert_eq!(a.form().map(|f| f.call.id), Some(40), "the form opens, with the draft");
    assert!(a.waiting[&40].from_before);
    assert!(notice(&a).contains("the save you pressed before the console closed"), "{}", notice(&a));
    assert!(tick(&mut a, 1).is_empty(), "not before the form knows how the call ended");
    update(
        &mut a,
        Action::FactsLoaded { call_id: 40, end: calldesk::domain::wrapup::CallEnd::Talked, attempts: Some(1) },
    );
    let fx = tick(&mut a, 1);
    let [Effect::Submit { feedback, call_next: false, retry: true }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!((feedback.feedback.as_str(), feedback.call_id), ("Not Interested", 40));

    // Still away: it waits as any save does, and stays the one pressed before.
    let why = "database unavailable".to_string();
    update(&mut a, Action::FeedbackWaiting { call_id: 40, feedback: feedback.clone(), why });
    assert!(a.waiting[&40].from_before);
    assert_eq!(tick(&mut a, 3).len(), 1);

    let mut saved = call(40, 0, "telecmi", CallStatus::Completed);
    saved.feedback = Some("Not Interested".into());
    update(&mut a, Action::FeedbackSaved { call: Box::new(saved), decision: QueueDecision::Remove, call_next: false });
    assert!(a.form().is_none() && a.waiting.is_empty());
    assert_eq!(notice(&a), "Saved \"Not Interested\" for Driver 0 — the save you pressed before the console closed.");
}

/// The draft of a save pressed before the console closed no longer makes a save (no outcome in
/// it): the form opens with the reason and nothing is sent.
#[test]
fn a_save_pressed_before_that_cannot_be_made_opens_the_form_with_the_reason() {
    let mut a = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    update(&mut a, Action::Resize { width: 120, height: 40 });
    let draft = calldesk::store::FeedbackDraft { call_log_id: 40, caller_id: 3, ..Default::default() };
    let ended = call(40, 0, "telecmi", CallStatus::Completed);
    update(
        &mut a,
        Action::StartupLoaded { wrapups: vec![(ended, Some(draft))], live: None, recent: vec![], resave: vec![40] },
    );
    update(
        &mut a,
        Action::FactsLoaded { call_id: 40, end: calldesk::domain::wrapup::CallEnd::Talked, attempts: Some(1) },
    );
    assert!(tick(&mut a, 1).is_empty());
    let f = a.form().expect("the form stays");
    assert!(f.error.as_deref().is_some_and(|e| !e.is_empty()), "{f:?}");
    assert!(a.waiting.is_empty());
    assert!(notice(&a).starts_with("The save you pressed before the console closed was not made"), "{}", notice(&a));
}

/// The agent clears the outcome while the save waits: that save no longer stands, so the local
/// draft is told to forget it was pressed (no later start may make it).
#[test]
fn a_waiting_save_whose_form_changed_is_no_longer_requested() {
    let (mut a, feedback) = saved_once();
    waiting(&mut a, &feedback);
    a.form_mut().expect("form").chosen = None;
    let t = a.now + Duration::seconds(3);
    let fx = update(&mut a, Action::Tick(t));
    assert!(fx.contains(&Effect::SaveNotRequested(40)), "{fx:?}");
    assert!(!fx.iter().any(|e| matches!(e, Effect::Submit { .. })), "{fx:?}");
    assert!(a.waiting.is_empty());
}
