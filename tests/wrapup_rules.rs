//! The wrap-up's rules, one `update` test each (issue 8): one visible focus, outcomes that fit
//! the call, who missed, every exit path, and "save and call next" obeying the dial guards.

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use calldesk::console::action::{Action, Effect};
use calldesk::console::state::{App, Field, Modal};
use calldesk::console::update::update;
use calldesk::coord::bus::{CallUpdate, Source};
use calldesk::coord::dialer::CallKind;
use calldesk::domain::wrapup::CallEnd;
use calldesk::domain::{CallLog, CallStatus, FeedbackCatalog, QueueDecision};
use calldesk::store::SubmitFeedback;
use common::fixtures::{call, entry, identity, ist, now, unconfirmed_call};

fn key(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn chars(app: &mut App, text: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in text.chars() {
        let m = if c.is_ascii_uppercase() { KeyModifiers::SHIFT } else { KeyModifiers::NONE };
        fx.extend(update(app, Action::Key(KeyEvent::new(KeyCode::Char(c), m))));
    }
    fx
}

fn app() -> App {
    let mut app = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    update(&mut app, Action::Resize { width: 120, height: 40 });
    update(&mut app, Action::StartupLoaded { wrapups: vec![], live: None, recent: vec![], resave: vec![] });
    let generation = app.queue.generation;
    let rows = (0..3).map(entry).collect();
    update(&mut app, Action::QueueLoaded { generation, append: false, rows, due: 3, total: 3, limit: 200 });
    app
}

fn webhook(c: CallLog, event_id: i64) -> Action {
    Action::CallUpdated(Box::new(CallUpdate {
        call: c,
        source: Source::Webhook,
        leg: Some("b".into()),
        provider_status: Some("hangup".into()),
        event_id: Some(event_id),
    }))
}

/// A placed call of `provider` that has now ended in `status`: its wrap-up is open.
fn ended(app: &mut App, provider: &str, status: CallStatus) {
    let kind = if provider == "manual" { CallKind::Manual } else { CallKind::Telecmi };
    update(app, Action::CallPlaced { call: call(20, 0, provider, CallStatus::Initiated), kind });
    if provider == "manual" {
        update(app, key(KeyCode::Char('e')));
    } else {
        update(app, webhook(call(20, 0, provider, status), 1));
        // A missed call's wrap-up waits (at most FACTS_WAIT) for TeleCMI's report of who missed.
        wait(app, 6);
    }
    assert!(app.form().is_some(), "the wrap-up is open");
    // The agent looks at the form that opened by itself before typing.
    wait(app, 2);
}

/// `secs` later on the console's clock (no tick: nothing periodic runs).
fn wait(app: &mut App, secs: i64) {
    let t = app.now + chrono::Duration::seconds(secs);
    update(app, Action::Clock(t));
}

fn submitted(fx: &[Effect]) -> &SubmitFeedback {
    match fx {
        [Effect::Submit { feedback, .. }] => feedback,
        other => panic!("expected a save, got {other:?}"),
    }
}

#[test]
fn tab_then_typing_never_changes_the_outcome_or_drops_letters() {
    // The README's keys: letter, Tab, remarks, Enter.
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Completed);
    chars(&mut a, "m");
    update(&mut a, key(KeyCode::Tab));
    assert_eq!(a.form().map(|f| f.focus), Some(Field::Remarks));
    chars(&mut a, "Interview fixed Monday 10am");
    let fx = update(&mut a, key(KeyCode::Enter));
    let s = submitted(&fx);
    assert_eq!((s.feedback.as_str(), s.remarks.as_str()), ("Interview Fixed", "Interview fixed Monday 10am"));

    // No Tab at all: after a pick, typing goes to the remarks.
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Completed);
    chars(&mut a, "mInterview fixed");
    let s = submitted(&update(&mut a, key(KeyCode::Enter))).clone();
    assert_eq!((s.feedback.as_str(), s.remarks.as_str()), ("Interview Fixed", "Interview fixed"));

    // Tab twice (back on the list), then typing: still remarks, still the same outcome.
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Completed);
    chars(&mut a, "m");
    update(&mut a, key(KeyCode::Tab));
    update(&mut a, key(KeyCode::Tab));
    assert_eq!(a.form().map(|f| f.focus), Some(Field::Outcome));
    chars(&mut a, "Interview");
    let s = submitted(&update(&mut a, key(KeyCode::Enter))).clone();
    assert_eq!((s.feedback.as_str(), s.remarks.as_str()), ("Interview Fixed", "Interview"));
}

