//! A real console under tmux against the simulator: a fresh database with Pooja and some drivers,
//! the script that starts the console, and reading the stored rows back.

use std::path::PathBuf;
use std::process::Command;

use calldesk::domain::CallLog;
use calldesk::store::{CallPage, Store};
use calldesk::telecmi::simulator::Simulator;

use super::{APP_ID, SECRET};

pub const TOKEN: &str = "e2e-webhook-token-0123456789";

pub struct Env {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub sim: Simulator,
    pub port: u16,
}

impl Env {
    /// Runs the real binary with this database; panics with its stderr when it fails.
    pub fn calldesk(&self, args: &[&str]) {
        let out = Command::new(env!("CARGO_BIN_EXE_calldesk"))
            .args(args)
            .env("DATABASE_URL", &self.url)
            .env("CALLDESK_LOG_DIR", self.dir.path().join("logs"))
            .output()
            .expect("run calldesk");
        assert!(out.status.success(), "calldesk {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// A fresh SQLite database with caller 3 (Pooja) and `drivers` (`id,name,mobile` each).
    pub async fn new(drivers: &[(&str, &str, &str)]) -> Self {
        Self::on(None, drivers).await
    }

    /// [`Env::new`] on `url` (a fresh MariaDB database) or, when `None`, a SQLite file.
    pub async fn on(url: Option<String>, drivers: &[(&str, &str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let url = url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("e2e.db").display()));
        let sim = Simulator::start(APP_ID, SECRET, std::time::Duration::from_millis(250)).await.expect("simulator");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        sim.set_webhook_url(format!("http://127.0.0.1:{port}/webhook/telecmi/{TOKEN}"));
        let env = Self { dir, url, sim, port };
        env.calldesk(&["caller", "add", "3", "Pooja"]);
        let mut csv = String::from("id,name,mobile,tmid,city,state,assigned_to\n");
        for (id, name, mobile) in drivers {
            csv.push_str(&format!("{id},{name},{mobile},TM{id},Pune,MH,3\n"));
        }
        let path = env.dir.path().join("drivers.csv");
        std::fs::write(&path, csv).expect("csv");
        env.calldesk(&["import", "drivers", path.to_str().expect("path")]);
        env
    }

    /// A script that starts the console; `after` runs once it exits (to read the terminal's state).
    pub fn console_script(&self, after: &str) -> PathBuf {
        self.console_script_with(after, "")
    }

    /// [`Self::console_script`] with more `KEY=value` settings (they override the defaults:
    /// calling hours all day, so a test passes at any hour).
    pub fn console_script_with(&self, after: &str, settings: &str) -> PathBuf {
        let path = self.dir.path().join("console.sh");
        let script = format!(
            "export DATABASE_URL='{}' CALLDESK_USER_ID=3 TELECMI_APP_ID={APP_ID} TELECMI_APP_SECRET={SECRET} \
             TELECMI_BASE_URL='{}' TELECMI_AGENTS=3:5003 WEBHOOK_ADDR=127.0.0.1:{} WEBHOOK_TOKEN={TOKEN} \
             CALLDESK_LOG_DIR='{}' CALLDESK_DATA_DIR='{}' CALLING_HOURS=00:00-24:00 {settings}\n{} console\n{after}\n",
            self.url,
            self.sim.base_url(),
            self.port,
            self.dir.path().join("logs").display(),
            self.data_dir().display(),
            env!("CARGO_BIN_EXE_calldesk"),
        );
        std::fs::write(&path, script).expect("script");
        path
    }

    /// The console's `CALLDESK_DATA_DIR` (its local draft file).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.url).await.expect("store")
    }

    /// The newest call, as stored.
    pub async fn last_call(&self) -> CallLog {
        let calls = self
            .store()
            .await
            .list_calls(&Default::default(), CallPage { before_id: None, offset: None, limit: 1 })
            .await
            .expect("calls");
        calls.into_iter().next().expect("a call")
    }
}
