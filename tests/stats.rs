//! Numbers that mean something: the seed's monitoring figures kept as its SQL defines them, plus
//! connect rate, conversion rate and average talk — on both backends, then as drawn in the agent's
//! stats view and the supervisor's screen.

mod common;

use chrono::{Duration, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use calldesk::console::state::{App, Screen};
use calldesk::domain::{CallStatus, Driver, FeedbackCatalog, Provider, Role};
use calldesk::store::{Caller, NewCall, Stats, StatsBundle, Store, SubmitFeedback};
use calldesk::supervise::snapshot::{AgentRow, AgentState, Snapshot};
use calldesk::supervise::state::SuperView;
use common::each_backend;
use common::fixtures::{self, call, identity, ist, now};

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).single().expect("time")
}

/// The day from the issue: two positive outcomes and one "Not Interested" among three connected
/// calls, three missed TeleCMI calls, a manual call logged as missed after 8 s of ringing, and one
/// call that failed to start (never rang the driver: counted apart) — plus, yesterday, one
/// connected call.
async fn a_day_of_calls(s: &Store) {
    let drivers: Vec<Driver> = (1..=12)
        .map(|i| {
            fixtures::driver(&format!("D{i:02}"), &format!("Driver {i:02}"), &format!("9198765432{i:02}"), Some(3))
        })
        .collect();
    fixtures::seed(s, &[(3, "Pooja")], &drivers, t0()).await;
    let catalog = FeedbackCatalog::default();
    let yesterday = t0() - Duration::days(1);
    // (when, how, status saved (None: failed to start), outcome, seconds)
    let plan = [
        (t0(), Provider::Telecmi, Some(CallStatus::Completed), "Not Interested", 120),
        (t0(), Provider::Telecmi, Some(CallStatus::Completed), "Interview Fixed", 60),
        (t0(), Provider::Manual, Some(CallStatus::Completed), "Agree for Subscription (Today)", 30),
        (t0(), Provider::Manual, Some(CallStatus::Missed), "Ringing / Call Busy", 8),
        (t0(), Provider::Telecmi, Some(CallStatus::Missed), "Ringing / Call Busy", 0),
        (t0(), Provider::Telecmi, Some(CallStatus::Missed), "Switched Off / Not Reachable / Disconnected", 0),
        (t0(), Provider::Telecmi, Some(CallStatus::Missed), "Ringing / Call Busy", 0),
        (t0(), Provider::Telecmi, None, "", 0),
        (yesterday, Provider::Telecmi, Some(CallStatus::Completed), "Ready for Interview", 100),
    ];
    for (i, (at, provider, status, feedback, secs)) in plan.into_iter().enumerate() {
        let d = s.driver(&format!("D{:02}", i + 1)).await.expect("get").expect("driver");
        let c = s.start_call(&fixtures::call_to(&d, 3, provider), at).await.expect("start");
        match status {
            None => {
                s.mark_failed(c.id, "refused").await.expect("fail");
            }
            Some(status) => {
                let f = SubmitFeedback {
                    call_id: c.id,
                    status: Some(status),
                    feedback: feedback.into(),
                    call_duration: Some(secs),
                    ..Default::default()
                };
                s.submit_feedback(&f, &catalog, at).await.expect("submit");
            }
        }
    }
}

async fn today(s: &Store) -> Stats {
    s.stats(Some(3), t0() - Duration::hours(1), t0() + Duration::hours(1)).await.expect("stats")
}

#[tokio::test]
async fn the_seeds_figures_stay_as_its_sql_defines_them() {
    each_backend(|db| async move {
        let s = &db.store;
        a_day_of_calls(s).await;
        let t = today(s).await;
        // SELECT status, COUNT(*), AVG(call_duration) … GROUP BY status
        let mut by_status: Vec<(&str, i64)> = t.by_status.iter().map(|r| (r.status.as_str(), r.count)).collect();
        by_status.sort();
        assert_eq!(by_status, [("completed", 3), ("missed", 4)], "the call that failed to start is no call");
        assert_eq!((t.total, t.not_placed), (7, 1));
        let completed = t.by_status.iter().find(|r| r.status == "completed").expect("completed");
        assert_eq!(completed.avg_duration, Some(70.0));
        assert_eq!(t.avg_duration, Some(218.0 / 7.0), "AVG(call_duration) over every call");
        // DATE(created_at), COUNT(*), SUM(status = 'completed'), SUM(status = 'failed'), AVG(call_duration)
        let days =
            s.daily_stats(Some(3), &calldesk::domain::hours::local_days(t0(), chrono_tz::UTC, 8)).await.expect("daily");
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].total_calls, days[0].completed, days[0].failed, days[0].not_placed), (7, 3, 0, 1));
        let avg = days[0].avg_duration.expect("an average");
        assert!((avg - 218.0 / 7.0).abs() < 1e-6, "{avg}: MariaDB's AVG keeps 9 decimals");
        assert_eq!((days[1].total_calls, days[1].completed, days[1].failed), (1, 1, 0));
    })
    .await;
}

