//! `latchkey`: thin entry point. Parses arguments, loads configuration,
//! and hands over to the library. Exit codes: 0 success, 1 failure at run
//! time, 2 bad arguments or configuration.

use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;
use latchkey::cli::{self, Cli, Command, KeysCommand, SessionsCommand, UserCommand};
use latchkey::{Application, Overrides, config};

/// jemalloc gives freed memory back: argon2id takes a 19 MiB block per
/// hash, and glibc's allocator kept such blocks in each thread's arena, so
/// RSS grew to hundreds of MiB after a few hundred logins and stayed there.
/// jemalloc serves blocks that large from a dedicated arena that returns
/// them to the system at once (mimalloc, also measured, kept ~60 MiB more;
/// docs/BENCHMARKS.md has the figures).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let overrides = Overrides {
        listen: match &cli.command {
            Command::Serve { listen } => listen.clone(),
            _ => None,
        },
        database_url: cli.database.clone(),
    };
    let env = std::env::vars().collect();
    let config = match config::load(cli.config.as_deref(), env, &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprint!("latchkey: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Serve { .. } = cli.command {
        purge_in_background();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("latchkey: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latchkey: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Has jemalloc give freed memory back from a background thread (one):
/// without it, pages freed after a burst (a flood of logins, a large
/// denylist read at start) stay resident until the next allocations
/// happen to purge them, which an idle server never makes.
fn purge_in_background() {
    let one = tikv_jemalloc_ctl::max_background_threads::write(1);
    if let Err(e) = one.and_then(|()| tikv_jemalloc_ctl::background_thread::write(true)) {
        eprintln!("latchkey: jemalloc's background purging is unavailable ({e}); carrying on");
    }
}

/// Help and version go to stdout with success; any other argument error is
/// one line on stderr and exit code 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = e.render().to_string();
            let mut lines = rendered.lines();
            let first = lines.next().unwrap_or("invalid arguments");
            let mut message = first.trim_start_matches("error: ").to_owned();
            // "…were not provided:" is followed by the arguments it means,
            // one per indented line: name them on the same line.
            if message.ends_with(':') {
                let missing: Vec<&str> = lines
                    .take_while(|l| l.starts_with("  "))
                    .map(str::trim)
                    .collect();
                message = format!("{message} {}", missing.join(", "));
            }
            eprintln!("latchkey: {message} (see --help)");
            ExitCode::from(2)
        }
    }
}

async fn run(command: Command, config: config::Config) -> anyhow::Result<()> {
    if let Command::Serve { .. } = command {
        return serve(&config).await;
    }
    // Every other command works on the store, and closes it when done.
    let store = latchkey::app::open_store(&config.database_url).await?;
    let result = store_command(command, store.as_ref(), &config).await;
    store.close().await;
    result
}

async fn serve(config: &config::Config) -> anyhow::Result<()> {
    // Dropped when serving ends, which writes the lines still queued.
    let logging = latchkey::telemetry::init(&config.log)?;
    logging.report_dropped(std::time::Duration::from_secs(10));
    if !config.ignored_env.is_empty() {
        tracing::warn!(
            variables = %config.ignored_env.join(", "),
            "ignoring LATCHKEY_* variables that are not configuration keys"
        );
    }
    let app = Application::build(config).await?;
    tracing::info!(
        address = %app.address(),
        url = %format!("http://{}", app.address()),
        database = %latchkey::app::redact_url(&config.database_url),
        redis = config.redis_url.as_deref().map(latchkey::app::redact_url).unwrap_or_default(),
        metrics = app.metrics_address().map(|a| a.to_string()).unwrap_or_default(),
        admin = app.admin_address().map(|a| a.to_string()).unwrap_or_default(),
        "latchkey listening"
    );
    app.run_until(shutdown_signal()).await
}

async fn store_command(
    command: Command,
    store: &dyn latchkey_store::Store,
    config: &config::Config,
) -> anyhow::Result<()> {
    match command {
        Command::Serve { .. } => anyhow::bail!("serve does not run on an opened store"),
        Command::User {
            command: UserCommand::Add { name, .. },
        } => cli::user_add(store, &name).await,
        Command::User {
            command: UserCommand::MfaReset { name },
        } => cli::user_mfa_reset(store, &config.http, &name).await,
        Command::User {
            command: UserCommand::Account(command),
        } => {
            let http = &config.http;
            latchkey::user_cli::run(store, http.revocation_ttl(), &http.webhooks, command).await
        }
        Command::Events { user, kind, follow } => {
            latchkey::events_cli::run(store, user.as_deref(), kind.as_deref(), follow).await
        }
        Command::AdminKeys { command } => latchkey::admin_cli::run(store, command).await,
        Command::User {
            command: UserCommand::Groups { name, add, remove },
        } => latchkey::cli_forward::user_groups(store, &name, &add, &remove).await,
        Command::ForwardAuth { command } => {
            latchkey::cli_forward::check(store, &config.http, command).await
        }
        Command::Keys { command } => match command {
            KeysCommand::List => cli::keys_list(store).await,
            KeysCommand::Rotate => cli::keys_rotate(store, config).await,
        },
        Command::Sessions { command } => match command {
            SessionsCommand::List { user, json } => {
                cli::sessions_list(store, user.as_deref(), json).await
            }
            SessionsCommand::Revoke { user, id } => {
                cli::sessions_revoke(store, &config.http, user.as_deref(), id.as_deref()).await
            }
        },
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
