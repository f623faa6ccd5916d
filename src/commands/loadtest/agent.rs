//! One simulated agent: its loop (queue, claim, dial, follow, save, think) and the two ways it
//! dials and saves: through `serve`'s API (the old system's clients, the in-process run) or as a
//! console does, through its own [`Dialer`] and [`Store`] (the run in several processes).

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};

use super::{Hold, Ledger, Saved, Shared, lock};
use crate::coord::dialer::{CallKind, Dialer};
use crate::domain::feedback::RINGING_BUSY;
use crate::domain::{CallStatus, FeedbackCatalog};
use crate::store::{CLAIM_FOR, FeedbackDraft, QueueEntry, Store, StoreError, SubmitFeedback};

/// How an agent dials and saves an outcome.
pub(crate) enum Via {
    /// Through the API of `calldesk serve` (`click_to_call`, `update_feedback`) with its bearer
    /// token, at `api`.
    Api { http: reqwest::Client, api: String, token: String },
    /// As a console: its own dialer writes the call and asks TeleCMI; its own store saves a draft
    /// and then the outcome.
    Console { dialer: Box<Dialer>, catalog: FeedbackCatalog },
}

/// A dial's answer: the call's reference (and id), or a refusal with its HTTP status.
enum Dialed {
    Placed { reference: String, call_id: i64 },
    Refused { status: u16, message: String },
}

/// How long an agent follows a call before counting it unfinished (through an outage too).
const FOLLOW_FOR: Duration = Duration::from_secs(180);
/// How long an agent keeps retrying a save while the database is away.
const SAVE_FOR: Duration = Duration::from_secs(180);
/// The pause between two attempts at a save.
const RETRY_EVERY: Duration = Duration::from_millis(500);

/// Why an attempt at a save failed.
enum Attempt {
    /// The database (or the server in front of it) did not answer: try again.
    Away(String),
    /// Refused by a rule: trying again would change nothing.
    Refused(String),
}

impl Attempt {
    fn of(what: &str, e: &StoreError) -> Self {
        let text = format!("{what}: {e}");
        if database_away(e) { Self::Away(text) } else { Self::Refused(text) }
    }
}

/// Whether `e` is the database not answering (as opposed to a rule refusing).
fn database_away(e: &StoreError) -> bool {
    e.is_unavailable()
}

/// One simulated agent with its own pool, as a console has.
pub(crate) struct Agent {
    pub id: i64,
    pub neighbour: i64,
    pub store: Store,
    pub via: Via,
    pub think: Duration,
    pub ledger: Shared<Ledger>,
}

/// The outcome an agent saves for a call that ended as `end`: an answered call is a fixed
/// interview for drivers whose id ends in 0, 2 or 4, else not interested; any other (or none)
/// ringing/busy, to be called back.
fn outcome_for(end: Option<CallStatus>, driver: &str) -> (&'static str, &'static str) {
    match end {
        Some(CallStatus::Completed) if driver.ends_with(['0', '2', '4']) => ("connected", "Interview Fixed"),
        Some(CallStatus::Completed) => ("connected", "Not Interested"),
        _ => ("callBack", RINGING_BUSY),
    }
}

impl Agent {
    pub async fn run(self, deadline: Instant) {
        let mut turn = 0u64;
        while Instant::now() < deadline {
            turn += 1;
            // Every other turn the neighbour's queue, as a driver found by search: two agents
            // then race for the same drivers, which is what the claim must settle.
            let whose = if turn.is_multiple_of(2) { self.neighbour } else { self.id };
            if let Err(e) = self.turn(whose).await {
                lock(&self.ledger).error(e);
            }
            tokio::time::sleep(self.think).await;
        }
        self.store.close().await;
    }

    fn count(&self, n: u64) {
        lock(&self.ledger).store_calls += n;
    }

