//! Placing calls: the rules checked before any call (one place, used by the console and the API),
//! the `call_logs` row written before dialing, and the failed row when the provider refuses.

use chrono::{Duration, Utc};

use crate::bus::{Bus, CallUpdate, publish};
use crate::config::Config;
use crate::domain::{CallLog, CallType, Phone, Provider};
use crate::store::{NewCall, Store, StoreError};
use crate::telecmi::TelecmiClient;

/// No second dial to the same driver within this long (a repeated key press, two consoles).
pub const MIN_REDIAL_GAP_SECS: i64 = 30;

/// How the agent wants to reach the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// TeleCMI rings the agent's phone, then the driver.
    Telecmi,
    /// The agent dials by hand; calldesk only logs.
    Manual,
}

impl CallKind {
    /// How a logged call was placed.
    pub fn of(call: &CallLog) -> Self {
        if call.provider.as_deref() == Some(Provider::Telecmi.as_str()) { Self::Telecmi } else { Self::Manual }
    }
}

/// Why a call was not placed. Each maps to one HTTP status for the API.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error("You are not authorized to use TeleCMI calling.")]
    NotAuthorized,
    #[error("TeleCMI is not configured (set TELECMI_APP_ID and TELECMI_APP_SECRET); use a manual call")]
    NotConfigured,
    #[error("Driver not found")]
    DriverNotFound,
    #[error("Invalid phone number: {0}")]
    InvalidPhone(String),
    #[error("{0}")]
    TooSoon(String),
    /// The row exists and is marked failed; the message says why in plain words.
    #[error("{message}")]
    Provider { message: String, call: Box<CallLog> },
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl DialError {
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotAuthorized => 403,
            Self::DriverNotFound => 404,
            Self::InvalidPhone(_) => 400,
            Self::TooSoon(_) => 409,
            Self::NotConfigured | Self::Provider { .. } | Self::Store(_) => 500,
        }
    }
}

/// Places calls for any caller, applying the rules.
#[derive(Debug, Clone)]
pub struct Dialer {
    pub store: Store,
    pub config: std::sync::Arc<Config>,
    pub client: Option<TelecmiClient>,
    pub bus: Bus,
}

impl Dialer {
    pub fn new(store: Store, config: std::sync::Arc<Config>, bus: Bus) -> Result<Self, crate::telecmi::TelecmiError> {
        let client = config.telecmi.as_ref().map(|c| TelecmiClient::new(&config.telecmi_base_url, c)).transpose()?;
        Ok(Self { store, config, client, bus })
    }

    /// Whether `caller` may place TeleCMI calls here, and if not, why (for a disabled menu entry).
    pub fn telecmi_refusal(&self, caller: i64) -> Option<String> {
        if self.config.telecmi_extension(caller).is_none() {
            Some(DialError::NotAuthorized.to_string())
        } else if self.client.is_none() {
            Some(DialError::NotConfigured.to_string())
        } else {
            None
        }
    }

    /// Checks the rules, writes the `call_logs` row, and (for TeleCMI) asks TeleCMI to ring.
    /// `mobile` overrides the driver's stored number (the old API sends one).
    #[tracing::instrument(skip_all, fields(caller, driver_id, ?kind), err)]
    pub async fn place_call(
        &self,
        caller: i64,
        driver_id: &str,
        mobile: Option<&str>,
        kind: CallKind,
    ) -> Result<CallLog, DialError> {
        let extension = match kind {
            CallKind::Telecmi => {
                let ext = self.config.telecmi_extension(caller).ok_or(DialError::NotAuthorized)?.to_string();
                if self.client.is_none() {
                    return Err(DialError::NotConfigured);
                }
                Some(ext)
            }
            CallKind::Manual => None,
        };
        let driver = self.store.driver(driver_id).await?.ok_or(DialError::DriverNotFound)?;
        let phone = Phone::parse_with(mobile.unwrap_or(&driver.mobile), &self.config.country_code)
            .map_err(|e| DialError::InvalidPhone(e.to_string()))?;
        let (call_type, provider) = match kind {
            CallKind::Telecmi => (CallType::Ivr, Provider::Telecmi),
            CallKind::Manual => (CallType::Manual, Provider::Manual),
        };
        let telecmi_user_id = match (&extension, &self.client) {
            (Some(ext), Some(client)) => Some(client.user_id(ext)),
            _ => None,
        };
        let new = NewCall {
            caller_id: caller,
            driver_id: driver.id.clone(),
            driver_mobile: phone.to_string(),
            driver_name: driver.name.clone(),
            driver_tmid: driver.tmid.clone(),
            call_type,
            provider,
            telecmi_user_id,
            min_gap: Duration::seconds(MIN_REDIAL_GAP_SECS),
        };
        let call = self.store.start_call(&new, Utc::now()).await.map_err(|e| match e {
            StoreError::Invalid(m) => DialError::TooSoon(m),
            other => DialError::Store(other),
        })?;
        self.announce(&call, "dial");
        let (Some(ext), Some(client)) = (extension, &self.client) else {
            return Ok(call);
        };
        match client.click_to_call(&ext, &phone, call.id).await {
            Ok(request_id) => {
                self.store.set_reference(call.id, &request_id).await?;
                let call = self.store.call(call.id).await?.unwrap_or(call);
                self.announce(&call, "dial");
                Ok(call)
            }
            Err(e) => {
                let message = e.to_string();
                tracing::warn!(call_id = call.id, "click-to-call failed: {message}");
                let failed = self.store.mark_failed(call.id, &message).await?.unwrap_or(call);
                // Nobody was rung: the driver is free for any agent again.
                self.store.release(&driver.id, caller).await?;
                self.announce(&failed, "dial");
                Err(DialError::Provider { message, call: Box::new(failed) })
            }
        }
    }

    fn announce(&self, call: &CallLog, source: &'static str) {
        publish(&self.bus, CallUpdate { call: call.clone(), source, leg: None, provider_status: None, event_id: None });
    }
}
