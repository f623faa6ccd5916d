//! The record stays true when calls, screens and keystrokes interleave (issue 22), one `update`
//! test per rule: no second call while a driver's wrap-up is unsaved, a self-opened form never
//! takes a key typed for something else, waiting wrap-ups are never hidden, a no-answer wrap-up
//! opens with its facts, a manual call ends when the agent says so, durations are the truth, and
//! remarks saved elsewhere are kept beside the agent's.

mod common;

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use calldesk::console::action::{Action, Effect};
use calldesk::console::state::{AgentStatus, App, Level, Modal, Screen};
use calldesk::console::update::update;
use calldesk::coord::bus::{CallUpdate, Source};
use calldesk::coord::dialer::CallKind;
use calldesk::domain::wrapup::CallEnd;
use calldesk::domain::{CallLog, CallStatus, FeedbackCatalog, QueueDecision};
use calldesk::store::DriverHit;
use common::fixtures::{call, entry, identity, ist, now};

fn key(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn ch(c: char) -> Action {
    key(KeyCode::Char(c))
}

/// `ms` later on the console's clock (as a key's arrival moves it; nothing periodic runs).
fn after_ms(app: &mut App, ms: i64) {
    let t = app.now + Duration::milliseconds(ms);
    update(app, Action::Clock(t));
}

fn app() -> App {
    let mut app = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    update(&mut app, Action::Resize { width: 120, height: 40 });
    update(&mut app, Action::StartupLoaded { wrapups: vec![], live: None, recent: vec![], resave: vec![] });
    let generation = app.queue.generation;
    let rows = (0..4).map(entry).collect();
    update(&mut app, Action::QueueLoaded { generation, append: false, rows, due: 4, total: 4, limit: 200 });
    app
}

fn webhook(c: CallLog) -> Action {
    Action::CallUpdated(Box::new(CallUpdate {
        call: c,
        source: Source::Webhook,
        leg: Some("b".into()),
        provider_status: Some("hangup".into()),
        event_id: None,
    }))
}

fn notice(app: &App) -> String {
    app.notice.as_ref().map(|n| n.text.clone()).unwrap_or_default()
}

fn label(app: &App) -> Option<String> {
    app.form().and_then(|f| f.chosen).and_then(|i| app.catalog.all().get(i)).map(|o| o.label.clone())
}

/// Driver `driver`'s TeleCMI call `id` placed and answered, then hung up: its wrap-up opens by itself.
fn talked(app: &mut App, id: i64, driver: usize) {
    update(
        app,
        Action::CallPlaced { call: call(id, driver, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi },
    );
    update(app, webhook(call(id, driver, "telecmi", CallStatus::Completed)));
}

#[test]
fn a_driver_whose_wrap_up_is_unsaved_cannot_be_dialed_from_any_key() {
    let mut a = app();
    talked(&mut a, 30, 0);
    assert!(a.form().is_some());
    after_ms(&mut a, 2_000);
    // Put aside; the driver is still first in the queue.
    update(&mut a, key(KeyCode::Esc));
    assert_eq!(a.wrapups.len(), 1);
    assert_eq!(a.queue.selected_entry().map(|e| e.driver_id.as_str()), Some("D0"));
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(fx.is_empty() && a.modal.is_none(), "no call dialog: {:?}", a.modal);
    let n = a.notice.clone().expect("told");
    assert_eq!(n.level, Level::Error);
    assert!(
        n.text.contains("Driver 0") && n.text.contains("#30") && n.text.contains("press w to finish its wrap-up first"),
        "{}",
        n.text
    );
    // The card's call key and the search's obey the same rule.
    update(&mut a, ch('i'));
    assert!(matches!(a.modal, Some(Modal::Card(_))));
    let e = entry(0);
    let hit = DriverHit {
        driver_id: e.driver_id.clone(),
        name: e.name.clone(),
        mobile: e.mobile.clone(),
        tmid: None,
        city: None,
        state: None,
        timezone: None,
        due_at: Some(e.due_at),
        priority: Some(1),
        attempts: Some(1),
        last_outcome: None,
        dnc_since: None,
        dnc_reason: None,
        dnc_by: None,
        closed_reason: None,
        closed_at: None,
        snoozed_until: None,
    };
    update(
        &mut a,
        Action::CardLoaded { driver_id: "D0".into(), hit: Some(hit), calls: vec![], recorded: Default::default() },
    );
    update(&mut a, key(KeyCode::Enter));
    assert!(matches!(a.modal, Some(Modal::Card(_))), "the card stays; no dialog");
    assert!(notice(&a).contains("#30"), "{}", notice(&a));
    // `w` from the card opens the wrap-up; another driver may be called meanwhile.
    update(&mut a, ch('w'));
    assert_eq!(a.form().map(|f| f.call.id), Some(30));
    update(&mut a, key(KeyCode::Esc));
    update(&mut a, key(KeyCode::Down));
    update(&mut a, key(KeyCode::Enter));
    assert!(matches!(a.modal, Some(Modal::CallDialog(_))), "another driver: {}", notice(&a));
}

#[test]
fn a_call_that_ends_while_the_dialog_is_open_blocks_the_dial_in_it() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(31, 1, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    update(&mut a, webhook(call(31, 1, "telecmi", CallStatus::Connected)));
    // A call of theirs placed elsewhere ended while this console showed the dialog for driver 1.
    a.live = None;
    update(&mut a, key(KeyCode::Down));
    update(&mut a, key(KeyCode::Enter));
    assert!(matches!(a.modal, Some(Modal::CallDialog(_))));
    update(&mut a, webhook(call(31, 1, "telecmi", CallStatus::Completed)));
    assert!(matches!(a.modal, Some(Modal::CallDialog(_))), "the wrap-up waits for the dialog");
    let fx = update(&mut a, ch('t'));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Dial { .. })), "{fx:?}");
    assert!(notice(&a).contains("#31"), "{}", notice(&a));
    // Closing the dialog opens the wrap-up that waited behind it.
    update(&mut a, key(KeyCode::Esc));
    assert_eq!(a.form().map(|f| f.call.id), Some(31), "opens when the dialog closes");
}