#[tokio::test]
async fn missed_calls_are_counted_as_missed() {
    each_backend(|db| async move {
        let s = &db.store;
        a_day_of_calls(s).await;
        let t = today(s).await;
        assert_eq!((t.count(CallStatus::Missed), t.count(CallStatus::Failed), t.not_placed), (4, 0, 1));
        let days =
            s.daily_stats(Some(3), &calldesk::domain::hours::local_days(t0(), chrono_tz::UTC, 8)).await.expect("daily");
        assert_eq!((days[0].missed, days[0].failed, days[0].not_placed), (4, 0, 1), "four missed calls are missed");
        assert_eq!(days[1].missed, 0);
    })
    .await;
}

#[tokio::test]
async fn average_talk_is_over_connected_calls_with_a_duration() {
    each_backend(|db| async move {
        let s = &db.store;
        a_day_of_calls(s).await;
        let t = today(s).await;
        // 120 + 60 + 30 over 3 talks: the missed manual call's 8 s of ringing is not talk.
        assert_eq!((t.talks, t.avg_talk), (3, Some(70.0)));
        let days =
            s.daily_stats(Some(3), &calldesk::domain::hours::local_days(t0(), chrono_tz::UTC, 8)).await.expect("daily");
        assert_eq!((days[0].talks, days[0].avg_talk), (3, Some(70.0)));
        assert_eq!((days[1].talks, days[1].avg_talk), (1, Some(100.0)));
        let nobody = s.stats(Some(3), t0() + Duration::days(2), t0() + Duration::days(3)).await.expect("stats");
        assert_eq!((nobody.talks, nobody.avg_talk, nobody.connect_rate()), (0, None, None));
    })
    .await;
}

#[tokio::test]
async fn connect_rate_is_not_a_success_and_conversion_counts_positive_outcomes() {
    each_backend(|db| async move {
        let s = &db.store;
        a_day_of_calls(s).await;
        let catalog = FeedbackCatalog::default();
        let t = today(s).await;
        // Connect rate: completed ÷ calls (what the old system called success).
        assert_eq!(t.connect_rate(), Some(3.0 * 100.0 / 7.0));
        // Conversion: positive outcomes ÷ connected calls. "Not Interested" is not a success.
        assert_eq!(t.positive(&catalog), 2);
        assert_eq!(t.conversion_rate(&catalog), Some(2.0 * 100.0 / 3.0));
        let days =
            s.daily_stats(Some(3), &calldesk::domain::hours::local_days(t0(), chrono_tz::UTC, 8)).await.expect("daily");
        assert_eq!(days[0].connect_rate(), 3.0 * 100.0 / 7.0);
        assert_eq!(days[0].conversion_rate(&catalog), Some(2.0 * 100.0 / 3.0));
        assert_eq!(days[1].conversion_rate(&catalog), Some(100.0), "Ready for Interview is positive");
        // The positive outcomes are data.
        let strict = FeedbackCatalog::default().with_positive(["Interview Fixed"]);
        assert_eq!(t.conversion_rate(&strict), Some(100.0 / 3.0));
        assert_eq!(days[1].conversion_rate(&strict), Some(0.0));
    })
    .await;
}

async fn bundle() -> StatsBundle {
    let db = common::sqlite_db().await;
    a_day_of_calls(&db.store).await;
    let s = &db.store;
    StatsBundle {
        today: today(s).await,
        week: s.stats(Some(3), t0() - Duration::days(6), t0() + Duration::hours(1)).await.expect("week"),
        days: s
            .daily_stats(Some(3), &calldesk::domain::hours::local_days(t0(), chrono_tz::UTC, 7))
            .await
            .expect("daily"),
    }
}

