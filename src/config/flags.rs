//! Which settings a subcommand takes as flags. Every command reads every setting from the
//! environment (and `.env`); a flag is offered, and listed by `--help`, only where the setting
//! applies: `calldesk dnc list --help` shows no TeleCMI or webhook flags, `calldesk console
//! --help` shows them all.

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Command};

use super::{Origin, RawSettings};

/// A setting that can be given as a flag (the secrets are environment-only: a flag would show
/// in `ps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    DatabaseUrl,
    UserId,
    TelecmiAppId,
    TelecmiBaseUrl,
    TelecmiAgents,
    WebhookAddr,
    LogDir,
    DataDir,
    CountryCode,
    ReconcileAfterMinutes,
    CallCeilingHours,
    Timezone,
    CallingHours,
    RetryAfterMinutes,
    MaxAttempts,
    IdleAlertMinutes,
    BreakAlertMinutes,
}

/// How a setting looks on the command line.
struct Spec {
    id: &'static str,
    long: &'static str,
    value: &'static str,
    env: &'static str,
    help: &'static str,
}

impl Setting {
    pub const ALL: [Self; 17] = [
        Self::DatabaseUrl,
        Self::UserId,
        Self::TelecmiAppId,
        Self::TelecmiBaseUrl,
        Self::TelecmiAgents,
        Self::WebhookAddr,
        Self::LogDir,
        Self::DataDir,
        Self::CountryCode,
        Self::ReconcileAfterMinutes,
        Self::CallCeilingHours,
        Self::Timezone,
        Self::CallingHours,
        Self::RetryAfterMinutes,
        Self::MaxAttempts,
        Self::IdleAlertMinutes,
        Self::BreakAlertMinutes,
    ];

    // Long on purpose: a table with one row per setting (flag, value name, variable, help), kept
    // whole so a new setting is one row beside the others.
    fn spec(self) -> Spec {
        let s = |id, long, value, env, help| Spec { id, long, value, env, help };
        match self {
            Self::DatabaseUrl => s(
                "database_url",
                "database-url",
                "DATABASE_URL",
                "DATABASE_URL",
                "`sqlite://FILE` or `mysql://USER:PASS@HOST:PORT/DB`",
            ),
            Self::UserId => s("user_id", "user-id", "USER_ID", "CALLDESK_USER_ID", "The caller this console acts as"),
            Self::TelecmiAppId => {
                s("telecmi_app_id", "telecmi-app-id", "TELECMI_APP_ID", "TELECMI_APP_ID", "TeleCMI app id")
            }
            Self::TelecmiBaseUrl => s(
                "telecmi_base_url",
                "telecmi-base-url",
                "TELECMI_BASE_URL",
                "TELECMI_BASE_URL",
                "TeleCMI REST base URL",
            ),
            Self::TelecmiAgents => s(
                "telecmi_agents",
                "telecmi-agents",
                "TELECMI_AGENTS",
                "TELECMI_AGENTS",
                "Callers allowed to place TeleCMI calls: `user_id:extension,…`",
            ),
            Self::WebhookAddr => {
                s("webhook_addr", "webhook-addr", "WEBHOOK_ADDR", "WEBHOOK_ADDR", "Address of the webhook listener")
            }
            Self::LogDir => {
                s("log_dir", "log-dir", "LOG_DIR", "CALLDESK_LOG_DIR", "Folder for daily-rotated log files")
            }
            Self::DataDir => s(
                "data_dir",
                "data-dir",
                "DATA_DIR",
                "CALLDESK_DATA_DIR",
                "Folder for what is kept while the database is away (webhook spool, drafts)",
            ),
            Self::CountryCode => s(
                "country_code",
                "country-code",
                "COUNTRY_CODE",
                "CALLDESK_COUNTRY_CODE",
                "Country code put in front of 10-digit numbers",
            ),
            Self::ReconcileAfterMinutes => s(
                "reconcile_after_minutes",
                "reconcile-after-minutes",
                "RECONCILE_AFTER_MINUTES",
                "RECONCILE_AFTER_MINUTES",
                "Minutes without a webhook before a live call is checked against TeleCMI's CDR lists",
            ),
            Self::CallCeilingHours => s(
                "call_ceiling_hours",
                "call-ceiling-hours",
                "CALL_CEILING_HOURS",
                "CALL_CEILING_HOURS",
                "Hours after which a TeleCMI call that TeleCMI never reported as finished is closed",
            ),
            Self::Timezone => s(
                "timezone",
                "timezone",
                "TIMEZONE",
                "CALLDESK_TIMEZONE",
                "IANA time zone of the team: \"today\", callback times and every time shown [default: Asia/Kolkata]",
            ),
            Self::CallingHours => s(
                "calling_hours",
                "calling-hours",
                "CALLING_HOURS",
                "CALLING_HOURS",
                "When drivers may be called, in the driver's local time [default: 09:00-21:00]",
            ),
            Self::RetryAfterMinutes => s(
                "retry_after_minutes",
                "retry-after-minutes",
                "RETRY_AFTER_MINUTES",
                "RETRY_AFTER_MINUTES",
                "Minutes before a driver who was not reached is tried again [default: 30]",
            ),
            Self::MaxAttempts => s(
                "max_attempts",
                "max-attempts",
                "MAX_ATTEMPTS",
                "MAX_ATTEMPTS",
                "Call attempts before a driver who is never reached leaves the queue [default: 3]",
            ),
            Self::IdleAlertMinutes => s(
                "idle_alert_minutes",
                "idle-alert-minutes",
                "IDLE_ALERT_MINUTES",
                "IDLE_ALERT_MINUTES",
                "Minutes an online agent may stay idle before the board flags them [default: 10]",
            ),
            Self::BreakAlertMinutes => s(
                "break_alert_minutes",
                "break-alert-minutes",
                "BREAK_ALERT_MINUTES",
                "BREAK_ALERT_MINUTES",
                "Minutes an agent may stay on a break before the board flags them [default: 30]",
            ),
        }
    }

