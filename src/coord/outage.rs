//! When the database went away and when it came back, as this process saw it: the listener (a
//! webhook the database did not take, a spool drained) and the reconciler (a pass that could not
//! reach it) report here; the reconciler waits here to check at once the calls the outage may have
//! left live ([`super::reconcile::after_outage`]).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

/// The shared record of outages. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Outage {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    back: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// The outage going on: since when.
    began: Option<DateTime<Utc>>,
    /// The earliest start of the outages over that nobody has acted on yet.
    over: Option<DateTime<Utc>>,
}

impl Outage {
    pub fn new() -> Self {
        Self::default()
    }

    /// The database did not answer; the outage is taken to have begun at `at` (the earliest such
    /// moment while it lasts).
    pub fn began(&self, at: DateTime<Utc>) {
        let mut s = self.lock();
        s.began = Some(s.began.map_or(at, |b| b.min(at)));
    }

    /// The database answers again: an outage going on is over (nothing happens when none was).
    pub fn ended(&self) {
        let mut s = self.lock();
        if let Some(began) = s.began.take() {
            s.over = Some(s.over.map_or(began, |o| o.min(began)));
            drop(s);
            self.inner.back.notify_one();
        }
    }

    /// Whether an outage is going on.
    pub fn ongoing(&self) -> bool {
        self.lock().began.is_some()
    }

    /// Waits until an outage is over and returns when it began (the earliest, when several ended
    /// since the last call).
    pub async fn returned(&self) -> DateTime<Utc> {
        loop {
            let notified = self.inner.back.notified();
            if let Some(began) = self.lock().over.take() {
                return began;
            }
            notified.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding it leaves plain data: keep using it.
        self.inner.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_outage_is_reported_once_over_with_its_earliest_start() {
        let o = Outage::new();
        let t = Utc::now();
        o.ended();
        assert!(!o.ongoing());
        o.began(t);
        o.began(t - chrono::Duration::seconds(5));
        o.began(t + chrono::Duration::seconds(5));
        assert!(o.ongoing());
        let waiting = tokio::spawn({
            let o = o.clone();
            async move { o.returned().await }
        });
        tokio::task::yield_now().await;
        o.ended();
        let began = tokio::time::timeout(std::time::Duration::from_secs(1), waiting).await.expect("in time");
        assert_eq!(began.expect("task"), t - chrono::Duration::seconds(5));
        assert!(!o.ongoing());
        let none = tokio::time::timeout(std::time::Duration::from_millis(50), o.returned()).await;
        assert!(none.is_err(), "reported once");
    }
}
