//! The team host's `.env` and `calldesk ssh check`, through the real binary with a temporary HOME:
//! the `ssh` commands read `$HOME/.env` (not `./.env`, and over the environment), and the check
//! names each problem with its fix. As root with an sshd installed, the check also reads sshd's
//! settings for the account from a config built on contrib/sshd_config.d/calldesk.conf.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHzidSxiWGlJJ+qGVYZdm/+5j1f4k8lYAyyWLiy18/U alice@laptop";
const ED25519_FP: &str = "SHA256:RfimZaPNlDvKb8kooKuiigyeaEBEoYqCeMw77bst2LA";

struct Host {
    home: tempfile::TempDir,
}

impl Host {
    /// A home holding a `.env` (mode 644 at first) that points at a SQLite file in `home/data`.
    fn new() -> Self {
        let home = tempfile::tempdir().expect("tmp");
        let h = Self { home };
        std::fs::create_dir(h.path("data")).expect("data dir");
        std::fs::set_permissions(h.path("data"), std::fs::Permissions::from_mode(0o700)).expect("chmod");
        h.write_env(&format!(
            "DATABASE_URL=sqlite://{}\nCALLDESK_LOG_DIR={}\nTELECMI_APP_ID=1111\nTELECMI_APP_SECRET=s3cr3t-never-shown\n",
            h.path("data/calldesk.db").display(),
            h.path("logs").display()
        ));
        h
    }

    fn path(&self, p: &str) -> PathBuf {
        self.home.path().join(p)
    }

    fn write_env(&self, text: &str) {
        std::fs::write(self.path(".env"), text).expect("write .env");
        self.chmod_env(0o644);
    }

    fn chmod_env(&self, mode: u32) {
        std::fs::set_permissions(self.path(".env"), std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// The binary as sshd runs it: HOME set, in `/`, with none of calldesk's settings in the
    /// environment.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_calldesk"));
        cmd.args(args).current_dir("/").env("HOME", self.home.path());
        for key in ["DATABASE_URL", "CALLDESK_LOG_DIR", "TELECMI_APP_ID", "TELECMI_APP_SECRET", "CALLDESK_USER_ID"] {
            cmd.env_remove(key);
        }
        cmd.envs(env.iter().copied()).output().expect("run calldesk")
    }

    fn check(&self, extra: &[&str]) -> (bool, String) {
        let mut args = vec!["ssh", "check"];
        args.extend(extra);
        let out = self.run(&args, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!stdout.contains("s3cr3t"), "the secret was printed:\n{stdout}");
        (out.status.success(), stdout)
    }
}

fn parts(line: &str) -> (&str, &str) {
    let mut p = line.split(' ');
    (p.next().expect("key"), p.next().expect("key"))
}

/// The line of `out` that starts with `mark` and contains `what`.
fn line<'a>(out: &'a str, mark: char, what: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(mark) && l.contains(what))
        .unwrap_or_else(|| panic!("no {mark} line with {what:?} in:\n{out}"))
}

#[test]
fn ssh_commands_read_the_home_env_and_check_says_what_to_fix() {
    let host = Host::new();
    let env_path = host.path(".env");

    // Nothing there yet: the check fails on the mode and on the missing database, with the fixes.
    let (ok, out) = host.check(&[]);
    assert!(!ok, "{out}");
    let mode = line(&out, '✗', "mode 644");
    assert!(mode.ends_with(&format!("fix: chmod 600 {}", env_path.display())), "{mode}");
    assert!(line(&out, '✗', "no database at").ends_with("calldesk migrate"), "{out}");
    line(&out, '✓', "TELECMI_APP_ID and TELECMI_APP_SECRET are set");

    // The admin's steps, as the account, in its home (these commands read ./.env).
    let admin = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_calldesk"))
            .args(args)
            .current_dir(host.home.path())
            .env("HOME", host.home.path())
            .env_remove("DATABASE_URL")
            .env_remove("CALLDESK_LOG_DIR")
            .output()
            .expect("run");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    host.chmod_env(0o600);
    admin(&["migrate"]);
    admin(&["caller", "add", "3", "Pooja"]);
    std::fs::write(host.path("alice.pub"), ED25519).expect("key file");
    let (_, out) = host.check(&[]);
    line(&out, '✓', "mode 600");
    line(&out, '✓', "opens and is migrated");
    assert!(line(&out, '✗', "no caller has an SSH key").ends_with("fix: calldesk caller key add ID FILE.pub"));
    admin(&["caller", "key", "add", "3", &host.path("alice.pub").display().to_string()]);
    let (_, out) = host.check(&[]);
    line(&out, '✓', "1 SSH key for 1 caller (0 supervisor)");
    // SQLite made the file with the umask's mode: the check says so (the README's step chmods it).
    let db = host.path("data/calldesk.db");
    assert!(line(&out, '✗', "calldesk.db is open to everyone").ends_with(&format!("fix: chmod 600 {}", db.display())));
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let (_, out) = host.check(&[]);
    line(&out, '✓', "data/calldesk.db and its directory are");
    // Whatever else this machine fails (the binary's path, sshd), the home's own lines pass.
    for l in out.lines().filter(|l| l.starts_with('✗')) {
        assert!(l.contains("AuthorizedKeysCommand") || l.contains("sshd"), "{l}\n{out}");
    }

    // sshd's AuthorizedKeysCommand: run in / with HOME only, it finds the key through $HOME/.env,
    // and a DATABASE_URL in the environment does not redirect it.
    let (t, k) = parts(ED25519);
    let out = host.run(&["ssh", "authorized-keys", t, k], &[("DATABASE_URL", "sqlite:///nonexistent/x.db")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("restrict,pty,command=\"") && said.contains(ED25519_FP), "{said}");

    // A readable .env still lets people in (a mode slip must not lock the team out) but is logged.
    host.chmod_env(0o640);
    let out = host.run(&["ssh", "authorized-keys", t, k], &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(ED25519_FP));
    let logs = std::fs::read_dir(host.path("logs")).expect("logs").flatten();
    let text: String = logs.map(|e| std::fs::read_to_string(e.path()).unwrap_or_default()).collect();
    assert!(text.contains(&format!("{} is mode 640", env_path.display())), "{text}");

    // A malformed .env: one configuration line, nothing for sshd.
    host.write_env("DATABASE_URL='unterminated\n");
    host.chmod_env(0o600);
    let out = host.run(&["ssh", "authorized-keys", t, k], &[]);
    assert!(!out.status.success() && out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("configuration error: {}:", env_path.display())) && err.lines().count() == 1,
        "{err}"
    );
    let (ok, out) = host.check(&[]);
    assert!(!ok);
    line(&out, '✗', "is malformed");
}

