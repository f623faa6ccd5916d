//! Status changes received by another process (the team's `calldesk serve`) reach this one by
//! reading the shared database's event table: every webhook is stored before it is acknowledged,
//! and [`Follower`] delivers each stored event exactly once, on SQLite and MySQL.
//!
//! Reading `id > last` alone is not enough on MariaDB: InnoDB hands out auto-increment ids at
//! insert, and transactions commit in any order, so id N can become visible after N+1 was read.
//! On a Galera cluster ids are also interleaved (`auto_increment_increment` = the cluster's size,
//! a different offset per node): node 1 gives 1, 4, 7…, node 2 gives 2, 5, 8…, a row written on
//! another node appears when it is replicated, and the ids of a node that writes nothing never
//! appear at all. A skipped id is therefore either a row still to come or an id never used, and
//! nothing tells the two apart but time.
//!
//! So the follower does not list skipped ids one by one (with increment 3 that was two of every
//! three ids, up to [`MAX_HELD`] re-read by id every poll). It keeps a floor (every id at or
//! below it is settled: delivered or given up) and the ids it delivered above the floor. While
//! an id above the floor is missing, each poll asks one number — how many events are stored
//! between the floor and the newest delivered id — and only when that exceeds what it delivered
//! there does it read that range's ids and fetch the new ones. A missing id is waited for
//! [`GAP_WAIT`] (a rolled-back insert, an id InnoDB consumed for an ignored duplicate, another
//! node's offset); nothing here depends on the increment or the offsets, which differ per node
//! and per connection. Memory is bounded by [`MAX_HELD`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::bus::{Bus, CallUpdate, Source, publish};
use crate::store::{Store, StoredEvent};

/// How often the event table is read. Measured end to end (webhook in one process → update in
/// another) well under the 1 s the team needs; see `tests/team.rs`.
pub const POLL: Duration = Duration::from_millis(250);

/// How long a skipped id is waited for. An event's transaction allocates its id and commits
/// within milliseconds (on Galera, plus its replication); a minute covers a slow database or a
/// stalled cluster with room to spare.
pub const GAP_WAIT: Duration = Duration::from_secs(60);

/// At most this many delivered ids are held above the floor (the events of the last
/// [`GAP_WAIT`], at up to 68 events a second); beyond it the oldest missing ids are given up.
/// The range the late check counts is as long.
pub const MAX_HELD: usize = 4096;

/// New events read per poll.
const BATCH: u32 = 500;
/// Pages read one after the other in one tick when behind.
const PAGES_A_TICK: usize = 8;
/// Ids fetched per query when late events are picked up.
const FETCH_CHUNK: usize = 200;

/// Where a follower is in the event table: the highest id delivered, the floor below which every
/// id is settled, and the ids delivered above the floor.
#[derive(Debug, Clone)]
pub struct Follower {
    last: i64,
    floor: i64,
    /// Delivered ids above `floor`, each with when the missing ids just below it were first
    /// missed (the oldest of them is given up [`GAP_WAIT`] after).
    held: BTreeMap<i64, Instant>,
    /// The last poll read a full page.
    behind: bool,
}