    async fn turn(&self, whose: i64) -> Result<(), String> {
        let now = Utc::now();
        self.count(1);
        let page = self
            .store
            .due_queue(whose, now, &Default::default(), None, 5, None)
            .await
            .map_err(|e| format!("queue: {e}"))?;
        let Some(next) = page.into_iter().next() else { return Ok(()) };
        self.count(1);
        let held = self
            .store
            .claim(&next.driver_id, self.id, now + CLAIM_FOR, now)
            .await
            .map_err(|e| format!("claim: {e}"))?;
        if !held {
            lock(&self.ledger).claims_lost += 1;
            return Ok(());
        }
        let from = Instant::now();
        let (reference, call_id) = match self.dial(&next).await? {
            Dialed::Placed { reference, call_id } => (reference, call_id),
            Dialed::Refused { status, message } => {
                return self.dial_refused(&next.driver_id, from, status, message).await;
            }
        };
        lock(&self.ledger).placed += 1;
        let end = self.follow(&reference).await?;
        let (class, feedback) = outcome_for(end, &next.driver_id);
        if end.is_none() {
            lock(&self.ledger).unfinished += 1;
        }
        let until = Instant::now();
        lock(&self.ledger).holds.push(Hold { agent: self.id, driver: next.driver_id.clone(), from, until });
        self.save(&reference, call_id, class, feedback).await?;
        lock(&self.ledger).saved.push(Saved { agent: self.id, reference, feedback: feedback.into() });
        Ok(())
    }

    /// Places the call (timed); a refusal is an answer, a failure an error.
    async fn dial(&self, next: &QueueEntry) -> Result<Dialed, String> {
        let t = Instant::now();
        let dialed = match &self.via {
            Via::Api { .. } => {
                let body = json!({"caller_id": self.id, "driver_id": next.driver_id, "driver_mobile": next.mobile});
                let (status, reply) = self.post("click_to_call", &body).await?;
                let reference = reply["data"]["request_id"].as_str().unwrap_or_default().to_string();
                if status != 200 || reference.is_empty() {
                    let message = reply["message"].as_str().unwrap_or("").to_string();
                    Dialed::Refused { status: if status == 200 { 500 } else { status }, message }
                } else {
                    Dialed::Placed { reference, call_id: 0 }
                }
            }
            Via::Console { dialer, .. } => {
                self.count(1);
                match dialer.place_call(self.id, &next.driver_id, None, CallKind::Telecmi).await {
                    Ok(call) => {
                        Dialed::Placed { reference: call.reference_id.clone().unwrap_or_default(), call_id: call.id }
                    }
                    Err(e) => Dialed::Refused { status: e.http_status(), message: e.to_string() },
                }
            }
        };
        lock(&self.ledger).dial_latency.push(t.elapsed());
        Ok(dialed)
    }

    /// Saves the outcome (timed: the first attempt), retrying while the database is away, as a
    /// console's wrap-up retries by itself, for up to [`SAVE_FOR`]. An attempt whose answer was
    /// lost may have saved it: before each retry the call is read, and an outcome of ours found
    /// there is the save done (never saved twice).
    async fn save(&self, reference: &str, call_id: i64, class: &str, feedback: &str) -> Result<(), String> {
        let give_up = Instant::now() + SAVE_FOR;
        let mut first = true;
        loop {
            let t = Instant::now();
            let attempt = self.save_once(reference, call_id, class, feedback).await;
            if first {
                lock(&self.ledger).save_latency.push(t.elapsed());
                first = false;
            }
            match attempt {
                Ok(()) => return Ok(()),
                Err(Attempt::Refused(e)) => return Err(e),
                Err(Attempt::Away(e)) if Instant::now() >= give_up => return Err(e),
                Err(Attempt::Away(_)) => self.retried("save"),
            }
            tokio::time::sleep(RETRY_EVERY).await;
            if self.saved_already(reference, feedback).await {
                return Ok(());
            }
        }
    }

    /// Whether the call already holds this agent's outcome `feedback` (a save whose answer was
    /// lost); `false` while the database is away.
    async fn saved_already(&self, reference: &str, feedback: &str) -> bool {
        matches!(
            self.store.call_by_reference(reference).await,
            Ok(Some(c)) if c.caller_id == Some(self.id) && c.feedback.as_deref() == Some(feedback)
        )
    }