    /// The flag, with its environment variable named in `--help`.
    pub fn arg(self) -> Arg {
        let s = self.spec();
        Arg::new(s.id)
            .long(s.long)
            .value_name(s.value)
            .env(s.env)
            .help(s.help)
            // The database URL may hold a password.
            .hide_env_values(self == Self::DatabaseUrl)
    }

    fn slot(self, raw: &mut RawSettings) -> &mut Option<String> {
        match self {
            Self::DatabaseUrl => &mut raw.database_url,
            Self::UserId => &mut raw.user_id,
            Self::TelecmiAppId => &mut raw.telecmi_app_id,
            Self::TelecmiBaseUrl => &mut raw.telecmi_base_url,
            Self::TelecmiAgents => &mut raw.telecmi_agents,
            Self::WebhookAddr => &mut raw.webhook_addr,
            Self::LogDir => &mut raw.log_dir,
            Self::DataDir => &mut raw.data_dir,
            Self::CountryCode => &mut raw.country_code,
            Self::ReconcileAfterMinutes => &mut raw.reconcile_after_minutes,
            Self::CallCeilingHours => &mut raw.call_ceiling_hours,
            Self::Timezone => &mut raw.timezone,
            Self::CallingHours => &mut raw.calling_hours,
            Self::RetryAfterMinutes => &mut raw.retry_after_minutes,
            Self::MaxAttempts => &mut raw.max_attempts,
            Self::IdleAlertMinutes => &mut raw.idle_alert_minutes,
            Self::BreakAlertMinutes => &mut raw.break_alert_minutes,
        }
    }
}

/// Gives every command in `cmd`'s tree the flags `flags_of` names for its path (`[]` is the
/// root, `["dnc", "list"]` a nested command); a path it does not name gets none.
pub fn attach(cmd: Command, flags_of: &dyn Fn(&[&str]) -> Option<&'static [Setting]>) -> Command {
    attach_at(cmd, &mut Vec::new(), flags_of)
}

fn attach_at(
    mut cmd: Command,
    path: &mut Vec<String>,
    flags_of: &dyn Fn(&[&str]) -> Option<&'static [Setting]>,
) -> Command {
    let subs: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for name in subs {
        path.push(name.clone());
        cmd = cmd.mut_subcommand(name, |sub| attach_at(sub, path, flags_of));
        path.pop();
    }
    let here: Vec<&str> = path.iter().map(String::as_str).collect();
    for s in flags_of(&here).unwrap_or_default() {
        cmd = cmd.arg(s.arg());
    }
    cmd
}

/// The settings as given: the environment, with the flags on the command line over it.
#[derive(Debug, Clone)]
pub struct Given {
    pub raw: RawSettings,
    flags: Vec<Setting>,
}

/// A flag given before a subcommand that does not take it (`calldesk --telecmi-app-id 1 dnc
/// list`): the path of the command and the flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotHere {
    pub command: String,
    pub flag: &'static str,
}

impl std::fmt::Display for NotHere {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--{} does not apply to `{}` (see `{} --help`)", self.flag, self.command, self.command)
    }
}

