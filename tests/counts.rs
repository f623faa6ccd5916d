//! Counts that say what happened. A call that never rang the driver (the agent's own phone was
//! not answered, TeleCMI refused the dial, the agent marked it not placed, or its outcome says the
//! driver was not called) is no driver call — not in "calls", the connect rate or the talk time,
//! anywhere — and is counted apart: on both backends, then as drawn. And one of anything is
//! singular wherever a count is printed.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use calldesk::console::state::{App, Screen};
use calldesk::domain::feedback::NOT_CALLED;
use calldesk::domain::wrapup::CallEnd;
use calldesk::domain::{CallLog, CallStatus, Driver, FeedbackCatalog, Leg, Provider, ProviderEvent, Signal};
use calldesk::store::{NewCall, Stats, StatsBundle, Store, SubmitFeedback};
use common::each_backend;
use common::fixtures::{self, identity, ist, now};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).single().expect("time")
}

async fn dial(s: &Store, driver: usize, provider: Provider, at: DateTime<Utc>) -> CallLog {
    let d = s.driver(&format!("N{driver:02}")).await.expect("get").expect("driver");
    let new = NewCall { min_gap: Duration::seconds(0), ..fixtures::call_to(&d, 3, provider) };
    s.start_call(&new, at).await.expect("start")
}

/// One TeleCMI report on a leg, as the listener stores it.
async fn report(s: &Store, call: i64, leg: Leg, kind: &str, word: &str, signal: Signal, at: DateTime<Utc>) {
    let ev = ProviderEvent {
        dedup_key: format!("{call}-{}-{kind}-{word}", leg.as_str()),
        call_log_id: Some(call),
        request_id: None,
        telecmi_user: None,
        number: None,
        kind: kind.into(),
        leg,
        provider_status: word.into(),
        signal: Some(signal),
        duration: (kind == "cdr" && leg == Leg::B && word == "answered").then_some(45),
        recording: None,
        payload: "{}".into(),
    };
    s.apply_event(&ev, at).await.expect("event");
}

/// Leg A rang the agent's phone, nobody picked up: the driver was never rung.
async fn agent_missed(s: &Store, call: i64, at: DateTime<Utc>) {
    report(s, call, Leg::A, "event", "started", Signal::Started, at).await;
    report(s, call, Leg::A, "event", "hangup", Signal::Hangup, at).await;
    report(s, call, Leg::A, "cdr", "missed", Signal::Report { answered: false }, at).await;
}

async fn save(s: &Store, call: i64, status: Option<CallStatus>, feedback: &str, remarks: &str, secs: Option<i64>) {
    let f = SubmitFeedback {
        call_id: call,
        status,
        feedback: feedback.into(),
        remarks: remarks.into(),
        call_duration: secs,
    };
    s.submit_feedback(&f, &FeedbackCatalog::default(), t0()).await.expect("submit");
}

fn tag(end: CallEnd) -> &'static str {
    end.tag().expect("a tag")
}

