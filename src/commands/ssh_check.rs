//! `calldesk ssh check`: what can be checked of the team host's setup, one line per check, ✓ or ✗
//! with the exact fix (a command where there is one), – for what could not be checked and why.
//! Exit code 1 when anything is ✗.
//!
//! Run as the service account it checks the binary, the account, its `.env` and the database;
//! run as root (naming the account, `calldesk` by default) it also asks sshd for the account's
//! effective settings (`sshd -T`, which needs root), and runs the database checks as the account
//! (`runuser`), so root never opens (and never creates a root-owned journal beside) the SQLite file.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::config::{Config, RawSettings, service_env};
use crate::domain::text::plural;
use crate::store::{self, Store};

mod sshd;
use sshd::sshd_lines;

/// The flags of `calldesk ssh check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The service account everyone logs in as (default: the account running this, with its $HOME)
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// The sshd configuration to ask sshd about (root only)
    #[arg(long, value_name = "FILE", default_value = "/etc/ssh/sshd_config")]
    pub sshd_config: PathBuf,
    /// Only the database checks: what a root run asks of the account
    #[arg(long, hide = true)]
    pub database_only: bool,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Pass,
    Fail,
    /// Not checked, or only a note: does not fail the run.
    Skip,
}

/// One printed line: what was found and, for a failure, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub mark: Mark,
    pub text: String,
}

impl Line {
    fn pass(text: impl Into<String>) -> Self {
        Self { mark: Mark::Pass, text: text.into() }
    }
    fn fail(text: impl Into<String>, fix: impl AsRef<str>) -> Self {
        Self { mark: Mark::Fail, text: format!("{} — fix: {}", text.into(), fix.as_ref()) }
    }
    fn skip(text: impl Into<String>) -> Self {
        Self { mark: Mark::Skip, text: text.into() }
    }
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = match self.mark {
            Mark::Pass => '✓',
            Mark::Fail => '✗',
            Mark::Skip => '–',
        };
        write!(f, "{mark} {}", self.text)
    }
}

/// A passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub home: PathBuf,
    pub shell: String,
}

/// `name:x:uid:gid:gecos:home:shell`.
pub fn parse_passwd_line(line: &str) -> Option<Account> {
    let f: Vec<&str> = line.trim_end().split(':').collect();
    if f.len() != 7 {
        return None;
    }
    Some(Account { name: f[0].into(), uid: f[2].parse().ok()?, home: f[5].into(), shell: f[6].into() })
}

