//! `update` step by step through the call flow: no terminal, no database — the state machine.

mod common;

use chrono::Duration;
use common::fixtures::{call, entry, identity, ist, now, unconfirmed_call};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use calldesk::console::action::{Action, Effect};
use calldesk::console::state::{App, Field, Level, Modal};
use calldesk::console::update::{PAGE, update};
use calldesk::coord::bus::{CallUpdate, Source};
use calldesk::coord::dialer::CallKind;
use calldesk::domain::wrapup::CallEnd;
use calldesk::domain::{CallLog, CallStatus, FeedbackCatalog, QueueDecision};
use calldesk::store::FeedbackDraft;

fn key(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// The agent looks at what just opened: past a self-opened form's first moment (keys typed in
/// it were meant for the screen before and are ignored).
fn look(app: &mut App) {
    let t = app.now + Duration::seconds(2);
    update(app, Action::Clock(t));
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        update(app, key(KeyCode::Char(c)));
    }
}

/// An app with a loaded queue of `n` drivers.
fn app_with_queue(allowed: bool, n: usize) -> App {
    let mut app = App::new(identity(allowed), FeedbackCatalog::default(), now(), ist());
    update(&mut app, Action::Resize { width: 100, height: 30 });
    let fx = update(&mut app, Action::StartupLoaded { wrapups: vec![], live: None, recent: vec![], resave: vec![] });
    assert!(matches!(fx.as_slice(), [Effect::LoadQueue { after: None, .. }]), "{fx:?}");
    let generation = app.queue.generation;
    update(
        &mut app,
        Action::QueueLoaded {
            generation,
            append: false,
            rows: (0..n).map(entry).collect(),
            due: n as i64,
            total: n as i64,
            limit: 200,
        },
    );
    app
}

fn webhook(c: CallLog) -> Action {
    Action::CallUpdated(Box::new(CallUpdate {
        call: c,
        source: Source::Webhook,
        leg: Some("b".into()),
        provider_status: Some("answered".into()),
        event_id: None,
    }))
}

