//! JSON logs through `tracing`. Fields are chosen at each call site; no
//! request header, body, cookie, password, token or hash is ever logged.

use tracing_subscriber::EnvFilter;

/// Installs the global JSON subscriber on stdout. Call once, from `main`.
pub fn init(filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("invalid log filter {filter:?}: {e}"))?;
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .flatten_event(true)
        .try_init()
        .map_err(|e| anyhow::anyhow!("logging already initialised: {e}"))
}
