//! `--help` of each command lists only the options that apply to it (issue 22), and every flag
//! keeps working where it applies; the environment and `.env` work for every command.

use std::path::Path;
use std::process::{Command, Output};

fn calldesk(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_calldesk"));
    cmd.args(args).current_dir(dir).env("CALLDESK_LOG_DIR", dir.join("logs"));
    for key in ["DATABASE_URL", "CALLDESK_USER_ID", "TELECMI_APP_ID", "TELECMI_APP_SECRET", "TELECMI_AGENTS"] {
        cmd.env_remove(key);
    }
    cmd.envs(envs.iter().copied()).output().expect("run calldesk")
}

fn help(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tmp");
    let mut args = args.to_vec();
    args.push("--help");
    let out = calldesk(dir.path(), &args, &[]);
    assert!(out.status.success(), "{args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const TELECMI: &[&str] = &["--telecmi-app-id", "--telecmi-base-url", "--telecmi-agents"];
const CALLING: &[&str] = &[
    "--calling-hours",
    "--retry-after-minutes",
    "--max-attempts",
    "--reconcile-after-minutes",
    "--call-ceiling-hours",
];

fn has(text: &str, flags: &[&str], cmd: &[&str]) {
    for f in flags {
        assert!(text.contains(&format!("{f} <")), "`calldesk {}` --help lacks {f}:\n{text}", cmd.join(" "));
    }
}

fn lacks(text: &str, flags: &[&str], cmd: &[&str]) {
    for f in flags {
        assert!(
            !text.contains(&format!("{f} <")),
            "`calldesk {}` --help lists {f}, which does not apply:\n{text}",
            cmd.join(" ")
        );
    }
}

#[test]
fn each_commands_help_lists_its_own_options() {
    let cmd = &["dnc", "list"];
    let text = help(cmd);
    has(&text, &["--database-url", "--log-dir", "--timezone"], cmd);
    lacks(&text, TELECMI, cmd);
    lacks(&text, CALLING, cmd);
    lacks(&text, &["--webhook-addr", "--user-id", "--country-code"], cmd);

    for cmd in [&["console"][..], &[]] {
        let text = help(cmd);
        has(&text, TELECMI, cmd);
        has(&text, CALLING, cmd);
        has(
            &text,
            &["--database-url", "--user-id", "--webhook-addr", "--log-dir", "--timezone", "--country-code"],
            cmd,
        );
        lacks(&text, &["--idle-alert-minutes", "--break-alert-minutes"], cmd);
    }

    let cmd = &["serve"];
    let text = help(cmd);
    has(&text, TELECMI, cmd);
    has(&text, CALLING, cmd);
    has(&text, &["--database-url", "--webhook-addr"], cmd);
    lacks(&text, &["--user-id"], cmd);

    let cmd = &["supervise"];
    let text = help(cmd);
    has(&text, &["--database-url", "--user-id", "--timezone", "--idle-alert-minutes", "--break-alert-minutes"], cmd);
    lacks(&text, TELECMI, cmd);
    lacks(&text, CALLING, cmd);
    lacks(&text, &["--webhook-addr"], cmd);

    let cmd = &["demo"];
    let text = help(cmd);
    has(&text, &["--calling-hours", "--timezone"], cmd);
    lacks(&text, TELECMI, cmd);
    lacks(&text, &["--database-url", "--user-id", "--webhook-addr"], cmd);

    for cmd in [&["migrate"][..], &["token", "issue"], &["caller", "add"]] {
        let text = help(cmd);
        has(&text, &["--database-url", "--log-dir"], cmd);
        lacks(&text, TELECMI, cmd);
        lacks(&text, CALLING, cmd);
        lacks(&text, &["--webhook-addr", "--user-id", "--timezone", "--country-code"], cmd);
    }

    let cmd = &["recording"];
    let text = help(cmd);
    has(&text, &["--telecmi-app-id", "--telecmi-base-url", "--output"], cmd);
    lacks(&text, CALLING, cmd);
    lacks(&text, &["--webhook-addr", "--telecmi-agents", "--user-id"], cmd);

    let cmd = &["export", "logs"];
    let text = help(cmd);
    has(&text, &["--format", "--timezone", "--database-url"], cmd);
    lacks(&text, TELECMI, cmd);
    lacks(&text, &["--webhook-addr", "--calling-hours"], cmd);

    let cmd = &["dnc", "add"];
    let text = help(cmd);
    has(&text, &["--reason", "--user-id", "--country-code"], cmd);
    lacks(&text, TELECMI, cmd);
}

#[test]
fn flags_work_where_they_apply_and_the_environment_everywhere() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let url = |name: &str| format!("sqlite://{}", d.join(name).display());
    let ok = |args: &[&str], envs: &[(&str, &str)]| {
        let out = calldesk(d, args, envs);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // A flag after the command, or before it (as the global flags were given), wins over the
    // environment.
    ok(&["migrate", "--database-url", &url("a.db")], &[("DATABASE_URL", &url("env.db"))]);
    ok(&["--database-url", &url("b.db"), "caller", "add", "3", "Pooja"], &[("DATABASE_URL", &url("env.db"))]);
    assert!(d.join("a.db").exists() && d.join("b.db").exists());
    assert!(!d.join("env.db").exists(), "the flag won");
    let list = ok(&["caller", "list", "--telecmi-agents", "3:5003"], &[("DATABASE_URL", &url("b.db"))]);
    assert!(list.contains("5003"), "{list}");
    let added = ok(&["dnc", "add", "9000000012", "--user-id", "3", "--database-url", &url("b.db")], &[]);
    assert!(added.contains("by Pooja"), "{added}");

    // A flag given before a command that does not take it is refused, naming both.
    let out = calldesk(d, &["--telecmi-app-id", "1", "dnc", "list"], &[("DATABASE_URL", &url("b.db"))]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--telecmi-app-id does not apply to `calldesk dnc list`"), "{err}");
    // After the command, clap refuses it as for any unknown flag.
    let out = calldesk(d, &["dnc", "list", "--webhook-addr", "127.0.0.1:1"], &[("DATABASE_URL", &url("b.db"))]);
    assert_eq!(out.status.code(), Some(2));

    // The environment (here a .env) reaches every command: TELECMI_AGENTS names the extension
    // in `caller list`; a bad value stops any command, whether it takes that flag or not.
    std::fs::write(d.join(".env"), format!("DATABASE_URL={}\nTELECMI_AGENTS=3:5007\n", url("b.db"))).expect(".env");
    let list = ok(&["caller", "list"], &[]);
    assert!(list.contains("Pooja") && list.contains("5007"), "{list}");
    std::fs::write(d.join(".env"), format!("DATABASE_URL={}\nCALLING_HOURS=9am-9pm\n", url("b.db"))).expect(".env");
    let out = calldesk(d, &["dnc", "list"], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("configuration error: CALLING_HOURS"));
}