#[test]
fn on_a_manual_call_the_same_keys_fill_the_remarks_not_the_duration() {
    let mut a = app();
    update(&mut a, Action::Tick(now() + chrono::Duration::seconds(40)));
    ended(&mut a, "manual", CallStatus::Initiated);
    chars(&mut a, "m");
    update(&mut a, key(KeyCode::Tab));
    chars(&mut a, "Interview fixed Monday 10am");
    let s = submitted(&update(&mut a, key(KeyCode::Enter))).clone();
    assert_eq!(
        (s.feedback.as_str(), s.remarks.as_str(), s.call_duration),
        ("Interview Fixed", "Interview fixed Monday 10am", Some(40))
    );
}

#[test]
fn alt_letter_changes_the_outcome_from_any_field() {
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Completed);
    chars(&mut a, "m");
    update(&mut a, key(KeyCode::Tab));
    chars(&mut a, "x");
    update(&mut a, Action::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::ALT)));
    let f = a.form().expect("form");
    assert_eq!(f.chosen.and_then(|i| a.catalog.all().get(i)).map(|o| o.label.as_str()), Some("Ready for Interview"));
    assert_eq!((f.remarks.value(), f.focus), ("x", Field::Remarks), "Alt+letter neither types nor moves");
}

#[test]
fn enter_with_no_outcome_saves_nothing_and_says_so() {
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Missed);
    assert_eq!(a.form().and_then(|f| f.chosen), None, "nothing chosen until the facts or the agent say");
    let saves = |fx: Vec<Effect>| fx.iter().any(|e| matches!(e, Effect::Submit { .. }));
    assert!(!saves(update(&mut a, key(KeyCode::Enter))));
    assert!(!saves(update(&mut a, key(KeyCode::Enter))));
    assert!(a.form().and_then(|f| f.error.clone()).is_some_and(|e| e.contains("Pick an outcome")));
}

#[test]
fn a_call_that_never_connected_cannot_take_a_connected_outcome() {
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Missed);
    chars(&mut a, "m");
    let f = a.form().expect("form");
    assert_eq!(f.chosen, None);
    assert!(f.error.as_deref().is_some_and(|e| e.contains("the driver never answered")), "{:?}", f.error);
    // Manual calls take any outcome.
    let mut a = app();
    ended(&mut a, "manual", CallStatus::Initiated);
    chars(&mut a, "m");
    assert!(a.form().and_then(|f| f.chosen).is_some());
}

#[test]
fn the_facts_preselect_ringing_busy_for_a_rejected_call_and_the_row_says_why() {
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Missed);
    update(&mut a, Action::FactsLoaded { call_id: 20, end: CallEnd::Rejected, attempts: Some(1) });
    let f = a.form().expect("form");
    assert!(f.preselected);
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(update(&mut a, key(KeyCode::Enter)).is_empty(), "a second Enter while saving sends nothing more");
    let s = submitted(&fx);
    assert_eq!((s.feedback.as_str(), s.remarks.as_str()), ("Ringing / Call Busy", "[driver rejected]"));
}

#[test]
fn an_agent_missed_call_is_not_the_drivers_attempt() {
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Missed);
    update(&mut a, Action::FactsLoaded { call_id: 20, end: CallEnd::AgentMissed, attempts: Some(1) });
    let s = submitted(&update(&mut a, key(KeyCode::Enter))).clone();
    assert_eq!(
        (s.feedback.as_str(), s.remarks.as_str()),
        ("Driver Not Called", "[agent's phone not answered; driver not called]")
    );
    // Not for a call that rang the driver.
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Missed);
    update(&mut a, Action::FactsLoaded { call_id: 20, end: CallEnd::NoAnswer, attempts: Some(1) });
    update(&mut a, key(KeyCode::Delete));
    chars(&mut a, "z");
    assert!(a.form().and_then(|f| f.error.clone()).is_some_and(|e| e.contains("rang")));
}

#[test]
fn the_agent_typing_first_keeps_their_choice_when_the_facts_arrive() {
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Missed);
    chars(&mut a, "u");
    update(&mut a, Action::FactsLoaded { call_id: 20, end: CallEnd::Rejected, attempts: Some(1) });
    let f = a.form().expect("form");
    assert_eq!(
        f.chosen.and_then(|i| a.catalog.all().get(i)).map(|o| o.label.as_str()),
        Some("Switched Off / Not Reachable / Disconnected")
    );
}

