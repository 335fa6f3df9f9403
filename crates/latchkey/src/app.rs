//! `Application`: one factory for `main` and the tests. It opens the store
//! (applying migrations), loads or creates the server secrets, builds the
//! router and binds the listener; `run_until` serves until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use latchkey_auth::keyring::{self, KeyPolicy};
use latchkey_core::Clock;
use latchkey_core::csrf::CsrfKey;
use latchkey_core::refresh::RefreshKey;
use latchkey_http::{AppState, PasswordService, TokenService};
use latchkey_store::Store;
use latchkey_store::circuit::Circuit;
use tokio::net::TcpListener;

use crate::clock::SystemClock;
use crate::config::Config;

/// How often expired sessions, families, revocations, keys and old
/// login-failure windows are removed.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// How often revocations written by other processes (the CLI, other
/// nodes) are read into this node's denylist.
pub const REVOCATION_POLL: Duration = Duration::from_secs(1);
/// How often the signing-key set is reloaded (a rotation by the CLI or
/// another node is picked up within this).
pub const KEY_RELOAD: Duration = Duration::from_secs(30);
/// How long sent and failed messages stay in the outbox (bodies emptied).
pub const MAIL_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long delivered and failed webhook deliveries stay in their outbox.
pub const WEBHOOKS_KEPT: Duration = MAIL_KEPT;

pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    /// `metrics.listen`: `/metrics` alone, off the public listener.
    metrics: Option<(TcpListener, SocketAddr)>,
    /// `admin.listen`: the admin API alone, off the public listener.
    admin: Option<(TcpListener, SocketAddr)>,
    state: AppState,
    store: Arc<dyn Store>,
    policy: KeyPolicy,
    cursor: i64,
    server: crate::server::ServerSettings,
    smtp: Option<crate::mailer::SmtpSettings>,
    webhooks: Option<crate::webhooks::WebhookSettings>,
}

/// Opens the store named by `url` (SQLite or PostgreSQL).
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    latchkey_store::open(url)
        .await
        .with_context(|| format!("cannot open the store at {}", redact_url(url)))
}

