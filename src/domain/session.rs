//! Sessions: who has a console (or the supervisor view) open, and the rules that make one agent
//! one console. No I/O here; the rows live in `console_sessions` (store/sessions.rs).

use chrono::{DateTime, Duration, Utc};

/// How often an open session says it is still there (and learns whether it was taken over).
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

/// A session silent this long is gone (killed, its host cut off): its agent shows offline, and a
/// new login does not wait for it. Six heartbeats: a database that paused for half a minute
/// does not turn the whole team offline.
pub const STALE_AFTER: Duration = Duration::seconds(30);

/// How long a new login waits for the session it takes over to save its draft and end: a
/// heartbeat to notice, and time to write.
pub const TAKEOVER_WAIT: std::time::Duration = std::time::Duration::from_secs(12);

/// What a session shows: the agent console or the supervisor view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Console,
    Supervise,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Supervise => "supervise",
        }
    }

    /// One agent, one console: a new console takes over the caller's open one. A supervisor may
    /// watch the board from several terminals; nothing there dials.
    pub fn takes_over(self) -> bool {
        self == Self::Console
    }
}

/// Why a session ended (`console_sessions.end_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The agent quit.
    Quit,
    /// The line dropped (SIGHUP: an SSH connection gone, a terminal closed).
    Hangup,
    /// Stopped by SIGTERM or SIGINT.
    Stopped,
    /// A newer login of the same caller took over.
    TakenOver,
    /// Silent past [`STALE_AFTER`] when a newer login came: killed or cut off.
    Lost,
    /// The console stopped on an error.
    Failed,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::Hangup => "hangup",
            Self::Stopped => "stopped",
            Self::TakenOver => "taken_over",
            Self::Lost => "lost",
            Self::Failed => "failed",
        }
    }

    /// The reason for the signal that ended a screen.
    pub fn of_signal(name: &str) -> Self {
        if name == "SIGHUP" { Self::Hangup } else { Self::Stopped }
    }
}

/// A caller's attendance as the sessions tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attendance {
    /// A console (or board) is open and was heard from within [`STALE_AFTER`]; since when.
    Online { since: DateTime<Utc> },
    /// No open session; since the last one ended or fell silent (`None`: never opened one).
    Offline { since: Option<DateTime<Utc>> },
}

impl Attendance {
    pub fn is_online(self) -> bool {
        matches!(self, Self::Online { .. })
    }
}

/// Whether a session last heard from at `last_seen` counts as open at `now`.
pub fn is_fresh(last_seen: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - last_seen < STALE_AFTER
}

/// Where a login came from, from sshd's `SSH_CONNECTION` ("client_ip client_port server_ip
/// server_port"): `ssh from 10.0.0.5`; without it, `local`.
pub fn origin(ssh_connection: Option<&str>) -> String {
    match ssh_connection.and_then(|s| s.split_whitespace().next()) {
        Some(ip) if ip.parse::<std::net::IpAddr>().is_ok() => format!("ssh from {ip}"),
        _ => "local".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_reads_sshd_connection() {
        assert_eq!(origin(Some("10.0.0.5 51234 10.0.0.1 22")), "ssh from 10.0.0.5");
        assert_eq!(origin(Some("::1 51234 ::1 22")), "ssh from ::1");
        assert_eq!(origin(Some("\x1b[2J 1 2 3")), "local");
        assert_eq!(origin(None), "local");
    }

    #[test]
    fn freshness() {
        let now = Utc::now();
        assert!(is_fresh(now - Duration::seconds(29), now));
        assert!(!is_fresh(now - Duration::seconds(30), now));
    }
}