    /// One attempt at saving the outcome: through the API, or as the console's wrap-up does (its
    /// draft first, as typing saves it, then the outcome).
    async fn save_once(&self, reference: &str, call_id: i64, class: &str, feedback: &str) -> Result<(), Attempt> {
        match &self.via {
            Via::Api { .. } => {
                let body = json!({"caller_id": self.id, "reference_id": reference, "status": class,
                    "feedback": feedback, "remarks": "loadtest"});
                let (status, reply) = self.post("update_feedback", &body).await.map_err(Attempt::Away)?;
                match status {
                    200 => Ok(()),
                    s if s >= 500 => Err(Attempt::Away(format!("update_feedback {s}: {}", reply["message"]))),
                    s => Err(Attempt::Refused(format!("update_feedback {s}: {}", reply["message"]))),
                }
            }
            Via::Console { catalog, .. } => {
                let draft = FeedbackDraft {
                    call_log_id: call_id,
                    caller_id: self.id,
                    feedback: Some(feedback.to_string()),
                    ..FeedbackDraft::default()
                };
                self.count(2);
                self.store.save_draft(&draft, Utc::now()).await.map_err(|e| Attempt::of("save draft", &e))?;
                let submit = SubmitFeedback {
                    call_id,
                    status: None,
                    feedback: feedback.to_string(),
                    remarks: "loadtest".into(),
                    call_duration: None,
                };
                match self.store.submit_first_feedback(&submit, catalog, Utc::now()).await {
                    Ok(_) => Ok(()),
                    // Our own earlier attempt, committed though its answer was lost.
                    Err(StoreError::AlreadySaved(c)) if c.feedback.as_deref() == Some(feedback) => Ok(()),
                    Err(e) => Err(Attempt::of("save outcome", &e)),
                }
            }
        }
    }

    /// The dial was refused (e.g. dialed moments ago by another agent from a stale page): the
    /// driver is given back, and the refusal counted (a 5xx is an error).
    async fn dial_refused(&self, driver: &str, from: Instant, status: u16, message: String) -> Result<(), String> {
        let until = Instant::now();
        self.count(1);
        let released = self.store.release(driver, self.id).await;
        let mut l = lock(&self.ledger);
        l.holds.push(Hold { agent: self.id, driver: driver.to_string(), from, until });
        if status >= 500 {
            l.error(format!("dial {status}: {message}"));
        } else {
            l.dial_refused += 1;
            l.refusals.entry(status).or_insert_with(|| (0, message)).0 += 1;
        }
        released.map_err(|e| format!("release: {e}"))
    }

    /// Follows the call in the database until it ends (the console's feed polls as often);
    /// `None` if it did not end within [`FOLLOW_FOR`]. A database that does not answer is waited
    /// for, as a console waits: the call goes on without it.
    async fn follow(&self, reference: &str) -> Result<Option<CallStatus>, String> {
        let give_up = Instant::now() + FOLLOW_FOR;
        while Instant::now() < give_up {
            tokio::time::sleep(crate::coord::feed::POLL).await;
            self.count(1);
            match self.store.call_by_reference(reference).await {
                Ok(call) => {
                    if let Some(c) = call.filter(|c| !c.call_status().is_live()) {
                        return Ok(Some(c.call_status()));
                    }
                }
                Err(e) if database_away(&e) => self.retried("follow"),
                Err(e) => return Err(format!("follow: {e}")),
            }
        }
        Ok(None)
    }

    /// Counts one retry of `what` while the database was away (one line in the report).
    fn retried(&self, what: &str) {
        lock(&self.ledger).error(format!("{what}: database away, retried"));
    }

    async fn post(&self, action: &str, body: &Value) -> Result<(u16, Value), String> {
        let Via::Api { http, api, token } = &self.via else {
            return Err(format!("{action}: this agent dials as a console"));
        };
        let r = http
            .post(format!("{api}?action={action}"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| format!("{action}: {e}"))?;
        let status = r.status().as_u16();
        let v = r.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, v))
    }
}
