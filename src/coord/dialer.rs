//! Placing calls: the rules checked before any call (one place, used by the console and the API),
//! the `call_logs` row written before dialing, the failed row when the provider refuses, and the
//! unconfirmed row when its answer never came (the call may still ring: unknown is not failed).

use chrono::{DateTime, Duration, Utc};

use super::bus::{Bus, CallUpdate, Source, publish};
use crate::config::Config;
use crate::domain::{CallLog, CallType, Driver, Phone, Provider, UNCONFIRMED_REMARK};
use crate::store::{DoNotCall, NewCall, Store, StoreError};
use crate::telecmi::{TelecmiClient, TelecmiError};

/// No second dial to the same driver within this long (a repeated key press, two consoles).
pub const MIN_REDIAL_GAP_SECS: i64 = 30;

/// The agent may say an unconfirmed call was not placed once it is this old (TeleCMI rings the
/// agent's phone within seconds when it did place it).
pub const MARK_NOT_PLACED_AFTER_SECS: i64 = 60;

/// Remarks of a call the agent marked as not placed (provisional: TeleCMI's report corrects it).
pub const NOT_PLACED_REMARK: &str = "marked not placed by the agent (TeleCMI never confirmed the click-to-call)";

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
/// The call dialog's reason when TeleCMI has no credentials here (short: it fits the dialog).
pub const MISSING_CREDENTIALS: &str = "TeleCMI credentials missing (TELECMI_APP_ID/_SECRET)";

/// The call dialog's reason when `caller` is not in `TELECMI_AGENTS`, with who can change that:
/// the list is in the settings of whoever runs calldesk, not something an agent can fix.
pub fn not_in_agents(caller: i64) -> String {
    format!(
        "{} Ask your supervisor (or whoever runs calldesk) to add you to TELECMI_AGENTS as \
         {caller}:EXTENSION.",
        DialError::NotAuthorized
    )
}

