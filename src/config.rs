//! Settings from the environment, a `.env` file and flags, validated once at start-up.
//!
//! Every bad value becomes one [`ConfigError`] line naming the key; the TeleCMI secret and the
//! webhook token are wrapped in [`Secret`] so `Debug` and logs never show them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::domain::{CallingHours, FeedbackCatalog, RetryPolicy, Schedule};

mod flags;
pub mod service_env;
pub use flags::{Given, NotHere, Setting, attach};

/// A value that must never be printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where a setting came from: a command where a setting has no meaning (the demo's database)
/// refuses an explicit flag but only notes an environment value, which may come from a `.env`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Origin {
    #[default]
    Default,
    Env,
    Flag,
}

/// The raw settings: each is an environment variable and, where a command takes it, a flag of the
/// same meaning ([`Setting`]).
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    /// `sqlite://FILE` or `mysql://USER:PASS@HOST:PORT/DB`
    pub database_url: Option<String>,
    /// The caller this console acts as
    pub user_id: Option<String>,
    /// TeleCMI app id
    pub telecmi_app_id: Option<String>,
    /// TeleCMI app secret (environment only: a flag would show in `ps`)
    pub telecmi_app_secret: Option<Secret>,
    /// TeleCMI REST base URL
    pub telecmi_base_url: Option<String>,
    /// Callers allowed to place TeleCMI calls: `user_id:extension,…`
    pub telecmi_agents: Option<String>,
    /// Address of the webhook listener
    pub webhook_addr: Option<String>,
    /// Secret path segment of the webhook URL (environment only)
    pub webhook_token: Option<Secret>,
    /// Folder for daily-rotated log files
    pub log_dir: Option<String>,
    /// Folder for what is kept while the database is away (webhook spool, drafts)
    pub data_dir: Option<String>,
    /// Country code put in front of 10-digit numbers
    pub country_code: Option<String>,
    /// Minutes without a webhook before a live call is checked against TeleCMI's CDR lists
    pub reconcile_after_minutes: Option<String>,
    /// Hours after which a TeleCMI call that TeleCMI never reported as finished is closed
    pub call_ceiling_hours: Option<String>,
    /// IANA time zone of the team: "today", callback times and every time shown [default: Asia/Kolkata]
    pub timezone: Option<String>,
    /// When drivers may be called, in the driver's local time [default: 09:00-21:00]
    pub calling_hours: Option<String>,
    /// Minutes before a driver who was not reached is tried again [default: 30]
    pub retry_after_minutes: Option<String>,
    /// Call attempts before a driver who is never reached leaves the queue [default: 3]
    pub max_attempts: Option<String>,
    /// Minutes an online agent may stay idle before the board flags them [default: 10]
    pub idle_alert_minutes: Option<String>,
    /// Minutes an agent may stay on a break before the board flags them [default: 30]
    pub break_alert_minutes: Option<String>,
}