/// Twelve calls at `at`: five rang the driver (two connected, two missed, one closed at the call
/// ceiling after a talk), seven never did — and, the day before, one of each.
async fn calls_placed_and_not(s: &Store, at: DateTime<Utc>) {
    let drivers: Vec<Driver> = (1..=14)
        .map(|i| {
            fixtures::driver(&format!("N{i:02}"), &format!("Driver N{i:02}"), &format!("9198700000{i:02}"), Some(3))
        })
        .collect();
    fixtures::seed(s, &[(3, "Pooja")], &drivers, at - Duration::days(2)).await;
    let (telecmi, manual) = (Provider::Telecmi, Provider::Manual);
    let busy = "Ringing / Call Busy";

    // Rang the driver.
    let c = dial(s, 1, telecmi, at).await;
    save(s, c.id, Some(CallStatus::Completed), "Interview Fixed", "", Some(60)).await;
    let c = dial(s, 2, telecmi, at).await;
    save(s, c.id, Some(CallStatus::Missed), busy, "", None).await;
    let c = dial(s, 3, telecmi, at).await;
    report(s, c.id, Leg::A, "event", "answered", Signal::Answered, at).await;
    report(s, c.id, Leg::B, "event", "answered", Signal::Answered, at).await;
    let ceiling = calldesk::coord::reconcile::ceiling_reason(Duration::hours(4));
    s.close_provisionally(c.id, &ceiling, at).await.expect("ceiling").expect("closed");
    save(s, c.id, None, "Interview Fixed", "talked, the line dropped", None).await;
    let c = dial(s, 4, telecmi, at).await;
    report(s, c.id, Leg::A, "event", "answered", Signal::Answered, at).await;
    report(s, c.id, Leg::B, "event", "started", Signal::Started, at).await;
    report(s, c.id, Leg::B, "cdr", "missed", Signal::Report { answered: false }, at).await;
    // Saved as the agent's phone not answered, then leg B's report proves the driver talked.
    let c = dial(s, 5, telecmi, at).await;
    agent_missed(s, c.id, at).await;
    save(s, c.id, None, NOT_CALLED, tag(CallEnd::AgentMissed), None).await;
    report(s, c.id, Leg::B, "cdr", "answered", Signal::Report { answered: true }, at).await;

    // Never rang the driver.
    let c = dial(s, 6, telecmi, at).await;
    agent_missed(s, c.id, at).await;
    save(s, c.id, None, NOT_CALLED, tag(CallEnd::AgentMissed), None).await;
    let c = dial(s, 7, telecmi, at).await;
    agent_missed(s, c.id, at).await;
    save(s, c.id, None, busy, &format!("{} rang twice", tag(CallEnd::AgentMissed)), None).await;
    let c = dial(s, 8, telecmi, at).await;
    agent_missed(s, c.id, at).await; // its wrap-up still waits
    let c = dial(s, 9, telecmi, at).await;
    s.mark_failed(c.id, "TeleCMI refused the call: invalid agent").await.expect("refused");
    let c = dial(s, 10, telecmi, at).await;
    s.mark_failed(c.id, "TeleCMI refused the call: invalid agent").await.expect("refused");
    save(s, c.id, None, NOT_CALLED, tag(CallEnd::NotPlaced), None).await;
    let c = dial(s, 11, telecmi, at).await;
    s.mark_unconfirmed(c.id, calldesk::domain::UNCONFIRMED_REMARK, at).await.expect("unconfirmed");
    let marked = s.mark_not_placed(c.id, 3, calldesk::coord::dialer::NOT_PLACED_REMARK, at).await.expect("mark");
    assert!(marked.is_some(), "marked not placed");
    let c = dial(s, 12, manual, at).await;
    save(s, c.id, Some(CallStatus::Missed), NOT_CALLED, "my phone was off", Some(8)).await;

    // The day before: one call that rang the driver, one TeleCMI refused.
    let c = dial(s, 13, telecmi, at - Duration::days(1)).await;
    save(s, c.id, Some(CallStatus::Completed), "Ready for Interview", "", Some(100)).await;
    let c = dial(s, 14, telecmi, at - Duration::days(1)).await;
    s.mark_failed(c.id, "TeleCMI refused the call").await.expect("refused");
}

async fn today(s: &Store) -> Stats {
    s.stats(Some(3), t0() - Duration::hours(1), t0() + Duration::hours(1)).await.expect("stats")
}

fn by_status(t: &Stats) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = t.by_status.iter().map(|r| (r.status.clone(), r.count)).collect();
    v.sort();
    v
}

