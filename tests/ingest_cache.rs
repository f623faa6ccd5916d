//! The SQLite writer keeps the calls it committed for the next batch
//! (`store::ingest::rusqlite_io::Recent`).
//! The same random history of webhooks and outside changes, run on two files, must give the same
//! outcomes and rows whether the writer uses what it kept (A) or never can (B: another connection
//! commits before every batch), and every call as told must be the row as stored.
mod common;

use chrono::Utc;
use common::webhooks::{USER, call, t0};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use calldesk::domain::{CallLog, Leg, ProviderEvent, Signal};
use calldesk::store::{ApplyOutcome, Store};

/// A seeded history: the same on every run, so a failure names its seed and step.
struct History(StdRng);

impl History {
    fn below(&mut self, n: u64) -> u64 {
        self.0.random_range(0..n)
    }
}

fn strip(c: &CallLog) -> CallLog {
    let mut c = c.clone();
    c.updated_at = None;
    c
}

fn summary(o: &ApplyOutcome) -> String {
    match o {
        ApplyOutcome::Applied { call, before, .. } => format!("applied {before} -> {:?}", strip(call)),
        other => format!("{other:?}"),
    }
}

async fn bump(pool: &sqlx::SqlitePool, n: usize) {
    sqlx::query("INSERT INTO calldesk_settings (name, value) VALUES ('bump', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value")
        .bind(n.to_string())
        .execute(pool)
        .await
        .expect("bump");
}

async fn row_state(s: &Store, id: i64) -> String {
    let c = s.call(id).await.expect("c").expect("c");
    let mark = s.provisional(id).await.expect("m").map(|p| (p.state, p.prior_status, p.reason));
    format!("{:?} {mark:?}", strip(&c))
}