impl RawSettings {
    /// Reads the secrets that have no flag from the environment.
    pub fn with_env_secrets(mut self) -> Self {
        self.telecmi_app_secret = non_empty(std::env::var("TELECMI_APP_SECRET").ok()).map(Secret);
        self.webhook_token = non_empty(std::env::var("WEBHOOK_TOKEN").ok()).map(Secret);
        self
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// TeleCMI app credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelecmiCreds {
    pub app_id: String,
    pub secret: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub database_url: String,
    pub user_id: Option<i64>,
    pub telecmi: Option<TelecmiCreds>,
    pub telecmi_base_url: String,
    /// caller id → TeleCMI agent extension
    pub telecmi_agents: BTreeMap<i64, String>,
    pub webhook_addr: SocketAddr,
    pub webhook_token: Option<Secret>,
    pub log_dir: PathBuf,
    /// `CALLDESK_DATA_DIR`: the webhook spool and local drafts, kept while the database is away.
    pub data_dir: PathBuf,
    pub country_code: String,
    pub reconcile_after_minutes: u32,
    /// A live TeleCMI call with no final report this long after it was placed is closed
    /// (provisionally, with its own reason); before that silence never closes a call.
    pub call_ceiling_hours: u32,
    /// The team's zone and calling window.
    pub schedule: Schedule,
    /// When and how often a driver who was not reached is tried again.
    pub retry: RetryPolicy,
    /// `IDLE_ALERT_MINUTES`: an online agent idle this long is flagged on the board.
    pub idle_alert_minutes: u32,
    /// `BREAK_ALERT_MINUTES`: an agent on a break this long is flagged on the board.
    pub break_alert_minutes: u32,
}

/// One line naming the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {key}: {reason}")]
pub struct ConfigError {
    pub key: &'static str,
    pub reason: String,
}

fn err(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError { key, reason: reason.into() }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://calldesk.db";
pub const DEFAULT_TELECMI_BASE_URL: &str = "https://rest.telecmi.com";
pub const DEFAULT_WEBHOOK_ADDR: &str = "127.0.0.1:8787";
pub const DEFAULT_CALL_CEILING_HOURS: u32 = 4;

impl Config {
    /// Validates every setting, in the order of [`RawSettings`]: the first bad one is the error.
    pub fn from_raw(raw: RawSettings) -> Result<Self, ConfigError> {
        let database_url = parse_database_url(non_empty(raw.database_url))?;
        let user_id = parse_user_id(non_empty(raw.user_id))?;
        let telecmi =
            parse_creds(non_empty(raw.telecmi_app_id), raw.telecmi_app_secret.filter(|s| !s.0.trim().is_empty()))?;
        let telecmi_base_url = parse_base_url(non_empty(raw.telecmi_base_url))?;
        let telecmi_agents = parse_agents(non_empty(raw.telecmi_agents).as_deref().unwrap_or(""))?;
        let (webhook_addr, webhook_token) = parse_listener(non_empty(raw.webhook_addr), raw.webhook_token)?;
        let log_dir = non_empty(raw.log_dir).map(PathBuf::from).unwrap_or_else(default_log_dir);
        let data_dir = non_empty(raw.data_dir).map(PathBuf::from).unwrap_or_else(default_data_dir);
        let country_code = parse_country_code(non_empty(raw.country_code))?;
        let reconcile_after_minutes =
            bounded(raw.reconcile_after_minutes, "RECONCILE_AFTER_MINUTES", 10, 1..=1440, "minutes")?;
        let call_ceiling_hours =
            bounded(raw.call_ceiling_hours, "CALL_CEILING_HOURS", DEFAULT_CALL_CEILING_HOURS, 1..=72, "hours")?;
        if u64::from(call_ceiling_hours) * 60 <= u64::from(reconcile_after_minutes) {
            return Err(err(
                "CALL_CEILING_HOURS",
                format!(
                    "{call_ceiling_hours} h must be longer than RECONCILE_AFTER_MINUTES ({reconcile_after_minutes} min)"
                ),
            ));
        }
        let schedule = parse_schedule(non_empty(raw.timezone), non_empty(raw.calling_hours))?;
        let retry = RetryPolicy {
            delay: chrono::Duration::minutes(i64::from(bounded(
                raw.retry_after_minutes,
                "RETRY_AFTER_MINUTES",
                30,
                1..=10_080,
                "minutes",
            )?)),
            max_attempts: bounded(raw.max_attempts, "MAX_ATTEMPTS", 3, 1..=50, "attempts")?,
        };
        let idle_alert_minutes = bounded(raw.idle_alert_minutes, "IDLE_ALERT_MINUTES", 10, 1..=1440, "minutes")?;
        let break_alert_minutes = bounded(raw.break_alert_minutes, "BREAK_ALERT_MINUTES", 30, 1..=1440, "minutes")?;
        Ok(Self {
            database_url,
            user_id,
            telecmi,
            telecmi_base_url,
            telecmi_agents,
            webhook_addr,
            webhook_token,
            log_dir,
            data_dir,
            country_code,
            reconcile_after_minutes,
            call_ceiling_hours,
            schedule,
            retry,
            idle_alert_minutes,
            break_alert_minutes,
        })
    }

    /// The team's time zone.
    pub fn zone(&self) -> chrono_tz::Tz {
        self.schedule.zone
    }

    /// The outcome catalogue with this team's retry rules and calling window.
    pub fn catalog(&self) -> FeedbackCatalog {
        FeedbackCatalog::default().with_rules(self.retry, self.schedule)
    }

    /// The TeleCMI extension of `caller`, if that caller may place TeleCMI calls.
    pub fn telecmi_extension(&self, caller: i64) -> Option<&str> {
        self.telecmi_agents.get(&caller).map(String::as_str)
    }

    /// Fails with a line naming `CALLDESK_USER_ID` when it is missing.
    pub fn require_user(&self) -> Result<i64, ConfigError> {
        self.user_id.ok_or_else(|| err("CALLDESK_USER_ID", "is required: set it to the caller id this console acts as"))
    }
}

/// A whole number in `range`, or `default` when unset; the error names the key and the range.
fn bounded(
    v: Option<String>,
    key: &'static str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
    unit: &str,
) -> Result<u32, ConfigError> {
    let Some(v) = non_empty(v) else { return Ok(default) };
    v.parse::<u32>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
        err(key, format!("{v:?} must be a whole number of {unit} from {} to {}", range.start(), range.end()))
    })
}

