//! JSON logs through `tracing`, one object per line (`log_line`). Fields are chosen at each call site; no
//! request header, body, cookie, password, token or hash is ever logged.
//!
//! Lines are formatted on the thread that logs them and written by
//! `tracing-appender`'s worker thread: a request never waits on a write
//! to stdout (a pipe to a collector that stalls, a slow terminal). The
//! worker writes through a buffer and flushes whenever it has caught up,
//! so a burst of lines costs one write, and a quiet server's lines appear
//! at once. At most [`QUEUED_LINES`] wait; past that, lines are dropped
//! and counted rather than blocking requests, and [`Logging::report_dropped`]
//! says how many were lost.

use std::io::BufWriter;
use std::os::fd::AsFd as _;
use std::time::Duration;

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::log_line::{JsonFields, JsonLine};

/// Lines that may wait for the writer before new ones are dropped.
pub const QUEUED_LINES: usize = 8192;

/// Keeps the log writer running; dropping it writes what is queued.
pub struct Logging {
    _guard: WorkerGuard,
    dropped: ErrorCounter,
}

/// Installs the global JSON subscriber on stdout. Call once, from `main`,
/// and keep what it returns until the process ends.
pub fn init(filter: &str) -> anyhow::Result<Logging> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("invalid log filter {filter:?}: {e}"))?;
    // stdout's own handle flushes at every newline; a file on the same
    // descriptor lets the worker write a batch at once.
    let stdout = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| anyhow::anyhow!("cannot log to stdout: {e}"))?;
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(QUEUED_LINES)
        .lossy(true)
        .thread_name("latchkey-log")
        .finish(BufWriter::new(std::fs::File::from(stdout)));
    let dropped = writer.error_counter();
    tracing_subscriber::fmt()
        .fmt_fields(JsonFields)
        .event_format(JsonLine)
        .with_writer(writer)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| anyhow::anyhow!("logging already initialised: {e}"))?;
    Ok(Logging {
        _guard: guard,
        dropped,
    })
}

impl Logging {
    /// Every `every`, logs how many lines were dropped since the last
    /// report, if any were, until the runtime stops.
    pub fn report_dropped(&self, every: Duration) {
        let dropped = self.dropped.clone();
        tokio::spawn(async move {
            let mut reported = 0;
            loop {
                tokio::time::sleep(every).await;
                let total = dropped.dropped_lines();
                if total > reported {
                    tracing::warn!(
                        dropped = total - reported,
                        "log lines dropped: the log writer could not keep up"
                    );
                    reported = total;
                }
            }
        });
    }
}
