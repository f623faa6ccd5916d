//! The database goes away and comes back (issue 26): a private MariaDB server per test, paused
//! (SIGSTOP), stopped and restarted under the running code.

mod common;

use std::time::Duration;

use calldesk::store::Store;
use common::private_mariadb::PrivateMariaDb;

/// The store reconnects by itself after a pause and after a restart of the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_reconnects_after_a_pause_and_a_restart() {
    let Some(mut db) = PrivateMariaDb::start(&[]) else { return };
    let store = Store::open(&db.url()).await.expect("open");
    store.ping().await.expect("ping");

    db.pause();
    let paused = tokio::time::timeout(Duration::from_secs(2), store.ping()).await;
    assert!(!matches!(paused, Ok(Ok(()))), "a paused server answered a ping");
    db.resume();
    tokio::time::timeout(Duration::from_secs(20), async {
        while store.ping().await.is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("answers again after SIGCONT");

    db.stop();
    assert!(store.ping().await.is_err(), "a stopped server answered");
    db.restart();
    tokio::time::timeout(Duration::from_secs(20), async {
        while store.ping().await.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("answers again after a restart");
}