#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error("You are not authorized to use TeleCMI calling.")]
    NotAuthorized,
    #[error("TeleCMI credentials are missing (set TELECMI_APP_ID and TELECMI_APP_SECRET); use a manual call")]
    NotConfigured,
    #[error("Driver not found")]
    DriverNotFound,
    #[error("Invalid phone number: {0}")]
    InvalidPhone(String),
    #[error("{0}")]
    TooSoon(String),
    /// The driver's calling window is closed (`CALLING_HOURS` in their zone); nothing was dialed.
    /// HTTP 409, like [`Self::TooSoon`]: not now, later.
    #[error("{message}")]
    OutsideHours { message: String, opens_at: DateTime<Utc> },
    /// The number is on the do-not-call list, or the driver asked not to be called (whatever
    /// the number): refused before any row is written or TeleCMI is asked. The message says
    /// since when, by whom and why (or on which call the driver asked). HTTP 403.
    #[error("{0}")]
    DoNotCall(String),
    /// The row exists and is marked failed; the message says why in plain words.
    #[error("{message}")]
    Provider { message: String, call: Box<CallLog> },
    /// TeleCMI never answered the click-to-call request: the call may still ring and its outcome
    /// is unknown. The row stays `initiated` and marked unconfirmed ([`CallLog::is_unconfirmed`]),
    /// the driver stays reserved, and no second call to them goes out until a webhook,
    /// reconciliation or [`Dialer::mark_not_placed`] settles it. HTTP 504 (see `http_status`).
    #[error("{message}")]
    Unconfirmed { message: String, call: Box<CallLog> },
    /// The driver's last call still waits for its outcome: no second call until its wrap-up is
    /// saved (two open outcomes would fight over one queue place). HTTP 409.
    #[error("{message}")]
    WrapupOwed { message: String, call: Box<CallLog> },
    /// This console's session was taken over by a newer login of the same caller: it places no
    /// more calls (the newer one does). HTTP 409.
    #[error("{0}")]
    SignedInElsewhere(String),
    #[error("Call not found")]
    CallNotFound,
    #[error("That call belongs to another agent.")]
    NotYourCall,
    /// "Mark as not placed" refused: the call is settled, confirmed, or too young.
    #[error("{0}")]
    CannotMarkNotPlaced(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl DialError {
    /// Refused by the rules before anything was written or dialed (not a failure).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::DoNotCall(_)
                | Self::OutsideHours { .. }
                | Self::TooSoon(_)
                | Self::WrapupOwed { .. }
                | Self::SignedInElsewhere(_)
        )
    }

    /// The kind of error, for logs (no message).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotAuthorized => "not_authorized",
            Self::NotConfigured => "not_configured",
            Self::DriverNotFound => "driver_not_found",
            Self::InvalidPhone(_) => "invalid_phone",
            Self::TooSoon(_) => "too_soon",
            Self::OutsideHours { .. } => "outside_hours",
            Self::DoNotCall(_) => "do_not_call",
            Self::Provider { .. } => "provider",
            Self::Unconfirmed { .. } => "unconfirmed",
            Self::WrapupOwed { .. } => "wrapup_owed",
            Self::SignedInElsewhere(_) => "signed_in_elsewhere",
            Self::CallNotFound => "call_not_found",
            Self::NotYourCall => "not_your_call",
            Self::CannotMarkNotPlaced(_) => "cannot_mark_not_placed",
            Self::Store(_) => "store",
        }
    }

    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotAuthorized | Self::DoNotCall(_) => 403,
            Self::DriverNotFound => 404,
            Self::InvalidPhone(_) => 400,
            Self::TooSoon(_)
            | Self::CannotMarkNotPlaced(_)
            | Self::OutsideHours { .. }
            | Self::WrapupOwed { .. }
            | Self::SignedInElsewhere(_) => 409,
            Self::CallNotFound => 404,
            Self::NotYourCall => 403,
            // 504 Gateway Timeout: the upstream (TeleCMI) did not answer; the outcome is unknown,
            // so an old client shows the message rather than "call initiated".
            Self::Unconfirmed { .. } => 504,
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
    /// The console session this dialer dials for (`None`: `serve`'s API, tests): its dials are
    /// refused once a newer login of the caller takes it over.
    pub session: Option<i64>,
}

impl Dialer {
    pub fn new(store: Store, config: std::sync::Arc<Config>, bus: Bus) -> Result<Self, crate::telecmi::TelecmiError> {
        Self::with_timeout(store, config, bus, crate::telecmi::TOTAL_TIMEOUT)
    }

    /// Like [`Self::new`], waiting at most `timeout` for TeleCMI's click-to-call answer.
    pub fn with_timeout(
        store: Store,
        config: std::sync::Arc<Config>,
        bus: Bus,
        timeout: std::time::Duration,
    ) -> Result<Self, crate::telecmi::TelecmiError> {
        let client = config
            .telecmi
            .as_ref()
            .map(|c| TelecmiClient::with_timeout(&config.telecmi_base_url, c, timeout))
            .transpose()?;
        Ok(Self { store, config, client, bus, session: None })
    }

    /// Whether `caller` may place TeleCMI calls here, and if not, why (for a disabled menu entry).
    /// Missing credentials come first: without them no caller may use TeleCMI, whatever
    /// `TELECMI_AGENTS` says, and "not authorized" would send the agent to the wrong fix.
    pub fn telecmi_refusal(&self, caller: i64) -> Option<String> {
        if self.client.is_none() {
            Some(MISSING_CREDENTIALS.to_string())
        } else if self.config.telecmi_extension(caller).is_none() {
            Some(not_in_agents(caller))
        } else {
            None
        }
    }