#[test]
fn quit_asks_while_a_call_is_live_or_a_wrap_up_is_open() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(20, 0, "telecmi", CallStatus::Ringing), kind: CallKind::Telecmi });
    update(&mut a, key(KeyCode::Char('q')));
    assert!(!a.quit && matches!(a.modal, Some(Modal::ConfirmQuit(_))));
    update(&mut a, key(KeyCode::Char('n')));
    assert!(!a.quit && a.modal.is_none());
    update(&mut a, key(KeyCode::Char('q')));
    update(&mut a, key(KeyCode::Char('y')));
    assert!(a.quit);

    // With a wrap-up open: "stay" brings the form back as it was.
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Completed);
    chars(&mut a, "mok");
    update(&mut a, Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
    assert!(matches!(a.modal, Some(Modal::ConfirmQuit(_))));
    update(&mut a, key(KeyCode::Esc));
    assert_eq!(a.form().map(|f| f.remarks.value().to_string()), Some("ok".into()));
    // Quitting writes the draft.
    update(&mut a, Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
    let fx = update(&mut a, key(KeyCode::Char('y')));
    assert!(a.quit);
    assert!(fx.iter().any(|e| matches!(e, Effect::SaveDraft(d) if d.remarks.as_deref() == Some("ok"))), "{fx:?}");
}

#[test]
fn a_signal_quits_at_once_and_writes_the_draft() {
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Completed);
    chars(&mut a, "mok");
    let fx = update(&mut a, Action::Signal("SIGTERM"));
    assert!(a.quit);
    assert!(matches!(fx.as_slice(), [Effect::SaveDraft(d)] if d.remarks.as_deref() == Some("ok")), "{fx:?}");
    assert_eq!(a.ending, Some(calldesk::tui::terminal::Ending::Signal("SIGTERM")));
}

/// A newer login took the session over: the console closes as on a signal, writing the draft
/// typed since the last tick (the new console waits for exactly that), with the words to leave.
#[test]
fn signed_in_elsewhere_quits_and_writes_the_draft() {
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Completed);
    chars(&mut a, "mok");
    let words = "Signed in elsewhere (ssh from 10.0.0.9 at 14:05:12): this session has closed.".to_string();
    let fx = update(&mut a, Action::SignedInElsewhere(words.clone()));
    assert!(a.quit);
    assert!(matches!(fx.as_slice(), [Effect::SaveDraft(d)] if d.remarks.as_deref() == Some("ok")), "{fx:?}");
    assert_eq!(a.ending, Some(calldesk::tui::terminal::Ending::TakenOver(words)));
}

#[test]
fn save_and_call_next_obeys_the_guards_enter_obeys() {
    let mut a = app();
    // An older wrap-up is reopened with w while a call is live.
    let mut old = call(5, 2, "manual", CallStatus::Completed);
    old.created_at = now() - chrono::Duration::hours(1);
    a.wrapups.push_back((old.clone(), None));
    update(&mut a, Action::CallPlaced { call: call(20, 0, "telecmi", CallStatus::Connected), kind: CallKind::Telecmi });
    update(&mut a, key(KeyCode::Char('w')));
    assert_eq!(a.form().map(|f| f.call.id), Some(5));
    chars(&mut a, "m");
    update(&mut a, Action::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)));
    let mut saved = old;
    saved.feedback = Some("Interview Fixed".into());
    let fx = update(
        &mut a,
        Action::FeedbackSaved { call: Box::new(saved), decision: QueueDecision::Remove, call_next: true },
    );
    assert!(!a.pending_call_next, "no next call while one is live");
    assert!(a.notice.as_ref().is_some_and(|n| n.text.contains("still in progress")), "{:?}", a.notice);
    let Some(Effect::LoadQueue { generation, .. }) = fx.iter().find(|e| matches!(e, Effect::LoadQueue { .. })) else {
        panic!("{fx:?}")
    };
    let fx = update(
        &mut a,
        Action::QueueLoaded {
            generation: *generation,
            append: false,
            rows: vec![entry(1)],
            due: 1,
            total: 1,
            limit: 200,
        },
    );
    assert!(!fx.iter().any(|e| matches!(e, Effect::Dial { .. })), "{fx:?}");
}

#[test]
fn the_same_stored_event_from_the_listener_and_the_feed_counts_once() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(20, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi });
    assert!(!update(&mut a, webhook(call(20, 0, "telecmi", CallStatus::Ringing), 7)).is_empty());
    assert!(update(&mut a, webhook(call(20, 0, "telecmi", CallStatus::Ringing), 7)).is_empty(), "seen already");
}

