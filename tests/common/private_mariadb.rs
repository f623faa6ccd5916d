//! A MariaDB server of a test's own, for tests that stop, pause and restart the database (an
//! outage must not touch the shared server the other tests use). Its own data folder and port;
//! killed when dropped.
//!
//! Needs `mariadbd` and `mariadb-install-db` (installed by `.ci/run`) and root (mariadbd runs as
//! `--user=root`). Outside CI, without them, [`PrivateMariaDb::start`] says loudly that it
//! skipped and returns `None`; in CI it panics instead.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PrivateMariaDb {
    dir: tempfile::TempDir,
    port: u16,
    extra: Vec<String>,
    child: Option<Child>,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn skip(why: &str) -> Option<PrivateMariaDb> {
    if in_ci() {
        panic!("CI is set but a private MariaDB server cannot be started: {why}");
    }
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED this outage test: {why} ***");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().expect("addr").port()
}

impl PrivateMariaDb {
    /// Installs a data folder and starts a server on a free port, with `extra` server options
    /// (e.g. `--auto-increment-increment=3`). Creates the user `calldesk` and database `calldesk`.
    pub fn start(extra: &[&str]) -> Option<Self> {
        if !have("mariadbd") || !have("mariadb-install-db") {
            return skip("mariadbd is not installed (`source .ci/mariadb.sh` installs it)");
        }
        // mariadbd refuses `--user=root` from anyone but root.
        let uid = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        if uid.as_deref().ok() != Some("0") {
            return skip("not root (mariadbd runs here as --user=root)");
        }
        let dir = tempfile::Builder::new().prefix("calldesk-outage-db").tempdir().expect("tempdir");
        // Its own tmpdir: two bootstraps at once in the shared /tmp clash over temporary tables
        // ("Unknown table 'mysql.tmp_user_sys'").
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("tmpdir");
        let out = Command::new("mariadb-install-db")
            .arg("--user=root")
            .arg(format!("--datadir={}", dir.path().join("data").display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .output()
            .expect("run mariadb-install-db");
        assert!(out.status.success(), "mariadb-install-db failed: {}", String::from_utf8_lossy(&out.stderr));
        let mut db =
            Self { dir, port: free_port(), extra: extra.iter().map(|s| (*s).to_string()).collect(), child: None };
        db.launch();
        db.admin_sql(
            "CREATE DATABASE calldesk CHARACTER SET utf8mb4;
             CREATE USER 'calldesk'@'127.0.0.1' IDENTIFIED BY 'outage-test';
             GRANT ALL PRIVILEGES ON *.* TO 'calldesk'@'127.0.0.1';
             FLUSH PRIVILEGES;",
        );
        Some(db)
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("mysqld.sock")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log (for a failing test's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// `mysql://calldesk:…@127.0.0.1:PORT/calldesk`.
    pub fn url(&self) -> String {
        format!("mysql://calldesk:outage-test@127.0.0.1:{}/calldesk", self.port)
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("server log");
        let child = Command::new("mariadbd")
            .arg("--user=root")
            .arg(format!("--datadir={}", self.dir.path().join("data").display()))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("--pid-file={}", self.dir.path().join("mysqld.pid").display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--tmpdir={}", self.dir.path().join("tmp").display()))
            .args(["--bind-address=127.0.0.1", "--max-connections=300", "--skip-name-resolve"])
            .args(["--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M"])
            .args(&self.extra)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start mariadbd");
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(60));
    }

    fn wait_ready(&mut self, within: Duration) {
        let until = Instant::now() + within;
        loop {
            let ok = Command::new("mariadb-admin")
                .arg(format!("--socket={}", self.socket().display()))
                .args(["-uroot", "ping"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("mariadbd exited ({status}) while starting:\n{}", self.log());
            }
            assert!(Instant::now() < until, "mariadbd did not answer within {within:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs SQL as root over the socket.
    pub fn admin_sql(&self, sql: &str) -> String {
        let out = Command::new("mariadb")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-uroot", "-N", "-B", "-e", sql])
            .output()
            .expect("run mariadb");
        assert!(out.status.success(), "SQL failed: {sql}\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.child.as_ref().expect("server running").id()).expect("pid")
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([&format!("-{sig}"), &self.pid().to_string()]).status();
        assert!(ok.is_ok_and(|s| s.success()), "kill -{sig} mariadbd");
    }

    /// SIGSTOP: the server holds its connections open and answers nothing (a hung host, a
    /// network that drops packets).
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// SIGCONT after [`PrivateMariaDb::pause`].
    pub fn resume(&self) {
        self.signal("CONT");
    }

    /// A clean shutdown (SIGTERM), waited for: connections are closed, new ones refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let until = Instant::now() + Duration::from_secs(60);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > until {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Kill -9: the server dies mid-write (InnoDB recovers on the next start).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same folder and port.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop() or kill() first");
        self.launch();
    }

    /// Whether the server process is running (not whether it answers).
    pub fn running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL ends a stopped process too; the CONT is for good measure.
            let _ = Command::new("kill").args(["-CONT", &child.id().to_string()]).status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