#[test]
fn keys_in_the_first_moment_of_a_self_opened_form_are_shown_and_ignored() {
    let mut a = app();
    talked(&mut a, 32, 0);
    after_ms(&mut a, 2_000);
    update(&mut a, key(KeyCode::Esc));
    talked(&mut a, 33, 1);
    after_ms(&mut a, 2_000);
    assert_eq!(a.form().map(|f| f.call.id), Some(33));
    update(&mut a, ch('m'));
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(matches!(fx.as_slice(), [Effect::Submit { .. }]), "{fx:?}");
    let mut saved = call(33, 1, "telecmi", CallStatus::Completed);
    saved.feedback = Some("Interview Fixed".into());
    update(&mut a, Action::FeedbackSaved { call: Box::new(saved), decision: QueueDecision::Remove, call_next: false });
    // The waiting wrap-up opens by itself; the agent, who read "1 wrap-up waiting: w", presses
    // w (and Enter twice) a moment later.
    assert_eq!(a.form().map(|f| f.call.id), Some(32));
    after_ms(&mut a, 300);
    update(&mut a, ch('w'));
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(fx.iter().all(|e| !matches!(e, Effect::Submit { .. })), "{fx:?}");
    assert_eq!(label(&a), None, "w did not pick \"Call Tomorrow Morning\"");
    assert_eq!(a.form().map(|f| f.ignored.as_str()), Some("w Enter"));
    assert!(notice(&a).starts_with("Saved \"Interview Fixed\""), "the last save's notice stays: {}", notice(&a));
    let screen = {
        let backend = ratatui::backend::TestBackend::new(120, 40);
        let mut t = ratatui::Terminal::new(backend).expect("terminal");
        t.draw(|f| calldesk::console::views::render(&a, f)).expect("draw");
        format!("{:?}", t.backend())
    };
    assert!(screen.contains("Ignored w Enter (typed as this form opened by itself)"), "{screen}");
    // Past the moment, keys count again and the ignored list goes.
    after_ms(&mut a, 800);
    update(&mut a, ch('w'));
    assert_eq!(label(&a).as_deref(), Some("Call Tomorrow Morning"));
    assert_eq!(a.form().map(|f| f.ignored.as_str()), Some(""));
}

#[test]
fn a_form_the_agent_opened_takes_keys_at_once() {
    let mut a = app();
    talked(&mut a, 34, 0);
    after_ms(&mut a, 2_000);
    update(&mut a, key(KeyCode::Esc));
    update(&mut a, ch('w'));
    update(&mut a, ch('m'));
    assert_eq!(label(&a).as_deref(), Some("Interview Fixed"));
}

