//! The `calldesk` binary, the top floor: the command line (clap) → configuration → logging → the
//! chosen command. It parses and dispatches; each command's work lives in `calldesk::commands`.
//!
//! The floors below (`lib.rs` says more), each using only those under it:
//! `domain` (+ `config`) ← `store` / `telecmi` ← `coord` ← `console`, `supervise`, `server` ←
//! `commands` ← `main`.

#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use calldesk::commands::open_store;
use calldesk::commands::{callers, dnc, export, import, keys, loadtest, recording, session, tokens};
use calldesk::config::{Config, Given, Origin, Setting};
use calldesk::domain::Role;
use calldesk::store::{CallFilter, IfMissing};

#[derive(Debug, Parser)]
#[command(
    name = "calldesk",
    version,
    about = "Keyboard-driven calling console for recruitment teams",
    after_help = "The options above are the console's (`calldesk` alone is the console); \
                  `calldesk COMMAND --help` lists each command's own."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The agent console with the webhook listener embedded (the default)
    Console,
    /// The console on a throwaway SQLite file with sample drivers and a simulated TeleCMI
    ///
    /// The demo never touches a real database: `--database-url` is refused, and a DATABASE_URL
    /// from the environment or .env is ignored (with a note).
    Demo,
    /// The supervisor's board: every agent live, their day and alerts; drill down, move drivers (`a`)
    Supervise,
    /// Headless: webhook listener and HTTP API
    Serve,
    /// Load data
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Manage callers
    Caller {
        #[command(subcommand)]
        what: CallerCmd,
    },
    /// The team host's SSH side (for sshd)
    Ssh {
        #[command(subcommand)]
        what: keys::SshCmd,
    },
    /// Manage API tokens
    Token {
        #[command(subcommand)]
        what: tokens::TokenCmd,
    },
    /// Write data to stdout
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// Download a call's TeleCMI recording into a file
    ///
    /// The call log (2) and the driver card (i) mark recorded calls `rec`; the card shows the
    /// call's id (`rec #42`). The file comes from TeleCMI's play endpoint, whose URL holds the
    /// TeleCMI secret: it is never logged or shown. Needs TELECMI_APP_ID and TELECMI_APP_SECRET.
    /// The file is written only once complete; an existing file is kept unless --force.
    Recording {
        /// The call's id (call_logs.id)
        #[arg(value_name = "CALL_LOG_ID")]
        call_log_id: i64,
        /// Where to save the recording (e.g. call-42.mp3)
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: std::path::PathBuf,
        /// Replace FILE if it exists
        #[arg(long)]
        force: bool,
    },
    /// The do-not-call list: numbers no call may go to (add, remove, list, import)
    Dnc {
        #[command(subcommand)]
        what: dnc::DncCmd,
    },
    /// Move queued drivers from one agent to another
    ///
    /// In queue order (callbacks first, then by due time). A driver in a call, being dialed
    /// (claimed by a console), or whose last call waits for its wrap-up stays; the summary says
    /// how many moved and why the others stayed. Each move is recorded (queue_moves). The agents'
    /// consoles show the change at their next refresh (within 30 s).
    Assign(calldesk::commands::assign::AssignArgs),
    /// What each agent did on a day: calls, connected, positive outcomes against the target, talk
    /// and break time, calls that never rang the driver, outcomes by group
    ///
    /// The day is the team's (CALLDESK_TIMEZONE); today's report counts up to now. CSV has one
    /// row per agent (every agent, those without a call too); JSON adds the team's totals.
    Report {
        /// The day (YYYY-MM-DD; default: today in the team's zone)
        #[arg(long, value_name = "DATE", value_parser = export::parse_day)]
        day: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value = "csv")]
        format: calldesk::commands::report::ReportFormat,
    },
    /// Apply database migrations and exit
    Migrate,
    /// A team on one database: N simulated agents against one `serve` and the TeleCMI simulator
    ///
    /// In one process: the TeleCMI simulator (webhooks over loopback HTTP), the listener + API of
    /// `calldesk serve`, N agents each with its own connection pool (a console each) and a
    /// supervisor with its own pool. Each agent reads its due queue (every other turn its
    /// neighbour's, so agents race for drivers), claims a driver, dials through the API's
    /// click_to_call, follows the call until TeleCMI's webhooks end it, saves an outcome through
    /// update_feedback and thinks. Then it prints calls placed, outcomes saved, double claims,
    /// lost and duplicated outcomes, supervisor lag p50/p99 and queries per second per console.
    /// Exit code 1 when a goal is missed (0 double claims, 0 lost or duplicated, p99 < 1 s).
    ///
    /// With --processes the agents run in child processes of this binary instead, one per
    /// console, each through its own pools: the team host's shape on one database.
    ///
    /// It writes callers 9001.. (names `lt-…`), their API tokens and drivers `lt-000000…`, so it
    /// refuses a database that holds any caller, driver or call: give it an empty one
    /// (DATABASE_URL / --database-url, e.g. a new MariaDB database or sqlite file).
    Loadtest {
        /// Simulated agents, each with its own connection pool
        #[arg(long, default_value_t = 10)]
        agents: usize,
        /// How long the agents keep taking new drivers (fractions allowed: 0.2 = 12 s)
        #[arg(long, default_value_t = 1.0)]
        minutes: f64,
        /// An agent's pause after each outcome (a human's pace, compressed)
        #[arg(long, value_name = "MS", default_value_t = 1000)]
        think_ms: u64,
        /// The simulator's pause between two webhooks of a call
        #[arg(long, value_name = "MS", default_value_t = 200)]
        step_ms: u64,
        /// Run the agents in P child processes (as many as --agents: one per console, the team
        /// host's shape), each dialing and saving as a console does, through its own pools; 0
        /// runs them all in this process, through the API
        #[arg(long, value_name = "P", default_value_t = 0)]
        processes: usize,
    },
    /// A child of `loadtest --processes`: runs the agents it is given on stdin
    #[command(name = "loadtest-agents", hide = true)]
    LoadtestAgents,
}

