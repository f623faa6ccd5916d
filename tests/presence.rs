//! Breaks and daily targets: stored on both backends, set from the command line.

mod common;

use chrono::{Duration, TimeZone, Utc};

use calldesk::domain::{Presence, Role};
use common::each_backend;

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 4, 0, 0).single().expect("time")
}

#[tokio::test]
async fn state_changes_are_stored_with_times_and_give_the_days_break_time() {
    each_backend(|db| async move {
        let s = &db.store;
        s.add_caller(3, "Pooja", Role::Agent, t0()).await.expect("add");
        s.add_caller(4, "Ravi", Role::Agent, t0()).await.expect("add");
        assert_eq!(s.presence(3).await.expect("read"), None, "never stored: ready");
        let lunch = Presence::Break("lunch".into());
        // Yesterday's break ran into today: only today's part counts.
        s.set_presence(3, &Presence::Break("tea".into()), t0() - Duration::minutes(10)).await.expect("tea");
        s.set_presence(3, &Presence::Ready, t0() + Duration::minutes(5)).await.expect("ready");
        s.set_presence(3, &lunch, t0() + Duration::hours(2)).await.expect("lunch");
        s.set_presence(4, &Presence::Ready, t0() + Duration::minutes(1)).await.expect("ready");

        let now3 = s.presence(3).await.expect("read").expect("stored");
        assert_eq!((now3.presence, now3.since), (lunch.clone(), t0() + Duration::hours(2)));
        let mut all = s.presences(t0() + Duration::hours(3)).await.expect("all");
        all.sort_by_key(|c| c.caller_id);
        let states: Vec<_> = all.iter().map(|c| (c.caller_id, c.presence.clone())).collect();
        assert_eq!(states, vec![(3, lunch), (4, Presence::Ready)]);

        let until = t0() + Duration::hours(2) + Duration::minutes(20);
        let secs = s.break_seconds(t0(), until).await.expect("breaks");
        assert_eq!(secs, vec![(3, (5 + 20) * 60)]);
    })
    .await;
}

#[tokio::test]
async fn a_daily_target_is_stored_per_caller() {
    each_backend(|db| async move {
        let s = &db.store;
        s.add_caller(3, "Pooja", Role::Agent, t0()).await.expect("add");
        assert_eq!(s.daily_target(3).await.expect("read"), None);
        s.set_daily_target(3, 10).await.expect("set");
        s.set_daily_target(3, 10).await.expect("same again");
        assert_eq!(s.daily_target(3).await.expect("read"), Some(10));
        assert!(s.set_daily_target(99, 5).await.is_err(), "unknown caller");
    })
    .await;
}

#[test]
fn caller_target_sets_the_daily_target_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_calldesk"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("CALLDESK_LOG_DIR", dir.path().join("logs"))
            .output()
            .expect("run calldesk")
    };
    assert!(run(&["caller", "add", "3", "Pooja"]).status.success());
    let out = run(&["caller", "target", "3", "12"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("daily target 12"));
    let unknown = run(&["caller", "target", "8", "5"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("caller 8 is not registered"));
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let target = rt.block_on(async {
        let s = calldesk::store::Store::open(&url).await.expect("open");
        s.daily_target(3).await.expect("read")
    });
    assert_eq!(target, Some(12));
}