impl Follower {
    /// Starts after the newest event stored now.
    pub async fn from_now(store: &Store) -> Self {
        let last = match store.max_event_id().await {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!("event feed: {e}; starting from the beginning");
                0
            }
        };
        Self::after(last)
    }

    /// Starts after event `last`.
    pub fn after(last: i64) -> Self {
        Self { last, floor: last, held: BTreeMap::new(), behind: false }
    }

    /// The highest id delivered so far.
    pub fn last(&self) -> i64 {
        self.last
    }

    /// Ids below the newest delivered one still waited for (not stored one by one: on Galera
    /// most of them are ids no node will use).
    pub fn pending_gaps(&self) -> usize {
        usize::try_from(self.last - self.floor).unwrap_or(usize::MAX).saturating_sub(self.held.len())
    }

    /// Delivered ids held above the floor while a lower one is waited for (at most
    /// [`MAX_HELD`]).
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Reads what was committed since the last poll: late ids first, then new ones. Each event
    /// is returned once; an event is never returned again by a later poll.
    pub async fn poll(&mut self, store: &Store, now: Instant) -> crate::store::Result<Vec<StoredEvent>> {
        let mut out = self.late(store, now).await?;
        self.settle(now);
        let fresh = store.events_after(self.last, BATCH).await?;
        self.behind = fresh.len() >= BATCH as usize;
        for ev in fresh {
            if ev.id <= self.last {
                continue;
            }
            self.held.insert(ev.id, now);
            self.last = ev.id;
            out.push(ev);
        }
        self.settle(now);
        Ok(out)
    }

    /// Events that committed below the newest delivered id since the last poll. One count while
    /// nothing came late; the range's ids and the new rows only when something did.
    async fn late(&mut self, store: &Store, now: Instant) -> crate::store::Result<Vec<StoredEvent>> {
        if self.floor >= self.last {
            return Ok(vec![]);
        }
        // Every held id but `last` lies strictly between the floor and `last`.
        let delivered = self.held.len().saturating_sub(1);
        let stored = store.count_events_between(self.floor, self.last).await?;
        if usize::try_from(stored).unwrap_or(0) <= delivered {
            return Ok(vec![]);
        }
        let new: Vec<i64> = store
            .event_ids_between(self.floor, self.last)
            .await?
            .into_iter()
            .filter(|id| !self.held.contains_key(id))
            .collect();
        let mut out = Vec::new();
        for chunk in new.chunks(FETCH_CHUNK) {
            for ev in store.events_by_ids(chunk).await? {
                if ev.id > self.floor && !self.held.contains_key(&ev.id) {
                    // The ids below it were missed when the next id above it was delivered.
                    let since = self.held.range(ev.id..).next().map(|(_, t)| *t);
                    self.held.insert(ev.id, since.unwrap_or(now));
                    out.push(ev);
                }
            }
        }
        Ok(out)
    }

    /// Moves the floor up over delivered ids with nothing missing below them, over missing ids
    /// waited for [`GAP_WAIT`], and over the oldest ones when more than [`MAX_HELD`] are held.
    fn settle(&mut self, now: Instant) {
        while let Some((&first, &since)) = self.held.first_key_value() {
            let nothing_missing = first == self.floor + 1;
            let waited = now.saturating_duration_since(since) >= GAP_WAIT;
            if !(nothing_missing || waited || self.held.len() > MAX_HELD) {
                break;
            }
            if !nothing_missing {
                tracing::debug!("event feed: ids {}..{first} never appeared; given up", self.floor + 1);
            }
            self.floor = first;
            self.held.pop_first();
        }
    }

    /// Whether the last poll read a full page: more is waiting, read again at once.
    pub fn behind(&self) -> bool {
        self.behind
    }

    /// [`Self::poll`], each event turned into its call as stored now (each call read once per
    /// poll, however many of its events came).
    pub async fn poll_updates(&mut self, store: &Store, now: Instant) -> crate::store::Result<Vec<CallUpdate>> {
        let mut updates = Vec::new();
        let mut calls: std::collections::HashMap<i64, Option<crate::domain::CallLog>> =
            std::collections::HashMap::new();
        for ev in self.poll(store, now).await? {
            let Some(call_id) = ev.call_log_id else { continue };
            let call = match calls.get(&call_id) {
                Some(known) => Ok(known.clone()),
                None => store.call(call_id).await.inspect(|c| {
                    calls.insert(call_id, c.clone());
                }),
            };
            match call {
                Ok(Some(call)) => updates.push(CallUpdate {
                    call,
                    source: Source::Webhook,
                    leg: Some(ev.leg.clone()),
                    provider_status: Some(ev.status.clone()),
                    event_id: Some(ev.id),
                }),
                Ok(None) => {}
                Err(e) => tracing::warn!("event feed: {e}"),
            }
        }
        Ok(updates)
    }
}

/// How often a console's feed reads when its agent has no call going (and did nothing for
/// [`STAY_QUICK`]): fifty idle consoles on one host each read the table every 2 s, not four
/// times a second (the console_cost bench: SQLite idle CPU 0.107% of a core at 1 s, 0.091% at
/// 2 s). A call placed by this process brings the feed back to [`POLL`] at once; what an idle
/// console learns this way (another process saved an outcome of its calls) waits at most 2 s.
pub const QUIET_POLL: Duration = Duration::from_secs(2);

/// How long the feed stays at [`POLL`] after this process's last call ended (or its outcome was
/// saved): the recording and late legs still come.
pub const STAY_QUICK: Duration = Duration::from_secs(30);

/// A call this process placed is waited for this long at most (a call never reported finished
/// is closed by reconciliation at the call ceiling; the feed stops hurrying for it sooner).
const LIVE_AT_MOST: Duration = Duration::from_secs(2 * 3600);

/// How often a follower reads: `quick` while this process has a call going, `quiet` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub quick: Duration,
    pub quiet: Duration,
}