#[test]
fn a_call_that_ends_behind_the_card_opens_its_wrap_up_when_the_card_closes() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(35, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    update(&mut a, key(KeyCode::Down));
    update(&mut a, ch('i'));
    assert!(matches!(a.modal, Some(Modal::Card(_))));
    update(&mut a, webhook(call(35, 0, "telecmi", CallStatus::Completed)));
    assert!(matches!(a.modal, Some(Modal::Card(_))), "the card stays while the agent reads it");
    assert!(notice(&a).contains("opens when you close this"), "{}", notice(&a));
    update(&mut a, key(KeyCode::Esc));
    assert_eq!(a.form().map(|f| f.call.id), Some(35));
}

#[test]
fn a_call_that_ends_while_a_search_is_typed_waits_for_the_search() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(36, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    update(&mut a, ch('/'));
    assert_eq!(a.screen, Screen::Search);
    update(&mut a, ch('r'));
    update(&mut a, webhook(call(36, 0, "telecmi", CallStatus::Completed)));
    assert!(a.form().is_none(), "typing a search is not interrupted");
    update(&mut a, ch('a'));
    assert!(a.form().is_none());
    update(&mut a, key(KeyCode::Esc));
    assert_eq!(a.form().map(|f| f.call.id), Some(36));
}

#[test]
fn w_opens_a_waiting_wrap_up_from_every_screen() {
    for screen_key in ['2', '3', '4', '1'] {
        let mut a = app();
        talked(&mut a, 37, 0);
        after_ms(&mut a, 2_000);
        update(&mut a, key(KeyCode::Esc));
        update(&mut a, ch(screen_key));
        assert!(a.form().is_none());
        update(&mut a, ch('w'));
        assert_eq!(a.form().map(|f| f.call.id), Some(37), "screen {screen_key}");
    }
    // Search results too.
    let mut a = app();
    talked(&mut a, 37, 0);
    after_ms(&mut a, 2_000);
    update(&mut a, key(KeyCode::Esc));
    update(&mut a, ch('/'));
    update(&mut a, key(KeyCode::Enter));
    update(&mut a, ch('w'));
    assert_eq!(a.form().map(|f| f.call.id), Some(37), "search results");
}

#[test]
fn a_no_answer_wrap_up_opens_with_its_facts() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(38, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    let fx = update(&mut a, webhook(call(38, 0, "telecmi", CallStatus::Missed)));
    assert!(fx.contains(&Effect::LoadFacts(38)), "{fx:?}");
    assert!(a.form().is_none(), "not before TeleCMI's report says who missed");
    // The leg reports are not in yet.
    update(&mut a, Action::FactsLoaded { call_id: 38, end: CallEnd::Unknown, attempts: Some(1) });
    after_ms(&mut a, 1_500);
    assert!(a.form().is_none());
    // Leg B's report arrives: the form opens with the outcome that follows from it.
    let fx = update(&mut a, webhook(call(38, 0, "telecmi", CallStatus::Missed)));
    assert!(fx.contains(&Effect::LoadFacts(38)), "{fx:?}");
    update(&mut a, Action::FactsLoaded { call_id: 38, end: CallEnd::NoAnswer, attempts: Some(1) });
    assert_eq!(label(&a).as_deref(), Some("Ringing / Call Busy"));
    assert_eq!(a.form().and_then(|f| f.error.clone()), None);
}

#[test]
fn a_no_answer_wrap_up_opens_without_its_facts_after_a_few_seconds() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(39, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    update(&mut a, webhook(call(39, 0, "telecmi", CallStatus::Missed)));
    after_ms(&mut a, 4_000);
    assert!(a.form().is_none());
    after_ms(&mut a, 1_500);
    assert_eq!(a.form().map(|f| f.call.id), Some(39), "the report never came: the agent picks");
}

#[test]
fn enter_before_the_facts_says_they_are_coming_and_the_error_goes_when_they_do() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(40, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    update(&mut a, webhook(call(40, 0, "telecmi", CallStatus::Missed)));
    // The agent does not wait: w opens it at once.
    update(&mut a, ch('w'));
    assert_eq!(a.form().map(|f| f.call.id), Some(40));
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(fx.iter().all(|e| !matches!(e, Effect::Submit { .. })));
    let err = a.form().and_then(|f| f.error.clone()).unwrap_or_default();
    assert!(err.contains("on its way"), "{err}");
    update(&mut a, Action::FactsLoaded { call_id: 40, end: CallEnd::Rejected, attempts: Some(1) });
    assert_eq!(label(&a).as_deref(), Some("Ringing / Call Busy"));
    assert_eq!(a.form().and_then(|f| f.error.clone()), None, "the stale error is cleared");
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(matches!(fx.as_slice(), [Effect::Submit { .. }]), "{fx:?}");
}