/// The account by name or uid: `getent passwd` (NSS), else `/etc/passwd`.
fn lookup_account(key: &str) -> Option<Account> {
    if let Ok(out) = Command::new("getent").args(["passwd", key]).output()
        && out.status.success()
    {
        return String::from_utf8_lossy(&out.stdout).lines().find_map(parse_passwd_line);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().filter_map(parse_passwd_line).find(|a| a.name == key || a.uid.to_string() == key)
}

/// The account running this, with the home the `ssh` commands read their `.env` from (`$HOME`).
fn current_account(uid: u32) -> Account {
    let mut account = lookup_account(&uid.to_string()).unwrap_or_else(|| Account {
        name: uid.to_string(),
        uid,
        home: PathBuf::new(),
        shell: std::env::var("SHELL").unwrap_or_default(),
    });
    if let Some(home) = service_env::home() {
        account.home = home;
    }
    account
}

fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// `calldesk ssh check`.
pub async fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe()?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    let me = euid();
    let account = match &args.account {
        Some(name) => lookup_account(name).ok_or_else(|| name.clone()),
        None => Ok(current_account(me)),
    };
    let account = match account {
        Ok(a) => a,
        Err(name) => {
            let fix = format!("useradd --system --create-home --home-dir /var/lib/{name} --shell /bin/sh {name}");
            println!("{}", Line::fail(format!("no account {name}"), fix));
            return Ok(ExitCode::FAILURE);
        }
    };
    let lines = if args.database_only {
        database_lines(&account).await
    } else {
        println!(
            "calldesk ssh check: account {} (home {}), binary {}",
            account.name,
            account.home.display(),
            exe.display()
        );
        all_lines(&args, &account, &exe, me).await
    };
    let failed = lines.iter().filter(|l| l.mark == Mark::Fail).count();
    for l in &lines {
        println!("{l}");
    }
    if !args.database_only {
        let skipped = lines.iter().filter(|l| l.mark == Mark::Skip).count();
        match failed {
            0 => println!("all checked settings are right ({} not checked or notes)", skipped),
            n => println!("{}: fix and run `calldesk ssh check` again", plural(n, "problem")),
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn all_lines(args: &CheckArgs, account: &Account, exe: &Path, me: u32) -> Vec<Line> {
    let mut lines = vec![binary_line(exe)];
    lines.extend(account_lines(account));
    let env = read_env(account, &mut lines);
    if let Some(env) = &env {
        lines.extend(settings_lines(account, env));
    }
    lines.extend(match (me, env.is_some()) {
        (_, false) => vec![Line::skip("the database is not checked: the .env could not be read")],
        (uid, true) if uid == account.uid => database_lines(account).await,
        (0, true) => database_as_account(account, exe),
        (_, true) => vec![Line::skip(format!(
            "the database is not checked: run this as {} or as root (calldesk ssh check --account {})",
            account.name, account.name
        ))],
    });
    lines.extend(sshd_lines(args, account, exe, me));
    lines
}

/// Where the README installs the binary.
const INSTALLED: &str = "/usr/local/bin/calldesk";

/// sshd runs `AuthorizedKeysCommand` only if its file and every directory above it are owned by
/// root and writable by no one else (OpenSSH's `safe_path`). Each entry: a path, its owner, its mode.
pub fn sshd_path_problems(chain: &[(PathBuf, u32, u32)]) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for (path, uid, mode) in chain {
        let p = path.display();
        if *uid != 0 {
            problems.push((format!("{p} is owned by uid {uid}, not root"), format!("chown root:root {p}")));
        }
        if mode & 0o022 != 0 {
            let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
                (true, true) => "its group and everyone",
                (true, false) => "its group",
                _ => "everyone",
            };
            problems.push((format!("{p} is writable by {who} (mode {:03o})", mode & 0o777), format!("chmod go-w {p}")));
        }
    }
    problems
}

/// The binary and each directory above it, with owner and mode.
fn path_chain(exe: &Path) -> std::io::Result<Vec<(PathBuf, u32, u32)>> {
    exe.ancestors().map(|p| std::fs::metadata(p).map(|m| (p.to_path_buf(), m.uid(), m.mode()))).collect()
}

fn binary_line(exe: &Path) -> Line {
    let chain = match path_chain(exe) {
        Ok(c) => c,
        Err(e) => return Line::skip(format!("{} could not be inspected: {e}", exe.display())),
    };
    let problems = sshd_path_problems(&chain);
    if problems.is_empty() {
        return Line::pass(format!(
            "{} and every directory above it are root-owned and not group/world-writable (sshd runs it)",
            exe.display()
        ));
    }
    let what: Vec<&str> = problems.iter().map(|(w, _)| w.as_str()).collect();
    let fixes: Vec<&str> = problems.iter().map(|(_, f)| f.as_str()).collect();
    let mut fix = fixes.join(" && ");
    if exe != Path::new(INSTALLED) {
        fix = format!(
            "{fix} — or install it where root owns the path: install -o root -g root -m 755 {} {INSTALLED}",
            exe.display()
        );
    }
    Line::fail(format!("sshd will not run this binary as AuthorizedKeysCommand: {}", what.join("; ")), fix)
}

/// A login shell runs the forced command (`SHELL -c COMMAND`): nologin or false would refuse it.
pub fn shell_problem(shell: &str) -> Option<String> {
    let base = shell.rsplit('/').next().unwrap_or(shell);
    if shell.is_empty() || base == "nologin" || base == "false" {
        Some(format!(
            "its login shell is {shell:?}: sshd runs the forced command through it, so every login would end at once"
        ))
    } else if !Path::new(shell).exists() {
        Some(format!("its login shell {shell} does not exist"))
    } else {
        None
    }
}

fn account_lines(account: &Account) -> Vec<Line> {
    let name = &account.name;
    let mut lines = vec![match shell_problem(&account.shell) {
        None => Line::pass(format!("account {name} has a login shell ({}) for the forced command", account.shell)),
        Some(p) => Line::fail(format!("account {name}: {p}"), format!("usermod -s /bin/sh {name}")),
    }];
    let home = account.home.display();
    lines.push(match std::fs::metadata(&account.home) {
        Err(e) => Line::fail(
            format!("the home {home} cannot be read: {e}"),
            format!("mkdir -p {home} && chown {name}: {home} && chmod 750 {home}"),
        ),
        Ok(m) if m.uid() != account.uid => {
            Line::fail(format!("the home {home} is not owned by {name}"), format!("chown {name}: {home}"))
        }
        Ok(m) if m.mode() & 0o022 != 0 => Line::fail(
            format!(
                "the home {home} is writable by others (mode {:03o}): they could replace the .env",
                m.mode() & 0o777
            ),
            format!("chmod go-w {home}"),
        ),
        Ok(_) => Line::pass(format!("the home {home} is {name}'s and writable by no one else")),
    });
    lines
}

/// What is wrong with the `.env`'s owner and mode.
pub fn env_file_problems(path: &Path, owner: u32, mode: u32, account: &Account) -> Vec<Line> {
    let p = path.display();
    let mut lines = Vec::new();
    if owner != account.uid {
        lines.push(Line::fail(
            format!("{p} is owned by uid {owner}, not {}", account.name),
            format!("chown {}: {p}", account.name),
        ));
    }
    if let Some(problem) = service_env::mode_problem(mode) {
        lines.push(Line::fail(format!("{p} {problem}"), format!("chmod 600 {p}")));
    }
    if lines.is_empty() {
        lines.push(Line::pass(format!("{p} is {}'s, mode 600", account.name)));
    }
    lines
}

/// The `.env`'s variables, after its owner/mode lines; `None` if it cannot be read.
fn read_env(account: &Account, lines: &mut Vec<Line>) -> Option<BTreeMap<String, String>> {
    let path = service_env::env_path(&account.home);
    let p = path.display();
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            lines.push(Line::fail(
                format!("there is no {p}: sshd's logins would use the defaults (a sqlite calldesk.db in /)"),
                format!(
                    "write it as the README says (\"The team host\"), then chown {}: {p} && chmod 600 {p}",
                    account.name
                ),
            ));
            return None;
        }
        Err(e) => {
            lines.push(Line::skip(format!("{p} could not be inspected: {e}")));
            return None;
        }
    };
    lines.extend(env_file_problems(&path, meta.uid(), meta.mode(), account));
    let iter = match dotenvy::from_path_iter(&path) {
        Ok(i) => i,
        Err(e) => {
            lines.push(Line::skip(format!("{p} could not be read: {e} (run this as {} or root)", account.name)));
            return None;
        }
    };
    match iter.collect::<Result<BTreeMap<_, _>, _>>() {
        Ok(vars) => Some(vars),
        Err(e) => {
            let why = service_env::describe(&e);
            lines.push(Line::fail(format!("{p} is malformed: {why}"), format!("correct {p}")));
            None
        }
    }
}