#[test]
fn an_unconfirmed_dial_stays_live_and_n_marks_it_not_placed_after_a_minute() {
    let mut a = app();
    let mut c = call(30, 0, "telecmi", CallStatus::Initiated);
    c.reference_id = None;
    c.remarks = Some(format!("{} (timed out); the call may still ring", calldesk::domain::UNCONFIRMED_REMARK));
    update(&mut a, Action::DialUnconfirmed { message: "TeleCMI did not answer".into(), call: c.clone() });
    assert!(a.live.as_ref().is_some_and(|l| l.call.is_unconfirmed()));
    // Enter on the queue is refused while it is unconfirmed (the call may still ring).
    update(&mut a, key(KeyCode::Enter));
    assert!(a.modal.is_none());
    assert!(update(&mut a, key(KeyCode::Char('n'))).is_empty(), "not before a minute");
    update(&mut a, Action::Tick(now() + chrono::Duration::seconds(61)));
    assert_eq!(update(&mut a, key(KeyCode::Char('n'))), vec![Effect::MarkNotPlaced(30)]);
    let mut marked = c;
    marked.status = Some("failed".into());
    update(&mut a, Action::MarkedNotPlaced(Ok(marked)));
    assert!(a.live.is_none());
    assert!(a.notice.as_ref().is_some_and(|n| n.text.contains("not placed")));
}

#[test]
fn a_resync_never_opens_the_wrap_up_of_a_manual_call_still_on_the_line() {
    let mut a = app();
    let c = call(21, 0, "manual", CallStatus::Initiated);
    update(&mut a, Action::CallPlaced { call: c.clone(), kind: CallKind::Manual });
    update(&mut a, Action::Resynced { live: Some(c.clone()), wrapups: vec![(c, None)], asked_at: now() });
    assert!(a.form().is_none(), "the agent is still on the phone");
    update(&mut a, Action::Tick(now() + chrono::Duration::seconds(95)));
    update(&mut a, key(KeyCode::Char('e')));
    assert_eq!(a.form().map(|f| f.duration.value().to_string()), Some("95".into()));
}

#[test]
fn an_unconfirmed_call_takes_no_outcome_until_telecmi_or_the_agent_settles_it() {
    let mut a = app();
    update(&mut a, Action::DialUnconfirmed { message: "TeleCMI did not answer".into(), call: unconfirmed_call(31, 0) });
    update(&mut a, key(KeyCode::Char('e')));
    assert!(a.form().is_none(), "no wrap-up for a call that may still ring");
    assert!(a.notice.as_ref().is_some_and(|n| n.text.contains("press n")), "{:?}", a.notice);
}

#[test]
fn facts_that_change_their_mind_replace_only_their_own_pick() {
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Missed);
    update(&mut a, Action::FactsLoaded { call_id: 20, end: CallEnd::AgentMissed, attempts: Some(1) });
    update(&mut a, Action::FactsLoaded { call_id: 20, end: CallEnd::NoAnswer, attempts: Some(1) });
    let f = a.form().expect("form");
    assert_eq!(f.chosen.and_then(|i| a.catalog.all().get(i)).map(|o| o.label.as_str()), Some("Ringing / Call Busy"));
    // Before the facts say who missed, "driver not called" is not taken.
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Missed);
    chars(&mut a, "z");
    assert_eq!(a.form().and_then(|f| f.chosen), None);
}

#[test]
fn a_capital_in_the_outcome_list_starts_the_remarks_instead_of_picking() {
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Completed);
    chars(&mut a, "Driver busy, call later");
    let f = a.form().expect("form");
    assert_eq!((f.chosen, f.remarks.value(), f.focus), (None, "Driver busy, call later", Field::Remarks));
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Submit { .. })), "no outcome yet: {fx:?}");
}

#[test]
fn typing_a_duration_replaces_the_guess_and_a_too_long_one_is_questioned() {
    let mut a = app();
    update(&mut a, Action::Tick(now() + chrono::Duration::seconds(4)));
    ended(&mut a, "manual", CallStatus::Initiated);
    chars(&mut a, "n");
    update(&mut a, key(KeyCode::Tab));
    update(&mut a, key(KeyCode::Tab));
    chars(&mut a, "180");
    assert_eq!(a.form().map(|f| f.duration.value().to_string()), Some("180".into()), "not 4180");
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(fx.iter().all(|e| !matches!(e, Effect::Submit { .. })), "{fx:?}");
    assert!(a.form().and_then(|f| f.error.clone()).is_some_and(|e| e.contains("since you dialed")));
    update(&mut a, Action::Tick(now() + chrono::Duration::seconds(200)));
    let s = submitted(&update(&mut a, key(KeyCode::Enter))).clone();
    assert_eq!(s.call_duration, Some(180));
}