#[test]
fn a_relative_database_path_is_refused_by_the_check() {
    let host = Host::new();
    host.write_env("DATABASE_URL=sqlite://calldesk.db\n");
    host.chmod_env(0o600);
    let (ok, out) = host.check(&[]);
    assert!(!ok);
    let l = line(&out, '✗', "relative file (calldesk.db)");
    assert!(
        l.ends_with(&format!(
            "fix: DATABASE_URL=sqlite://{} in {}",
            host.path("calldesk.db").display(),
            host.path(".env").display()
        )),
        "{l}"
    );
    line(&out, '–', "no TeleCMI credentials");
}

/// As root with openssh-server installed: sshd's effective settings for the account, from the
/// contrib drop-in (account and binary put in) after Debian's own global lines.
#[test]
fn the_contrib_drop_in_passes_sshds_own_reading() {
    let sshd = Path::new("/usr/sbin/sshd");
    let me = rustix::process::geteuid().as_raw();
    if me != 0 || !sshd.exists() {
        eprintln!("SKIPPED: needs root and /usr/sbin/sshd (sshd -T reads the host keys)");
        return;
    }
    std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
    let host = Host::new();
    host.chmod_env(0o600);
    let user = std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "root".into());
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_calldesk")).expect("exe");
    let drop_in = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/sshd_config.d/calldesk.conf"))
        .expect("contrib drop-in")
        .replace("Match User calldesk", &format!("Match User {user}"))
        .replace("AuthorizedKeysCommandUser calldesk", &format!("AuthorizedKeysCommandUser {user}"))
        .replace("/usr/local/bin/calldesk", &exe.display().to_string());
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(host.path("hostkey"))
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    std::fs::write(host.path("calldesk.conf"), drop_in).expect("drop-in");
    let config = |global: &str| {
        let text = format!(
            "Include {}\nHostKey {}\n{global}",
            host.path("calldesk.conf").display(),
            host.path("hostkey").display()
        );
        std::fs::write(host.path("sshd_config"), text).expect("sshd_config");
        host.check(&["--account", &user, "--sshd-config", &host.path("sshd_config").display().to_string()]).1
    };
    let out = config("UsePAM yes\nX11Forwarding yes\nAcceptEnv LANG LC_*\n");
    for key in
        ["authorizedkeyscommand ", "authorizedkeysfile none", "permittty yes", "disableforwarding yes", "acceptenv"]
    {
        line(&out, '✓', key);
    }
    assert!(!out.lines().any(|l| l.starts_with("✗ sshd")), "{out}");
    // Without the drop-in: every keyword it sets is named with its line.
    std::fs::write(host.path("calldesk.conf"), "").expect("empty drop-in");
    let out = config("AcceptEnv LANG LC_*\n");
    assert!(line(&out, '✗', "authorizedkeysfile").contains("fix: AuthorizedKeysFile none"));
    assert!(line(&out, '✗', "client's LANG LC_*").contains("fix: AcceptEnv none"));
}

/// `ssh check`'s "is migrated": nothing pending once migrated, on both backends; every migration
/// pending on a database never migrated.
#[tokio::test]
async fn pending_migrations_on_both_backends() {
    common::each_backend(|db| async move {
        assert_eq!(db.store.pending_migrations().await.expect("pending"), Vec::<i64>::new());
    })
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("empty.db").display());
    let store = calldesk::store::Store::connect(&url).await.expect("connect");
    let pending = store.pending_migrations().await.expect("pending");
    let mut every: Vec<i64> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .expect("migrations")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.split('_').next()?.parse().ok())
        .collect();
    every.sort_unstable();
    assert_eq!(pending, every);
    store.close().await;
}