/// Puts Redis in front of the durable store: session cache, shared login
/// counters and revocation fan-out. PostgreSQL stays the record; if Redis
/// goes away, requests fall back to it.
pub async fn with_redis(
    store: Arc<dyn Store>,
    url: &str,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<dyn Store>> {
    let cached =
        latchkey_store::redis::RedisCached::connect(store, url, "latchkey:".to_owned(), clock)
            .await
            .with_context(|| format!("cannot use Redis at {}", redact_url(url)))?;
    Ok(Arc::new(cached))
}

/// A database URL without its password, for messages and logs: the
/// password of the user info, and every query parameter whose name ends
/// in `password` (`password=`, `sslpassword=`, any case).
pub fn redact_url(url: &str) -> String {
    let redacted = redact_userinfo(url);
    let from = redacted
        .rfind('@')
        .or_else(|| redacted.find("://"))
        .unwrap_or(0);
    match redacted[from..].find('?') {
        None => redacted,
        Some(q) => {
            let (head, query) = redacted.split_at(from + q);
            let pairs: Vec<String> = query[1..]
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.to_ascii_lowercase().ends_with("password") => {
                        format!("{k}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{head}?{}", pairs.join("&"))
        }
    }
}

fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A 32-byte server secret named `name`: made on first start and kept in
/// the store, so what it protects stays valid across restarts and nodes.
pub async fn server_secret(store: &dyn Store, name: &str) -> anyhow::Result<[u8; 32]> {
    let mut candidate = [0u8; 32];
    getrandom::fill(&mut candidate).map_err(|e| anyhow::anyhow!("OS random failed: {e}"))?;
    let stored = store.secret_or_insert(name, &candidate).await?;
    stored
        .try_into()
        .map_err(|_| anyhow::anyhow!("stored {name} has the wrong length"))
}

/// Makes this node's issuer the one recorded in the store (recording it on
/// first start): nodes sharing a store must agree on `iss`, or they refuse
/// each other's tokens and revocations. A configured issuer that differs
/// is an error naming both; without one, the node takes the recorded one.
pub async fn agree_on_issuer(store: &dyn Store, config: &mut Config) -> anyhow::Result<()> {
    let ours = config.http.tokens.issuer.clone();
    let recorded = latchkey_store::recorded_issuer(store, &ours).await?;
    if recorded == ours {
        return Ok(());
    }
    if config.issuer_configured {
        anyhow::bail!(
            "issuer {ours} differs from {recorded}, the issuer recorded in the store: \
             every node sharing a store needs the same issuer (see docs/DEPLOY.md to change it)"
        );
    }
    tracing::info!(issuer = %recorded, "no issuer configured: using the one recorded in the store");
    config.adopt_issuer(recorded);
    Ok(())
}

/// How keys are made and kept under `config`.
pub fn key_policy(config: &Config) -> KeyPolicy {
    KeyPolicy {
        algorithm: config.algorithm,
        master_key: config
            .master_key
            .as_ref()
            .map(crate::config::MasterKey::zeroizing),
        retire_after: config.http.tokens.access_ttl + KEY_RELOAD + Duration::from_secs(60),
    }
}

/// Settings that work but that an operator should know are risky.
fn warn_about_insecure_choices(config: &Config, store: &dyn Store) {
    if store.backend().starts_with("postgres") && !config.issuer_configured {
        tracing::warn!(
            issuer = %config.http.tokens.issuer,
            "no issuer configured: this node uses the one recorded in the store (the first \
             node's, possibly its listen address); set `issuer` to the public URL on every node"
        );
    }
    if let Err(why) = config
        .http
        .passkeys
        .relying_party(&config.http.tokens.issuer)
    {
        tracing::warn!(
            reason = %why.join("; "),
            "passkeys are off: set `issuer` (or `webauthn.rp_id` and `webauthn.origins`) to a domain name"
        );
    }
    if !config.http.cookie_secure {
        tracing::warn!(
            "cookies.secure is false: cookies lose the Secure flag and the __Host- prefix; \
             use this only for plain-HTTP deployments that cannot use TLS"
        );
    }
}

impl Application {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// As [`build`](Self::build), with a chosen clock (tests move it).
    pub async fn build_with_clock(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let store = open_store(&config.database_url).await?;
        // Requests fail fast while the durable store is known to be down.
        let store: Arc<dyn Store> = Arc::new(Circuit::new(store, config.circuit, clock.clone()));
        let store = match &config.redis_url {
            Some(url) => with_redis(store, url, clock.clone()).await?,
            None => store,
        };
        let mut config = config.clone();
        agree_on_issuer(store.as_ref(), &mut config).await?;
        let config = &config;
        let csrf = CsrfKey::from_bytes(&server_secret(store.as_ref(), "csrf_key").await?);
        let refresh_key =
            RefreshKey::from_bytes(&server_secret(store.as_ref(), "refresh_key").await?);
        let policy = key_policy(config);
        if policy.master_key.is_none() {
            tracing::warn!(
                "LATCHKEY_MASTER_KEY is not set: private signing keys are stored unencrypted"
            );
        }
        let now = clock.now();
        let keys = keyring::start(store.as_ref(), &policy, now).await?;
        let tokens = TokenService::new(keys, config.http.tokens.clone(), refresh_key);
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let passwords = PasswordService::new(cores, 32 * cores)
            .map_err(|e| anyhow::anyhow!("password service: {e:?}"))?;
        warn_about_insecure_choices(config, store.as_ref());
        let mut settings = config.http.clone();
        settings.metrics_public = config.metrics_listen.is_none();
        settings.admin_public = config.admin_listen.is_none();
        settings.key_policy = Some(policy.clone());
        let state = AppState::new(store.clone(), clock, settings, csrf, passwords, tokens);
        state.oidc.discover_in_background(); // an unreachable one is retried
        // The denylist is complete before the first request is answered.
        let (revocations, cursor) = store.revocations_since(0, now).await?;
        state.deny(&revocations);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let address = listener.local_addr()?;
        let metrics = bind_extra(config.metrics_listen, "metrics.listen").await?;
        let admin = bind_extra(config.admin_listen, "admin.listen").await?;
        Ok(Self {
            listener,
            address,
            metrics,
            admin,
            state,
            store,
            policy,
            cursor,
            server: connection_settings(config),
            smtp: config.smtp.clone(),
            webhooks: config.webhooks.clone(),
        })
    }

    /// Where the server listens (the real port when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where the admin API is served when `admin.listen` is set.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(|(_, a)| *a)
    }

    /// Where `/metrics` is served when `metrics.listen` is set.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, a)| *a)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains and closes the store.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let mut tasks = vec![
            tokio::spawn(crate::tasks::sweep_forever(self.state.clone())),
            tokio::spawn(crate::tasks::poll_revocations(
                self.state.clone(),
                self.cursor,
            )),
            tokio::spawn(crate::tasks::reload_keys(
                self.state.clone(),
                self.policy.clone(),
            )),
        ];
        tasks.extend(crate::mailer::spawn(&self.state, self.smtp));
        tasks.extend(crate::webhooks::spawn(&self.state, self.webhooks));
        let extra = [
            self.metrics
                .map(|(l, _)| (l, latchkey_http::metrics_router(self.state.clone()))),
            self.admin
                .map(|(l, _)| (l, latchkey_http::admin_router(self.state.clone()))),
        ];
        for (listener, app) in extra.into_iter().flatten() {
            // The same accept loop and deadlines as the public listener;
            // it stops when the tasks are aborted below.
            let settings = self.server.clone();
            let clock = self.state.clock.clone();
            tasks.push(tokio::spawn(async move {
                let forever = std::future::pending();
                crate::server::serve(listener, app, &settings, clock, forever).await;
            }));
        }
        let router = latchkey_http::router(self.state.clone());
        let clock = self.state.clock.clone();
        crate::server::serve(self.listener, router, &self.server, clock, shutdown).await;
        for t in &tasks {
            t.abort();
        }
        self.store.close().await;
        Ok(())
    }
}

/// Binds the listener `at` asks for (`what` names its key in errors).
async fn bind_extra(
    at: Option<SocketAddr>,
    what: &str,
) -> anyhow::Result<Option<(TcpListener, SocketAddr)>> {
    let Some(at) = at else { return Ok(None) };
    let l = TcpListener::bind(at)
        .await
        .with_context(|| format!("cannot listen on {at} ({what})"))?;
    let a = l.local_addr()?;
    Ok(Some((l, a)))
}

/// `server.*` with the connection cap kept within the descriptors left
/// after raising the soft `RLIMIT_NOFILE` to the hard limit (logged).
fn connection_settings(config: &Config) -> crate::server::ServerSettings {
    let nofile = crate::fdlimit::raise_nofile();
    crate::fdlimit::log(&nofile);
    let soft = nofile.ok().and_then(|n| n.soft);
    let mut server = config.server.clone();
    server.max_connections = crate::fdlimit::connection_cap(server.max_connections, soft);
    server
}