#[derive(Debug, Subcommand)]
enum ImportWhat {
    /// Load or assign drivers from a CSV with header id,name,mobile,tmid,city,state,assigned_to
    ///
    /// Bad rows are reported by line and skipped (exit code 2); the good rows are loaded. A repeated
    /// id or mobile in the file, or a mobile that belongs to another driver already, is a bad row.
    /// Escape sequences and control characters are removed from every field. An optional last
    /// column `timezone` gives a driver's own IANA zone (e.g. Asia/Dubai): their calling hours
    /// (CALLING_HOURS) are read in it; empty = the team's zone (CALLDESK_TIMEZONE).
    Drivers {
        /// The CSV file (UTF-8, header line first)
        file: std::path::PathBuf,
        /// Queue again drivers whose saved outcome finished them (e.g. Interview Fixed, attempts
        /// used up, a wrong number); without it they keep their outcome and stay out of the queue
        #[arg(long)]
        requeue: bool,
    },
}

#[derive(Debug, Subcommand)]
enum CallerCmd {
    /// Register a caller (or rename one)
    Add {
        id: i64,
        name: String,
        #[arg(long, value_enum, default_value = "agent")]
        role: Role,
    },
    /// List callers
    List,
    /// Set the caller's daily target: calls with a positive outcome
    Target { id: i64, target: u32 },
    /// A caller's SSH public keys, to log in to the team host (add, list, remove)
    Key {
        #[command(subcommand)]
        what: keys::KeyCmd,
    },
}

#[derive(Debug, Subcommand)]
enum ExportWhat {
    /// Call logs, newest first; times are ISO-8601 with their offset (2026-11-24T11:30:00+05:30)
    Logs {
        /// csv (formula-like cells prefixed with '), json (one array) or ndjson (one object a line)
        #[arg(long, value_enum, default_value = "csv")]
        format: export::Format,
        /// First day to include (YYYY-MM-DD, by the call's start, in the console's time zone)
        #[arg(long, value_name = "DATE", value_parser = export::parse_day)]
        from: Option<chrono::NaiveDate>,
        /// Last day to include (YYYY-MM-DD, inclusive)
        #[arg(long, value_name = "DATE", value_parser = export::parse_day)]
        to: Option<chrono::NaiveDate>,
        /// Only this caller's calls
        #[arg(long, value_name = "ID")]
        caller: Option<i64>,
    },
}