impl Pace {
    /// The same interval always (`calldesk serve`'s peers, the supervisor board, tests).
    pub fn every(every: Duration) -> Self {
        Self { quick: every, quiet: every }
    }

    /// An agent's console: [`POLL`] while it has a call going, [`QUIET_POLL`] otherwise.
    pub const CONSOLE: Self = Self { quick: POLL, quiet: QUIET_POLL };
}

/// What this process did lately, from its own bus: the calls it placed that are still going,
/// and when it last acted.
#[derive(Debug, Default)]
struct Activity {
    live: BTreeMap<i64, Instant>,
    last: Option<Instant>,
}

impl Activity {
    /// Notes an update seen on the bus. Only what this process did counts (a call it placed, an
    /// outcome it saved) and how those calls go on: the team's other calls, read from the table
    /// by this feed, leave the pace as it is.
    fn saw(&mut self, u: &CallUpdate, now: Instant) {
        let ours = matches!(u.source, Source::Dial | Source::Feedback);
        let known = self.live.contains_key(&u.call.id);
        if !ours && !known {
            return;
        }
        self.last = Some(now);
        if u.call.call_status().is_final() {
            self.live.remove(&u.call.id);
        } else if ours {
            self.live.entry(u.call.id).or_insert(now);
        }
    }

    /// The wait before the next read.
    fn wait(&mut self, pace: Pace, now: Instant) -> Duration {
        self.live.retain(|_, since| now.duration_since(*since) < LIVE_AT_MOST);
        let recent = self.last.is_some_and(|t| now.duration_since(t) < STAY_QUICK);
        if recent || !self.live.is_empty() { pace.quick } else { pace.quiet }
    }
}

/// Publishes on `bus` every event stored from now on, with its call as stored, reading every
/// `every`. Runs until dropped.
pub async fn follow(store: Store, bus: Bus, every: Duration) {
    follow_paced(store, bus, Pace::every(every)).await
}

/// [`follow`] at `pace`: quick while this process (its dialer, on `bus`) has a call going.
pub async fn follow_paced(store: Store, bus: Bus, pace: Pace) {
    let mut follower = Follower::from_now(&store).await;
    let mut mine = bus.subscribe();
    let mut activity = Activity::default();
    let mut last_read = tokio::time::Instant::now();
    loop {
        // Waits for the next read; a call placed meanwhile brings a quiet wait forward.
        let mut next = last_read + activity.wait(pace, Instant::now());
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next) => break,
                u = mine.recv() => match u {
                    Ok(u) => activity.saw(&u, Instant::now()),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => activity.last = Some(Instant::now()),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        tokio::time::sleep_until(next).await;
                        break;
                    }
                },
            }
            next = next.min(last_read + activity.wait(pace, Instant::now()));
        }
        last_read = tokio::time::Instant::now();
        read(&mut follower, &store, &bus).await;
    }
}

