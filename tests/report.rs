//! The managers' report (`calldesk report`) and the per-agent numbers under it, on SQLite and
//! MariaDB: the day is the team's, per-agent stats equal each agent's own, outcomes by group.

mod common;

use chrono::{Duration, TimeZone, Utc};

use calldesk::commands::report::{ReportFormat, write};
use calldesk::domain::{FeedbackCatalog, Presence, Role};
use calldesk::store::{NewCall, SubmitFeedback};
use common::{each_backend, fixtures};

#[tokio::test]
async fn each_agents_day_in_the_teams_zone() {
    each_backend(|db| async move {
        let s = &db.store;
        let zone = chrono_tz::Asia::Kolkata;
        // 2026-12-04 in Kolkata: 18:30 UTC on the 3rd to 18:30 UTC on the 4th.
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).expect("date");
        let noon = zone.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap().with_timezone(&Utc);
        let ds = fixtures::drivers(1..=5, 3);
        fixtures::seed(s, &[(3, "Pooja"), (4, "Ravi")], &ds, noon - Duration::days(2)).await;
        s.add_caller(9, "Meera", Role::Supervisor, noon).await.expect("supervisor");
        s.set_daily_target(3, 5).await.expect("target");
        let owned = FeedbackCatalog::default();
        let catalog = &owned;
        let ds = &ds;
        let placed = |i: usize, at, status: &'static str, feedback: &'static str, secs| {
            let d = ds[i].clone();
            async move {
                let new = NewCall { min_gap: Duration::zero(), ..fixtures::manual_call(&d, 3) };
                let id = s.start_call(&new, at).await.expect("call").id;
                let f = SubmitFeedback {
                    call_id: id,
                    status: Some(status.parse().expect("status")),
                    feedback: feedback.into(),
                    remarks: String::new(),
                    call_duration: Some(secs),
                };
                s.submit_feedback(&f, catalog, at).await.expect("outcome");
            }
        };
        placed(0, noon, "completed", "Interview Fixed", 120).await;
        placed(1, noon + Duration::minutes(5), "completed", "Not Interested", 60).await;
        placed(2, noon + Duration::minutes(9), "missed", "Ringing / Call Busy", 0).await;
        // 23:50 in Kolkata on the 4th is that day; 00:10 on the 5th is not.
        placed(
            3,
            zone.with_ymd_and_hms(2026, 12, 4, 23, 50, 0).unwrap().with_timezone(&Utc),
            "completed",
            "Busy Right Now",
            30,
        )
        .await;
        placed(
            4,
            zone.with_ymd_and_hms(2026, 12, 5, 0, 10, 0).unwrap().with_timezone(&Utc),
            "completed",
            "Interview Fixed",
            30,
        )
        .await;
        s.set_presence(3, &Presence::Break("lunch".into()), noon + Duration::hours(1)).await.expect("break");
        s.set_presence(3, &Presence::Ready, noon + Duration::hours(1) + Duration::minutes(20)).await.expect("ready");

        // Per caller at once equals each caller's own.
        let (from, until) = (noon - Duration::hours(12), noon + Duration::hours(12));
        let by = s.stats_by_caller(from, until).await.expect("by caller");
        assert_eq!(by.get(&3), Some(&s.stats(Some(3), from, until).await.expect("stats")));
        assert!(!by.contains_key(&4), "Ravi made no call");

        let mut out = Vec::new();
        let n = write(s, day, zone, catalog, ReportFormat::Csv, &mut out).await.expect("report");
        assert_eq!(n, 2, "every agent, the supervisor not");
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "day,agent_id,agent,calls,connected,connect_rate_pct,positive,target,talk_secs,break_secs,not_placed,\
             Connected,Not Connected,Call Back Later,Do Not Call,Other"
        );
        assert_eq!(lines[1], "2026-12-04,3,Pooja,4,3,75.0,1,5,210,1200,0,2,1,1,0,0");
        assert_eq!(lines[2], "2026-12-04,4,Ravi,0,0,,0,,0,0,0,0,0,0,0,0");

        let mut out = Vec::new();
        write(s, day, zone, catalog, ReportFormat::Json, &mut out).await.expect("report");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["zone"], "Asia/Kolkata");
        assert_eq!(v["team"]["calls"], 4);
        assert_eq!(v["agents"][0]["talk_secs"], 210);
        assert_eq!(v["agents"][0]["outcomes"]["Not Connected"], 1, "outcomes by group as an object");
        assert_eq!(v["team"]["outcomes"]["Connected"], 2);
    })
    .await;
}
