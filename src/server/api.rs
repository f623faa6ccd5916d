//! The old system's API at `/api/telecmi_production_api.php`, same actions, JSON envelope
//! `{success, message, data}` and HTTP codes — plus what it lacked: every request carries a
//! per-caller bearer token, and a `caller_id` in a body or query must be that token's caller.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::{AppState, bearer_caller, handle_webhook, token_matches};
use crate::coord::bus::{CallUpdate, Source, publish};
use crate::coord::dialer::{CallKind, DialError, Dialer};
use crate::domain::{CallStatus, Disposition, FeedbackCatalog};
use crate::store::{CallFilter, CallPage, StoreError, SubmitFeedback};

pub const PATH: &str = "/api/telecmi_production_api.php";
pub const MAX_LIMIT: u32 = 200;

#[derive(Clone)]
struct ApiState {
    app: AppState,
    dialer: Dialer,
    catalog: FeedbackCatalog,
}

/// The old API's route, served with `dialer` placing the calls.
pub fn router(app: AppState, dialer: Dialer) -> Router {
    Router::new().route(PATH, any(dispatch)).layer(axum::extract::DefaultBodyLimit::max(super::MAX_BODY)).with_state({
        crate::domain::text::set_team_zone(dialer.config.zone());
        let catalog = dialer.config.catalog();
        ApiState { app, dialer, catalog }
    })
}

/// `{success:false, message}` with `status`.
fn fail(status: StatusCode, message: impl Into<String>) -> Response {
    Refusal(status, message.into()).into_response()
}

/// A refused request, small enough to pass around in `Result`s.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"success": false, "message": self.1}))).into_response()
    }
}

fn ok(message: &str, data: Value) -> Response {
    (StatusCode::OK, Json(json!({"success": true, "message": message, "data": data}))).into_response()
}

async fn dispatch(
    State(st): State<ApiState>,
    method: Method,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let action = q.get("action").map(String::as_str).unwrap_or("");
    let wanted = match action {
        "click_to_call" | "update_feedback" | "webhook" => Method::POST,
        "get_call_logs" => Method::GET,
        _ => return fail(StatusCode::BAD_REQUEST, "Invalid action"),
    };
    if method != wanted {
        return fail(StatusCode::METHOD_NOT_ALLOWED, format!("Method not allowed: use {wanted} for action={action}"));
    }
    if action == "webhook" {
        // TeleCMI cannot send a bearer token: the webhook secret comes in the query instead.
        let given = q.get("token").map(String::as_str).unwrap_or("");
        if !token_matches(given, &st.app.webhook_token) {
            return fail(StatusCode::UNAUTHORIZED, "Unknown webhook token");
        }
        return handle_webhook(&st.app, &headers, &body).await;
    }
    let caller = match authenticate(&st, &headers).await {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    match action {
        "click_to_call" => click_to_call(&st, caller, &body).await,
        "update_feedback" => update_feedback(&st, caller, &body).await,
        _ => get_call_logs(&st, caller, &q).await,
    }
}

/// The caller owning the request's bearer token, or a 401 in the old API's envelope.
async fn authenticate(st: &ApiState, headers: &HeaderMap) -> Result<i64, Refusal> {
    bearer_caller(&st.app.store, headers).await.map_err(|e| Refusal(e.status(), e.message().into()))
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Refusal(StatusCode::BAD_REQUEST, "Invalid JSON: expected an object".into())),
        Err(e) => Err(Refusal(StatusCode::BAD_REQUEST, format!("Invalid JSON: {e}"))),
    }
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    match m.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int(m: &Map<String, Value>, key: &str) -> Option<Result<i64, ()>> {
    match m.get(key)? {
        Value::Null => None,
        Value::Number(n) => Some(n.as_i64().ok_or(())),
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().parse().map_err(|_| ())),
        _ => Some(Err(())),
    }
}

/// Every one of `names` has a non-empty value, else 400 naming the ones that do not.
fn require(m: &Map<String, Value>, names: &[&str]) -> Result<(), Refusal> {
    let absent: Vec<&str> = names.iter().copied().filter(|k| text(m, k).is_none()).collect();
    if absent.is_empty() {
        Ok(())
    } else {
        Err(Refusal(StatusCode::BAD_REQUEST, format!("Missing required fields: {}", absent.join(", "))))
    }
}