#[test]
fn a_manual_call_ends_when_the_agent_says_so() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(41, 0, "manual", CallStatus::Initiated), kind: CallKind::Manual });
    assert_eq!(a.status(), AgentStatus::InCall);
    after_ms(&mut a, 95_000);
    update(&mut a, ch('e'));
    assert_eq!(a.form().map(|f| f.duration.value().to_string()), Some("95".into()));
    update(&mut a, key(KeyCode::Esc));
    assert_eq!(a.status(), AgentStatus::WrapUp, "no longer in a call");
    let live = a.live.as_ref().expect("still shown");
    assert_eq!(live.ended_at, Some(now() + Duration::seconds(95)));
    // Another driver can be called; the ended call's driver cannot until its wrap-up is saved.
    update(&mut a, key(KeyCode::Down));
    update(&mut a, key(KeyCode::Enter));
    assert!(matches!(a.modal, Some(Modal::CallDialog(_))), "{}", notice(&a));
    update(&mut a, key(KeyCode::Esc));
    update(&mut a, key(KeyCode::Up));
    update(&mut a, key(KeyCode::Enter));
    assert!(a.modal.is_none());
    assert!(notice(&a).contains("#41"), "{}", notice(&a));
    // The duration the wrap-up offers stays the time up to `e`, not up to when it is reopened.
    after_ms(&mut a, 60_000);
    update(&mut a, ch('e'));
    assert_eq!(a.form().map(|f| f.duration.value().to_string()), Some("95".into()));
}

#[test]
fn a_not_connected_manual_call_stores_no_talk_time() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(42, 0, "manual", CallStatus::Initiated), kind: CallKind::Manual });
    after_ms(&mut a, 40_000);
    update(&mut a, ch('e'));
    update(&mut a, ch('t'));
    assert_eq!(label(&a).as_deref(), Some("Ringing / Call Busy"));
    let fx = update(&mut a, key(KeyCode::Enter));
    let [Effect::Submit { feedback, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(feedback.call_duration, Some(0), "40 s of ringing is not talk time");
}

#[test]
fn a_manual_duration_longer_than_since_dialing_is_questioned_then_saved_as_typed() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(43, 0, "manual", CallStatus::Initiated), kind: CallKind::Manual });
    after_ms(&mut a, 30_000);
    update(&mut a, ch('e'));
    update(&mut a, ch('m'));
    update(&mut a, key(KeyCode::Tab));
    update(&mut a, key(KeyCode::Tab));
    for c in "600".chars() {
        update(&mut a, ch(c));
    }
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(fx.iter().all(|e| !matches!(e, Effect::Submit { .. })), "asked first: {fx:?}");
    let err = a.form().and_then(|f| f.error.clone()).unwrap_or_default();
    assert!(err.contains("600 s is longer than the 30 s since you dialed") && err.contains("Enter again"), "{err}");
    let fx = update(&mut a, key(KeyCode::Enter));
    let [Effect::Submit { feedback, .. }] = fx.as_slice() else { panic!("confirmed: {fx:?}") };
    assert_eq!(feedback.call_duration, Some(600));
}

#[test]
fn remarks_typed_while_the_outcome_was_saved_elsewhere_are_added_not_dropped() {
    let mut a = app();
    talked(&mut a, 44, 0);
    after_ms(&mut a, 2_000);
    update(&mut a, ch('m'));
    for c in "call again Monday".chars() {
        update(&mut a, ch(c));
    }
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(matches!(fx.as_slice(), [Effect::Submit { .. }]));
    // The old app saved an outcome through the API meanwhile.
    let mut saved = call(44, 0, "telecmi", CallStatus::Completed);
    saved.feedback = Some("Not Interested".into());
    saved.remarks = Some("from the app".into());
    let fx = update(&mut a, Action::FeedbackAlreadySaved(Box::new(saved.clone())));
    assert_eq!(fx, vec![Effect::AddRemarks { call_id: 44, remarks: "call again Monday".into() }]);
    assert!(a.form().is_some(), "the form stays until the remarks are stored");
    saved.remarks = Some("from the app · call again Monday".into());
    update(&mut a, Action::RemarksAdded(Ok(Box::new(saved))));
    assert!(a.form().is_none() && a.wrapups.is_empty());
    let n = notice(&a);
    assert!(
        n.contains("Saved elsewhere meanwhile: \"Not Interested\" stands for Driver 0")
            && n.contains("your remarks were added")
            && n.contains("your pick \"Interview Fixed\" was not saved"),
        "{n}"
    );
}

