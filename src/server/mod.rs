//! The HTTP side (axum): TeleCMI webhooks, health, and server-sent call events.
//! The webhook handler writes to the store first and only then tells anyone (webhooks arriving
//! together share one transaction: [`ingest`]); `/events` and the old API share one bearer-token
//! check ([`bearer_caller`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use futures::Stream;
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::config::Secret;
use crate::coord::bus::Bus;
use crate::store::{ApplyOutcome, Store};
use crate::telecmi::webhook;

pub mod api;
pub mod ingest;
pub mod spool;

use ingest::Ingest;
use spool::{Spooler, Taken};

/// Webhook bodies above this are refused with 413.
pub const MAX_BODY: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub bus: Bus,
    pub webhook_token: Arc<Secret>,
    /// Our `TELECMI_APP_ID`: webhooks naming another app are refused. `None` when this process has
    /// no TeleCMI credentials (a manual-only console on a team database): nothing to compare with.
    pub app_id: Option<Arc<str>>,
    /// The one writer that stores this listener's webhooks (group commit).
    pub ingest: Ingest,
    /// Where webhooks wait while the database does not answer; `None`: they are refused with 503
    /// instead (a listener built without a data folder, as some tests do).
    pub spool: Option<Spooler>,
}

impl AppState {
    /// Starts the webhook writer, so needs a Tokio runtime.
    pub fn new(store: Store, bus: Bus, webhook_token: Secret, app_id: Option<&str>) -> Self {
        let ingest = Ingest::start(store.clone(), bus.clone());
        Self { store, bus, webhook_token: Arc::new(webhook_token), app_id: app_id.map(Arc::from), ingest, spool: None }
    }

    /// Webhooks the database does not take in time go to `spool` (see [`spool`]).
    pub fn with_spool(self, spool: Spooler) -> Self {
        Self { spool: Some(spool), ..self }
    }
}

/// The routes of DESIGN.md that need no API token.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/webhook/telecmi/{token}", post(webhook_handler))
        .route("/healthz", get(healthz))
        .route("/events", get(events))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

/// Compares in constant time so the token cannot be guessed byte by byte from response times.
pub fn token_matches(given: &str, expected: &Secret) -> bool {
    let (a, b) = (given.as_bytes(), expected.expose().as_bytes());
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

async fn webhook_handler(
    State(st): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !token_matches(&token, &st.webhook_token) {
        return reply(StatusCode::UNAUTHORIZED, json!({"ok": false, "error": "unknown webhook token"}));
    }
    handle_webhook(&st, &headers, &body).await
}

/// Why a bearer token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    Missing,
    Unknown,
    /// The token could not be checked (the store failed); logged where it happened.
    Unavailable,
}

impl AuthError {
    pub fn status(self) -> StatusCode {
        match self {
            Self::Missing | Self::Unknown => StatusCode::UNAUTHORIZED,
            Self::Unavailable => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::Missing => "Missing bearer token (Authorization: Bearer <token>)",
            Self::Unknown => "Invalid or revoked token",
            Self::Unavailable => "Database unavailable",
        }
    }
}

/// The caller owning the request's API token (`calldesk token issue`, stored hashed and checked
/// unrevoked): the one check behind the old API and `/events`.
pub async fn bearer_caller(store: &Store, headers: &HeaderMap) -> Result<i64, AuthError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::Missing)?;
    match store.caller_for_token(&crate::domain::token::hash(token)).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(AuthError::Unknown),
        Err(e) => {
            tracing::error!("token lookup failed: {e}");
            Err(AuthError::Unavailable)
        }
    }
}

/// Whether a webhook's app id (if it names one) is someone else's.
fn foreign_app(given: Option<&str>, ours: Option<&str>) -> bool {
    match (given, ours) {
        (Some(g), Some(o)) => {
            let (g, o) = (g.trim(), o.trim());
            // `appid` arrives as a number or a string: 033336628, 33336628 and 33336628.0 are
            // the same app.
            let number = |s: &str| {
                s.parse::<u64>().ok().or_else(|| {
                    s.parse::<f64>().ok().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15).map(|f| f as u64)
                })
            };
            match (number(g), number(o)) {
                (Some(a), Some(b)) => a != b,
                _ => g != o,
            }
        }
        _ => false,
    }
}

