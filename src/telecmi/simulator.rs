//! A fake TeleCMI on loopback for `calldesk demo` and the tests. It answers click-to-call like
//! TeleCMI (error bodies included) and then POSTs the documented live events and CDRs of both
//! legs to the webhook URL over real HTTP, following a chosen [`Outcome`].
//!
//! The timing scenarios ([`Outcome::LongTalk`], [`Outcome::SlowAnswer`], …) keep TeleCMI's real
//! gaps, in TeleCMI seconds: nothing is sent while two people talk, the final CDRs come after the
//! hangup, the click-to-call answer can come late, and the CDR lists (`/v2/out_answered`,
//! `/v2/out_missed`) list a call only once it finished. [`Simulator::set_time_scale`] compresses
//! them (0.01 = a minute in 0.6 s) so tests never wait minutes.
//!
//! Leg B's report of an answered call names a recording (`record`, `filename`), which
//! `GET /v2/play?appid=&secret=&file=` then serves ([`recording_bytes`]).

mod recordings;
mod script;

pub use recordings::recording_bytes;
use script::script;

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use serde_json::{Value, json};

/// How a simulated call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Both answer; the driver talks for `talk_secs` (reported in `answeredsec`).
    Answered { talk_secs: u32 },
    /// The agent answers, the driver's phone rings out.
    DriverNoAnswer,
    /// The agent's own phone is never picked up.
    AgentNoAnswer,
    /// The driver rejects the call.
    Rejected,
    /// Click-to-call answers HTTP 200 with `{"code":407,…,"msg":"Authentication Failed"}`.
    AuthFailure,
    /// Click-to-call answers 404 "Failed to authenticate secret(Invalid user id or ...)".
    InvalidUser,
    /// Click-to-call never answers in time.
    Timeout,
    /// An answered call whose every webhook is delivered twice.
    Duplicate,
    /// An answered call whose webhooks arrive out of order (hangups before answers).
    OutOfOrder,
    /// Accepted, then silence: no webhook ever (for reconciliation).
    Silent,
    /// Timing: both answer and talk for `talk_secs` (TeleCMI seconds, scaled). Nothing is sent
    /// between leg B's answer and the hangup; the CDRs follow the hangup by [`CDR_DELAY_SECS`].
    LongTalk { talk_secs: u32 },
    /// Timing: TeleCMI places the call at once but answers the click-to-call request only after
    /// `answer_after_secs`; its webhooks start after `events_after_secs` (carrying the
    /// `extra_params` sent) and the driver talks for `talk_secs`.
    SlowAnswer { answer_after_secs: u32, events_after_secs: u32, talk_secs: u32 },
    /// Timing: an answered call whose hangup events and CDRs are lost; the CDR list has it.
    LostFinal { talk_secs: u32 },
    /// Timing: the agent hangs up while the driver's phone still rings.
    HangupBeforeAnswer,
    /// Timing: an answered call in the old leg-less format (`cmiuid`, no `leg`, no `request_id`,
    /// no `call_id`, no `extra_params`, `click_to_call: "true"`), talking for `talk_secs`.
    Legacy { talk_secs: u32 },
}

/// How long after the hangup TeleCMI's final CDRs come, in TeleCMI seconds.
pub const CDR_DELAY_SECS: f64 = 30.0;
/// How long a phone rings before it is picked up (or given up), in TeleCMI seconds.
pub const RING_SECS: f64 = 8.0;

impl Outcome {
    /// Whether this is one of the scenarios that follow TeleCMI's real timing (scaled).
    pub fn is_timed(self) -> bool {
        matches!(
            self,
            Self::LongTalk { .. }
                | Self::SlowAnswer { .. }
                | Self::LostFinal { .. }
                | Self::HangupBeforeAnswer
                | Self::Legacy { .. }
        )
    }
}

