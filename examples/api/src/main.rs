//! `example-api`: the example resource server as a process.
//!
//! ```text
//! example-api [--listen 127.0.0.1:9000] [--latchkey http://127.0.0.1:8080]
//!             [--audience latchkey] [--refetch-min-interval-secs 30]
//!             [--introspection-client-id ID]   (secret in EXAMPLE_API_INTROSPECTION_SECRET)
//!             [--revocation-feed-client-id ID] (secret in EXAMPLE_API_FEED_SECRET)
//!             [--revocation-feed-max-silence-secs 20]
//! ```
//!
//! Prints `example-api listening on ADDR` once it accepts connections
//! (the real port when `--listen` names port 0).

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use latchkey_verify::{Introspection, LatchkeyVerifier, RevocationFeed, VerifierConfig};
use tokio::net::TcpListener;

#[derive(Parser, Debug)]
#[command(
    name = "example-api",
    about = "An example API protected by latchkey access tokens"
)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// latchkey's base URL, equal to its `issuer`; the JWKS is read from
    /// `{latchkey}/.well-known/jwks.json`.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    latchkey: String,
    /// The audience tokens must carry (latchkey's `tokens.audience`).
    #[arg(long, default_value = "latchkey")]
    audience: String,
    /// Fetch the JWKS again for an unknown `kid` at most this often.
    #[arg(long, default_value_t = 30)]
    refetch_min_interval_secs: u64,
    /// Also ask latchkey's introspection about every token, as this client
    /// (its secret in `EXAMPLE_API_INTROSPECTION_SECRET`).
    #[arg(long)]
    introspection_client_id: Option<String>,
    #[arg(
        long,
        env = "EXAMPLE_API_INTROSPECTION_SECRET",
        hide_env_values = true,
        hide = true
    )]
    introspection_secret: Option<String>,
    /// Follow latchkey's revocation feed as this client (its secret in
    /// `EXAMPLE_API_FEED_SECRET`): revoked tokens are refused within
    /// milliseconds while verification stays local.
    #[arg(long)]
    revocation_feed_client_id: Option<String>,
    #[arg(
        long,
        env = "EXAMPLE_API_FEED_SECRET",
        hide_env_values = true,
        hide = true
    )]
    revocation_feed_secret: Option<String>,
    /// Refuse every token once the feed has been silent this long.
    #[arg(long, default_value_t = 20)]
    revocation_feed_max_silence_secs: u64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("example-api: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("example-api: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let verifier = LatchkeyVerifier::new(config(&args)?)?;
    let _feed = verifier.spawn_revocation_feed();
    if let Err(error) = verifier.refresh().await {
        // Not fatal: latchkey may start after us; keys load on first use.
        tracing::warn!(%error, "could not load latchkey's keys yet");
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("example-api listening on {addr}");
    std::io::stdout().flush()?;
    axum::serve(listener, latchkey_example_api::app(verifier))
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

fn config(args: &Args) -> anyhow::Result<VerifierConfig> {
    let mut config = VerifierConfig::for_latchkey(&args.latchkey, args.audience.clone());
    config.refetch_min_interval = Duration::from_secs(args.refetch_min_interval_secs);
    if let Some(id) = &args.introspection_client_id {
        let secret = args
            .introspection_secret
            .clone()
            .context("--introspection-client-id needs EXAMPLE_API_INTROSPECTION_SECRET")?;
        config = config.with_introspection(Introspection::for_latchkey(&args.latchkey, id, secret));
    }
    if let Some(id) = &args.revocation_feed_client_id {
        let secret = args
            .revocation_feed_secret
            .clone()
            .context("--revocation-feed-client-id needs EXAMPLE_API_FEED_SECRET")?;
        let max_silence = Duration::from_secs(args.revocation_feed_max_silence_secs.max(2));
        let wait = (max_silence / 2).min(Duration::from_secs(25));
        let feed =
            RevocationFeed::for_latchkey(&args.latchkey, id, secret).with_timing(wait, max_silence);
        config = config.with_revocation_feed(feed);
    }
    Ok(config)
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