#[tokio::test]
async fn calls_that_never_rang_the_driver_are_not_calls() {
    each_backend(|db| async move {
        let s = &db.store;
        calls_placed_and_not(s, t0()).await;
        let t = today(s).await;
        assert_eq!((t.total, t.not_placed), (5, 7), "{:?}", t.by_status);
        let want: Vec<(String, i64)> =
            [("completed", 2), ("failed", 1), ("missed", 2)].into_iter().map(|(s, n)| (s.to_string(), n)).collect();
        assert_eq!(by_status(&t), want, "the statuses of the driver calls only");
        assert_eq!(t.connect_rate(), Some(40.0), "2 connected of 5 calls");
        assert_eq!((t.talks, t.avg_talk), (2, Some(52.5)), "60 s and 45 s");
        assert_eq!(t.avg_duration, Some(105.0 / 5.0), "the manual call never placed (8 s) is not in it");
        assert!(t.by_feedback.iter().all(|f| f.feedback != "Ringing / Call Busy" || f.count == 1), "{t:?}");
        let days = s.daily_stats(Some(3), &calldesk::domain::hours::local_days(t0(), chrono_tz::UTC, 8)).await;
        let days = days.expect("daily");
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].total_calls, days[0].completed, days[0].missed, days[0].failed), (5, 2, 2, 1));
        assert_eq!(days[0].connect_rate(), 40.0);
        assert_eq!((days[0].talks, days[0].avg_talk), (2, Some(52.5)));
        assert_eq!((days[1].total_calls, days[1].completed, days[1].failed), (1, 1, 0));
        assert_eq!((days[0].not_placed, days[1].not_placed), (7, 1));
        assert_eq!(days[1].connect_rate(), 100.0);
    })
    .await;
}

#[tokio::test]
async fn the_agents_progress_and_the_supervisors_numbers_count_driver_calls() {
    each_backend(|db| async move {
        let s = &db.store;
        let at = Utc::now();
        calls_placed_and_not(s, at).await;
        let p = calldesk::console::effects::load_progress(s, 3, ist(), &FeedbackCatalog::default())
            .await
            .expect("progress");
        assert_eq!((p.calls, p.connected, p.positive, p.not_placed), (5, 2, 1, 7), "{p:?}");
        let team = s.stats_bundle(None, ist(), Utc::now()).await.expect("team");
        assert_eq!((team.today.total, team.today.connected(), team.today.not_placed), (5, 2, 7));
        assert_eq!(team.today.connect_rate(), Some(40.0));
    })
    .await;
}

async fn bundle() -> StatsBundle {
    let db = common::sqlite_db().await;
    let s = &db.store;
    calls_placed_and_not(s, t0()).await;
    StatsBundle {
        today: today(s).await,
        week: s.stats(Some(3), t0() - Duration::days(6), t0() + Duration::hours(1)).await.expect("week"),
        days: s
            .daily_stats(Some(3), &calldesk::domain::hours::local_days(t0(), chrono_tz::UTC, 7))
            .await
            .expect("daily"),
    }
}

fn draw(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| calldesk::console::views::render(app, f)).expect("draw");
    t.backend().to_string()
}

#[tokio::test]
async fn the_stats_view_counts_driver_calls_and_shows_the_rest_apart() {
    let mut app = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    app.screen = Screen::Stats;
    let stats = bundle().await;
    app.progress = Some(calldesk::console::state::Progress {
        calls: stats.today.total,
        connected: stats.today.connected(),
        positive: stats.today.positive(&app.catalog),
        target: Some(10),
        not_placed: stats.today.not_placed,
    });
    app.stats = Some(stats);
    for (w, h) in [(120, 30), (80, 24)] {
        let screen = draw(&app, w, h);
        for want in [
            "5 calls",
            "connect rate 40%",
            "over 2 talks",
            "+ 7 not placed",
            "5 calls · 2 conn · 7 not placed",
            "Today: 5 calls · 2 connected · 7 not placed · 1 positive",
        ] {
            assert!(screen.contains(want), "{w}×{h} lacks {want:?}:\n{screen}");
        }
        insta::assert_snapshot!(format!("stats_not_placed_{w}x{h}"), screen);
    }
}