impl Given {
    /// Reads every setting from the environment, then the flags of `matches` (the root's and each
    /// chosen subcommand's, the innermost winning). A flag given to an outer command applies
    /// only if the chosen command takes it too.
    pub fn read(matches: &ArgMatches) -> Result<Self, NotHere> {
        let mut levels = vec![("calldesk".to_string(), matches)];
        while let Some((name, sub)) = levels.last().and_then(|(_, m)| m.subcommand()) {
            let path = format!("{} {name}", levels.last().map(|(p, _)| p.as_str()).unwrap_or_default());
            levels.push((path, sub));
        }
        let (leaf_path, leaf) =
            levels.last().map(|(p, m)| (p.clone(), *m)).unwrap_or_else(|| ("calldesk".into(), matches));
        let mut raw = RawSettings::from_env();
        let mut flags = Vec::new();
        for s in Setting::ALL {
            let spec = s.spec();
            let mut value = None;
            for (_, m) in &levels {
                if let Some(v) = flag_value(m, spec.id) {
                    value = Some(v);
                }
            }
            let Some(v) = value else { continue };
            if !takes(leaf, spec.id) {
                return Err(NotHere { command: leaf_path, flag: spec.long });
            }
            *s.slot(&mut raw) = Some(v);
            flags.push(s);
        }
        Ok(Self { raw, flags })
    }

    /// Where `s` came from: a flag, the environment (or `.env`), or neither.
    pub fn origin(&self, s: Setting) -> Origin {
        if self.flags.contains(&s) {
            Origin::Flag
        } else if std::env::var(s.spec().env).is_ok_and(|v| !v.trim().is_empty()) {
            Origin::Env
        } else {
            Origin::Default
        }
    }
}

/// The value of flag `id` if it was typed on the command line (not taken from the environment).
fn flag_value(m: &ArgMatches, id: &str) -> Option<String> {
    let given = m.try_get_raw(id).ok().flatten().is_some() && m.value_source(id) == Some(ValueSource::CommandLine);
    given.then(|| m.try_get_one::<String>(id).ok().flatten().cloned()).flatten()
}

/// Whether the command of `m` has the flag `id`.
fn takes(m: &ArgMatches, id: &str) -> bool {
    m.try_get_raw(id).is_ok()
}

impl RawSettings {
    /// Every setting from the environment (where `.env` has been loaded), secrets included.
    pub fn from_env() -> Self {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Every setting, secrets included, from `get` (a variable's value by name): the environment,
    /// or a `.env` file read on its own (`calldesk ssh check` reads the service account's).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let mut raw = Self::default();
        for s in Setting::ALL {
            *s.slot(&mut raw) = get(s.spec().env);
        }
        raw.telecmi_app_secret = super::non_empty(get("TELECMI_APP_SECRET")).map(super::Secret);
        raw.webhook_token = super::non_empty(get("WEBHOOK_TOKEN")).map(super::Secret);
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> Command {
        let tree = Command::new("calldesk")
            .subcommand(Command::new("console"))
            .subcommand(Command::new("dnc").subcommand(Command::new("list")));
        attach(tree, &|path| match path {
            [] | ["console"] => Some(&Setting::ALL),
            ["dnc", "list"] => Some(&[Setting::DatabaseUrl, Setting::LogDir]),
            _ => None,
        })
    }

    #[test]
    fn each_command_gets_its_own_flags() {
        let mut c = cli();
        let dnc_list = c.find_subcommand_mut("dnc").and_then(|d| d.find_subcommand_mut("list")).expect("dnc list");
        let longs: Vec<_> = dnc_list.get_arguments().filter_map(|a| a.get_long()).collect();
        assert_eq!(longs, ["database-url", "log-dir"]);
        let console = c.find_subcommand_mut("console").expect("console");
        assert_eq!(console.get_arguments().count(), Setting::ALL.len());
        assert_eq!(c.get_arguments().count(), Setting::ALL.len(), "the root is the console");
    }

    #[test]
    fn flags_win_and_an_outer_flag_must_apply() {
        let m = cli().get_matches_from(["calldesk", "dnc", "list", "--database-url", "sqlite://a.db"]);
        let g = Given::read(&m).expect("given");
        assert_eq!(g.raw.database_url.as_deref(), Some("sqlite://a.db"));
        assert_eq!(g.origin(Setting::DatabaseUrl), Origin::Flag);

        let m = cli().get_matches_from(["calldesk", "--database-url", "sqlite://b.db", "dnc", "list"]);
        assert_eq!(Given::read(&m).expect("given").raw.database_url.as_deref(), Some("sqlite://b.db"));

        let m = cli().get_matches_from(["calldesk", "--telecmi-app-id", "1", "dnc", "list"]);
        let e = Given::read(&m).expect_err("not for dnc list");
        assert_eq!(
            e.to_string(),
            "--telecmi-app-id does not apply to `calldesk dnc list` (see `calldesk dnc list --help`)"
        );
    }
}
