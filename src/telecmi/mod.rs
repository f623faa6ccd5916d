//! TeleCMI: the click-to-call client, the CDR lists, webhook parsing, and a simulator that speaks
//! the same wire format (shared/TELECMI.md). Reconciling calls with the CDR lists is a coordinator's
//! work: [`crate::coord::reconcile`].

pub mod simulator;
pub mod webhook;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Secret, TelecmiCreds};
use crate::domain::Phone;

/// Key under which calldesk puts its own call id in `extra_params`.
pub const CALL_ID_PARAM: &str = "calldesk_call_id";

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a click-to-call did not start, in words an agent understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelecmiError {
    #[error(
        "TeleCMI refused the call: authentication failed (code {code}: {msg}); check TELECMI_APP_ID and TELECMI_APP_SECRET"
    )]
    Auth { code: i64, msg: String },
    #[error("TeleCMI refused the call (code {code}: {msg})")]
    Refused { code: i64, msg: String },
    #[error("TeleCMI answered HTTP {status} with a body calldesk cannot read")]
    BadResponse { status: u16 },
    #[error("TeleCMI did not answer within {0} s; the call was not confirmed")]
    Timeout(u64),
    /// The request may have reached TeleCMI, but its answer was lost (connection reset, cut body).
    #[error("TeleCMI's answer was lost ({0}); the call was not confirmed")]
    AnswerLost(String),
    /// Nothing was sent: the connection was refused or never made.
    #[error("cannot reach TeleCMI: {0}")]
    Unreachable(String),
}

impl TelecmiError {
    /// TeleCMI may have placed the call though calldesk never heard so: the request went out
    /// and no definite answer came back (timeout, lost or unreadable answer). Only a refusal in
    /// TeleCMI's body, or a connection never made, means the call was not placed.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Timeout(_) | Self::AnswerLost(_) | Self::BadResponse { .. })
    }
}

/// The JSON body of `POST /v2/webrtc/click2call`.
#[derive(Serialize)]
struct Click2Call<'a> {
    user_id: String,
    secret: &'a str,
    to: u64,
    extra_params: Value,
    webrtc: bool,
    followme: bool,
}

#[derive(Debug, Deserialize)]
struct Click2CallAnswer {
    code: Option<Value>,
    msg: Option<String>,
    request_id: Option<String>,
}

/// A CDR record from `/v2/out_answered` or `/v2/out_missed`.
#[derive(Debug, Clone, PartialEq)]
pub struct CdrRecord {
    pub agent: Option<String>,
    pub to: Option<String>,
    /// Epoch milliseconds.
    pub time: Option<i64>,
    pub duration: Option<i64>,
    pub answered: bool,
    /// The call's recording (`filename`), when the record names a usable one.
    pub filename: Option<String>,
}

/// Talks to TeleCMI's REST API. Cheap to clone.
#[derive(Clone)]
pub struct TelecmiClient {
    http: reqwest::Client,
    base_url: String,
    app_id: String,
    secret: Secret,
    timeout: Duration,
}

