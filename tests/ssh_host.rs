//! The team host for real: an OpenSSH server on a high port whose `AuthorizedKeysCommand` is
//! `calldesk ssh authorized-keys %t %k` (behind a root-owned wrapper, as sshd demands), and real
//! `ssh -tt` clients in tmux. The agent's key opens that agent's console whatever the session's
//! CALLDESK_USER_ID says, the supervisor's key opens the board, a stranger's key is refused,
//! `ssh host CMD` runs nothing, a killed client keeps the draft and the next login reopens it, and
//! a second login takes over the first.
//!
//! Needs root (sshd authenticates users) and openssh-server: in CI both are there (`.ci/run`);
//! elsewhere the test says loudly that it skipped.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use calldesk::store::Store;
use common::fixtures;
use common::tmux::{self, Session};

const SSHD: &str = "/usr/sbin/sshd";
const DRIVERS: &str = "id,name,mobile,tmid,city,state,assigned_to\nD1,Ramesh Gupta,919876543211,TM1,Pune,MH,3\n\
                       D2,Suresh Yadav,919876543212,TM2,Pune,MH,3\n";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether sshd can run here: root and openssh-server. In CI their absence is a failure.
fn available() -> bool {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let sshd = Path::new(SSHD).exists() && Path::new("/usr/bin/ssh-keygen").exists();
    if root && sshd {
        return tmux::available();
    }
    let why = if root { "openssh-server is not installed" } else { "it needs root (sshd authenticates users)" };
    assert!(!in_ci(), "CI is set but the sshd test cannot run: {why}; .ci/run must provide it");
    eprintln!("\n*** SKIPPED the real-sshd team host test: {why} ***");
    false
}

fn calldesk(url: &str, logs: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_calldesk"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("CALLDESK_LOG_DIR", logs)
        .env_remove("CALLDESK_USER_ID")
        .output()
        .expect("run calldesk");
    assert!(out.status.success(), "calldesk {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn keygen(path: &Path) {
    let _ = std::fs::remove_file(path);
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen");
    assert!(ok.success());
}

/// An sshd on a free loopback port, with its wrapper under a root-owned directory; all removed on drop.
struct Host {
    dir: tempfile::TempDir,
    url: String,
    port: u16,
    sshd: Child,
    wrapper_dir: PathBuf,
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
        let _ = std::fs::remove_dir_all(&self.wrapper_dir);
    }
}

impl Host {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let url = format!("sqlite://{}", d.join("team.db").display());
        let logs = d.join("logs");
        calldesk(&url, &logs, &["migrate"]);
        calldesk(&url, &logs, &["caller", "add", "3", "Pooja", "--role", "agent"]);
        calldesk(&url, &logs, &["caller", "add", "9", "Meera", "--role", "supervisor"]);
        std::fs::write(d.join("drivers.csv"), DRIVERS).expect("csv");
        calldesk(&url, &logs, &["import", "drivers", d.join("drivers.csv").to_str().expect("utf-8")]);
        for (who, id) in [("agent", "3"), ("supervisor", "9")] {
            keygen(&d.join(who));
            calldesk(&url, &logs, &["caller", "key", "add", id, d.join(format!("{who}.pub")).to_str().expect("utf-8")]);
        }
        keygen(&d.join("stranger"));
        keygen(&d.join("host_key"));