impl Outcome {
    /// The demo's default: the last digit of the number picks the outcome, so a newcomer sees
    /// every path (7: no answer, 8: rejected, 9: agent doesn't answer, else answered).
    pub fn for_number(to: u64) -> Self {
        match to % 10 {
            7 => Self::DriverNoAnswer,
            8 => Self::Rejected,
            9 => Self::AgentNoAnswer,
            _ => Self::Answered { talk_secs: 20 + (to % 50) as u32 },
        }
    }
}

/// A click-to-call the simulator accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedCall {
    pub request_id: String,
    pub user_id: String,
    pub to: u64,
    pub extra_params: Value,
    pub body: Value,
    pub outcome: Outcome,
}

/// CDR-list records served by `/v2/out_answered` and `/v2/out_missed`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedCdr {
    pub answered: bool,
    pub agent: String,
    pub to: u64,
    pub time_ms: i64,
    pub duration: i64,
}

struct Inner {
    app_id: String,
    secret: String,
    webhook_url: Mutex<Option<String>>,
    script: Mutex<VecDeque<Outcome>>,
    placed: Mutex<Vec<PlacedCall>>,
    cdrs: Mutex<Vec<ListedCdr>>,
    /// Recording file names reported so far: what `/v2/play` serves.
    recordings: Mutex<HashSet<String>>,
    /// Pause between webhooks of a call.
    step: Duration,
    /// Real seconds per TeleCMI second in the timing scenarios.
    scale: Mutex<f64>,
    /// Webhooks not answered 2xx within the client's timeout: TeleCMI promises no retry, so each
    /// may be lost.
    unacknowledged: std::sync::atomic::AtomicU64,
    http: reqwest::Client,
}

/// A running simulator. Clone to share; it stops when the runtime does.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
    pub addr: SocketAddr,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Simulator {
    /// Starts on `127.0.0.1:0`, accepting `app_id` + `secret`, pausing `step` between webhooks.
    pub async fn start(app_id: &str, secret: &str, step: Duration) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            app_id: app_id.into(),
            secret: secret.into(),
            webhook_url: Mutex::new(None),
            script: Mutex::new(VecDeque::new()),
            placed: Mutex::new(Vec::new()),
            cdrs: Mutex::new(Vec::new()),
            recordings: Mutex::new(HashSet::new()),
            step,
            scale: Mutex::new(1.0),
            unacknowledged: std::sync::atomic::AtomicU64::new(0),
            http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build().map_err(std::io::Error::other)?,
        });
        let app = Router::new()
            .route("/v2/webrtc/click2call", post(click2call))
            .route("/v2/ind/click2call", post(click2call))
            .route("/v2/out_answered", post(out_answered))
            .route("/v2/out_missed", post(out_missed))
            .route("/v2/play", get(recordings::play))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("simulator stopped: {e}");
            }
        });
        Ok(Self { inner, addr })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where to POST webhooks (the listener's full URL, token included).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        *lock(&self.inner.webhook_url) = Some(url.into());
    }

    /// The next calls go this way, in order; after the script runs out, [`Outcome::for_number`].
    pub fn push_outcome(&self, o: Outcome) {
        lock(&self.inner.script).push_back(o);
    }

    /// Webhooks sent that were not answered 2xx in time (refused, failed or timed out).
    pub fn unacknowledged(&self) -> u64 {
        self.inner.unacknowledged.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn placed(&self) -> Vec<PlacedCall> {
        lock(&self.inner.placed).clone()
    }

    pub fn add_cdr(&self, c: ListedCdr) {
        lock(&self.inner.cdrs).push(c);
    }

    /// What the CDR lists hold now (finished calls only).
    pub fn listed(&self) -> Vec<ListedCdr> {
        lock(&self.inner.cdrs).clone()
    }

    /// The recording file names reported so far (in webhooks or CDR lists), sorted.
    pub fn recordings(&self) -> Vec<String> {
        let mut v: Vec<String> = lock(&self.inner.recordings).iter().cloned().collect();
        v.sort();
        v
    }

    /// Real seconds per TeleCMI second in the timing scenarios (1.0 = real time).
    pub fn set_time_scale(&self, scale: f64) {
        *lock(&self.inner.scale) = if scale.is_finite() && scale > 0.0 { scale } else { 1.0 };
    }
}