#[test]
fn remarks_that_cannot_be_added_keep_the_form() {
    let mut a = app();
    talked(&mut a, 45, 0);
    after_ms(&mut a, 2_000);
    update(&mut a, ch('m'));
    update(&mut a, ch('x'));
    update(&mut a, key(KeyCode::Enter));
    let mut saved = call(45, 0, "telecmi", CallStatus::Completed);
    saved.feedback = Some("Not Interested".into());
    update(&mut a, Action::FeedbackAlreadySaved(Box::new(saved)));
    update(&mut a, Action::RemarksAdded(Err("database unavailable".into())));
    let f = a.form().expect("kept");
    assert_eq!(f.remarks.value(), "x");
    assert!(f.error.as_deref().is_some_and(|e| e.contains("not added")), "{:?}", f.error);
}

#[test]
fn help_stays_open_while_a_wrap_up_waits_for_its_facts() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(46, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    update(&mut a, webhook(call(46, 0, "telecmi", CallStatus::Missed)));
    update(&mut a, ch('?'));
    assert!(matches!(a.modal, Some(Modal::Help)), "help opens while the facts are awaited");
    update(&mut a, key(KeyCode::Down));
    assert!(matches!(a.modal, Some(Modal::Help)));
    update(&mut a, Action::FactsLoaded { call_id: 46, end: CallEnd::NoAnswer, attempts: Some(1) });
    assert_eq!(a.form().map(|f| f.call.id), Some(46), "then the wrap-up takes over");
}

#[test]
fn a_wrap_up_put_aside_before_it_opened_by_itself_stays_aside() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(47, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    update(&mut a, webhook(call(47, 0, "telecmi", CallStatus::Missed)));
    // The agent does not wait for the facts: e opens it, Esc puts it aside.
    update(&mut a, ch('e'));
    assert_eq!(a.form().map(|f| f.call.id), Some(47));
    update(&mut a, key(KeyCode::Esc));
    update(&mut a, Action::FactsLoaded { call_id: 47, end: CallEnd::NoAnswer, attempts: Some(1) });
    after_ms(&mut a, 6_000);
    assert!(a.form().is_none(), "put aside on purpose: it waits for w");
    assert_eq!(a.wrapups.len(), 1);
}

fn upd(c: CallLog, source: Source) -> Action {
    Action::CallUpdated(Box::new(CallUpdate { call: c, source, leg: None, provider_status: None, event_id: None }))
}

#[test]
fn a_resync_drops_a_waiting_wrap_up_the_store_no_longer_owes() {
    let mut a = app();
    talked(&mut a, 67, 0);
    after_ms(&mut a, 2_000);
    update(&mut a, key(KeyCode::Esc));
    // The wrap-up's call as it was when it ended; the old app saved its outcome since.
    if let Some(w) = a.wrapups.front_mut() {
        w.0.updated_at = Some(now());
    }
    // A resync asked before the call's last change keeps it (a webhook may have come meanwhile).
    update(&mut a, Action::Resynced { live: None, wrapups: vec![], asked_at: now() });
    assert_eq!(a.wrapups.len(), 1);
    update(&mut a, Action::Resynced { live: None, wrapups: vec![], asked_at: now() + Duration::seconds(30) });
    assert!(a.wrapups.is_empty(), "saved elsewhere: owed no more");
    update(&mut a, key(KeyCode::Enter));
    assert!(matches!(a.modal, Some(Modal::CallDialog(_))), "{}", notice(&a));
}

#[test]
fn an_ignored_key_is_named_with_its_modifier() {
    let mut a = app();
    update(
        &mut a,
        Action::StartupLoaded {
            wrapups: vec![(call(68, 0, "telecmi", CallStatus::Completed), None)],
            live: None,
            recent: vec![],
            resave: vec![],
        },
    );
    update(&mut a, Action::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)));
    update(&mut a, ch(' '));
    assert_eq!(a.form().map(|f| f.ignored.as_str()), Some("Ctrl+s Space"));
}