/// One of anything is singular wherever a count is printed: the status bar, the stats view, the
/// call log's title and the driver card.
#[test]
fn one_call_is_one_call() {
    use calldesk::console::state::{CardView, Modal, Progress};
    use common::fixtures::call;
    let mut app = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    app.progress = Some(Progress { calls: 1, connected: 1, positive: 0, target: Some(10), not_placed: 0 });
    let one = Stats { total: 1, talks: 1, avg_duration: Some(60.0), avg_talk: Some(60.0), ..Stats::default() };
    app.stats = Some(StatsBundle { today: one.clone(), week: one, days: vec![] });
    app.call_log.total = 1;
    let mut screens = Vec::new();
    for screen in [Screen::Queue, Screen::Stats, Screen::CallLog] {
        app.screen = screen;
        screens.push(draw(&app, 120, 30));
    }
    app.modal = Some(Modal::Card(Box::new(CardView {
        driver_id: "D1".into(),
        hit: None,
        calls: vec![call(10, 1, "telecmi", CallStatus::Completed)],
        recorded: Default::default(),
        loading: false,
        scroll: 0,
        focus_call: None,
    })));
    screens.push(draw(&app, 120, 30));
    let all = screens.join("\n");
    for want in ["1 call ·", "Today: 1 call ·", "over 1 talk", "over 1 call", "· 1 call ·", "1 call, newest first"]
    {
        assert!(all.contains(want), "lacks {want:?}:\n{all}");
    }
    for wrong in ["1 calls", "1 talks", "call(s)"] {
        assert!(!all.contains(wrong), "{wrong:?}:\n{all}");
    }
}

fn status_bar(screen: &str) -> &str {
    screen.lines().rev().nth(2).unwrap_or_default()
}

/// The status bar says how many calls never rang the driver, beside today's calls, which leave
/// them out; the narrow form keeps the target.
#[test]
fn the_status_bar_shows_calls_never_placed_apart() {
    use calldesk::console::state::Progress;
    let mut app = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    app.progress = Some(Progress { calls: 1, connected: 1, positive: 0, target: Some(10), not_placed: 2 });
    let wide = draw(&app, 120, 24);
    assert!(status_bar(&wide).contains("1 call · 1 conn · 2 not placed · 0/10 ✓"), "{wide}");
    insta::assert_snapshot!("status_bar_not_placed_120", status_bar(&wide));
    let narrow = draw(&app, 70, 24);
    assert!(status_bar(&narrow).contains("0/10 ✓"), "{narrow}");
    insta::assert_snapshot!("status_bar_not_placed_70", status_bar(&narrow));
}

#[tokio::test]
async fn an_outcome_saved_through_the_old_api_leaves_a_call_never_placed_apart() {
    common::each_backend(|db| async move {
        let s = db.store.clone();
        let at = t0();
        let d = fixtures::driver("N01", "Driver N01", "919870000001", Some(3));
        fixtures::seed(&s, &[(3, "Pooja")], &[d], at - Duration::days(2)).await;
        let c = dial(&s, 1, Provider::Telecmi, at).await;
        agent_missed(&s, c.id, at).await;
        let before = today(&s).await;
        assert_eq!((before.total, before.not_placed), (0, 1), "before the save");
        save(&s, c.id, Some(CallStatus::Missed), "Ringing / Call Busy", "no answer", None).await;
        let after = today(&s).await;
        assert_eq!((after.total, after.not_placed), (0, 1), "the same call after an outcome came through the API");
    })
    .await;
}

/// The console's wrap-up of that call after the API wrote remarks: the tag lands after them.
#[tokio::test]
async fn a_tag_after_remarks_saved_elsewhere_still_counts_the_call_apart() {
    common::each_backend(|db| async move {
        let s = db.store.clone();
        let at = t0();
        let d = fixtures::driver("N01", "Driver N01", "919870000001", Some(3));
        fixtures::seed(&s, &[(3, "Pooja")], &[d], at - Duration::days(2)).await;
        let c = dial(&s, 1, Provider::Telecmi, at).await;
        agent_missed(&s, c.id, at).await;
        save(&s, c.id, None, "Call in Evening", "from the app", None).await;
        s.add_remarks(c.id, 3, &format!("{} rang twice", tag(CallEnd::AgentMissed))).await.expect("add");
        let call = s.call(c.id).await.expect("c").expect("call");
        assert!(call.remarks.as_deref().unwrap_or("").contains(tag(CallEnd::AgentMissed)), "{:?}", call.remarks);
        let t = today(&s).await;
        assert_eq!((t.total, t.not_placed), (0, 1), "remarks {:?}", call.remarks);
    })
    .await;
}