/// Shared by `/webhook/telecmi/{token}` and the old API's `action=webhook`.
pub async fn handle_webhook(st: &AppState, headers: &HeaderMap, body: &[u8]) -> Response {
    if let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        let ct = ct.to_ascii_lowercase();
        if !(ct.contains("json") || ct.starts_with("text/plain")) {
            return reply(StatusCode::UNSUPPORTED_MEDIA_TYPE, json!({"ok": false, "error": "send application/json"}));
        }
    }
    let (ev, app_id) = match webhook::parse_with_app_id(body) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::warn!("webhook refused: {e}");
            return reply(StatusCode::BAD_REQUEST, json!({"ok": false, "error": e.to_string()}));
        }
    };
    if foreign_app(app_id.as_deref(), st.app_id.as_deref()) {
        // Not stored: another app's events must not touch our calls, nor take the
        // de-duplication keys of our own (a request id can be replayed).
        tracing::warn!(app_id = ?app_id, key = %ev.dedup_key, status = %ev.provider_status, "webhook for another TeleCMI app refused");
        return reply(StatusCode::FORBIDDEN, json!({"ok": false, "error": "webhook is for another TeleCMI app"}));
    }
    // Answered only once the transaction holding the event has committed (the writer has told
    // the UI by then), or once it is on disk in the spool.
    let (key, leg, status) = (ev.dedup_key.clone(), ev.leg, ev.provider_status.clone());
    let taken = match &st.spool {
        Some(spool) => spool.take(&st.ingest, ev, body, Utc::now()).await,
        None => match st.ingest.submit(ev, Utc::now()).await {
            Ok(outcome) => Taken::Stored(outcome),
            Err(e) => Taken::Lost(e.to_string()),
        },
    };
    answer((&key, leg, &status), taken)
}

/// The answer to a webhook (its key, leg and status, for the log), from what became of it.
fn answer((key, leg, status): (&str, crate::domain::Leg, &str), taken: Taken) -> Response {
    match taken {
        Taken::Stored(ApplyOutcome::Applied { call, before, .. }) => {
            tracing::info!(call_id = call.id, leg = leg.as_str(), %status, %before, after = ?call.status, "webhook applied");
            reply(StatusCode::OK, json!({"ok": true, "result": "applied"}))
        }
        Taken::Stored(ApplyOutcome::Duplicate) => reply(StatusCode::OK, json!({"ok": true, "result": "duplicate"})),
        Taken::Stored(ApplyOutcome::Kept { call_id }) => {
            tracing::info!(call_id, %key, "webhook kept for audit; the call's status is not one of ours");
            reply(StatusCode::OK, json!({"ok": true, "result": "kept"}))
        }
        Taken::Stored(ApplyOutcome::Unmatched) => {
            tracing::warn!(%key, "webhook for no known call kept for audit");
            reply(StatusCode::OK, json!({"ok": true, "result": "unmatched"}))
        }
        Taken::Spooled(_) => reply(StatusCode::OK, json!({"ok": true, "result": "spooled"})),
        Taken::SetAside(_) => {
            // Kept in the spool's `.rejected` file (logged there); the sender cannot fix it.
            reply(StatusCode::INTERNAL_SERVER_ERROR, json!({"ok": false, "error": "not stored: set aside"}))
        }
        Taken::Lost(e) => {
            // Our failure, not the sender's: 503 so TeleCMI (if it retries) tries again.
            tracing::error!("webhook not stored: {e}");
            reply(StatusCode::SERVICE_UNAVAILABLE, json!({"ok": false, "error": "database unavailable"}))
        }
    }
}