/// the 30-second resync opens a wrap-up over a search being typed (auto_open's busy rules
/// are bypassed); once the grace second is over the search letters pick an outcome.
#[test]
fn a_wrap_up_found_by_the_resync_waits_for_a_search_being_typed() {
    let mut a = app();
    update(&mut a, ch('/'));
    assert!(a.screen == Screen::Search && a.search.typing);
    update(&mut a, ch('r'));
    // A call of this agent ended and the console missed its update (bus lag, feed, another console).
    update(
        &mut a,
        Action::Resynced {
            live: None,
            wrapups: vec![(call(60, 2, "telecmi", CallStatus::Completed), None)],
            asked_at: now(),
        },
    );
    after_ms(&mut a, 1_200);
    update(&mut a, ch('m'));
    assert!(a.form().is_none(), "the search being typed should not be interrupted; picked {:?}", label(&a));
}

/// a wrap-up the resync finds while a dialog/card is open never opens by itself when it closes.
#[test]
fn a_wrap_up_found_by_the_resync_behind_the_card_opens_when_it_closes() {
    let mut a = app();
    update(&mut a, ch('i'));
    assert!(matches!(a.modal, Some(Modal::Card(_))));
    update(
        &mut a,
        Action::Resynced {
            live: None,
            wrapups: vec![(call(61, 2, "telecmi", CallStatus::Completed), None)],
            asked_at: now(),
        },
    );
    update(&mut a, key(KeyCode::Esc));
    assert_eq!(a.form().map(|f| f.call.id), Some(61), "issue 22.3: opens when the card closes");
}

/// an outcome saved elsewhere (old app via API, other console) leaves the wrap-up in the
/// console: the driver is refused as "no outcome yet", and a resync does not clear it.
#[test]
fn an_outcome_saved_elsewhere_frees_the_driver() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(62, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    update(&mut a, upd(call(62, 0, "telecmi", CallStatus::Completed), Source::Webhook));
    after_ms(&mut a, 2_000);
    update(&mut a, key(KeyCode::Esc)); // put aside
    let mut saved = call(62, 0, "telecmi", CallStatus::Completed);
    saved.feedback = Some("Interview Fixed".into());
    update(&mut a, upd(saved, Source::Feedback));
    update(&mut a, Action::Resynced { live: None, wrapups: vec![], asked_at: now() });
    update(&mut a, key(KeyCode::Enter)); // D0 is first in the queue
    assert!(matches!(a.modal, Some(Modal::CallDialog(_))), "refused: {}", notice(&a));
}

/// ...and a self-opening wrap-up pops up for a call already saved elsewhere.
#[test]
fn no_form_opens_for_a_call_saved_elsewhere_meanwhile() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(63, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    update(&mut a, key(KeyCode::Down));
    update(&mut a, ch('i'));
    update(&mut a, upd(call(63, 0, "telecmi", CallStatus::Completed), Source::Webhook));
    let mut saved = call(63, 0, "telecmi", CallStatus::Completed);
    saved.feedback = Some("Interview Fixed".into());
    update(&mut a, upd(saved, Source::Feedback));
    update(&mut a, key(KeyCode::Esc));
    assert!(a.form().is_none(), "a wrap-up opened for a call whose outcome is already saved");
}

/// X (cancel a manual call logged by mistake) after e/Esc leaves the wrap-up, which then
/// blocks the driver ("no outcome yet") although the row has "Cancelled by Agent".
#[test]
fn a_manual_call_cancelled_after_e_owes_no_wrap_up() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(64, 0, "manual", CallStatus::Initiated), kind: CallKind::Manual });
    after_ms(&mut a, 5_000);
    update(&mut a, ch('e'));
    update(&mut a, key(KeyCode::Esc));
    let fx = update(&mut a, ch('X'));
    assert_eq!(fx, vec![Effect::CancelDial(64)], "cancel still offered after the agent said it ended");
    let mut cancelled = call(64, 0, "manual", CallStatus::Failed);
    cancelled.feedback = Some("Cancelled by Agent".into());
    update(&mut a, Action::DialCancelled(Ok(cancelled)));
    update(&mut a, key(KeyCode::Enter));
    assert!(matches!(a.modal, Some(Modal::CallDialog(_))), "refused: {} / wrapups {}", notice(&a), a.wrapups.len());
}