/// Checks the body's `caller_id` is the token's caller.
fn same_caller(m: &Map<String, Value>, caller: i64) -> Result<(), Refusal> {
    match int(m, "caller_id") {
        None => require(m, &["caller_id"]),
        Some(Err(())) => Err(Refusal(StatusCode::BAD_REQUEST, "caller_id must be a number".into())),
        Some(Ok(c)) if c != caller => {
            Err(Refusal(StatusCode::FORBIDDEN, "caller_id does not match the caller of this token".into()))
        }
        Some(Ok(_)) => Ok(()),
    }
}

async fn click_to_call(st: &ApiState, caller: i64, body: &[u8]) -> Response {
    let m = match parse_object(body) {
        Ok(m) => m,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = require(&m, &["caller_id", "driver_id", "driver_mobile"]).and_then(|()| same_caller(&m, caller)) {
        return r.into_response();
    }
    let driver_id = text(&m, "driver_id").unwrap_or_default();
    let mobile = text(&m, "driver_mobile");
    match st.dialer.place_call(caller, &driver_id, mobile.as_deref(), CallKind::Telecmi).await {
        Ok(call) => {
            let rid = call.reference_id.clone().unwrap_or_default();
            ok(
                "TeleCMI call initiated successfully",
                json!({
                    "call_id": rid,
                    "request_id": rid,
                    "status": "initiated",
                    "driver_name": call.driver_name,
                    "driver_mobile": call.driver_mobile,
                    "message": "Your phone will ring shortly. Answer to connect with the driver.",
                }),
            )
        }
        Err(DialError::NotAuthorized) => fail(StatusCode::FORBIDDEN, not_authorized_message(st).await),
        Err(e) => {
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            fail(status, e.to_string())
        }
    }
}

/// "…Only Pooja can make TeleCMI calls." with the names of the callers in `TELECMI_AGENTS`.
async fn not_authorized_message(st: &ApiState) -> String {
    let base = DialError::NotAuthorized.to_string();
    let mut names = Vec::new();
    for id in st.dialer.config.telecmi_agents.keys() {
        if let Ok(Some(c)) = st.app.store.caller(*id).await {
            names.push(c.name);
        }
    }
    match names.len() {
        0 => base,
        1 => format!("{base} Only {} can make TeleCMI calls.", names[0]),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("{base} Only {} and {last} can make TeleCMI calls.", names.join(", "))
        }
    }
}

async fn update_feedback(st: &ApiState, caller: i64, body: &[u8]) -> Response {
    let req = match feedback_request(body, caller) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let call = match st.app.store.call_by_reference(&req.reference).await {
        Ok(Some(c)) => c,
        Ok(None) => return fail(StatusCode::NOT_FOUND, "Call not found"),
        Err(e) => return store_failed(&e),
    };
    if call.caller_id != Some(caller) {
        return fail(StatusCode::FORBIDDEN, "This call belongs to another caller");
    }
    let submit = SubmitFeedback {
        call_id: call.id,
        status: req.status,
        feedback: req.feedback,
        remarks: req.remarks,
        call_duration: req.call_duration,
    };
    let fallback = req.class.map(Disposition::effect);
    match st.app.store.submit_feedback_with(&submit, fallback, &st.catalog, Utc::now()).await {
        Ok((c, _)) => {
            publish(&st.app.bus, CallUpdate::new(c.clone(), Source::Feedback));
            ok(
                "Feedback updated successfully",
                json!({
                    "reference_id": c.reference_id,
                    "driver_name": c.driver_name,
                    "driver_mobile": c.driver_mobile,
                    "status": c.status,
                    "feedback": c.feedback,
                    "remarks": c.remarks,
                    "call_duration": c.call_duration,
                    "created_at": crate::domain::text::fmt_datetime(&c.created_at),
                }),
            )
        }
        Err(StoreError::Invalid(msg)) => fail(StatusCode::BAD_REQUEST, msg),
        Err(StoreError::NotFound(_)) => fail(StatusCode::NOT_FOUND, "Call not found"),
        Err(e) => store_failed(&e),
    }
}

