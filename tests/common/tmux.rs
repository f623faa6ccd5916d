//! Driving the real binary in tmux: start a session, press keys, read the screen.

use std::process::Command;
use std::time::{Duration, Instant};

/// Whether tmux is here; in CI its absence is a failure, elsewhere a loud skip.
pub fn available() -> bool {
    let ok = Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("CI is set but tmux is missing: .ci/run must install it");
        }
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "\n*** SKIPPED a tmux end-to-end test: tmux is not installed ***");
    }
    ok
}

/// A detached tmux session running one command; killed on drop.
pub struct Session {
    pub name: String,
}

impl Session {
    /// Runs `script` (a shell script path) in a `w`×`h` session.
    pub fn start(script: &std::path::Path, w: u16, h: u16) -> Self {
        let name = format!("cd-test-{}", &calldesk::commands::tokens::generate()[3..15]);
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", &w.to_string(), "-y", &h.to_string()])
            .arg(format!("sh {}", script.display()))
            .status()
            .expect("tmux new-session");
        assert!(status.success(), "tmux new-session failed");
        Self { name }
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-t", &self.name]).output().expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Presses tmux key names (`Enter`, `Escape`, `C-n`, `t`), one at a time.
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let ok = Command::new("tmux").args(["send-keys", "-t", &self.name, k]).status().expect("send-keys");
            assert!(ok.success());
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    /// Types literal text.
    pub fn type_text(&self, text: &str) {
        let ok = Command::new("tmux").args(["send-keys", "-t", &self.name, "-l", text]).status().expect("send-keys");
        assert!(ok.success());
    }

    /// Waits until the screen satisfies `pred`; fails with the last screen after `secs`.
    pub async fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{s}");
            tokio::time::sleep(Duration::from_millis(80)).await;
        }
    }

    pub async fn wait_text(&self, text: &str, secs: u64) -> String {
        self.wait_for(text, secs, |s| s.contains(text)).await
    }

    /// Waits for the wrap-up of `name` to open, then looks at it as a person does before typing:
    /// keys in the first moment of a form that opened by itself are ignored by design.
    pub async fn wait_form(&self, name: &str, secs: u64) -> String {
        let screen = self.wait_text(&format!("Wrap-up: {name}"), secs).await;
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        screen
    }

    /// Resizes the window, as a person dragging the terminal's edge.
    pub fn resize(&self, w: u16, h: u16) {
        let ok = Command::new("tmux")
            .args(["resize-window", "-t", &self.name, "-x", &w.to_string(), "-y", &h.to_string()])
            .status()
            .expect("resize-window");
        assert!(ok.success());
    }

    pub fn kill(&self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.name]).status();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.kill();
    }
}