fn config_of(env: &BTreeMap<String, String>) -> Result<Config, crate::config::ConfigError> {
    Config::from_raw(RawSettings::from_lookup(|k| env.get(k).cloned()))
}

fn settings_lines(account: &Account, env: &BTreeMap<String, String>) -> Vec<Line> {
    let path = service_env::env_path(&account.home);
    let config = match config_of(env) {
        Ok(c) => c,
        Err(e) => {
            return vec![Line::fail(format!("{}: {e}", path.display()), format!("correct it in {}", path.display()))];
        }
    };
    let mut lines = vec![match &config.telecmi {
        Some(_) => Line::pass("TELECMI_APP_ID and TELECMI_APP_SECRET are set (the secret is not shown)"),
        None => Line::skip("no TeleCMI credentials (TELECMI_APP_ID, TELECMI_APP_SECRET): agents can only dial by hand"),
    }];
    lines.extend(database_file_lines(account, &config.database_url, &path));
    lines
}

/// A SQLite file: absolute (sshd runs `ssh authorized-keys` in `/`, the session in the home),
/// the account's, and neither it nor its directory open to others.
fn database_file_lines(account: &Account, url: &str, env_path: &Path) -> Vec<Line> {
    let Ok(Some(file)) = store::sqlite_file(url) else {
        return vec![Line::skip("DATABASE_URL is a MySQL/MariaDB database: its file modes are the server's")];
    };
    if file.is_relative() {
        let abs = account.home.join(&file);
        return vec![Line::fail(
            format!(
                "DATABASE_URL names a relative file ({}): sshd runs `ssh authorized-keys` in /, the session in the home",
                file.display()
            ),
            format!("DATABASE_URL=sqlite://{} in {}", abs.display(), env_path.display()),
        )];
    }
    let mut lines = Vec::new();
    let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let journal = |suffix: &str| PathBuf::from(format!("{}{suffix}", file.display()));
    let paths = [(file.clone(), "600"), (journal("-wal"), "600"), (journal("-shm"), "600"), (dir, "700")];
    for (p, fix_mode) in &paths {
        let Ok(m) = std::fs::metadata(p) else { continue };
        if m.uid() != account.uid {
            lines.push(Line::fail(
                format!("{} is owned by uid {}, not {}", p.display(), m.uid(), account.name),
                format!("chown {}: {}", account.name, p.display()),
            ));
        }
        if m.mode() & 0o007 != 0 {
            lines.push(Line::fail(
                format!("{} is open to everyone (mode {:03o}): it holds every call log", p.display(), m.mode() & 0o777),
                format!("chmod {fix_mode} {}", p.display()),
            ));
        }
    }
    if lines.is_empty() {
        lines.push(Line::pass(format!(
            "{} and its directory are {}'s and closed to others",
            file.display(),
            account.name
        )));
    }
    lines
}

