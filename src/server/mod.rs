//! The HTTP side (axum): TeleCMI webhooks, health, and server-sent call events.
//! The webhook handler writes to the store first and only then tells anyone.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
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

use crate::bus::{Bus, CallUpdate, publish};
use crate::config::Secret;
use crate::store::{ApplyOutcome, Store};
use crate::telecmi::webhook;

pub mod api;

/// Webhook bodies above this are refused with 413.
pub const MAX_BODY: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub bus: Bus,
    pub webhook_token: Arc<Secret>,
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

/// Shared by `/webhook/telecmi/{token}` and the old API's `action=webhook`.
pub async fn handle_webhook(st: &AppState, headers: &HeaderMap, body: &[u8]) -> Response {
    if let Some(ct) = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        let ct = ct.to_ascii_lowercase();
        if !(ct.contains("json") || ct.starts_with("text/plain")) {
            return reply(StatusCode::UNSUPPORTED_MEDIA_TYPE, json!({"ok": false, "error": "send application/json"}));
        }
    }
    let ev = match webhook::parse(body) {
        Ok(ev) => ev,
        Err(e) => {
            tracing::warn!("webhook refused: {e}");
            return reply(StatusCode::BAD_REQUEST, json!({"ok": false, "error": e.to_string()}));
        }
    };
    match st.store.apply_event(&ev, Utc::now()).await {
        Ok(ApplyOutcome::Applied { call, before, event_id }) => {
            tracing::info!(call_id = call.id, leg = ev.leg.as_str(), status = %ev.provider_status, %before, after = ?call.status, "webhook applied");
            publish(
                &st.bus,
                CallUpdate {
                    call: *call,
                    source: "webhook",
                    leg: Some(ev.leg.as_str().to_string()),
                    provider_status: Some(ev.provider_status.clone()),
                    event_id: Some(event_id),
                },
            );
            reply(StatusCode::OK, json!({"ok": true, "result": "applied"}))
        }
        Ok(ApplyOutcome::Duplicate) => reply(StatusCode::OK, json!({"ok": true, "result": "duplicate"})),
        Ok(ApplyOutcome::Unmatched) => {
            tracing::warn!(key = %ev.dedup_key, "webhook for no known call kept for audit");
            reply(StatusCode::OK, json!({"ok": true, "result": "unmatched"}))
        }
        Err(e) => {
            // Our failure, not the sender's: 503 so TeleCMI (if it retries) tries again.
            tracing::error!("webhook not stored: {e}");
            reply(StatusCode::SERVICE_UNAVAILABLE, json!({"ok": false, "error": "database unavailable"}))
        }
    }
}

async fn healthz(State(st): State<AppState>) -> Response {
    match st.store.ping().await {
        Ok(()) => reply(StatusCode::OK, json!({"ok": true, "database": "ok"})),
        Err(e) => reply(StatusCode::SERVICE_UNAVAILABLE, json!({"ok": false, "database": e.to_string()})),
    }
}

async fn events(State(st): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(st.bus.subscribe()).filter_map(|msg| {
        let update = msg.ok()?;
        Event::default().event("call").json_data(&update).ok().map(Ok)
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
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
    let generated = crate::commands::tokens::generate_webhook_token();
    Ok(Secret::new(store.setting_or_insert("webhook_token", &generated).await?))
}