        // sshd runs the AuthorizedKeysCommand only from a root-owned path nobody else can write.
        let wrapper_dir = PathBuf::from(format!(
            "/usr/local/libexec/calldesk-test-{}",
            &calldesk::commands::tokens::generate()[3..13]
        ));
        std::fs::create_dir_all(&wrapper_dir).expect("wrapper dir");
        let wrapper = wrapper_dir.join("authorized-keys");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexport DATABASE_URL='{url}' CALLDESK_LOG_DIR='{}'\nexec '{}' ssh authorized-keys \"$@\"\n",
                logs.display(),
                env!("CARGO_BIN_EXE_calldesk")
            ),
        )
        .expect("wrapper");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper_dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");

        let port = TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        // The session's environment says caller 9: the key must win. The settings come from
        // sshd (SetEnv), as a service account's `.env` would give them.
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\nUsePAM no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
             AuthorizedKeysFile none\nAuthorizedKeysCommand {wrapper} %t %k\nAuthorizedKeysCommandUser root\n\
             PermitRootLogin prohibit-password\nPermitTTY yes\nDisableForwarding yes\nPermitUserRC no\n\
             LogLevel VERBOSE\nSetEnv DATABASE_URL={url} CALLDESK_LOG_DIR={logs} CALLDESK_USER_ID=9\n",
            d = d.display(),
            wrapper = wrapper.display(),
            logs = logs.display(),
        );
        std::fs::write(d.join("sshd_config"), config).expect("config");
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let check = Command::new(SSHD).arg("-t").arg("-f").arg(d.join("sshd_config")).output().expect("sshd -t");
        assert!(check.status.success(), "sshd -t: {}", String::from_utf8_lossy(&check.stderr));
        let sshd = Command::new(SSHD)
            .arg("-D")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .arg("-E")
            .arg(d.join("sshd.log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("sshd");
        let host = Self { dir, url, port, sshd, wrapper_dir };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return host;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("sshd did not listen; its log:\n{}", host.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// The ssh client's arguments for `key`.
    fn ssh_args(&self, key: &str) -> Vec<String> {
        let key = self.dir.path().join(key);
        [
            "-p",
            &self.port.to_string(),
            "-i",
            key.to_str().expect("utf-8"),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "root@127.0.0.1",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect()
    }

    /// A person logging in with `key` in a terminal; the pane says how ssh exited and stays.
    fn login(&self, key: &str) -> Session {
        let script = self.dir.path().join(format!("login-{key}-{}.sh", rand_suffix()));
        let args = self.ssh_args(key).join(" ");
        std::fs::write(&script, format!("ssh -tt {args}\necho \"EXIT=$?\"\nsleep 120\n")).expect("script");
        Session::start(&script, 120, 36)
    }

    /// `ssh host CMD` without a terminal: (exit code, stdout, stderr).
    fn run(&self, key: &str, cmd: &[&str]) -> (i32, String, String) {
        let out = Command::new("ssh").args(self.ssh_args(key)).args(cmd).stdin(Stdio::null()).output().expect("ssh");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn store(&self) -> Store {
        Store::open(&self.url).await.expect("open")
    }
}

fn rand_suffix() -> String {
    calldesk::commands::tokens::generate()[3..9].to_string()
}

/// The ssh client under the pane's shell.
fn client_pid(tm: &Session) -> String {
    let out = Command::new("tmux").args(["display", "-p", "-t", &tm.name, "#{pane_pid}"]).output().expect("tmux");
    let pane = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = Command::new("pgrep").args(["-P", &pane, "-x", "ssh"]).output().expect("pgrep");
    String::from_utf8_lossy(&out.stdout).lines().next().expect("ssh runs").trim().to_string()
}

/// Polls `probe` until it gives `Some`, for at most `secs`.
async fn eventually<T, F, Fut>(what: &str, secs: u64, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test]
async fn agents_and_supervisors_log_in_over_real_sshd() {
    if !available() {
        return;
    }
    let host = Host::start().await;
    let store = host.store().await;
    // A call of Pooja's ended without an outcome: her console opens its wrap-up at login.
    let d1 = store.driver("D1").await.expect("read").expect("D1");
    let call =
        store.start_call(&fixtures::telecmi_call(&d1, 3, "5003_33336628"), chrono::Utc::now()).await.expect("call");
    let pool = sqlx::SqlitePool::connect(&host.url).await.expect("sqlite");
    sqlx::query("UPDATE call_logs SET status = 'completed', call_duration = 40 WHERE id = ?")
        .bind(call.id)
        .execute(&pool)
        .await
        .expect("complete");
    pool.close().await;

    // Nothing for a stranger's key: sshd refuses it.
    let (code, out, err) = host.run("stranger", &[]);
    assert_eq!(code, 255, "stdout {out} stderr {err}");
    assert!(err.contains("Permission denied"), "{err}");
    // A known key asking for a command runs nothing, says so in one line, exits non-zero.
    let (code, out, err) = host.run("agent", &["cat", "/etc/hostname"]);
    assert_eq!(code, 1, "stdout {out} stderr {err}\nsshd: {}", host.log());
    assert!(out.is_empty(), "nothing ran: {out}");
    assert!(err.contains("runs no command"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    // Without a terminal the console says how to connect.
    let (code, _, err) = host.run("agent", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("ssh -t"), "{err}");

    // The agent's key opens Pooja's console (the session's CALLDESK_USER_ID=9 changes nothing),
    // with her unfinished wrap-up.
    let first = host.login("agent");
    let screen = first.wait_form("Ramesh Gupta", 30).await;
    assert!(screen.contains("Pooja"), "{screen}");
    first.keys(&["o", "Tab"]);
    first.type_text("wants a night route");
    first.wait_text("wants a night route", 5).await;

    // The line drops (the client killed): the draft is kept and the session ends as a hangup.
    Command::new("kill").args(["-KILL", &client_pid(&first)]).status().expect("kill");
    eventually("the dropped session to end", 15, || async {
        let s = host.store().await;
        let open = s.open_sessions(3).await.expect("sessions");
        open.is_empty().then_some(())
    })
    .await;
    let w = store.unfinished_wrapups(3, chrono::Utc::now() - chrono::Duration::days(1)).await.expect("wrapups");
    let draft = w.first().and_then(|(_, d)| d.clone()).expect("draft kept");
    assert_eq!(draft.remarks.as_deref(), Some("wants a night route"));

    // The next login reopens the wrap-up with what was typed.
    let second = host.login("agent");
    second.wait_form("Ramesh Gupta", 30).await;
    second.wait_text("wants a night route", 5).await;
    second.keys(&["End"]);
    second.type_text(", Pune");
    second.wait_text("wants a night route, Pune", 5).await;

    // A third login takes over: the second saves, says so, and exits; the third shows the draft.
    let third = host.login("agent");
    let gone = second.wait_text("EXIT=", 30).await;
    assert!(gone.contains("Signed in elsewhere"), "{gone}");
    assert!(gone.contains("EXIT=0"), "{gone}");
    third.wait_form("Ramesh Gupta", 30).await;
    third.wait_text("wants a night route, Pune", 5).await;

    // The supervisor's key opens the board, where Pooja is online (not offline).
    let board = host.login("supervisor");
    board.wait_text("SUPERVISOR", 30).await;
    let screen = board
        .wait_for("Pooja on the board", 10, |s| s.lines().any(|l| l.contains("Pooja (3)") && l.contains("wrap-up")))
        .await;
    assert!(screen.contains("Meera"), "{screen}");
    board.keys(&["q"]);
    third.keys(&["Escape"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    third.keys(&["q"]);
    let log = host.log();
    assert!(!log.contains("bad ownership"), "sshd refused the command's path:\n{log}");
}