fn parse_database_url(v: Option<String>) -> Result<String, ConfigError> {
    let url = v.unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
    if let Some(rest) = url.strip_prefix("mariadb://") {
        return Ok(format!("mysql://{rest}"));
    }
    if url.starts_with("sqlite:") || url.starts_with("mysql://") {
        Ok(url)
    } else {
        // Never echo the URL: it may carry a password.
        Err(err("DATABASE_URL", "must start with sqlite:// or mysql://"))
    }
}

fn parse_user_id(v: Option<String>) -> Result<Option<i64>, ConfigError> {
    v.map(|v| {
        v.parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| err("CALLDESK_USER_ID", format!("{v:?} is not a positive whole number")))
    })
    .transpose()
}

/// `TELECMI_BASE_URL`, without a trailing `/`.
fn parse_base_url(v: Option<String>) -> Result<String, ConfigError> {
    let url = v.unwrap_or_else(|| DEFAULT_TELECMI_BASE_URL.into());
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(err("TELECMI_BASE_URL", format!("{url:?} must start with http:// or https://")));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// `WEBHOOK_ADDR` and `WEBHOOK_TOKEN`: a listener reachable from other machines needs a token.
fn parse_listener(addr: Option<String>, token: Option<Secret>) -> Result<(SocketAddr, Option<Secret>), ConfigError> {
    let addr_text = addr.unwrap_or_else(|| DEFAULT_WEBHOOK_ADDR.into());
    let addr: SocketAddr = addr_text
        .parse()
        .map_err(|_| err("WEBHOOK_ADDR", format!("{addr_text:?} is not an address like 127.0.0.1:8787")))?;
    let token = token.filter(|t| !t.0.is_empty()).map(|t| validate_token(&t.0).map(|()| t)).transpose()?;
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(err("WEBHOOK_TOKEN", format!("must be set when WEBHOOK_ADDR ({addr}) is not a loopback address")));
    }
    Ok((addr, token))
}

fn parse_country_code(v: Option<String>) -> Result<String, ConfigError> {
    let code = v.unwrap_or_else(|| "91".into());
    if code.is_empty() || code.len() > 4 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("CALLDESK_COUNTRY_CODE", format!("{code:?} must be 1 to 4 digits")));
    }
    Ok(code)
}

/// `CALLDESK_TIMEZONE` and `CALLING_HOURS`.
fn parse_schedule(zone: Option<String>, hours: Option<String>) -> Result<Schedule, ConfigError> {
    let zone = match zone {
        None => crate::domain::hours::DEFAULT_ZONE,
        Some(v) => crate::domain::hours::parse_zone(&v).map_err(|e| err("CALLDESK_TIMEZONE", e))?,
    };
    let hours = match hours {
        None => CallingHours::default(),
        Some(v) => CallingHours::parse(&v).map_err(|e| err("CALLING_HOURS", e))?,
    };
    Ok(Schedule::new(zone, hours))
}