/// The console's flags: every setting but the board's alerts.
const CONSOLE: &[Setting] = &[
    Setting::DatabaseUrl,
    Setting::UserId,
    Setting::TelecmiAppId,
    Setting::TelecmiBaseUrl,
    Setting::TelecmiAgents,
    Setting::WebhookAddr,
    Setting::LogDir,
    Setting::DataDir,
    Setting::CountryCode,
    Setting::ReconcileAfterMinutes,
    Setting::CallCeilingHours,
    Setting::Timezone,
    Setting::CallingHours,
    Setting::RetryAfterMinutes,
    Setting::MaxAttempts,
];

/// The settings each command takes as flags; every command reads them all from the environment.
/// A command that is not named here gets none.
fn flags_of(path: &[&str]) -> Option<&'static [Setting]> {
    use Setting::*;
    const DB: &[Setting] = &[DatabaseUrl, LogDir];
    Some(match path {
        // `calldesk` alone is the console.
        [] | ["console"] => CONSOLE,
        ["demo"] => &[
            LogDir,
            DataDir,
            CountryCode,
            Timezone,
            CallingHours,
            RetryAfterMinutes,
            MaxAttempts,
            ReconcileAfterMinutes,
            CallCeilingHours,
        ],
        ["supervise"] => &[DatabaseUrl, UserId, LogDir, Timezone, IdleAlertMinutes, BreakAlertMinutes],
        ["serve"] => &[
            DatabaseUrl,
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
        ],
        ["import", "drivers"] => &[DatabaseUrl, LogDir, CountryCode],
        ["caller", "list"] => &[DatabaseUrl, LogDir, TelecmiAgents],
        ["caller", "key", "add" | "remove"] => DB,
        ["caller", "key", "list"] => &[DatabaseUrl, LogDir, Timezone],
        // sshd gives it only %t %k; the settings come from the environment and `.env`, never from
        // a flag in sshd_config (where a MariaDB URL's password would be world-readable).
        ["ssh", "authorized-keys"] => &[],
        // Reads the service account's .env itself, never the environment's settings.
        ["ssh", "check"] => &[],
        // The forced command: the caller comes from the key; nothing the client sends is a flag.
        ["ssh", "session"] => &[],
        ["caller", "add" | "target"] | ["token", "issue" | "revoke"] | ["migrate"] | ["assign"] => DB,
        ["export", "logs"] | ["dnc", "list"] => &[DatabaseUrl, LogDir, Timezone],
        ["report"] => &[DatabaseUrl, LogDir, Timezone],
        ["recording"] => &[DatabaseUrl, LogDir, TelecmiAppId, TelecmiBaseUrl],
        ["dnc", "add" | "import"] => &[DatabaseUrl, LogDir, UserId, CountryCode, Timezone],
        ["dnc", "remove"] => &[DatabaseUrl, LogDir, CountryCode, Timezone],
        ["loadtest"] => &[DatabaseUrl, LogDir, CountryCode, Timezone, RetryAfterMinutes, MaxAttempts],
        // Started by `loadtest --processes` with its settings in its environment and on stdin.
        ["loadtest-agents"] => &[],
        _ => return None,
    })
}

/// The command line: the subcommands with their own flags.
fn cli_command() -> clap::Command {
    calldesk::config::attach(Cli::command(), &flags_of)
        // The demo never opens a real database: it takes the flag only to refuse it in words.
        .mut_subcommand("demo", |demo| demo.arg(Setting::DatabaseUrl.arg().hide(true)))
}

/// Reads the `.env` this command takes. A missing one is normal; a malformed one is a
/// configuration error (one line). The `ssh` commands, which sshd runs in `/`, read the account's
/// `$HOME/.env` instead of `./.env`, over the environment (`config::service_env` says what sshd
/// gives them); `ssh check` reads the account's file itself. Returns a warning for the log.
fn load_dotenv() -> Result<Option<String>, String> {
    let mut args = std::env::args_os().skip(1);
    match (args.next(), args.next()) {
        (Some(a), Some(b)) if a == "ssh" && b == "check" => Ok(None),
        (Some(a), _) if a == "ssh" => calldesk::config::service_env::load(),
        _ => match dotenvy::dotenv() {
            Err(e) if !e.not_found() => Err(format!("configuration error: .env: {e}")),
            _ => Ok(None),
        },
    }
}