impl Inner {
    /// `secs` TeleCMI seconds as real time.
    fn scaled(&self, secs: f64) -> Duration {
        Duration::from_secs_f64((secs * *lock(&self.scale)).max(0.0))
    }
}

fn int_of(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

async fn click2call(State(sim): State<Arc<Inner>>, body: Json<Value>) -> (axum::http::StatusCode, Json<Value>) {
    use axum::http::StatusCode;
    let Json(body) = body;
    let user_id = body.get("user_id").and_then(Value::as_str).unwrap_or("").to_string();
    let secret = body.get("secret").and_then(Value::as_str).unwrap_or("");
    let outcome = lock(&sim.script).pop_front();
    let Some(to) = int_of(body.get("to")) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"code": 400, "error": true, "msg": "To parameter missing"})));
    };
    let outcome = outcome.unwrap_or_else(|| Outcome::for_number(to));
    let app_ok = user_id.rsplit_once('_').is_some_and(|(ext, app)| !ext.is_empty() && app == sim.app_id);
    if !app_ok || outcome == Outcome::InvalidUser {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"code": 404, "error": true, "msg": "Failed to authenticate secret(Invalid user id or ...)"})),
        );
    }
    if secret != sim.secret || outcome == Outcome::AuthFailure {
        // TeleCMI has been seen answering HTTP 200 with a failure code in the body.
        return (StatusCode::OK, Json(json!({"code": 407, "error": true, "msg": "Authentication Failed"})));
    }
    if outcome == Outcome::Timeout {
        tokio::time::sleep(Duration::from_secs(15)).await;
    }
    let request_id: String = rand::rng().sample_iter(rand::distr::Alphanumeric).take(43).map(char::from).collect();
    let extra = body.get("extra_params").cloned().unwrap_or(Value::Null);
    let placed =
        PlacedCall { request_id: request_id.clone(), user_id, to, extra_params: extra, body: body.clone(), outcome };
    lock(&sim.placed).push(placed.clone());
    // TeleCMI places the call whether or not its answer reaches the caller in time.
    tokio::spawn(play(sim.clone(), placed));
    if let Outcome::SlowAnswer { answer_after_secs, .. } = outcome {
        tokio::time::sleep(sim.scaled(f64::from(answer_after_secs))).await;
    }
    (StatusCode::OK, Json(json!({"code": 200, "msg": "Call initiated", "request_id": request_id})))
}

/// What the CDR lists show for a call once it finished (TeleCMI lists finished calls only).
fn listing(p: &PlacedCall, placed_ms: i64) -> Option<ListedCdr> {
    let (answered, duration) = match p.outcome {
        Outcome::Answered { talk_secs }
        | Outcome::LongTalk { talk_secs }
        | Outcome::LostFinal { talk_secs }
        | Outcome::Legacy { talk_secs }
        | Outcome::SlowAnswer { talk_secs, .. } => (true, i64::from(talk_secs)),
        Outcome::Duplicate | Outcome::OutOfOrder => (true, i64::from(talk_secs_of(p.outcome))),
        Outcome::DriverNoAnswer | Outcome::Rejected | Outcome::AgentNoAnswer | Outcome::HangupBeforeAnswer => {
            (false, 0)
        }
        Outcome::Silent | Outcome::AuthFailure | Outcome::InvalidUser | Outcome::Timeout => return None,
    };
    Some(ListedCdr { answered, agent: p.user_id.clone(), to: p.to, time_ms: placed_ms, duration })
}

fn talk_secs_of(o: Outcome) -> u32 {
    match o {
        Outcome::Answered { talk_secs } => talk_secs,
        _ => 30,
    }
}