/// One read: a burst beyond one page is read page after page, not a page a tick (up to
/// `PAGES_A_TICK`: listeners of the bus get a moment between).
async fn read(follower: &mut Follower, store: &Store, bus: &Bus) {
    for _ in 0..PAGES_A_TICK {
        match follower.poll_updates(store, Instant::now()).await {
            Ok(updates) => updates.into_iter().for_each(|u| publish(bus, u)),
            Err(e) => {
                tracing::warn!("event feed: {e}");
                break;
            }
        }
        if !follower.behind() {
            break;
        }
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use chrono::Utc;

    use super::{Activity, Follower, GAP_WAIT, MAX_HELD, Pace, STAY_QUICK};
    use crate::coord::bus::{CallUpdate, Source};
    use crate::domain::{CallLog, Leg, ProviderEvent};
    use crate::store::Store;

    fn update(id: i64, status: &str, source: Source) -> CallUpdate {
        let t = Utc::now();
        let call = CallLog {
            id,
            reference_id: None,
            caller_id: Some(3),
            driver_id: None,
            driver_mobile: None,
            driver_name: None,
            driver_tmid: None,
            call_type: None,
            status: Some(status.into()),
            provider: None,
            telecmi_user_id: None,
            feedback: None,
            remarks: None,
            call_duration: None,
            created_at: t,
            updated_at: None,
        };
        CallUpdate::new(call, source)
    }

    #[test]
    fn the_feed_hurries_only_while_a_call_of_this_process_goes_on() {
        let pace = Pace::CONSOLE;
        let t0 = Instant::now();
        let mut a = Activity::default();
        assert_eq!(a.wait(pace, t0), pace.quiet, "nothing done here: quiet");
        // The team's calls, read from the table, leave the pace as it is.
        a.saw(&update(7, "ringing", Source::Webhook), t0);
        assert_eq!(a.wait(pace, t0), pace.quiet);
        // A call placed here: quick until it ends, however long it talks…
        a.saw(&update(8, "initiated", Source::Dial), t0);
        assert_eq!(a.wait(pace, t0 + Duration::from_secs(600)), pace.quick);
        a.saw(&update(8, "connected", Source::Webhook), t0 + Duration::from_secs(5));
        a.saw(&update(8, "completed", Source::Webhook), t0 + Duration::from_secs(700));
        // …and a while after (the recording, late legs), then quiet again.
        assert_eq!(a.wait(pace, t0 + Duration::from_secs(701)), pace.quick);
        assert_eq!(a.wait(pace, t0 + Duration::from_secs(700) + STAY_QUICK), pace.quiet);
    }

    fn ev(key: &str) -> ProviderEvent {
        ProviderEvent {
            dedup_key: key.into(),
            call_log_id: None,
            request_id: None,
            telecmi_user: None,
            number: None,
            kind: "event".into(),
            leg: Leg::A,
            provider_status: "started".into(),
            signal: None,
            duration: None,
            recording: None,
            payload: "{}".into(),
        }
    }

    /// A burst of more than a page (here 1,200 events of 300 calls) reaches the bus within one
    /// tick, not a page a tick (at 2,000 events a second a console fell seconds behind).
    #[tokio::test]
    async fn a_backlog_beyond_a_page_is_read_at_once() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let mut ids = Vec::new();
        for i in 0..300 {
            let c = crate::store::NewCall {
                caller_id: 3,
                driver_id: format!("D{i}"),
                driver_mobile: format!("91980000{i:04}"),
                driver_name: format!("Driver {i}"),
                driver_tmid: None,
                call_type: crate::domain::CallType::Ivr,
                provider: crate::domain::Provider::Manual,
                telecmi_user_id: None,
                min_gap: chrono::Duration::zero(),
                session: None,
            };
            ids.push(store.start_call(&c, Utc::now()).await.expect("call").id);
        }
        let bus = crate::coord::bus::new_bus();
        let mut rx = bus.subscribe();
        let every = Duration::from_secs(2);
        let feed = tokio::spawn(super::follow(store.clone(), bus.clone(), every));
        tokio::time::sleep(Duration::from_millis(300)).await; // its first tick has read nothing
        let evs: Vec<ProviderEvent> =
            (0..1200).map(|i| ProviderEvent { call_log_id: Some(ids[i % 300]), ..ev(&format!("burst-{i}")) }).collect();
        let received: Vec<_> = evs.iter().map(|e| (e, Utc::now())).collect();
        for r in store.apply_events(&received).await {
            r.expect("stored");
        }
        let mut seen = 0;
        let deadline = tokio::time::Instant::now() + every + Duration::from_millis(1500);
        while seen < 1200 {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Ok(_)) => seen += 1,
                Ok(Err(e)) => panic!("bus: {e}"),
                Err(_) => break,
            }
        }
        feed.abort();
        assert_eq!(seen, 1200, "events on the bus within one tick");
    }

    /// An id that never appears (a rolled-back insert) is waited for a while, then given up;
    /// nothing is delivered twice meanwhile.
    #[tokio::test]
    async fn a_gap_that_never_fills_is_given_up() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        for k in ["a", "b", "c"] {
            store.apply_event(&ev(k), Utc::now()).await.expect("apply");
        }
        let crate::store::Backend::Sqlite(pool) = &store.backend else { panic!("sqlite") };
        sqlx::query("DELETE FROM webhook_events WHERE id = 2").execute(pool).await.expect("delete");
        let mut f = Follower::after(0);
        let t0 = Instant::now();
        let ids: Vec<i64> = f.poll(&store, t0).await.expect("poll").iter().map(|e| e.id).collect();
        assert_eq!((ids, f.pending_gaps()), (vec![1, 3], 1));
        assert!(f.poll(&store, t0 + Duration::from_secs(1)).await.expect("poll").is_empty());
        assert_eq!(f.pending_gaps(), 1, "still waited for");
        assert!(f.poll(&store, t0 + GAP_WAIT + Duration::from_secs(1)).await.expect("poll").is_empty());
        assert_eq!((f.pending_gaps(), f.last()), (0, 3), "given up after GAP_WAIT");
    }

    /// Inserts event rows with the given ids, as a Galera node (or several) would number them.
    async fn insert_ids(store: &Store, ids: impl IntoIterator<Item = i64>) {
        let crate::store::Backend::Sqlite(pool) = &store.backend else { panic!("sqlite") };
        let mut tx = pool.begin().await.expect("begin");
        for id in ids {
            sqlx::query(
                "INSERT INTO webhook_events (id, received_at, dedup_key, kind, leg, status, payload) \
                 VALUES (?, CURRENT_TIMESTAMP, ?, 'event', 'a', 'started', '{}')",
            )
            .bind(id)
            .bind(format!("k{id}"))
            .execute(&mut *tx)
            .await
            .expect("insert");
        }
        tx.commit().await.expect("commit");
    }

    async fn ids_of(f: &mut Follower, store: &Store, now: Instant) -> Vec<i64> {
        f.poll(store, now).await.expect("poll").iter().map(|e| e.id).collect()
    }

    /// Ids of one node with `auto_increment_increment=3` (2, 5, 8…): the two ids between each
    /// pair are not listed one by one; what is held stays bounded; an id of another node that
    /// commits late (below the newest delivered) is still delivered, once.
    #[tokio::test]
    async fn interleaved_ids_hold_little_and_a_late_one_still_arrives() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let mut f = Follower::after(0);
        let t0 = Instant::now();
        insert_ids(&store, (0..3000).map(|k| 2 + 3 * k)).await;
        let mut got = Vec::new();
        loop {
            let ids = ids_of(&mut f, &store, t0).await;
            if ids.is_empty() {
                break;
            }
            got.extend(ids);
        }
        assert_eq!(got.len(), 3000);
        assert_eq!(f.last(), 2 + 3 * 2999);
        assert!(f.held() <= MAX_HELD, "held {}", f.held());
        // Another node's id, committed after its neighbours were read.
        let late = 3 * 2990;
        insert_ids(&store, [late]).await;
        assert_eq!(ids_of(&mut f, &store, t0 + Duration::from_secs(1)).await, vec![late], "the late id");
        assert!(ids_of(&mut f, &store, t0 + Duration::from_secs(2)).await.is_empty(), "once");
        // A minute on, the ids no node used are given up and nothing is held.
        assert!(ids_of(&mut f, &store, t0 + GAP_WAIT + Duration::from_secs(2)).await.is_empty());
        assert_eq!((f.held(), f.pending_gaps()), (0, 0));
    }

    /// An id that fills part of a gap does not restart the wait of the ids below it beyond
    /// when they were first missed.
    #[tokio::test]
    async fn a_late_id_keeps_the_wait_of_the_gap_it_fills() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let mut f = Follower::after(0);
        let t0 = Instant::now();
        insert_ids(&store, [1, 10]).await;
        assert_eq!(ids_of(&mut f, &store, t0).await, vec![1, 10]);
        assert_eq!((f.pending_gaps(), f.held()), (8, 1));
        insert_ids(&store, [5]).await;
        assert_eq!(ids_of(&mut f, &store, t0 + Duration::from_secs(30)).await, vec![5]);
        assert_eq!(f.pending_gaps(), 7);
        // 2..4 and 6..9 were missed at t0: given up at t0 + GAP_WAIT, not 30 s later.
        assert!(ids_of(&mut f, &store, t0 + GAP_WAIT).await.is_empty());
        assert_eq!((f.pending_gaps(), f.held()), (0, 0));
        insert_ids(&store, [3]).await;
        assert!(ids_of(&mut f, &store, t0 + GAP_WAIT).await.is_empty(), "given up: below the floor");
        insert_ids(&store, [11]).await;
        assert_eq!(ids_of(&mut f, &store, t0 + GAP_WAIT).await, vec![11]);
    }

    /// More than [`MAX_HELD`] events above a missing id: the oldest missing ids are given up
    /// early, so memory (and the range the late check counts) stays bounded.
    #[tokio::test]
    async fn what_is_held_is_bounded() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let mut f = Follower::after(0);
        let t0 = Instant::now();
        let n = i64::try_from(MAX_HELD).expect("fits") + 1000;
        insert_ids(&store, (1..=n).map(|k| 2 * k)).await;
        while !ids_of(&mut f, &store, t0).await.is_empty() {}
        assert_eq!(f.last(), 2 * n);
        assert_eq!(f.held(), MAX_HELD);
    }
}