#[test]
fn telecmi_call_from_queue_to_saved_outcome() {
    let mut app = app_with_queue(true, 5);
    update(&mut app, key(KeyCode::Down));
    assert_eq!(app.queue.selected, 1);
    update(&mut app, key(KeyCode::Enter));
    let Some(Modal::CallDialog(d)) = &app.modal else { panic!("dialog: {:?}", app.modal) };
    assert_eq!((d.driver.driver_id.as_str(), d.highlighted), ("D1", CallKind::Telecmi));

    let fx = update(&mut app, key(KeyCode::Char('t')));
    let dials: Vec<&Effect> = fx.iter().filter(|e| matches!(e, Effect::Dial { .. })).collect();
    assert_eq!(dials, [&Effect::Dial { driver_id: "D1".into(), kind: CallKind::Telecmi }], "{fx:?}");
    assert!(app.modal.is_none() && app.dialing);

    let fx = update(
        &mut app,
        Action::CallPlaced { call: call(10, 1, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi },
    );
    assert!(fx.contains(&Effect::LoadTimeline(10)));
    assert!(
        app.notice
            .as_ref()
            .is_some_and(|n| n.text.contains("Your phone will ring shortly. Answer to connect with the driver."))
    );
    // A second Enter while the call is live does not open another dialog.
    update(&mut app, key(KeyCode::Enter));
    assert!(app.modal.is_none());
    assert_eq!(app.notice.as_ref().map(|n| n.level), Some(Level::Error));

    update(&mut app, webhook(call(10, 1, "telecmi", CallStatus::Connected)));
    assert_eq!(app.live.as_ref().map(|l| l.call.call_status()), Some(CallStatus::Connected));
    assert!(app.modal.is_none(), "no form while talking");
    let mut done = call(10, 1, "telecmi", CallStatus::Completed);
    done.call_duration = Some(42);
    update(&mut app, webhook(done));
    let form = app.form().expect("the wrap-up opens by itself");
    assert_eq!((form.call.id, form.focus, form.manual), (10, Field::Outcome, false));
    look(&mut app);

    update(&mut app, key(KeyCode::Char('m')));
    type_text(&mut app, "Monday 10am");
    let form = app.form().expect("form");
    assert_eq!(form.chosen.and_then(|i| app.catalog.all().get(i)).map(|o| o.label.as_str()), Some("Interview Fixed"));
    assert_eq!((form.focus, form.remarks.value()), (Field::Remarks, "Monday 10am"));

    let fx = update(&mut app, key(KeyCode::Enter));
    let [Effect::Submit { feedback, call_next: false, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(
        (feedback.call_id, feedback.feedback.as_str(), feedback.remarks.as_str()),
        (10, "Interview Fixed", "Monday 10am")
    );
    assert_eq!(feedback.status, None, "TeleCMI's final status stands");
    assert_eq!(feedback.call_duration, None, "TeleCMI's duration stands");

    let mut saved = call(10, 1, "telecmi", CallStatus::Completed);
    saved.feedback = Some("Interview Fixed".into());
    let fx = update(
        &mut app,
        Action::FeedbackSaved { call: Box::new(saved), decision: QueueDecision::Remove, call_next: false },
    );
    assert!(app.modal.is_none() && app.live.is_none());
    assert!(matches!(fx.as_slice(), [Effect::LoadQueue { after: None, .. }, Effect::LoadProgress]), "{fx:?}");
    assert_eq!(app.queue.selected, 1, "the next driver slides under the cursor");
    assert!(app.notice.as_ref().is_some_and(|n| n.text.contains("left the queue")));
    assert_eq!(app.recent.front().map(|c| c.id), Some(10));
}

#[test]
fn telecmi_disabled_with_reason_manual_still_works() {
    let mut app = app_with_queue(false, 3);
    update(&mut app, key(KeyCode::Enter));
    let Some(Modal::CallDialog(d)) = &app.modal else { panic!("dialog") };
    assert_eq!(d.highlighted, CallKind::Manual, "the allowed option is highlighted");
    let fx = update(&mut app, key(KeyCode::Char('t')));
    assert!(fx.is_empty());
    assert!(app.notice.as_ref().is_some_and(|n| n.text.contains("not authorized")));
    assert!(matches!(app.modal, Some(Modal::CallDialog(_))), "dialog stays open");
    let fx = update(&mut app, key(KeyCode::Char('m')));
    assert_eq!(fx, vec![Effect::Dial { driver_id: "D0".into(), kind: CallKind::Manual }]);
}

#[test]
fn manual_call_wrap_up_needs_duration_and_sets_status_from_the_outcome() {
    let mut app = app_with_queue(true, 3);
    update(&mut app, key(KeyCode::Enter));
    update(&mut app, key(KeyCode::Char('m')));
    update(&mut app, Action::CallPlaced { call: call(11, 0, "manual", CallStatus::Initiated), kind: CallKind::Manual });
    assert!(app.notice.as_ref().is_some_and(|n| n.text.contains("press e when the call ends")));
    update(&mut app, Action::Tick(now() + Duration::seconds(65)));
    update(&mut app, key(KeyCode::Char('e')));
    let form = app.form().expect("form");
    assert!(form.manual);
    assert_eq!(form.duration.value(), "65", "prefilled with the time since dialing");

    let fx = update(&mut app, key(KeyCode::Enter));
    assert!(fx.is_empty(), "Enter with no outcome saves nothing");
    assert_eq!(app.form().and_then(|f| f.chosen), None, "Enter never picks an outcome by itself");
    assert!(app.form().and_then(|f| f.error.clone()).is_some_and(|e| e.contains("Pick an outcome")));
    update(&mut app, key(KeyCode::Char('a')));
    assert_eq!(app.form().and_then(|f| f.chosen), Some(0));
    update(&mut app, key(KeyCode::Tab));
    update(&mut app, key(KeyCode::Tab));
    assert_eq!(app.form().map(|f| f.focus), Some(Field::Duration));
    for _ in 0..2 {
        update(&mut app, key(KeyCode::Backspace));
    }
    type_text(&mut app, "x");
    assert_eq!(
        app.form().map(|f| f.duration.value().to_string()),
        Some("x".into()),
        "typed text is kept, never dropped"
    );
    let fx = update(&mut app, key(KeyCode::Enter));
    assert!(fx.is_empty());
    assert!(app.form().and_then(|f| f.error.clone()).is_some_and(|e| e.contains("Duration")));
    update(&mut app, key(KeyCode::Backspace));
    type_text(&mut app, "90");
    update(&mut app, key(KeyCode::BackTab));
    update(&mut app, key(KeyCode::BackTab));
    assert_eq!(app.form().map(|f| f.focus), Some(Field::Outcome));
    update(&mut app, key(KeyCode::Delete));
    update(&mut app, key(KeyCode::Char('t')));
    let fx = update(&mut app, key(KeyCode::Enter));
    let [Effect::Submit { feedback, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(
        (feedback.status, feedback.call_duration, feedback.feedback.as_str()),
        (Some(CallStatus::Missed), Some(0), "Ringing / Call Busy"),
        "not connected: nobody talked, whatever the duration box held"
    );
}

#[test]
fn a_failed_save_keeps_everything_typed() {
    let mut app = app_with_queue(true, 2);
    update(&mut app, Action::CallPlaced { call: call(12, 0, "manual", CallStatus::Initiated), kind: CallKind::Manual });
    update(&mut app, key(KeyCode::Char('e')));
    update(&mut app, key(KeyCode::Char('l')));
    type_text(&mut app, "not now");
    update(&mut app, key(KeyCode::Enter));
    assert!(app.form().is_some_and(|f| f.saving));
    update(&mut app, Action::FeedbackFailed("database unavailable: connection refused".into()));
    let f = app.form().expect("form stays");
    assert!(!f.saving);
    assert_eq!(f.remarks.value(), "not now");
    assert_eq!(f.chosen.and_then(|i| app.catalog.all().get(i)).map(|o| o.label.as_str()), Some("Not Interested"));
    assert!(f.error.as_deref().is_some_and(|e| e.contains("database unavailable")));
    assert_eq!(app.notice.as_ref().map(|n| n.level), Some(Level::Error));
}

#[test]
fn remarks_stop_at_500_characters() {
    let mut app = app_with_queue(true, 1);
    update(&mut app, Action::CallPlaced { call: call(13, 0, "manual", CallStatus::Initiated), kind: CallKind::Manual });
    update(&mut app, key(KeyCode::Char('e')));
    update(&mut app, key(KeyCode::Char('a')));
    type_text(&mut app, &"x".repeat(510));
    let f = app.form().expect("form");
    assert_eq!(f.remarks.value().chars().count(), 500);
    assert!(f.error.as_deref().is_some_and(|e| e.contains("500")));
}

#[test]
fn drafts_are_saved_on_the_tick_and_reopen_first_at_start() {
    let mut app = app_with_queue(true, 2);
    update(&mut app, Action::CallPlaced { call: call(14, 0, "manual", CallStatus::Initiated), kind: CallKind::Manual });
    update(&mut app, key(KeyCode::Char('e')));
    update(&mut app, key(KeyCode::Char('w')));
    type_text(&mut app, "call at ");
    // Every keystroke goes to the draft at once (the writer keeps them in order).
    let fx = update(&mut app, key(KeyCode::Char('6')));
    let [Effect::SaveDraft(d)] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(
        (d.call_log_id, d.feedback.as_deref(), d.remarks.as_deref()),
        (14, Some("Call Tomorrow Morning"), Some("call at 6"))
    );
    assert!(update(&mut app, Action::Tick(now() + Duration::seconds(2))).is_empty(), "nothing new to save");

    // A new console: the unfinished wrap-up opens before anything else, with the draft.
    let mut fresh = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    let draft = FeedbackDraft {
        call_log_id: 14,
        caller_id: 3,
        feedback: Some("Call Tomorrow Morning".into()),
        remarks: Some("call at 6".into()),
        call_duration: Some("30".into()),
        ..Default::default()
    };
    update(
        &mut fresh,
        Action::StartupLoaded {
            wrapups: vec![(call(14, 0, "manual", CallStatus::Initiated), Some(draft))],
            live: None,
            recent: vec![],
            resave: vec![],
        },
    );
    let f = fresh.form().expect("reopened");
    assert_eq!((f.call.id, f.remarks.value(), f.duration.value()), (14, "call at 6", "30"));
    assert_eq!(
        f.chosen.and_then(|i| fresh.catalog.all().get(i)).map(|o| o.label.as_str()),
        Some("Call Tomorrow Morning")
    );
}

#[test]
fn putting_a_wrap_up_aside_keeps_it_and_w_brings_it_back() {
    let mut app = app_with_queue(true, 2);
    update(&mut app, Action::CallPlaced { call: call(15, 0, "manual", CallStatus::Initiated), kind: CallKind::Manual });
    update(&mut app, key(KeyCode::Char('e')));
    update(&mut app, key(KeyCode::Char('c')));
    type_text(&mut app, "half");
    let fx = update(&mut app, key(KeyCode::Esc));
    assert!(matches!(fx.as_slice(), [Effect::SaveDraft(_)]));
    assert!(app.modal.is_none());
    assert_eq!(app.wrapups.len(), 1);
    update(&mut app, key(KeyCode::Char('w')));
    assert_eq!(app.form().map(|f| f.remarks.value().to_string()), Some("half".into()));
}

#[test]
fn save_and_call_next_dials_the_next_driver_the_same_way() {
    let mut app = app_with_queue(true, 3);
    update(&mut app, key(KeyCode::Enter));
    update(&mut app, key(KeyCode::Char('t')));
    update(
        &mut app,
        Action::CallPlaced { call: call(16, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi },
    );
    update(&mut app, webhook(call(16, 0, "telecmi", CallStatus::Missed)));
    update(&mut app, Action::FactsLoaded { call_id: 16, end: CallEnd::NoAnswer, attempts: Some(1) });
    assert!(app.form().is_some(), "opens once TeleCMI's report says how it ended");
    look(&mut app);
    update(&mut app, key(KeyCode::Char('t')));
    let fx = update(&mut app, ctrl('n'));
    assert!(matches!(fx.as_slice(), [Effect::Submit { call_next: true, .. }]), "{fx:?}");
    let mut saved = call(16, 0, "telecmi", CallStatus::Missed);
    saved.feedback = Some("Ringing / Call Busy".into());
    let fx = update(
        &mut app,
        Action::FeedbackSaved { call: Box::new(saved), decision: QueueDecision::Remove, call_next: true },
    );
    let [Effect::LoadQueue { generation, .. }, Effect::LoadProgress] = fx.as_slice() else { panic!("{fx:?}") };
    let fx = update(
        &mut app,
        Action::QueueLoaded {
            generation: *generation,
            append: false,
            rows: vec![entry(1), entry(2)],
            due: 2,
            total: 2,
            limit: 200,
        },
    );
    let dials: Vec<&Effect> = fx.iter().filter(|e| matches!(e, Effect::Dial { .. })).collect();
    assert_eq!(dials, [&Effect::Dial { driver_id: "D1".into(), kind: CallKind::Telecmi }], "{fx:?}");
}

#[test]
fn filter_and_paging_ask_the_store() {
    let mut app = app_with_queue(true, PAGE as usize);
    update(&mut app, key(KeyCode::Char('f')));
    assert!(app.queue.filtering);
    let fx = update(&mut app, key(KeyCode::Char('r')));
    assert!(matches!(fx.as_slice(), [Effect::LoadQueue { filter: Some(f), after: None, .. }] if f == "r"), "{fx:?}");
    // A late answer for the old filter is ignored.
    let stale = app.queue.generation - 1;
    update(
        &mut app,
        Action::QueueLoaded { generation: stale, append: false, rows: vec![], due: 0, total: 0, limit: 200 },
    );
    assert_eq!(app.queue.rows.len(), PAGE as usize);
    update(&mut app, key(KeyCode::Esc));
    assert!(!app.queue.filtering && app.queue.filter.value().is_empty());
    let generation = app.queue.generation;
    update(
        &mut app,
        Action::QueueLoaded {
            generation,
            append: false,
            rows: (0..PAGE as usize).map(entry).collect(),
            due: 500,
            total: 500,
            limit: 200,
        },
    );
    let fx = update(&mut app, key(KeyCode::End));
    let [Effect::LoadQueue { after: Some(c), .. }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(c.driver_id, format!("D{}", PAGE - 1));
    assert!(app.queue.offset + app.page_rows > app.queue.selected, "selection stays visible");
}

#[test]
fn a_refused_click_to_call_shows_why_and_keeps_the_driver() {
    let mut app = app_with_queue(true, 2);
    update(&mut app, key(KeyCode::Enter));
    update(&mut app, key(KeyCode::Char('t')));
    let mut failed = call(17, 0, "telecmi", CallStatus::Failed);
    failed.remarks = Some("TeleCMI refused the call: authentication failed".into());
    update(
        &mut app,
        Action::DialFailed { message: "TeleCMI refused the call: authentication failed".into(), call: Some(failed) },
    );
    assert!(!app.dialing);
    assert_eq!(app.notice.as_ref().map(|n| n.level), Some(Level::Error));
    // The agent can fall back to a manual call at once.
    update(&mut app, key(KeyCode::Enter));
    assert!(matches!(app.modal, Some(Modal::CallDialog(_))));
}

#[test]
fn a_late_report_updates_the_form_but_never_reopens_a_wrap_up_put_aside() {
    let mut app = app_with_queue(true, 2);
    update(&mut app, key(KeyCode::Enter));
    update(&mut app, key(KeyCode::Char('t')));
    update(
        &mut app,
        Action::CallPlaced { call: call(18, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi },
    );
    update(&mut app, webhook(call(18, 0, "telecmi", CallStatus::Completed)));
    assert!(app.form().is_some(), "opened by the hangup");
    look(&mut app);
    let mut reported = call(18, 0, "telecmi", CallStatus::Completed);
    reported.call_duration = Some(61);
    update(&mut app, webhook(reported.clone()));
    assert_eq!(app.form().and_then(|f| f.call.call_duration), Some(61), "the form shows leg B's talk time");
    update(&mut app, key(KeyCode::Esc));
    assert!(app.modal.is_none());
    reported.call_duration = Some(62);
    update(&mut app, webhook(reported));
    assert!(app.modal.is_none(), "a wrap-up put aside stays aside");
    assert_eq!(app.wrapups.front().and_then(|(c, _)| c.call_duration), Some(62));
}

#[test]
fn a_periodic_refresh_keeps_an_agent_who_scrolled_far_down_where_they_were() {
    let mut app = app_with_queue(true, PAGE as usize);
    let fx = update(&mut app, key(KeyCode::End));
    let [Effect::LoadQueue { generation, after: Some(_), .. }] = fx.as_slice() else { panic!("{fx:?}") };
    let more = (PAGE as usize..2 * PAGE as usize).map(entry).collect();
    update(
        &mut app,
        Action::QueueLoaded { generation: *generation, append: true, rows: more, due: 900, total: 900, limit: PAGE },
    );
    update(&mut app, key(KeyCode::End));
    let selected = app.queue.selected;
    assert!(selected >= PAGE as usize);
    let fx = update(&mut app, Action::Tick(now() + Duration::seconds(31)));
    assert!(fx.contains(&Effect::Resync), "every half minute the live call and wrap-ups are read again");
    let Some(Effect::LoadQueue { generation, after: None, limit, .. }) =
        fx.iter().find(|e| matches!(e, Effect::LoadQueue { .. }))
    else {
        panic!("{fx:?}")
    };
    assert_eq!(*limit, 2 * PAGE, "reload as many rows as were on hand");
    let rows = (0..2 * PAGE as usize).map(entry).collect();
    update(
        &mut app,
        Action::QueueLoaded { generation: *generation, append: false, rows, due: 900, total: 900, limit: *limit },
    );
    assert_eq!(app.queue.selected, selected);
}

/// Another console of this agent saved the call's outcome first: this console's form closes, the
/// wrap-up goes, and the agent reads what stands, in red.
#[test]
fn an_outcome_saved_from_another_console_closes_this_wrap_up() {
    let mut app = app_with_queue(true, 2);
    update(&mut app, Action::CallPlaced { call: call(14, 0, "manual", CallStatus::Initiated), kind: CallKind::Manual });
    update(&mut app, key(KeyCode::Char('e')));
    update(&mut app, key(KeyCode::Char('m')));
    update(&mut app, key(KeyCode::Enter));
    assert!(app.form().is_some_and(|f| f.saving));
    let mut saved: CallLog = call(14, 0, "manual", CallStatus::Completed);
    saved.feedback = Some("Busy Right Now".into());
    update(&mut app, Action::FeedbackAlreadySaved(Box::new(saved)));
    assert!(app.form().is_none(), "the form closes");
    assert!(app.wrapups.iter().all(|(c, _)| c.id != 14), "nothing owed for that call");
    let n = app.notice.as_ref().expect("told");
    assert_eq!(n.level, Level::Error);
    assert!(
        n.text.contains("Saved elsewhere meanwhile: \"Busy Right Now\" stands")
            && n.text.contains("your pick \"Interview Fixed\" was not saved"),
        "{}",
        n.text
    );
}

#[test]
fn a_call_of_mine_placed_elsewhere_shows_as_live_at_once_and_never_hides_my_own() {
    let mut app = app_with_queue(true, 2);
    assert!(app.live.is_none());
    // Placed for this agent by another of their consoles (or the old app through the API): its
    // first webhook reaches this console through the feed.
    let fx = update(&mut app, webhook(call(40, 7, "telecmi", CallStatus::Ringing)));
    assert_eq!(app.live.as_ref().map(|l| (l.call.id, l.kind)), Some((40, CallKind::Telecmi)), "shown at once");
    assert!(fx.contains(&Effect::LoadTimeline(40)) && fx.contains(&Effect::LoadFacts(40)), "{fx:?}");
    update(&mut app, webhook(call(40, 7, "telecmi", CallStatus::Connected)));
    assert_eq!(app.live.as_ref().and_then(|l| l.call.status.clone()).as_deref(), Some("connected"));
    // It ends: its wrap-up opens here as for a call placed here.
    update(&mut app, webhook(call(40, 7, "telecmi", CallStatus::Completed)));
    assert_eq!(app.form().map(|f| f.call.id), Some(40));

    // Another agent's call is not this one's.
    let mut app = app_with_queue(true, 2);
    let mut theirs = call(41, 1, "telecmi", CallStatus::Ringing);
    theirs.caller_id = Some(9);
    update(&mut app, webhook(theirs));
    assert!(app.live.is_none(), "another agent's call");
    // A call that already ended is not shown as live (its wrap-up opens instead).
    update(&mut app, webhook(call(42, 1, "telecmi", CallStatus::Missed)));
    assert!(app.live.is_none(), "an ended call is not live");

    // A call left live for hours (abandoned; a late event revived it) is not adopted, as the
    // refresh would not.
    let mut stale = call(45, 1, "telecmi", CallStatus::Ringing);
    stale.created_at = now() - Duration::hours(3);
    update(&mut app, webhook(stale));
    assert!(app.live.is_none(), "an abandoned call");

    // A call this console placed and still shows stays on screen whatever else rings.
    let mut app = app_with_queue(true, 2);
    update(
        &mut app,
        Action::CallPlaced { call: call(43, 0, "telecmi", CallStatus::Initiated), kind: CallKind::Telecmi },
    );
    update(&mut app, webhook(call(44, 1, "telecmi", CallStatus::Ringing)));
    assert_eq!(app.live.as_ref().map(|l| l.call.id), Some(43), "this console's own call stays");

    // While this console dials, neither its dialer's early announcement of the row nor a fast
    // webhook takes the live pane: the dial's outcome does (here: not confirmed by TeleCMI, so
    // `e` keeps refusing a wrap-up for a call that may still ring).
    let mut app = app_with_queue(true, 2);
    update(&mut app, key(KeyCode::Enter));
    update(&mut app, key(KeyCode::Char('t')));
    assert!(app.dialing);
    let mut early = webhook(call(46, 0, "telecmi", CallStatus::Initiated));
    if let Action::CallUpdated(u) = &mut early {
        u.source = Source::Dial;
    }
    update(&mut app, early);
    update(&mut app, webhook(call(46, 0, "telecmi", CallStatus::Ringing)));
    assert!(app.live.is_none(), "the dial decides");
    update(
        &mut app,
        Action::DialUnconfirmed { message: "TeleCMI did not answer".into(), call: unconfirmed_call(46, 0) },
    );
    update(&mut app, key(KeyCode::Char('e')));
    assert!(app.form().is_none(), "no wrap-up for a call that may still ring");

    // With a dialog or form open, the refresh's rule: it waits until that is closed, and shows at
    // the next tick (not only at the call's next webhook), as it is then.
    let mut app = app_with_queue(true, 2);
    update(&mut app, key(KeyCode::Enter));
    assert!(app.modal.is_some());
    update(&mut app, webhook(call(47, 1, "telecmi", CallStatus::Ringing)));
    update(&mut app, webhook(call(47, 1, "telecmi", CallStatus::Connected)));
    update(&mut app, Action::Tick(now() + Duration::seconds(1)));
    assert!(app.live.is_none(), "not under an open dialog");
    update(&mut app, key(KeyCode::Esc));
    let fx = update(&mut app, Action::Tick(now() + Duration::seconds(2)));
    assert_eq!(app.live.as_ref().and_then(|l| l.call.status.clone()).as_deref(), Some("connected"));
    assert!(fx.contains(&Effect::LoadTimeline(47)), "{fx:?}");
    // One that ended while the dialog was open is not shown as live afterwards.
    let mut app = app_with_queue(true, 2);
    update(&mut app, key(KeyCode::Enter));
    update(&mut app, webhook(call(48, 1, "telecmi", CallStatus::Ringing)));
    update(&mut app, webhook(call(48, 1, "telecmi", CallStatus::Missed)));
    update(&mut app, key(KeyCode::Esc));
    update(&mut app, Action::Tick(now() + Duration::seconds(2)));
    assert!(app.live.is_none(), "it ended meanwhile");
}

/// A read that failed while the database was away says so until a later read lands: the ✗ line
/// goes by itself once the database is back. A failed write's line is not cleared by a read.
#[test]
fn a_failed_reads_line_goes_when_a_read_lands() {
    let mut app = app_with_queue(true, 3);
    update(&mut app, Action::StoreFailed("Could not re-read your calls: the database is not answering".into()));
    assert_eq!(app.notice.as_ref().map(|n| n.level), Some(Level::Error));
    update(&mut app, Action::StatsLoaded(Box::default()));
    assert_eq!(app.notice, None, "the database answered: the line is stale");

    update(&mut app, Action::WriteFailed("Could not store your break state: the database is not answering".into()));
    update(&mut app, Action::StatsLoaded(Box::default()));
    assert!(app.notice.as_ref().is_some_and(|n| n.text.contains("break state")), "a write's failure stays");
}