    /// Why no call may go to driver `driver_id` on `mobile` (in any format; parsed with the
    /// configured country code), if none may: the number's entry on the do-not-call list, else
    /// the driver having asked not to be called (whatever the number). A number that does not
    /// parse is not listed (dialing it fails anyway).
    pub async fn do_not_call(&self, driver_id: &str, mobile: &str) -> Result<Option<DoNotCall>, StoreError> {
        let phone = Phone::parse_with(mobile, &self.config.country_code).ok();
        self.store.do_not_call(driver_id, phone.as_ref()).await
    }

    /// Checks the rules, writes the `call_logs` row, and (for TeleCMI) asks TeleCMI to ring.
    /// A number on the do-not-call list, or a driver who asked not to be called, is refused
    /// ([`DialError::DoNotCall`]) before anything is written or dialed.
    /// `mobile` overrides the driver's stored number (the old API sends one).
    pub async fn place_call(
        &self,
        caller: i64,
        driver_id: &str,
        mobile: Option<&str>,
        kind: CallKind,
    ) -> Result<CallLog, DialError> {
        self.place_call_at(caller, driver_id, mobile, kind, Utc::now()).await
    }

    /// [`Self::place_call`] as of `now` (the calling window is read at `now`; tests move it).
    /// A refusal by the rules ([`DialError::is_refusal`]) is logged at info and a refusal for
    /// bad input or permissions at warn, by kind only (not the message, which may carry what the
    /// driver said); a real failure (TeleCMI, the store) at error.
    #[tracing::instrument(skip_all, fields(caller, driver_id, ?kind))]
    pub async fn place_call_at(
        &self,
        caller: i64,
        driver_id: &str,
        mobile: Option<&str>,
        kind: CallKind,
        now: DateTime<Utc>,
    ) -> Result<CallLog, DialError> {
        let placed = self.try_place_call(caller, driver_id, mobile, kind, now).await;
        match &placed {
            Err(e) if e.is_refusal() => tracing::info!(refusal = e.kind(), "dial refused"),
            // Not allowed or bad input: the caller is told; nothing broke.
            Err(
                e @ (DialError::NotAuthorized
                | DialError::NotConfigured
                | DialError::DriverNotFound
                | DialError::InvalidPhone(_)),
            ) => tracing::warn!(refusal = e.kind(), "dial refused"),
            Err(e) => tracing::error!(error = %e, "dial failed"),
            Ok(_) => {}
        }
        placed
    }

    /// The rules, the row, then TeleCMI (for a TeleCMI call), in that order: nothing is written
    /// for a refused call, and the row exists before TeleCMI is asked to ring.
    async fn try_place_call(
        &self,
        caller: i64,
        driver_id: &str,
        mobile: Option<&str>,
        kind: CallKind,
        now: DateTime<Utc>,
    ) -> Result<CallLog, DialError> {
        let extension = self.extension_for(caller, kind)?;
        let (driver, phone) = self.callable(driver_id, mobile, now).await?;
        let new = self.new_call(caller, &driver, &phone, kind, extension.as_deref());
        let call = match self.store.start_call(&new, now).await {
            Ok(call) => call,
            Err(StoreError::Invalid(m)) => return Err(DialError::TooSoon(m)),
            Err(StoreError::WrapupOwed(owed)) => return Err(self.wrapup_owed(caller, *owed).await),
            Err(StoreError::SessionReplaced(m)) => return Err(DialError::SignedInElsewhere(m)),
            Err(other) => return Err(DialError::Store(other)),
        };
        self.announce(&call);
        let (Some(ext), Some(client)) = (extension, &self.client) else {
            return Ok(call);
        };
        match client.click_to_call(&ext, &phone, call.id).await {
            Ok(request_id) => {
                self.store.set_reference(call.id, &request_id).await?;
                let call = self.store.call(call.id).await?.unwrap_or(call);
                self.announce(&call);
                Ok(call)
            }
            Err(e) if e.outcome_unknown() => self.unconfirmed(call, &e).await,
            Err(e) => self.refused_by_telecmi(call, &e, &driver.id, caller).await,
        }
    }