fn parse_creds(app_id: Option<String>, secret: Option<Secret>) -> Result<Option<TelecmiCreds>, ConfigError> {
    match (app_id, secret) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(err("TELECMI_APP_SECRET", "is missing while TELECMI_APP_ID is set")),
        (None, Some(_)) => Err(err("TELECMI_APP_ID", "is missing while TELECMI_APP_SECRET is set")),
        (Some(id), Some(secret)) => {
            if !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("TELECMI_APP_ID", format!("{id:?} must be digits only")));
            }
            Ok(Some(TelecmiCreds { app_id: id, secret }))
        }
    }
}

/// `3:5003,7:5007` → {3: "5003", 7: "5007"}.
pub fn parse_agents(text: &str) -> Result<BTreeMap<i64, String>, ConfigError> {
    let mut map = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || err("TELECMI_AGENTS", format!("{pair:?} is not user_id:extension (like 3:5003)"));
        let (user, ext) = pair.split_once(':').ok_or_else(bad)?;
        let user: i64 = user.trim().parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
        let ext = ext.trim();
        if ext.is_empty() || !ext.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if map.insert(user, ext.to_string()).is_some() {
            return Err(err("TELECMI_AGENTS", format!("user {user} is listed twice")));
        }
    }
    Ok(map)
}

fn validate_token(t: &str) -> Result<(), ConfigError> {
    if t.len() < 16 {
        return Err(err("WEBHOOK_TOKEN", "must be at least 16 characters"));
    }
    if !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(err("WEBHOOK_TOKEN", "may hold only letters, digits, '-' and '_' (it is a URL path segment)"));
    }
    Ok(())
}

fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "calldesk")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("calldesk-data"))
}