/// Opens the database (as the account: never creating anything), checks its migrations and keys.
async fn database_lines(account: &Account) -> Vec<Line> {
    let path = service_env::env_path(&account.home);
    let env: BTreeMap<String, String> =
        dotenvy::from_path_iter(&path).map(|i| i.filter_map(Result::ok).collect()).unwrap_or_default();
    let Ok(config) = config_of(&env) else {
        return vec![Line::skip("the database is not checked: the settings are not valid")];
    };
    let migrate = format!("cd {} && runuser -u {} -- calldesk migrate", account.home.display(), account.name);
    if let Ok(Some(file)) = store::sqlite_file(&config.database_url)
        && !file.exists()
    {
        return vec![Line::fail(format!("no database at {}", file.display()), migrate)];
    }
    let store = match Store::connect_existing(&config.database_url).await {
        Ok(s) => s,
        Err(e) => {
            return vec![Line::fail(format!("the database does not open: {e}"), "correct DATABASE_URL in the .env")];
        }
    };
    let lines = store_lines(&store, &migrate).await;
    store.close().await;
    lines
}

async fn store_lines(store: &Store, migrate: &str) -> Vec<Line> {
    let mut lines = vec![match store.pending_migrations().await {
        Ok(p) if p.is_empty() => Line::pass(format!("the database ({}) opens and is migrated", store.label())),
        Ok(p) => return vec![Line::fail(format!("the database lacks {}", plural(p.len(), "migration")), migrate)],
        Err(e) => return vec![Line::fail(format!("the database is not migrated ({e})"), migrate)],
    }];
    let (keys, callers) = match (store.ssh_keys(None).await, store.callers().await) {
        (Ok(k), Ok(c)) => (k, c),
        (Err(e), _) | (_, Err(e)) => return vec![Line::fail(format!("the keys cannot be read: {e}"), migrate)],
    };
    let mut with_key: Vec<i64> = keys.iter().map(|k| k.caller_id).collect();
    with_key.dedup();
    let supervisors = callers.iter().filter(|c| c.is_supervisor() && with_key.contains(&c.id)).count();
    lines.push(if keys.is_empty() {
        Line::fail("no caller has an SSH key yet: nobody can log in", "calldesk caller key add ID FILE.pub")
    } else {
        Line::pass(format!(
            "{} for {} ({} supervisor)",
            plural(keys.len(), "SSH key"),
            plural(with_key.len(), "caller"),
            supervisors
        ))
    });
    lines
}

/// Root runs the database checks as the account, so root never writes beside its SQLite file.
fn database_as_account(account: &Account, exe: &Path) -> Vec<Line> {
    let out = Command::new("runuser")
        .args(["-u", &account.name, "--"])
        .arg(exe)
        .args(["ssh", "check", "--database-only", "--account", &account.name])
        .current_dir(&account.home)
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            return vec![Line::skip(format!(
                "the database is not checked: runuser failed ({e}); run runuser -u {} -- calldesk ssh check",
                account.name
            ))];
        }
    };
    let lines: Vec<Line> = String::from_utf8_lossy(&out.stdout).lines().filter_map(parse_line).collect();
    if lines.is_empty() {
        let err = String::from_utf8_lossy(&out.stderr);
        return vec![Line::fail(
            format!("the database check as {} printed nothing: {}", account.name, err.trim()),
            format!("runuser -u {} -- calldesk ssh check", account.name),
        )];
    }
    lines
}