    /// The caller's TeleCMI extension for a TeleCMI call (`None` for a manual one), if they may
    /// place TeleCMI calls here.
    fn extension_for(&self, caller: i64, kind: CallKind) -> Result<Option<String>, DialError> {
        match kind {
            CallKind::Telecmi => {
                let ext = self.config.telecmi_extension(caller).ok_or(DialError::NotAuthorized)?.to_string();
                if self.client.is_none() {
                    return Err(DialError::NotConfigured);
                }
                Ok(Some(ext))
            }
            CallKind::Manual => Ok(None),
        }
    }

    /// The driver and the number to dial (`mobile`, else theirs), if the rules let them be called
    /// at `now`: a number that parses, not on the do-not-call list, their calling window open.
    async fn callable(
        &self,
        driver_id: &str,
        mobile: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(Driver, Phone), DialError> {
        let driver = self.store.driver(driver_id).await?.ok_or(DialError::DriverNotFound)?;
        let phone = Phone::parse_with(mobile.unwrap_or(&driver.mobile), &self.config.country_code)
            .map_err(|e| DialError::InvalidPhone(e.to_string()))?;
        // The driver having asked (a new or unlisted number changes nothing), else the number's entry.
        if let Some(block) = self.store.do_not_call(&driver.id, Some(&phone)).await? {
            return Err(DialError::DoNotCall(block.refusal(self.config.zone())));
        }
        // Manual calls too: the window is about the driver's evening, not the telephony.
        if let Err(closed) = self.config.schedule.check(now, driver.timezone.as_deref()) {
            return Err(DialError::OutsideHours { message: closed.message(), opens_at: closed.opens_at });
        }
        Ok((driver, phone))
    }

    /// The `call_logs` row to write for a call of `kind` from `caller` to `driver` on `phone`.
    fn new_call(&self, caller: i64, driver: &Driver, phone: &Phone, kind: CallKind, ext: Option<&str>) -> NewCall {
        let (call_type, provider) = match kind {
            CallKind::Telecmi => (CallType::Ivr, Provider::Telecmi),
            CallKind::Manual => (CallType::Manual, Provider::Manual),
        };
        NewCall {
            caller_id: caller,
            driver_id: driver.id.clone(),
            driver_mobile: phone.to_string(),
            driver_name: driver.name.clone(),
            driver_tmid: driver.tmid.clone(),
            call_type,
            provider,
            telecmi_user_id: ext.zip(self.client.as_ref()).map(|(ext, client)| client.user_id(ext)),
            min_gap: Duration::seconds(MIN_REDIAL_GAP_SECS),
            session: self.session,
        }
    }

    /// TeleCMI never answered the click-to-call request: the row stays `initiated`, marked
    /// unconfirmed (unless a webhook came first: then TeleCMI placed it and the call is returned).
    async fn unconfirmed(&self, call: CallLog, e: &TelecmiError) -> Result<CallLog, DialError> {
        let remark = format!("{UNCONFIRMED_REMARK} ({e}); the call may still ring");
        tracing::warn!(call_id = call.id, "click-to-call unconfirmed: {e}");
        let (now, marked) = self.store.mark_unconfirmed(call.id, &remark, Utc::now()).await?;
        if !marked {
            // A webhook came first: TeleCMI placed the call, whatever its answer did.
            self.announce(&now);
            return Ok(now);
        }
        self.announce(&now);
        let name = now.driver_name.clone().unwrap_or_default();
        let message = format!(
            "TeleCMI did not answer the click-to-call request ({e}). The call may still ring and its \
             outcome is unknown: {name} stays reserved and calldesk follows TeleCMI's reports. If nothing \
             rings, mark it as not placed after {MARK_NOT_PLACED_AFTER_SECS} s."
        );
        Err(DialError::Unconfirmed { message, call: Box::new(now) })
    }

    /// TeleCMI refused the call: the row is marked failed, and as nobody was rung the driver is
    /// free for any agent again, the attempt given back.
    async fn refused_by_telecmi(
        &self,
        call: CallLog,
        e: &TelecmiError,
        driver_id: &str,
        caller: i64,
    ) -> Result<CallLog, DialError> {
        let message = e.to_string();
        tracing::warn!(call_id = call.id, "click-to-call failed: {message}");
        let failed = self.store.mark_failed(call.id, &message).await?.unwrap_or(call);
        self.store.release(driver_id, caller).await?;
        self.store.give_back_attempt(driver_id).await?;
        self.announce(&failed);
        Err(DialError::Provider { message, call: Box::new(failed) })
    }

    /// The agent says an unconfirmed call never rang: it becomes `failed` provisionally (TeleCMI's
    /// report, if one comes, corrects it), the driver's claim is released and the attempt given
    /// back. Only the call's own caller, only an unconfirmed call at least
    /// [`MARK_NOT_PLACED_AFTER_SECS`] old.
    #[tracing::instrument(skip_all, fields(caller, call_id), err)]
    pub async fn mark_not_placed(&self, caller: i64, call_id: i64) -> Result<CallLog, DialError> {
        self.mark_not_placed_at(caller, call_id, Utc::now()).await
    }

    /// [`Self::mark_not_placed`] as of `now` (tests move the clock).
    pub async fn mark_not_placed_at(
        &self,
        caller: i64,
        call_id: i64,
        now: DateTime<Utc>,
    ) -> Result<CallLog, DialError> {
        let call = self.store.call(call_id).await?.ok_or(DialError::CallNotFound)?;
        if call.caller_id != Some(caller) {
            return Err(DialError::NotYourCall);
        }
        if !self.store.unconfirmed(call_id).await? || call.call_status() != crate::domain::CallStatus::Initiated {
            return Err(DialError::CannotMarkNotPlaced(format!(
                "The call is not unconfirmed (it is {}): TeleCMI's word stands.",
                call.call_status()
            )));
        }
        let age = (now - call.created_at).num_seconds();
        if age < MARK_NOT_PLACED_AFTER_SECS {
            return Err(DialError::CannotMarkNotPlaced(format!(
                "TeleCMI may still ring: wait {}s more before marking the call as not placed.",
                MARK_NOT_PLACED_AFTER_SECS - age
            )));
        }
        let marked = self.store.mark_not_placed(call_id, caller, NOT_PLACED_REMARK, now).await?.ok_or_else(|| {
            DialError::CannotMarkNotPlaced("A report from TeleCMI settled the call meanwhile.".into())
        })?;
        self.announce(&marked);
        Ok(marked)
    }

    /// The refusal for a driver whose call `owed` still waits for its outcome: which call, and
    /// whose wrap-up it is.
    async fn wrapup_owed(&self, caller: i64, owed: CallLog) -> DialError {
        let name = crate::domain::text::strip_controls(owed.driver_name.as_deref().unwrap_or("this driver"));
        let at = owed.created_at.with_timezone(&self.config.zone()).format("%H:%M");
        let whose = match owed.caller_id {
            Some(id) if id == caller => "yours: save its wrap-up first".to_string(),
            Some(id) => {
                let agent = self.store.caller(id).await.ok().flatten().map_or(format!("agent {id}"), |c| c.name);
                format!("it waits for {}'s wrap-up", crate::domain::text::strip_controls(&agent))
            }
            None => "save its outcome first".to_string(),
        };
        let message = format!(
            "The call to {name} at {at} ({}, call #{}) has no outcome yet; {whose}.",
            owed.call_status(),
            owed.id
        );
        DialError::WrapupOwed { message, call: Box::new(owed) }
    }

    /// Tells the bus what the dialer did to `call` (after the store has it).
    fn announce(&self, call: &CallLog) {
        publish(&self.bus, CallUpdate::new(call.clone(), Source::Dial));
    }
}