impl std::fmt::Debug for TelecmiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelecmiClient")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl TelecmiClient {
    pub fn new(base_url: &str, creds: &TelecmiCreds) -> Result<Self, TelecmiError> {
        Self::with_timeout(base_url, creds, TOTAL_TIMEOUT)
    }

    /// Like [`Self::new`], waiting at most `timeout` for TeleCMI's answer (tests use a short one
    /// to play a slow answer in seconds).
    pub fn with_timeout(base_url: &str, creds: &TelecmiCreds, timeout: Duration) -> Result<Self, TelecmiError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .user_agent(concat!("calldesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TelecmiError::Unreachable(e.to_string()))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            app_id: creds.app_id.clone(),
            secret: creds.secret.clone(),
            timeout,
        })
    }

    /// How long a request waits for TeleCMI's answer.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// `"<extension>_<app id>"`, TeleCMI's agent user id.
    pub fn user_id(&self, extension: &str) -> String {
        format!("{extension}_{}", self.app_id)
    }

    /// Rings the agent's phone (`extension`), then `to`. Returns TeleCMI's `request_id`.
    /// Success is `body.code == 200` only, whatever the HTTP status says.
    #[tracing::instrument(skip_all, fields(call_id, extension), err)]
    pub async fn click_to_call(&self, extension: &str, to: &Phone, call_id: i64) -> Result<String, TelecmiError> {
        let body = Click2Call {
            user_id: self.user_id(extension),
            secret: self.secret.expose(),
            to: to.as_u64(),
            extra_params: serde_json::json!({ CALL_ID_PARAM: call_id.to_string() }),
            webrtc: false,
            followme: true,
        };
        let resp = self
            .http
            .post(format!("{}/v2/webrtc/click2call", self.base_url))
            .json(&body)
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = resp.status().as_u16();
        // The request was answered: a failure reading the body loses that answer.
        let text = resp.text().await.map_err(|e| match self.classify(e) {
            TelecmiError::Unreachable(m) => TelecmiError::AnswerLost(m),
            other => other,
        })?;
        let answer: Click2CallAnswer = serde_json::from_str(&text).map_err(|_| TelecmiError::BadResponse { status })?;
        let code = answer.code.as_ref().and_then(webhook::as_int).ok_or(TelecmiError::BadResponse { status })?;
        let msg = answer.msg.unwrap_or_default();
        match code {
            200 => answer.request_id.filter(|r| !r.is_empty()).ok_or(TelecmiError::BadResponse { status }),
            401 | 403 | 404 | 407 => Err(TelecmiError::Auth { code, msg }),
            _ => Err(TelecmiError::Refused { code, msg }),
        }
    }

    /// One page of a CDR list (`out_answered` or `out_missed`) between two epoch-ms times.
    pub async fn cdr_page(
        &self,
        answered: bool,
        start_ms: i64,
        end_ms: i64,
        page: u32,
    ) -> Result<Vec<CdrRecord>, TelecmiError> {
        let path = if answered { "out_answered" } else { "out_missed" };
        let body = serde_json::json!({
            "appid": self.app_id.parse::<i64>().unwrap_or_default(),
            "secret": self.secret.expose(),
            "start_date": start_ms,
            "end_date": end_ms,
            "page": page,
            "limit": 20,
        });
        let resp = self
            .http
            .post(format!("{}/v2/{path}", self.base_url))
            .json(&body)
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.map_err(|_| TelecmiError::BadResponse { status })?;
        if let Some(code) = v.get("code").and_then(webhook::as_int)
            && code != 200
        {
            let msg = v.get("msg").and_then(Value::as_str).unwrap_or("").to_string();
            return Err(TelecmiError::Refused { code, msg });
        }
        // The list's key is not documented: take the first array of objects in the answer.
        let list = v.as_object().and_then(|o| o.values().find_map(|x| x.as_array())).cloned().unwrap_or_default();
        Ok(list
            .iter()
            .map(|r| CdrRecord {
                agent: r.get("agent").or_else(|| r.get("user")).and_then(webhook::as_text),
                to: r.get("to").and_then(webhook::as_text).map(|t| t.chars().filter(char::is_ascii_digit).collect()),
                time: r.get("time").and_then(webhook::as_int),
                duration: r
                    .get("answeredsec")
                    .or_else(|| r.get("billedsec"))
                    .or_else(|| r.get("duration"))
                    .and_then(webhook::as_int),
                answered,
                filename: r.get("filename").and_then(webhook::recording_filename),
            })
            .collect())
    }
}

impl TelecmiClient {
    /// A connection never made means nothing was sent (a definite "not placed"); a timeout or an
    /// error after connecting means the request may have been received (outcome unknown).
    fn classify(&self, e: reqwest::Error) -> TelecmiError {
        if e.is_connect() {
            TelecmiError::Unreachable("connection failed (network down or wrong TELECMI_BASE_URL?)".into())
        } else if e.is_timeout() {
            TelecmiError::Timeout(self.timeout.as_secs().max(1))
        } else {
            // reqwest errors can carry the URL; ours never holds the secret (it travels in the body).
            TelecmiError::AnswerLost(e.without_url().to_string())
        }
    }
}