/// What an `update_feedback` body asks for, its fields checked (the call is not read yet).
struct FeedbackRequest {
    reference: String,
    status: Option<CallStatus>,
    class: Option<Disposition>,
    feedback: String,
    remarks: String,
    call_duration: Option<i64>,
}

/// Reads an `update_feedback` body sent with `caller`'s token, or the 400/403 saying what is wrong.
fn feedback_request(body: &[u8], caller: i64) -> Result<FeedbackRequest, Refusal> {
    let m = parse_object(body)?;
    require(&m, &["reference_id", "status", "feedback"])?;
    if m.contains_key("caller_id") {
        same_caller(&m, caller)?;
    }
    let (status, class) = parse_status(&text(&m, "status").unwrap_or_default())?;
    let call_duration = match int(&m, "call_duration") {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(())) => {
            return Err(Refusal(StatusCode::BAD_REQUEST, "call_duration must be a whole number of seconds".into()));
        }
    };
    let remarks = match m.get("remarks") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(Refusal(StatusCode::BAD_REQUEST, "remarks must be text".into())),
    };
    Ok(FeedbackRequest {
        reference: text(&m, "reference_id").unwrap_or_default(),
        status,
        class,
        feedback: text(&m, "feedback").unwrap_or_default(),
        remarks,
        call_duration,
    })
}

/// `update_feedback`'s `status`: the old app sends its own class of outcome (`callBack`,
/// `notReachable`, … — and `connected`, which is the class here, not a live status), which never
/// moves the call's status; the seed's documented form sends one of calldesk's statuses
/// (`completed`), which moves it forward as before.
fn parse_status(s: &str) -> Result<(Option<CallStatus>, Option<Disposition>), Refusal> {
    if let Some(class) = Disposition::parse(s) {
        return Ok((None, Some(class)));
    }
    match s.parse::<CallStatus>() {
        Ok(status) => Ok((Some(status), None)),
        Err(_) => {
            let classes: Vec<&str> = Disposition::ALL.iter().map(|d| d.as_str()).collect();
            Err(Refusal(
                StatusCode::BAD_REQUEST,
                format!(
                    "unknown call status {s:?}; expected one of {} or a call status (completed, missed, failed)",
                    classes.join(", ")
                ),
            ))
        }
    }
}

fn store_failed(e: &StoreError) -> Response {
    tracing::error!("API store error: {e}");
    fail(StatusCode::INTERNAL_SERVER_ERROR, "Database unavailable")
}

async fn get_call_logs(st: &ApiState, caller: i64, q: &HashMap<String, String>) -> Response {
    let number = |key: &str, default: u32| -> Result<u32, Refusal> {
        match q.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .map_err(|_| Refusal(StatusCode::BAD_REQUEST, format!("{key} must be a non-negative whole number"))),
        }
    };
    if let Some(c) = q.get("caller_id").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        match c.parse::<i64>() {
            Ok(c) if c == caller => {}
            Ok(_) => return fail(StatusCode::FORBIDDEN, "caller_id does not match the caller of this token"),
            Err(_) => return fail(StatusCode::BAD_REQUEST, "caller_id must be a number"),
        }
    }
    let (limit, offset) = match (number("limit", 50), number("offset", 0)) {
        (Ok(l), Ok(o)) => (l.clamp(1, MAX_LIMIT), o),
        (Err(r), _) | (_, Err(r)) => return r.into_response(),
    };
    let filter = CallFilter { caller_id: Some(caller), ..CallFilter::default() };
    let rows = st.app.store.list_calls(&filter, CallPage { before_id: None, offset: Some(offset), limit }).await;
    let total = st.app.store.count_calls(&filter).await;
    match (rows, total) {
        (Ok(rows), Ok(total)) => ok(
            "Call logs retrieved successfully",
            json!({"call_logs": rows, "total": total, "limit": limit, "offset": offset}),
        ),
        (Err(e), _) | (_, Err(e)) => store_failed(&e),
    }
}
