//! Tracing to daily-rotated files in `CALLDESK_LOG_DIR`; stdout belongs to the TUI.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Log lines waiting for the writer thread. tracing-appender's default (128,000) allocates and
/// touches 4 MiB in every process up front — half of an idle console's own memory, and fifty
/// consoles share a host; at `info` a few lines a second come, which the thread writes at once.
const LINES_BUFFERED: usize = 8_192;

/// Starts file logging, filtered by `RUST_LOG` (default `info`). Keep the guard alive for the
/// life of the program: dropping it flushes and stops the writer.
pub fn init(dir: &Path) -> Result<WorkerGuard, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("configuration error: CALLDESK_LOG_DIR: cannot create {}: {e}", dir.display()))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("calldesk")
        .filename_suffix("log")
        .build(dir)
        .map_err(|e| format!("configuration error: CALLDESK_LOG_DIR: cannot write logs in {}: {e}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LINES_BUFFERED)
        .finish(appender);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(false).try_init().ok();
    Ok(guard)
}