#[tokio::test]
async fn the_stats_view_names_each_figure() {
    let mut app = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    app.screen = Screen::Stats;
    app.stats = Some(bundle().await);
    for (w, h) in [(120, 30), (80, 24)] {
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        t.draw(|f| calldesk::console::views::render(&app, f)).expect("draw");
        let screen = t.backend().to_string();
        for want in ["missed 4", "failed 0", "+ 1 not placed", "connect rate 43%", "conversion 67%", "avg talk 1m 10s"]
        {
            assert!(screen.contains(want), "{w}×{h} lacks {want:?}:\n{screen}");
        }
        assert!(!screen.to_lowercase().contains("success"), "{w}×{h}:\n{screen}");
        insta::assert_snapshot!(format!("stats_view_{w}x{h}"), screen);
    }
}

#[tokio::test]
async fn the_supervisor_shows_wrap_up_and_units() {
    let agent = |id, name: &str, state, secs, current| AgentRow {
        caller: Caller { id, name: name.into(), role: "agent".into() },
        state,
        since: Some(now() - Duration::seconds(secs)),
        current,
        due: 3,
        callbacks_due: 1,
        queued: 9,
        break_reason: None,
        break_secs: 0,
    };
    let live = call(31, 4, "telecmi", CallStatus::Connected);
    let ended = call(30, 2, "manual", CallStatus::Completed);
    let v = SuperView {
        snapshot: Snapshot {
            agents: vec![
                agent(3, "Pooja", AgentState::OnCall, 125, Some(live.clone())),
                agent(4, "Ravi", AgentState::WrapUp, 72, Some(ended)),
                agent(5, "Sana", AgentState::Idle, 4000, None),
            ],
            live: vec![live],
            stats: bundle().await,
            taken_at: Some(now()),
            ..Snapshot::default()
        },
        ..SuperView::new(now(), ist(), "mysql db:3306/calldesk".into(), "Meera (9)".into())
    };
    let mut t = Terminal::new(TestBackend::new(120, 28)).expect("terminal");
    t.draw(|f| calldesk::supervise::view::render(&v, f)).expect("draw");
    let screen = t.backend().to_string();
    for want in ["wrap-up", "1m 12s", "2m 05s", "1h 06m", "avg talk 1m 10s", "connect rate 43%", "conversion 67%"] {
        assert!(screen.contains(want), "lacks {want:?}:\n{screen}");
    }
    assert!(!screen.to_lowercase().contains("success"), "{screen}");
    insta::assert_snapshot!("supervisor_numbers", screen);
}

/// Calls are counted on the team's days: the same calls fall on other days in London (where 25 Oct
/// 2026 is 25 hours long) than in Kolkata, on both backends.
#[tokio::test]
async fn days_are_the_teams_days_even_across_a_clock_change() {
    each_backend(|db| async move {
        let s = &db.store;
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).expect("time").with_timezone(&Utc);
        s.add_caller(3, "Pooja", Role::Agent, at("2026-10-20T00:00:00Z")).await.expect("caller");
        let times = ["2026-10-24T23:30:00Z", "2026-10-25T23:30:00Z", "2026-10-26T00:10:00Z"];
        for (i, t) in times.iter().enumerate() {
            let d = fixtures::driver(&format!("L{i}"), &format!("Driver L{i}"), &format!("9198000000{i:02}"), Some(3));
            s.import_drivers(std::slice::from_ref(&d), at("2026-10-20T00:00:00Z")).await.expect("import");
            let new = NewCall { min_gap: Duration::seconds(0), ..fixtures::manual_call(&d, 3) };
            s.start_call(&new, at(t)).await.expect("call");
        }
        let now = at("2026-10-26T12:00:00Z");
        let per_day = |days: Vec<calldesk::store::DayStats>| {
            days.into_iter().map(|d| (d.date.to_string(), d.total_calls)).collect::<Vec<_>>()
        };
        // London: 00:30 BST on the 25th, 23:30 GMT on the 25th, 00:10 GMT on the 26th.
        let london = calldesk::domain::hours::local_days(now, chrono_tz::Europe::London, 3);
        assert_eq!(
            per_day(s.daily_stats(Some(3), &london).await.expect("daily")),
            [("2026-10-26".to_string(), 1), ("2026-10-25".to_string(), 2)]
        );
        // Kolkata: 05:00 on the 25th, 05:00 and 05:40 on the 26th.
        let kolkata = calldesk::domain::hours::local_days(now, chrono_tz::Asia::Kolkata, 3);
        assert_eq!(
            per_day(s.daily_stats(Some(3), &kolkata).await.expect("daily")),
            [("2026-10-26".to_string(), 2), ("2026-10-25".to_string(), 1)]
        );
    })
    .await;
}