async fn play(sim: Arc<Inner>, p: PlacedCall) {
    let placed_ms = chrono::Utc::now().timestamp_millis();
    for (i, (after, ev)) in script(&p, &sim.app_id).into_iter().enumerate() {
        tokio::time::sleep(pause(&sim, p.outcome, i, after)).await;
        if let Some(ev) = ev {
            send(&sim, &ev).await;
        }
    }
    // Only now, the call finished, do the CDR lists show it.
    if let Some(l) = listing(&p, placed_ms) {
        lock(&sim.cdrs).push(l);
    }
}

/// The wait before webhook `i` of a call: TeleCMI's own gap `after` (scaled) in the timed
/// scenarios; else one step, three for the talk of an answered call (between leg B's answer and
/// its hangup).
fn pause(sim: &Inner, outcome: Outcome, i: usize, after: f64) -> Duration {
    if outcome.is_timed() {
        sim.scaled(after)
    } else if i == 4 && matches!(outcome, Outcome::Answered { .. }) {
        sim.step * 3
    } else {
        sim.step
    }
}

async fn send(sim: &Inner, ev: &Value) {
    // A report that names a recording makes the file exist (before the report is sent).
    if let Some(file) = ev.get("filename").and_then(Value::as_str) {
        lock(&sim.recordings).insert(file.to_string());
    }
    let Some(url) = lock(&sim.webhook_url).clone() else {
        tracing::warn!("simulator has no webhook URL; dropping event");
        return;
    };
    let unacknowledged = || sim.unacknowledged.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    match sim.http.post(&url).json(ev).send().await {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => {
            unacknowledged();
            tracing::warn!(status = r.status().as_u16(), "simulator webhook refused");
        }
        Err(e) => {
            unacknowledged();
            tracing::warn!("simulator webhook failed: {}", e.without_url());
        }
    }
}

async fn cdr_list(sim: &Inner, body: &Value, answered: bool) -> Json<Value> {
    if body.get("secret").and_then(Value::as_str) != Some(sim.secret.as_str()) {
        return Json(json!({"code": 407, "error": true, "msg": "Authentication Failed"}));
    }
    let start = body.get("start_date").and_then(Value::as_i64).unwrap_or(i64::MIN);
    let end = body.get("end_date").and_then(Value::as_i64).unwrap_or(i64::MAX);
    let page = body.get("page").and_then(Value::as_u64).unwrap_or(1).max(1) as usize;
    let limit = body.get("limit").and_then(Value::as_u64).unwrap_or(20).clamp(1, 20) as usize;
    let all: Vec<Value> = lock(&sim.cdrs)
        .iter()
        .filter(|c| c.answered == answered && c.time_ms >= start && c.time_ms <= end)
        .map(|c| {
            let filename = answered.then(|| format!("cdr-{}.mp3", c.time_ms));
            if let Some(f) = &filename {
                lock(&sim.recordings).insert(f.clone());
            }
            json!({"cmiuid": format!("cdr-{}", c.time_ms), "duration": c.duration + 5, "billedsec": c.duration,
                   "answeredsec": if answered { Some(c.duration) } else { None }, "agent": c.agent, "from": 912240000000u64,
                   "to": c.to, "time": c.time_ms, "filename": filename})
        })
        .collect();
    let count = all.len();
    let page_items: Vec<Value> = all.into_iter().skip((page - 1) * limit).take(limit).collect();
    Json(json!({"code": 200, "count": count, "cdr": page_items}))
}

async fn out_answered(State(sim): State<Arc<Inner>>, Json(body): Json<Value>) -> Json<Value> {
    cdr_list(&sim, &body, true).await
}

async fn out_missed(State(sim): State<Arc<Inner>>, Json(body): Json<Value>) -> Json<Value> {
    cdr_list(&sim, &body, false).await
}
