//! A console's wrap-up drafts kept in a local file as well as in the database (issue 26): the
//! newer copy reopens, whichever it is, and a console taken over writes neither copy (issue 24).
//! The real draft writer on a real database (SQLite, and MariaDB when configured) and a real file.

mod common;

use std::time::Duration;

use calldesk::console::effects::DraftWriter;
use calldesk::domain::draft::DraftVersion;
use calldesk::domain::session::{EndReason, SessionKind};
use calldesk::store::draft_file::{DraftFile, KeptDraft};
use calldesk::store::{FeedbackDraft, NewSession, Store};
use common::each_backend;
use common::fixtures::{driver, manual_call, seed};

const WAIT: Duration = Duration::from_secs(5);

/// Caller 3 with a manual call owing its wrap-up; returns the call's id.
async fn owed_wrapup(store: &Store) -> i64 {
    let now = chrono::Utc::now();
    let d = driver("D1", "Ramesh Gupta", "9000000012", Some(3));
    seed(store, &[(3, "Pooja")], std::slice::from_ref(&d), now).await;
    store.start_call(&manual_call(&d, 3), now).await.expect("call").id
}

async fn open_session(store: &Store) -> i64 {
    let new = NewSession {
        caller_id: 3,
        kind: SessionKind::Console,
        origin: "local".into(),
        host: "test".into(),
        pid: std::process::id(),
    };
    store.open_session(&new).await.expect("session").0.id
}

fn draft(call: i64, remarks: &str) -> FeedbackDraft {
    FeedbackDraft { call_log_id: call, caller_id: 3, remarks: Some(remarks.into()), ..FeedbackDraft::default() }
}

/// What a console starting now would reopen for `call` (and it claims the file for `session`).
async fn reopened(store: &Store, file: &DraftFile, session: i64, call: i64) -> (DraftWriter, Option<String>) {
    let writer = DraftWriter::start_for_session(store.clone(), Some(session)).keeping_locally(file.clone());
    let wrapups = store.unfinished_wrapups(3, chrono::Utc::now() - chrono::Duration::days(1)).await.expect("w");
    let wrapups = writer.reopen_newer(store, 3, wrapups).await;
    let remarks = wrapups.into_iter().find(|(c, _)| c.id == call).and_then(|(_, d)| d?.remarks);
    (writer, remarks)
}

async fn stored_remarks(store: &Store, call: i64) -> Option<String> {
    let w = store.unfinished_wrapups(3, chrono::Utc::now() - chrono::Duration::days(1)).await.expect("w");
    w.into_iter().find(|(c, _)| c.id == call).and_then(|(_, d)| d?.remarks)
}

fn local_remarks(file: &DraftFile, call: i64) -> Option<String> {
    file.read().expect("read").drafts.get(&call).and_then(|d| d.draft.remarks.clone())
}

/// Typed while the database was away, the local copy is the newer edit: it reopens, and goes to
/// the database at once. Typed later on another host (a newer session, in the database only),
/// the database's copy is the newer one and reopens instead.
#[tokio::test]
async fn the_newer_copy_of_a_draft_reopens_whichever_it_is() {
    each_backend(|db| async move {
        let store = &db.store;
        let call = owed_wrapup(store).await;
        let dir = tempfile::tempdir().expect("dir");
        let file = DraftFile::new(dir.path(), store.label(), 3);

        let first = open_session(store).await;
        let writer = DraftWriter::start_for_session(store.clone(), Some(first)).keeping_locally(file.clone());
        let seq = writer.send(draft(call, "typed with the database up"));
        writer.flushed(seq, WAIT).await;
        assert_eq!(stored_remarks(store, call).await.as_deref(), Some("typed with the database up"));
        writer.close(WAIT).await;
        // What the file lane wrote while the database did not answer: a later edit of that console.
        let away = KeptDraft {
            version: DraftVersion::new(first, i64::try_from(seq).expect("seq") + 5),
            written_at: chrono::Utc::now(),
            draft: draft(call, "typed with the database up, and while it was away"),
            save_requested: false,
        };
        file.put(first, vec![away]).expect("put");
        store.end_session(first, EndReason::Hangup).await.expect("end");

        let second = open_session(store).await;
        let (writer, remarks) = reopened(store, &file, second, call).await;
        assert_eq!(remarks.as_deref(), Some("typed with the database up, and while it was away"));
        writer.close(WAIT).await;
        assert_eq!(
            stored_remarks(store, call).await.as_deref(),
            Some("typed with the database up, and while it was away"),
            "the reopened copy went to the database too"
        );
        store.end_session(second, EndReason::Quit).await.expect("end");

        // Another host's console (no access to this file) typed on, in a newer session.
        let elsewhere = open_session(store).await;
        store
            .save_draft_as(&draft(call, "typed on the other host"), DraftVersion::new(elsewhere, 1), chrono::Utc::now())
            .await
            .expect("draft");
        store.end_session(elsewhere, EndReason::Quit).await.expect("end");
        let back = open_session(store).await;
        let (writer, remarks) = reopened(store, &file, back, call).await;
        assert_eq!(remarks.as_deref(), Some("typed on the other host"), "the database's copy is newer");
        writer.close(WAIT).await;
    })
    .await;
}

/// A console taken over by a newer login on the same host writes neither the file nor the
/// database: the newer console's draft stands.
#[tokio::test]
async fn a_console_taken_over_overwrites_neither_copy() {
    each_backend(|db| async move {
        let store = &db.store;
        let call = owed_wrapup(store).await;
        let dir = tempfile::tempdir().expect("dir");
        let file = DraftFile::new(dir.path(), store.label(), 3);

        let old = open_session(store).await;
        let old_writer = DraftWriter::start_for_session(store.clone(), Some(old)).keeping_locally(file.clone());
        let seq = old_writer.send(draft(call, "the old console's text"));
        old_writer.flushed(seq, WAIT).await;

        let new = open_session(store).await;
        store.end_session(old, EndReason::TakenOver).await.expect("end");
        let (new_writer, remarks) = reopened(store, &file, new, call).await;
        assert_eq!(remarks.as_deref(), Some("the old console's text"));
        let seq = new_writer.send(draft(call, "the new console's text"));
        new_writer.flushed(seq, WAIT).await;

        let seq = old_writer.send(draft(call, "a late write of the old console"));
        old_writer.flushed(seq, WAIT).await;
        old_writer.close(WAIT).await;
        new_writer.close(WAIT).await;
        assert_eq!(local_remarks(&file, call).as_deref(), Some("the new console's text"));
        assert_eq!(stored_remarks(store, call).await.as_deref(), Some("the new console's text"));
    })
    .await;
}

/// A saved outcome's local draft goes; a kill leaves the file whole (each write replaces it).
#[tokio::test]
async fn a_saved_call_leaves_the_local_file() {
    each_backend(|db| async move {
        let store = &db.store;
        let call = owed_wrapup(store).await;
        let dir = tempfile::tempdir().expect("dir");
        let file = DraftFile::new(dir.path(), store.label(), 3);
        let session = open_session(store).await;
        let writer = DraftWriter::start_for_session(store.clone(), Some(session)).keeping_locally(file.clone());
        let seq = writer.send(draft(call, "about to be saved"));
        writer.flushed(seq, WAIT).await;
        assert_eq!(local_remarks(&file, call).as_deref(), Some("about to be saved"));
        writer.forget(call);
        writer.close(WAIT).await;
        assert_eq!(local_remarks(&file, call), None);
    })
    .await;
}