/// Reachable by anyone who can reach TeleCMI's side: says ok or degraded, never why (that goes
/// to the log). While webhooks wait in the spool it says degraded and how many wait, with 200:
/// the listener still takes every webhook durably, and a load balancer that took it out of
/// rotation would lose them. Degraded too (200, with a reason) while another spool in the folder
/// holds webhooks nobody applies (an orphan: the log names it). 503 only when webhooks cannot be kept at all (the database does
/// not answer and there is no spool, or the spool cannot be written).
async fn healthz(State(st): State<AppState>) -> Response {
    let budget = st.spool.as_ref().map_or(std::time::Duration::from_secs(5), Spooler::budget);
    let db = match tokio::time::timeout(budget, st.store.ping()).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {budget:?}")),
    };
    if let Err(e) = &db {
        tracing::error!("health check: database unreachable: {e}");
    }
    let waiting = st.spool.as_ref().map_or(0, Spooler::waiting);
    let spool_ok = st.spool.as_ref().is_some_and(Spooler::healthy);
    // Webhooks acknowledged into another spool that nobody applies (named in the log at start).
    let orphaned = st.spool.as_ref().map_or(0, |s| s.orphans().len());
    match (&db, waiting) {
        (Ok(()), 0) if orphaned > 0 => {
            tracing::warn!(orphaned, "health check: degraded, an orphaned webhook spool waits for an operator");
            reply(
                StatusCode::OK,
                json!({"ok": true, "status": "degraded", "reason": "orphaned webhook spool", "orphaned_spools": orphaned}),
            )
        }
        (Ok(()), 0) => reply(StatusCode::OK, json!({"ok": true, "status": "ok"})),
        _ if spool_ok => {
            tracing::info!(waiting, "health check: degraded, webhooks are being spooled");
            reply(StatusCode::OK, json!({"ok": true, "status": "degraded", "spooled": waiting}))
        }
        _ => reply(StatusCode::SERVICE_UNAVAILABLE, json!({"ok": false, "status": "degraded"})),
    }
}

fn unauthorized(e: AuthError) -> Response {
    let mut resp = reply(e.status(), json!({"ok": false, "error": e.message()}));
    if e.status() == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
    }
    resp
}

/// Call changes as server-sent events: an agent's token sees that agent's calls, a supervisor's
/// sees everyone's.
async fn events(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let caller = match bearer_caller(&st.store, &headers).await {
        Ok(c) => c,
        Err(e) => return unauthorized(e),
    };
    let supervisor = match st.store.caller(caller).await {
        Ok(c) => c.is_some_and(|c| c.is_supervisor()),
        Err(e) => {
            tracing::error!("events: caller lookup failed: {e}");
            return unauthorized(AuthError::Unavailable);
        }
    };
    Sse::new(call_events(&st.bus, (!supervisor).then_some(caller))).keep_alive(KeepAlive::default()).into_response()
}

/// The bus as SSE events, only `caller`'s calls when given.
fn call_events(bus: &Bus, caller: Option<i64>) -> impl Stream<Item = Result<Event, Infallible>> + use<> {
    BroadcastStream::new(bus.subscribe()).filter_map(move |msg| {
        let update = msg.ok()?;
        if caller.is_some_and(|c| update.call.caller_id != Some(c)) {
            return None;
        }
        Event::default().event("call").json_data(&update).ok().map(Ok)
    })
}

/// A bound listener serving `app` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// Binds `addr`, with a message naming the key when it cannot.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("WEBHOOK_ADDR: cannot listen on {addr}: {e}"))
}

/// The webhook token in force: `WEBHOOK_TOKEN`, else one generated once per database and kept.
pub async fn webhook_token(store: &Store, configured: Option<&Secret>) -> crate::store::Result<Secret> {
    if let Some(t) = configured {
        return Ok(t.clone());
    }
    let generated = crate::domain::token::webhook_token(&mut rand::rng());
    Ok(Secret::new(store.setting_or_insert("webhook_token", &generated).await?))
}

#[cfg(test)]
mod tests {
    use super::foreign_app;

    #[test]
    fn an_app_id_is_the_same_app_however_it_is_written() {
        let ours = Some("33336628");
        for same in ["33336628", "033336628", " 33336628 ", "33336628.0"] {
            assert!(!foreign_app(Some(same), ours), "{same:?} is our app");
        }
        for other in ["33336629", "33336628.5", "abc", "-33336628"] {
            assert!(foreign_app(Some(other), ours), "{other:?} is another app");
        }
        assert!(!foreign_app(None, ours), "no app id named: nothing to compare");
        assert!(!foreign_app(Some("1"), None), "no app id of ours: nothing to compare");
    }
}
