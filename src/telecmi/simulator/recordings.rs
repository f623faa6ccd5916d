//! The simulator's `GET /v2/play?appid=&secret=&file=`: a recording it reported, as a small
//! deterministic body (`audio/mpeg`, with its length), or TeleCMI-style JSON errors.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Inner, lock};

/// Size of every simulated recording, in bytes.
pub const RECORDING_LEN: usize = 6 * 1024 + 123;

/// The bytes the simulator serves for `filename`: the same name always gives the same bytes, and
/// two names give different ones (so a test can tell which file it got).
pub fn recording_bytes(filename: &str) -> Vec<u8> {
    // FNV-1a of the name seeds a xorshift.
    let mut x =
        filename.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)) | 1;
    let mut out = Vec::with_capacity(RECORDING_LEN + 8);
    out.extend_from_slice(b"ID3\x04\x00\x00\x00\x00\x00\x00");
    while out.len() < RECORDING_LEN {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(RECORDING_LEN);
    out
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({"code": status.as_u16(), "error": true, "msg": msg}))).into_response()
}

pub(super) async fn play(State(sim): State<Arc<Inner>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let app_ok = q.get("appid").is_some_and(|a| *a == sim.app_id);
    let secret_ok = q.get("secret").is_some_and(|s| *s == sim.secret);
    if !(app_ok && secret_ok) {
        return error(StatusCode::UNAUTHORIZED, "Authentication Failed");
    }
    let file = q.get("file").map_or("", String::as_str);
    if !lock(&sim.recordings).contains(file) {
        return error(StatusCode::NOT_FOUND, "File not found");
    }
    ([(header::CONTENT_TYPE, "audio/mpeg")], recording_bytes(file)).into_response()
}