/// a final webhook read before the save committed, drained after FeedbackSaved in one batch
/// (the loop drains rx before the bus), brings the saved call back as a new wrap-up.
#[test]
fn a_report_older_than_the_save_never_brings_its_wrap_up_back() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(65, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    update(&mut a, upd(call(65, 0, "telecmi", CallStatus::Completed), Source::Webhook));
    after_ms(&mut a, 2_000);
    update(&mut a, ch('m'));
    update(&mut a, key(KeyCode::Enter));
    let mut saved = call(65, 0, "telecmi", CallStatus::Completed);
    saved.feedback = Some("Interview Fixed".into());
    update(&mut a, Action::FeedbackSaved { call: Box::new(saved), decision: QueueDecision::Remove, call_next: false });
    let mut late = call(65, 0, "telecmi", CallStatus::Completed);
    late.call_duration = Some(42); // leg B's CDR, written before the save committed
    update(&mut a, upd(late, Source::Webhook));
    assert!(
        a.form().is_none() && a.wrapups.is_empty(),
        "saved call reopened: form {:?}, {} waiting",
        a.form().map(|f| f.call.id),
        a.wrapups.len()
    );
}

/// app.now is a high-water mark; after the wall clock steps back, a self-opened form ignores
/// every key until the clock catches up.
#[test]
fn a_clock_stepped_back_never_freezes_a_form() {
    let mut a = app();
    let t = a.now;
    update(
        &mut a,
        Action::StartupLoaded {
            wrapups: vec![(call(66, 0, "telecmi", CallStatus::Completed), None)],
            live: None,
            recent: vec![],
            resave: vec![],
        },
    );
    assert_eq!(a.form().map(|f| f.call.id), Some(66));
    // NTP / VM resume steps the clock back 30 s; the agent types 5 s later.
    update(&mut a, Action::Clock(t - Duration::seconds(25)));
    update(&mut a, Action::Tick(t - Duration::seconds(25)));
    update(&mut a, ch('m'));
    assert_eq!(label(&a).as_deref(), Some("Interview Fixed"), "ignored: {:?}", a.form().map(|f| f.ignored.clone()));
}

#[test]
fn a_manual_call_the_agent_ended_stays_in_the_live_pane_across_a_resync() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(69, 0, "manual", CallStatus::Initiated), kind: CallKind::Manual });
    update(&mut a, ch('e'));
    update(&mut a, key(KeyCode::Esc));
    // The store no longer lists it as live (its wrap-up began); the pane keeps it, ended.
    let waiting = a.wrapups.iter().cloned().collect();
    update(&mut a, Action::Resynced { live: None, wrapups: waiting, asked_at: now() + Duration::seconds(30) });
    assert!(a.live.as_ref().is_some_and(|l| l.call.id == 69 && l.ended_at.is_some()));
}

#[test]
fn no_outcome_is_saved_while_a_telecmi_call_still_rings() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(70, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    update(&mut a, webhook(call(70, 0, "telecmi", CallStatus::Ringing)));
    // The agent thinks it is over: e, "Ringing / Call Busy", Enter.
    update(&mut a, ch('e'));
    update(&mut a, ch('t'));
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(fx.iter().all(|e| !matches!(e, Effect::Submit { .. })), "{fx:?}");
    let err = a.form().and_then(|f| f.error.clone()).unwrap_or_default();
    assert!(err.starts_with("The call has not ended at TeleCMI: it is ringing"), "{err}");
    // The driver answers after all; the call ends: the form learns it, the refusal goes.
    update(&mut a, webhook(call(70, 0, "telecmi", CallStatus::Connected)));
    update(&mut a, webhook(call(70, 0, "telecmi", CallStatus::Completed)));
    assert_eq!(a.form().and_then(|f| f.error.clone()), None);
    update(&mut a, Action::Key(KeyEvent::new(KeyCode::Char('m'), KeyModifiers::ALT)));
    let fx = update(&mut a, key(KeyCode::Enter));
    let [Effect::Submit { feedback, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(feedback.feedback, "Interview Fixed");
}

#[test]
fn e_on_a_missed_call_says_its_facts_are_coming() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(71, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    update(&mut a, webhook(call(71, 0, "telecmi", CallStatus::Missed)));
    update(&mut a, ch('e'));
    update(&mut a, key(KeyCode::Enter));
    let err = a.form().and_then(|f| f.error.clone()).unwrap_or_default();
    assert!(err.contains("on its way"), "{err}");
}