/// A printed line read back.
pub fn parse_line(s: &str) -> Option<Line> {
    let mut chars = s.chars();
    let mark = match chars.next()? {
        '✓' => Mark::Pass,
        '✗' => Mark::Fail,
        '–' => Mark::Skip,
        _ => return None,
    };
    Some(Line { mark, text: chars.as_str().trim_start().to_string() })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use super::*;

    fn account(uid: u32) -> Account {
        Account { name: "calldesk".into(), uid, home: "/var/lib/calldesk".into(), shell: "/bin/sh".into() }
    }

    #[test]
    fn sshd_runs_only_a_root_owned_path_no_one_else_can_write() {
        let ok = |p: &str| (PathBuf::from(p), 0, 0o40755);
        assert!(sshd_path_problems(&[ok("/usr/local/bin/calldesk"), ok("/usr/local/bin"), ok("/")]).is_empty());
        let problems = sshd_path_problems(&[
            (PathBuf::from("/home/dev/calldesk"), 1000, 0o100755),
            (PathBuf::from("/home/dev"), 1000, 0o40775),
            (PathBuf::from("/tmp"), 0, 0o41777),
            ok("/"),
        ]);
        let fixes: Vec<&str> = problems.iter().map(|(_, f)| f.as_str()).collect();
        assert_eq!(
            fixes,
            [
                "chown root:root /home/dev/calldesk",
                "chown root:root /home/dev",
                "chmod go-w /home/dev",
                "chmod go-w /tmp"
            ]
        );
        assert!(problems[2].0.contains("writable by its group (mode 775)"), "{problems:?}");
        assert!(problems[3].0.contains("writable by its group and everyone (mode 777)"), "{problems:?}");
    }

    /// The rules on real files: a tempfile's owner and mode as the check reads them.
    #[test]
    fn the_env_file_is_the_accounts_and_mode_600() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join(".env");
        std::fs::write(&path, "DATABASE_URL=sqlite:///x.db\n").expect("write");
        let me = rustix::process::geteuid().as_raw();
        let check = |mode: u32, uid: u32| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let m = std::fs::metadata(&path).expect("stat");
            env_file_problems(&path, std::os::unix::fs::MetadataExt::uid(&m), m.mode(), &account(uid))
        };
        let lines = check(0o600, me);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].mark, Mark::Pass, "{lines:?}");
        let lines = check(0o644, me);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].mark, Mark::Fail);
        assert!(
            lines[0].text.contains("mode 644")
                && lines[0].text.ends_with(&format!("fix: chmod 600 {}", path.display()))
        );
        let lines = check(0o600, me + 1);
        assert_eq!(lines[0].mark, Mark::Fail);
        assert!(lines[0].text.ends_with(&format!("fix: chown calldesk: {}", path.display())), "{lines:?}");
    }

    #[test]
    fn a_forced_command_needs_a_real_login_shell() {
        assert!(shell_problem("/bin/sh").is_none());
        assert!(shell_problem("/usr/sbin/nologin").is_some_and(|p| p.contains("forced command")));
        assert!(shell_problem("/bin/false").is_some());
        assert!(shell_problem("").is_some());
        assert!(shell_problem("/no/such/shell").is_some_and(|p| p.contains("does not exist")));
    }

    #[test]
    fn passwd_lines() {
        let a = parse_passwd_line("calldesk:x:998:998::/var/lib/calldesk:/bin/sh\n").expect("line");
        assert_eq!(
            a,
            Account { name: "calldesk".into(), uid: 998, home: "/var/lib/calldesk".into(), shell: "/bin/sh".into() }
        );
        assert!(parse_passwd_line("calldesk:x:oops:998::/h:/bin/sh").is_none());
        assert!(parse_passwd_line("short:x:1").is_none());
    }

    #[test]
    fn printed_lines_read_back() {
        for l in [Line::pass("a"), Line::fail("b", "c"), Line::skip("d")] {
            assert_eq!(parse_line(&l.to_string()), Some(l));
        }
        assert_eq!(parse_line("calldesk ssh check: account x"), None);
    }
}
