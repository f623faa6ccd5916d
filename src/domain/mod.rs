//! Plain types and rules of the calling domain; no I/O here.

pub mod draft;
pub mod event;
pub mod feedback;
pub mod hours;
pub mod phone;
pub mod presence;
pub mod session;
pub mod ssh_key;
pub mod status;
pub mod text;
pub mod token;
pub mod wrapup;

pub use event::ProviderEvent;
pub use feedback::{
    DO_NOT_CALL, DO_NOT_CALL_REASON, Disposition, FeedbackCatalog, FeedbackGroup, FeedbackOption, QueueDecision,
    QueueEffect, RetryPolicy, WRONG_NUMBER_REASON,
};
pub use hours::{CallingHours, Closed, Schedule};
pub use phone::{Phone, PhoneError};
pub use presence::{Presence, PresenceChange};
pub use status::{CallStatus, Leg, Signal};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// `call_logs.call_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallType {
    Ivr,
    Manual,
}

impl CallType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ivr => "ivr",
            Self::Manual => "manual",
        }
    }
}

/// `call_logs.provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Telecmi,
    Manual,
    Myoperator,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telecmi => "telecmi",
            Self::Manual => "manual",
            Self::Myoperator => "myoperator",
        }
    }
}

/// A caller's role: agents call, supervisors watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
        }
    }
}

/// A driver as imported (strings as given; `mobile` already normalised by import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Driver {
    pub id: String,
    pub name: String,
    pub mobile: String,
    pub tmid: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub assigned_to: Option<i64>,
    /// The driver's own IANA time zone, for calling hours (`None`: the team's).
    pub timezone: Option<String>,
}

/// One row of `call_logs`, column for column. Timestamps are UTC (MySQL `TIMESTAMP`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CallLog {
    pub id: i64,
    pub reference_id: Option<String>,
    pub caller_id: Option<i64>,
    pub driver_id: Option<String>,
    pub driver_mobile: Option<String>,
    pub driver_name: Option<String>,
    pub driver_tmid: Option<String>,
    pub call_type: Option<String>,
    pub status: Option<String>,
    pub provider: Option<String>,
    pub telecmi_user_id: Option<String>,
    pub feedback: Option<String>,
    pub remarks: Option<String>,
    pub call_duration: Option<i64>,
    #[serde(serialize_with = "text::ser_datetime")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "text::ser_opt_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// Remarks of a click-to-call whose request TeleCMI never answered: the call may still ring.
/// (The side table `call_provisional` holds the same fact for queries.)
pub const UNCONFIRMED_REMARK: &str = "unconfirmed: TeleCMI did not answer the click-to-call request";

/// Start of the reason a call closed at the call ceiling (`CALL_CEILING_HOURS`) records, in its
/// remarks and in `call_provisional`: TeleCMI never said how it ended, so it may have rung the driver.
pub const CEILING_REMARK: &str = "call ceiling";

impl CallLog {
    /// The stored status, or `initiated` for an unknown legacy value.
    pub fn call_status(&self) -> CallStatus {
        self.status.as_deref().and_then(|s| s.parse().ok()).unwrap_or(CallStatus::Initiated)
    }

    /// A click-to-call whose outcome is unknown: TeleCMI never answered the request and no webhook
    /// has come yet. The driver stays reserved; a webhook, reconciliation or the agent's "mark as
    /// not placed" settles it.
    pub fn is_unconfirmed(&self) -> bool {
        self.call_status() == CallStatus::Initiated
            && self.reference_id.as_deref().is_none_or(str::is_empty)
            && self.remarks.as_deref().is_some_and(|r| r.starts_with(UNCONFIRMED_REMARK))
    }
}