fn main() -> ExitCode {
    let env_warning = match load_dotenv() {
        Ok(w) => w,
        Err(line) => {
            eprintln!("{line}");
            return ExitCode::FAILURE;
        }
    };
    let mut command = cli_command();
    let matches = command.clone().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let given =
        Given::read(&matches).unwrap_or_else(|e| command.error(clap::error::ErrorKind::ArgumentConflict, e).exit());
    let database_url_origin = given.origin(Setting::DatabaseUrl);
    let hours_origin = given.origin(Setting::CallingHours);
    let config = match Config::from_raw(given.raw) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    calldesk::domain::text::set_team_zone(config.zone());
    let _log_guard = match calldesk::logging::init(&config.log_dir) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(w) = env_warning {
        tracing::warn!("{w}");
    }
    // Panics go to the log too (the TUI's own hook restores the terminal, then calls this one).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!("panic: {info}");
        default_hook(info);
    }));
    let runtime = match runtime_for(cli.command.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Console), config, database_url_origin, hours_origin)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            // A configuration error is already one self-explaining line.
            if e.downcast_ref::<calldesk::config::ConfigError>().is_some() {
                eprintln!("{e}");
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The async runtime. One person's screen (a console, the supervisor board) gets one worker: the
/// screen runs on this thread (`block_on`), its database work, event feed and listener on the
/// worker beside it, so neither waits for the other; a worker per core would cost fifty consoles
/// on one host a hundred idle threads.
fn runtime_for(command: Option<&Command>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    let screen = matches!(command, None | Some(Command::Console | Command::Supervise | Command::Demo))
        // The team host's forced command is a console (or a board) too: fifty of them on a host.
        || matches!(command, Some(Command::Ssh { what: keys::SshCmd::Session { .. } }));
    if screen {
        runtime.worker_threads(1);
    }
    runtime.enable_all().build()
}

async fn run(
    command: Command,
    config: Config,
    database_url_origin: Origin,
    hours_origin: Origin,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Migrate => {
            let store = open_store(&config, IfMissing::Create).await?;
            println!("migrations applied to {}", store.label());
            Ok(ExitCode::SUCCESS)
        }
        Command::Caller { what } => caller_cmd(what, &config).await,
        Command::Assign(args) => calldesk::commands::assign::run(args, &config).await,
        Command::Report { day, format } => report(day, format, &config).await,
        Command::Dnc { what } => dnc::run(what, &config).await,
        Command::Token { what } => tokens::run(what, &config).await,
        Command::Ssh { what } => keys::ssh(what, &config).await,
        Command::Import { what: ImportWhat::Drivers { file, requeue } } => {
            import_drivers(&file, requeue, &config).await
        }
        Command::Export { what: ExportWhat::Logs { format, from, to, caller } } => {
            let zone = config.zone();
            let (from, until) = export::day_range(from, to, zone).map_err(anyhow::Error::msg)?;
            let store = open_store(&config, IfMissing::Refuse).await?;
            let filter = CallFilter { caller_id: caller, from, until, ..CallFilter::default() };
            let n = export::write_logs(&store, &filter, format, zone, std::io::stdout().lock()).await?;
            eprintln!("{n} call logs exported");
            Ok(ExitCode::SUCCESS)
        }
        Command::Recording { call_log_id, output, force } => {
            let store = open_store(&config, IfMissing::Refuse).await?;
            let saved = recording::download(&store, &config, call_log_id, &output, force).await?;
            println!("call {call_log_id}: recording saved to {} ({} bytes)", output.display(), saved.bytes);
            Ok(ExitCode::SUCCESS)
        }
        Command::Loadtest { agents, minutes, think_ms, step_ms, processes } => {
            anyhow::ensure!(minutes.is_finite() && minutes > 0.0, "--minutes must be a positive number");
            let plan = loadtest::Plan {
                agents,
                duration: std::time::Duration::from_secs_f64(minutes * 60.0),
                think: std::time::Duration::from_millis(think_ms),
                step: std::time::Duration::from_millis(step_ms),
                processes,
            };
            let report = loadtest::run(config, plan).await?;
            println!("{report}");
            Ok(if report.misses().is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::LoadtestAgents => loadtest::child(config).await.map(|()| ExitCode::SUCCESS),
        Command::Console => session::console(config).await.map(|()| ExitCode::SUCCESS),
        Command::Demo => session::demo(config, database_url_origin, hours_origin).await.map(|()| ExitCode::SUCCESS),
        Command::Serve => session::serve(config).await.map(|()| ExitCode::SUCCESS),
        Command::Supervise => session::supervise(config).await.map(|()| ExitCode::SUCCESS),
    }
}

/// `calldesk report`: the day (today in the team's zone unless given) to stdout.
async fn report(
    day: Option<chrono::NaiveDate>,
    format: calldesk::commands::report::ReportFormat,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let zone = config.zone();
    let day = day.unwrap_or_else(|| Utc::now().with_timezone(&zone).date_naive());
    let store = open_store(config, IfMissing::Refuse).await?;
    let out = std::io::stdout().lock();
    let n = calldesk::commands::report::write(&store, day, zone, &config.catalog(), format, out).await?;
    eprintln!("{} on {day} ({})", calldesk::domain::text::plural(n, "agent"), zone.name());
    Ok(ExitCode::SUCCESS)
}

async fn caller_cmd(what: CallerCmd, config: &Config) -> anyhow::Result<ExitCode> {
    let what = match what {
        CallerCmd::Key { what } => return keys::key(what, config).await,
        other => other,
    };
    // Registering a caller is the first step of a new setup; the others need callers already.
    let if_missing = if matches!(what, CallerCmd::Add { .. }) { IfMissing::Create } else { IfMissing::Refuse };
    // Bad arguments are refused before a database is opened (or created on a typo'd path).
    if let CallerCmd::Add { id, name, .. } = &what {
        anyhow::ensure!(*id > 0, "caller id must be a positive number");
        anyhow::ensure!(!calldesk::domain::text::strip_controls(name.trim()).is_empty(), "caller name is empty");
    }
    let store = open_store(config, if_missing).await?;
    match what {
        CallerCmd::Add { id, name, role } => {
            let name = calldesk::domain::text::strip_controls(name.trim());
            store.add_caller(id, &name, role, Utc::now()).await?;
            println!("caller {id} {name:?} registered as {}", role.as_str());
        }
        CallerCmd::Target { id, target } => {
            store.set_daily_target(id, target).await?;
            println!("caller {id}: daily target {}", calldesk::domain::text::plural(target, "positive outcome"));
        }
        CallerCmd::List => {
            print!("{}", callers::table(&store.callers().await?, |id| config.telecmi_extension(id)));
        }
        CallerCmd::Key { .. } => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn import_drivers(file: &std::path::Path, requeue: bool, config: &Config) -> anyhow::Result<ExitCode> {
    // The file first: a missing one creates no database.
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let store = open_store(config, IfMissing::Create).await?;
    let callers: HashSet<i64> = store.callers().await?.into_iter().map(|c| c.id).collect();
    // Progress by bytes read: known up front, and memory stays flat whatever the file's size.
    let bar = indicatif::ProgressBar::new(f.metadata().map(|m| m.len()).unwrap_or(0));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let input = std::io::BufReader::with_capacity(1 << 16, bar.wrap_read(f));
    let rows = import::Rows::new(input, &config.country_code, callers)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let done = bar.clone();
    let file_read = move || {
        done.set_message("read; checking against the database and loading");
        done.enable_steady_tick(std::time::Duration::from_millis(200));
    };
    // Refused lines come at the end, in line order: the bar has nothing left to show.
    let mut err = std::io::BufWriter::new(std::io::stderr());
    let outcome = import::import(&store, rows, requeue, file_read, |line, reason| {
        if !bar.is_finished() {
            bar.finish_and_clear();
        }
        let _ = writeln!(err, "{}:{line}: {reason}", file.display());
    })
    .await;
    bar.finish_and_clear();
    err.flush()?;
    drop(err);
    let outcome = outcome.context("nothing was imported")?;
    println!("{}", import::summary(&outcome));
    Ok(if outcome.refused == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::{Cli, cli_command, flags_of};

    #[test]
    fn the_command_line_is_well_formed() {
        cli_command().debug_assert();
    }

    /// A new command must say which flags it takes (else it would take none).
    #[test]
    fn every_command_names_its_flags() {
        fn walk(cmd: &clap::Command, path: &mut Vec<String>) {
            let subs: Vec<_> = cmd.get_subcommands().collect();
            if subs.is_empty() {
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                assert!(flags_of(&p).is_some(), "no flags named for `calldesk {}`", p.join(" "));
            }
            for sub in subs {
                path.push(sub.get_name().to_string());
                walk(sub, path);
                path.pop();
            }
        }
        walk(&Cli::command(), &mut Vec::new());
    }
}
