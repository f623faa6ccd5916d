//! The TeleCMI secret never reaches the log file, whatever happens to a call.

mod common;

use calldesk::coord::dialer::CallKind;
use calldesk::telecmi::simulator::Outcome;

#[tokio::test]
async fn the_secret_appears_in_no_log_line() {
    let logs = tempfile::tempdir().expect("tmp");
    // This file is its own process, so the global subscriber is ours alone.
    rust_log_not_off();
    let guard = calldesk::logging::init(logs.path()).expect("logging");
    let db = common::sqlite_db().await;
    let r = common::rig(db, 5).await;
    r.sim.push_outcome(Outcome::Answered { talk_secs: 3 });
    r.sim.push_outcome(Outcome::AuthFailure);
    let ok = r.dialer.place_call(3, "D1", None, CallKind::Telecmi).await.expect("placed");
    let _ = r.dialer.place_call(3, "D2", None, CallKind::Telecmi).await.expect_err("refused");
    common::settle(&r.db.store, ok.id).await;
    let config_debug = format!("{:?} {:?}", r.dialer.config, r.dialer.client);
    assert!(!config_debug.contains(common::SECRET), "Debug redacts the secret");
    tracing::info!(config = %config_debug, "config at start");
    drop(guard);
    let mut text = String::new();
    for entry in std::fs::read_dir(logs.path()).expect("logs") {
        text.push_str(&std::fs::read_to_string(entry.expect("entry").path()).expect("read"));
    }
    assert!(text.contains("webhook applied"), "the log has content:\n{text}");
    assert!(text.contains("click-to-call failed"), "failures are logged:\n{text}");
    assert!(!text.contains(common::SECRET), "secret leaked into the log:\n{text}");
}

fn rust_log_not_off() {
    // RUST_LOG from the caller's shell must not silence the log this test reads.
    assert!(std::env::var("RUST_LOG").map_or(true, |v| !v.contains("off")), "unset RUST_LOG=off to run this test");
}