fn default_log_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "calldesk")
        .map(|d| d.data_dir().join("logs"))
        .unwrap_or_else(|| PathBuf::from("logs"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSettings {
        RawSettings::default()
    }

    #[test]
    fn defaults_are_usable() {
        let c = Config::from_raw(raw()).expect("defaults");
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.webhook_addr.to_string(), DEFAULT_WEBHOOK_ADDR);
        assert!(c.telecmi.is_none());
        assert_eq!(c.country_code, "91");
        assert_eq!(c.call_ceiling_hours, 4);
        assert_eq!(c.zone(), chrono_tz::Asia::Kolkata);
        assert_eq!(c.schedule.hours, CallingHours::default());
        assert_eq!(c.retry, RetryPolicy::default());
        assert_eq!(c.catalog().retry.max_attempts, 3);
        assert_eq!((c.idle_alert_minutes, c.break_alert_minutes), (10, 30));
        assert!(c.require_user().is_err());
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases: Vec<(RawSettings, &str)> = vec![
            (RawSettings { database_url: Some("postgres://x".into()), ..raw() }, "DATABASE_URL"),
            (RawSettings { user_id: Some("pooja".into()), ..raw() }, "CALLDESK_USER_ID"),
            (RawSettings { telecmi_app_id: Some("123".into()), ..raw() }, "TELECMI_APP_SECRET"),
            (RawSettings { telecmi_app_secret: Some(Secret::new("s")), ..raw() }, "TELECMI_APP_ID"),
            (RawSettings { telecmi_agents: Some("3=5003".into()), ..raw() }, "TELECMI_AGENTS"),
            (RawSettings { telecmi_agents: Some("3:50a3".into()), ..raw() }, "TELECMI_AGENTS"),
            (RawSettings { webhook_addr: Some("localhost".into()), ..raw() }, "WEBHOOK_ADDR"),
            (RawSettings { webhook_addr: Some("0.0.0.0:8787".into()), ..raw() }, "WEBHOOK_TOKEN"),
            (RawSettings { webhook_token: Some(Secret::new("short")), ..raw() }, "WEBHOOK_TOKEN"),
            (RawSettings { telecmi_base_url: Some("ftp://x".into()), ..raw() }, "TELECMI_BASE_URL"),
            (RawSettings { country_code: Some("+91".into()), ..raw() }, "CALLDESK_COUNTRY_CODE"),
            (RawSettings { reconcile_after_minutes: Some("0".into()), ..raw() }, "RECONCILE_AFTER_MINUTES"),
            (RawSettings { call_ceiling_hours: Some("0".into()), ..raw() }, "CALL_CEILING_HOURS"),
            (RawSettings { call_ceiling_hours: Some("4h".into()), ..raw() }, "CALL_CEILING_HOURS"),
            (RawSettings { timezone: Some("India/Delhi".into()), ..raw() }, "CALLDESK_TIMEZONE"),
            (RawSettings { timezone: Some("+05:30".into()), ..raw() }, "CALLDESK_TIMEZONE"),
            (RawSettings { calling_hours: Some("21:00-09:00".into()), ..raw() }, "CALLING_HOURS"),
            (RawSettings { calling_hours: Some("9am-9pm".into()), ..raw() }, "CALLING_HOURS"),
            (RawSettings { retry_after_minutes: Some("0".into()), ..raw() }, "RETRY_AFTER_MINUTES"),
            (RawSettings { idle_alert_minutes: Some("0".into()), ..raw() }, "IDLE_ALERT_MINUTES"),
            (RawSettings { idle_alert_minutes: Some("-5".into()), ..raw() }, "IDLE_ALERT_MINUTES"),
            (RawSettings { break_alert_minutes: Some("half an hour".into()), ..raw() }, "BREAK_ALERT_MINUTES"),
            (RawSettings { break_alert_minutes: Some("2.5".into()), ..raw() }, "BREAK_ALERT_MINUTES"),
            (RawSettings { retry_after_minutes: Some("half an hour".into()), ..raw() }, "RETRY_AFTER_MINUTES"),
            (RawSettings { max_attempts: Some("0".into()), ..raw() }, "MAX_ATTEMPTS"),
            (RawSettings { max_attempts: Some("-1".into()), ..raw() }, "MAX_ATTEMPTS"),
            (
                RawSettings {
                    call_ceiling_hours: Some("2".into()),
                    reconcile_after_minutes: Some("180".into()),
                    ..raw()
                },
                "CALL_CEILING_HOURS",
            ),
        ];
        for (r, key) in cases {
            let e = Config::from_raw(r).expect_err(key);
            assert_eq!(e.key, key);
            assert!(e.to_string().starts_with(&format!("configuration error: {key}: ")), "{e}");
        }
    }

    #[test]
    fn time_settings_parse() {
        let c = Config::from_raw(RawSettings {
            timezone: Some("Europe/London".into()),
            calling_hours: Some("08:30-20:00".into()),
            retry_after_minutes: Some("45".into()),
            max_attempts: Some("5".into()),
            ..raw()
        })
        .expect("config");
        assert_eq!(c.zone(), chrono_tz::Europe::London);
        assert_eq!(c.schedule.hours.to_string(), "08:30–20:00");
        assert_eq!(c.retry, RetryPolicy { delay: chrono::Duration::minutes(45), max_attempts: 5 });
        let catalog = c.catalog();
        assert_eq!(catalog.retry.max_attempts, 5);
        assert_eq!(catalog.schedule, c.schedule);
    }

    #[test]
    fn agents_parse() {
        let m = parse_agents(" 3:5003, 7:5007 ").expect("agents");
        assert_eq!(m.get(&3).map(String::as_str), Some("5003"));
        assert_eq!(m.len(), 2);
        assert!(parse_agents("3:1,3:2").is_err());
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let c = Config::from_raw(RawSettings {
            telecmi_app_id: Some("33336628".into()),
            telecmi_app_secret: Some(Secret::new("sup3r-s3cret-value")),
            webhook_token: Some(Secret::new("tok_abcdefghijklmnop")),
            ..raw()
        })
        .expect("config");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("sup3r-s3cret-value"), "{dbg}");
        assert!(!dbg.contains("tok_abcdefghijklmnop"), "{dbg}");
        assert!(dbg.contains("33336628"));
    }

    #[test]
    fn non_loopback_with_token_is_fine() {
        let c = Config::from_raw(RawSettings {
            webhook_addr: Some("0.0.0.0:9000".into()),
            webhook_token: Some(Secret::new("abcdefghijklmnopqrstuv")),
            ..raw()
        });
        assert!(c.is_ok());
    }
}