/// The same random history on two files: A as the app runs it, B with another connection committing
/// before every batch (so the writer's kept calls are always dropped). Outcomes and rows must match,
/// and in A every call as told must be the row as stored.
#[tokio::test]
async fn the_calls_the_writer_keeps_change_nothing_it_stores_or_tells() {
    for seed in 1..=6u64 {
        let a = common::sqlite_db().await;
        let b = common::sqlite_db().await;
        let pa = sqlx::SqlitePool::connect(&a.url).await.expect("pa");
        let pb = sqlx::SqlitePool::connect(&b.url).await.expect("pb");
        let mut rng = History(StdRng::seed_from_u64(seed));
        let mut ids = vec![];
        let mut mobiles = vec![];
        for n in 0..6 {
            let ca = call(&a.store, n).await;
            let cb = call(&b.store, n).await;
            assert_eq!(ca.id, cb.id);
            ids.push(ca.id);
            mobiles.push(ca.driver_mobile.clone().unwrap());
        }
        let mut keys: Vec<String> = vec![];
        let mut told_mismatch = 0;
        for step in 0..250usize {
            let r = rng.below(10);
            if r < 2 {
                // Something elsewhere, on both.
                let i = rng.below(ids.len() as u64) as usize;
                let id = ids[i];
                match rng.below(5) {
                    0 => {
                        a.store.close_provisionally(id, "ceiling", t0()).await.expect("close");
                        b.store.close_provisionally(id, "ceiling", t0()).await.expect("close");
                    }
                    1 => {
                        a.store.mark_unconfirmed(id, "no answer", t0()).await.expect("mu");
                        b.store.mark_unconfirmed(id, "no answer", t0()).await.expect("mu");
                    }
                    2 => {
                        let rid = format!("RID{}", rng.below(4));
                        a.store.set_reference(id, &rid).await.expect("ref");
                        b.store.set_reference(id, &rid).await.expect("ref");
                    }
                    3 => {
                        for p in [&pa, &pb] {
                            sqlx::query("UPDATE call_logs SET feedback = ?, driver_name = ? WHERE id = ?")
                                .bind(format!("fb{step}"))
                                .bind(format!("name{step}"))
                                .bind(id)
                                .execute(p)
                                .await
                                .expect("fb");
                        }
                    }
                    _ => {
                        a.store.mark_failed(id, "gave up").await.expect("mf");
                        b.store.mark_failed(id, "gave up").await.expect("mf");
                    }
                }
                continue;
            }
            // A batch of 1..=8 events.
            let n = 1 + rng.below(8) as usize;
            let mut evs = vec![];
            for _ in 0..n {
                let i = rng.below(ids.len() as u64) as usize;
                let leg = if rng.below(2) == 0 { Leg::A } else { Leg::B };
                let (kind, status, signal) = match rng.below(6) {
                    0 => ("event", "started", Signal::Started),
                    1 => ("event", "answered", Signal::Answered),
                    2 => ("event", "hangup", Signal::Hangup),
                    3 => ("cdr", "answered", Signal::Report { answered: true }),
                    4 => ("cdr", "missed", Signal::Report { answered: false }),
                    _ => ("event", "failed", Signal::Failed),
                };
                let how = rng.below(6);
                let (call_log_id, request_id, user, number) = match how {
                    0..=2 => (Some(ids[i]), None, None, None),
                    3 => (Some(ids[i]), Some(format!("RID{}", rng.below(4))), None, None),
                    4 => (None, Some(format!("RID{}", rng.below(4))), None, None),
                    _ => (None, None, Some(USER.to_string()), Some(mobiles[i].clone())),
                };
                let dedup_key = if !keys.is_empty() && rng.below(8) == 0 {
                    keys[rng.below(keys.len() as u64) as usize].clone()
                } else {
                    let k = format!("k{step}-{}", evs.len());
                    keys.push(k.clone());
                    k
                };
                evs.push(ProviderEvent {
                    dedup_key,
                    call_log_id,
                    request_id,
                    telecmi_user: user,
                    number,
                    kind: kind.into(),
                    leg,
                    provider_status: status.into(),
                    signal: if rng.below(7) == 0 { None } else { Some(signal) },
                    duration: if leg == Leg::B { Some(rng.below(3) as i64 * 10) } else { None },
                    recording: None,
                    payload: "{}".into(),
                });
            }
            let refs: Vec<(&ProviderEvent, chrono::DateTime<Utc>)> = evs.iter().map(|e| (e, t0())).collect();
            bump(&pb, step).await;
            let oa = a.store.apply_events(&refs).await;
            let ob = b.store.apply_events(&refs).await;
            let sa: Vec<String> =
                oa.iter().map(|o| o.as_ref().map(summary).unwrap_or_else(|e| format!("ERR {e}"))).collect();
            let sb: Vec<String> =
                ob.iter().map(|o| o.as_ref().map(summary).unwrap_or_else(|e| format!("ERR {e}"))).collect();
            assert_eq!(sa, sb, "seed {seed} step {step}: outcomes differ\n{evs:#?}");
            // In A, the last outcome of each call is the row as stored.
            let mut last = std::collections::BTreeMap::new();
            for o in oa.iter().flatten() {
                if let ApplyOutcome::Applied { call, .. } = o {
                    last.insert(call.id, call.clone());
                }
            }
            for (id, c) in last {
                let row = a.store.call(id).await.expect("r").expect("r");
                // `updated_at` too: the writer stamps it itself and reads back only what the
                // trigger may have stamped again.
                if row != *c {
                    told_mismatch += 1;
                    eprintln!("seed {seed} step {step}: told {c:?}\n stored {row:?}");
                }
            }
            for id in &ids {
                assert_eq!(
                    row_state(&a.store, *id).await,
                    row_state(&b.store, *id).await,
                    "seed {seed} step {step}: call {id}"
                );
            }
        }
        assert_eq!(told_mismatch, 0, "seed {seed}: calls as told that are not the row as stored");
        pa.close().await;
        pb.close().await;
    }
}
