//! Shared by the harness-less benches: quick mode, timing statistics, and the one-line report
//! each figure gets — a ratio against a baseline measured in the same run, checked against its
//! goal with slack (absolute times are noise on a shared machine; a regression by a wide margin
//! still fails the run).
#![allow(dead_code)]

use std::time::Duration;

/// `cargo bench -- --quick` or `CALLDESK_BENCH_QUICK=1` (CI): smaller sizes, same checks.
pub fn quick() -> bool {
    std::env::args().any(|a| a == "--quick") || std::env::var("CALLDESK_BENCH_QUICK").is_ok_and(|v| v == "1")
}

/// `n` in a full run, `quick_n` in quick mode.
pub fn size(n: usize, quick_n: usize) -> usize {
    if quick() { quick_n } else { n }
}

/// The `p`-th percentile (0–100) of `samples` (sorted here).
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[rank.min(samples.len() - 1)]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Which way a figure is good.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// At least the goal (a throughput ratio).
    Higher,
    /// At most the goal (a time, a ratio of times, a size).
    Lower,
}

/// Checks of one bench; `finish` prints them and exits non-zero when one missed its goal by more
/// than the slack (2×).
#[derive(Default)]
pub struct Report {
    failed: Vec<String>,
}

pub const SLACK: f64 = 2.0;

impl Report {
    /// Prints `name: value unit (goal …)` and records a failure when `value` misses `goal` by more
    /// than [`SLACK`].
    pub fn figure(&mut self, name: &str, value: f64, unit: &str, goal: f64, better: Better) {
        let (met, within_slack) = match better {
            Better::Higher => (value >= goal, value >= goal / SLACK),
            Better::Lower => (value <= goal, value <= goal * SLACK),
        };
        let sign = if better == Better::Higher { "≥" } else { "≤" };
        let verdict = if met {
            "met"
        } else if within_slack {
            "MISSED (within 2× slack)"
        } else {
            "FAILED"
        };
        println!("{name}: {value:.3} {unit} (goal {sign} {goal} {unit}: {verdict})");
        if !within_slack {
            self.failed.push(name.to_string());
        }
    }

    /// A figure reported without a goal (MariaDB, context).
    pub fn info(&self, name: &str, value: f64, unit: &str) {
        println!("{name}: {value:.3} {unit}");
    }

    /// Exits with [`GOAL_MISSED`] when a goal was missed by more than the slack.
    pub fn finish(self) {
        if !self.failed.is_empty() {
            eprintln!("missed by more than {SLACK}×: {}", self.failed.join(", "));
            std::process::exit(GOAL_MISSED);
        }
    }
}

/// CPU time this process has used so far (all its threads, living and ended): its CPU clock.
pub fn cpu_time() -> Option<Duration> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Some(Duration::new(u64::try_from(t.tv_sec).ok()?, u32::try_from(t.tv_nsec).ok()?))
}

/// Peak resident memory (VmHWM) of process `pid` in MiB, from /proc (Linux).
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The test MariaDB server's base URL (`CALLDESK_TEST_MYSQL_URL`), for the MariaDB figures.
pub fn mysql_base() -> Option<String> {
    std::env::var("CALLDESK_TEST_MYSQL_URL").ok().map(|u| u.trim_end_matches('/').to_string())
}

/// A bench's exit code when it ran to the end and a goal was missed by more than the slack (CI
/// tells it from a bench that broke: a panic exits 101).
pub const GOAL_MISSED: i32 = 3;
