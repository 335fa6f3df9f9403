//! `Application`: one factory for `main` and the tests. It opens the store
//! (applying migrations), loads or creates the server secrets, builds the
//! router and binds the listener; `run_until` serves until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use latchkey_core::Clock;
use latchkey_core::csrf::CsrfKey;
use latchkey_http::{AppState, PasswordService};
use latchkey_store::Store;
use latchkey_store::sqlite::SqliteStore;
use tokio::net::TcpListener;

use crate::clock::SystemClock;
use crate::config::Config;

/// How often expired sessions and old login-failure windows are removed.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
    store: Arc<SqliteStore>,
}

/// Opens the store named by `url`. Only SQLite is built in so far; the
/// config layer refuses other URLs before they get here.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<SqliteStore>> {
    let store = SqliteStore::open(url)
        .await
        .with_context(|| format!("cannot open the store at {url}"))?;
    Ok(Arc::new(store))
}

/// The CSRF key: 32 random bytes made on first start and kept in the store,
/// so tokens stay valid across restarts and nodes.
pub async fn csrf_key(store: &dyn Store) -> anyhow::Result<CsrfKey> {
    let mut candidate = [0u8; 32];
    getrandom::fill(&mut candidate).map_err(|e| anyhow::anyhow!("OS random failed: {e}"))?;
    let stored = store.secret_or_insert("csrf_key", &candidate).await?;
    let bytes: [u8; 32] = stored
        .try_into()
        .map_err(|_| anyhow::anyhow!("stored csrf_key has the wrong length"))?;
    Ok(CsrfKey::from_bytes(&bytes))
}

impl Application {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// As [`build`](Self::build), with a chosen clock (tests move it).
    pub async fn build_with_clock(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let store = open_store(&config.database_url).await?;
        let csrf = csrf_key(store.as_ref()).await?;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let passwords = PasswordService::new(cores, 32 * cores)
            .map_err(|e| anyhow::anyhow!("password service: {e:?}"))?;
        if !config.http.cookie_secure {
            tracing::warn!(
                "cookies.secure is false: cookies lose the Secure flag and the __Host- prefix; \
                 use this only for plain-HTTP deployments that cannot use TLS"
            );
        }
        let state = AppState::new(store.clone(), clock, config.http.clone(), csrf, passwords);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let address = listener.local_addr()?;
        Ok(Self {
            listener,
            address,
            state,
            store,
        })
    }

    /// Where the server listens (the real port when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains and closes the store.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let sweeper = tokio::spawn(sweep_forever(self.state.clone()));
        let router = latchkey_http::router(self.state.clone());
        crate::server::serve(self.listener, router, shutdown).await;
        sweeper.abort();
        self.store.close().await;
        Ok(())
    }
}

async fn sweep_forever(state: AppState) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tick.tick().await;
        let now = state.clock.now();
        match state.store().sweep_expired_sessions(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "swept expired sessions"),
            Err(e) => tracing::warn!(error = %e, "session sweep failed"),
        }
        let cutoff = now.saturating_sub(state.settings.login_limits.window);
        if let Err(e) = state.store().sweep_failures(cutoff).await {
            tracing::warn!(error = %e, "login-failure sweep failed");
        }
    }
}