#[test]
fn save_and_call_next_calls_the_first_driver_whatever_row_was_selected() {
    let mut a = app();
    update(&mut a, key(KeyCode::Down));
    update(&mut a, key(KeyCode::Down));
    ended(&mut a, "telecmi", CallStatus::Completed);
    chars(&mut a, "m");
    update(&mut a, Action::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)));
    let mut saved = call(20, 0, "telecmi", CallStatus::Completed);
    saved.feedback = Some("Interview Fixed".into());
    let fx = update(
        &mut a,
        Action::FeedbackSaved { call: Box::new(saved), decision: QueueDecision::Remove, call_next: true },
    );
    let Some(Effect::LoadQueue { generation, .. }) = fx.iter().find(|e| matches!(e, Effect::LoadQueue { .. })) else {
        panic!("{fx:?}")
    };
    let rows = vec![entry(1), entry(2)];
    let fx = update(
        &mut a,
        Action::QueueLoaded { generation: *generation, append: false, rows, due: 2, total: 2, limit: 200 },
    );
    let dials: Vec<&Effect> = fx.iter().filter(|e| matches!(e, Effect::Dial { .. })).collect();
    assert_eq!(dials, [&Effect::Dial { driver_id: "D1".into(), kind: CallKind::Telecmi }], "{fx:?}");
}

#[test]
fn a_wrap_up_put_aside_keeps_the_call_as_last_reported() {
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Missed);
    let mut later = call(20, 0, "telecmi", CallStatus::Completed);
    later.call_duration = Some(24);
    update(&mut a, webhook(later, 2));
    update(&mut a, key(KeyCode::Esc));
    update(&mut a, key(KeyCode::Char('w')));
    assert_eq!(a.form().and_then(|f| f.call.call_duration), Some(24));
}

#[test]
fn ready_counts_from_the_last_saved_outcome_and_an_ended_call_rereads_todays_numbers() {
    let mut a = app();
    update(&mut a, Action::CallPlaced { call: call(50, 0, "telecmi", CallStatus::Ringing), kind: CallKind::Telecmi });
    let fx = update(&mut a, webhook(call(50, 0, "telecmi", CallStatus::Completed), 9));
    assert!(fx.contains(&Effect::LoadProgress), "a connect counts as soon as the call ends: {fx:?}");
    update(&mut a, Action::Tick(now() + chrono::Duration::minutes(5)));
    chars(&mut a, "m");
    update(&mut a, key(KeyCode::Enter));
    let mut saved = call(50, 0, "telecmi", CallStatus::Completed);
    saved.feedback = Some("Interview Fixed".into());
    update(&mut a, Action::FeedbackSaved { call: Box::new(saved), decision: QueueDecision::Remove, call_next: false });
    match a.status() {
        calldesk::console::state::AgentStatus::Ready(since) => assert_eq!(since, now() + chrono::Duration::minutes(5)),
        other => panic!("{other:?}"),
    }
}

fn screen(app: &App) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("terminal");
    t.draw(|f| calldesk::console::views::render(app, f)).expect("draw");
    t.backend().to_string()
}

#[test]
fn the_wrapup_says_when_a_not_connected_outcome_uses_the_last_attempt() {
    // MAX_ATTEMPTS is 3 by default: the third unanswered call takes the driver out of the queue.
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Missed);
    update(&mut a, Action::FactsLoaded { call_id: 20, end: CallEnd::NoAnswer, attempts: Some(3) });
    assert!(a.form().is_some_and(|f| f.preselected), "Ringing / Call Busy from the facts");
    let s = screen(&a);
    assert!(s.contains("⚠ last try (3/3): leaves queue"), "{s}");
    // A callback is not a retry: no warning.
    update(&mut a, key(KeyCode::Delete));
    chars(&mut a, "v");
    assert!(!screen(&a).contains("last try"));
    // The second attempt leaves them in the queue: no warning either.
    let mut a = app();
    ended(&mut a, "telecmi", CallStatus::Missed);
    update(&mut a, Action::FactsLoaded { call_id: 20, end: CallEnd::NoAnswer, attempts: Some(2) });
    assert!(!screen(&a).contains("last try"));
}
