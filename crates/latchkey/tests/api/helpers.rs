//! The harness: a real latchkey server on a free port, backed by a SQLite
//! file in a temporary directory, driven by a manual clock, and reached over
//! real HTTP with `reqwest`. Nothing here sleeps: time moves only when a
//! test calls [`TestApp::advance`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey::Application;
use latchkey::config::{self, Config, Overrides};
use latchkey_auth::keyring::{self, KeyPolicy};
use latchkey_core::{Clock, ManualClock, Timestamp};
use latchkey_http::AppState;
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpStream;

pub use crate::raw_http::{RawConn, RawReply};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Where every test's clock starts: 2026-01-01T00:00:00Z.
pub const START: Timestamp = Timestamp::from_unix_millis(1_767_225_600_000);
pub const START_RFC3339: &str = "2026-01-01T00:00:00.000Z";
/// A password that passes the policy; distinctive enough to search for.
pub const PASSWORD: &str = "correct-horse-battery-staple";
/// The `User-Agent` every request sends unless a test sets another.
pub const USER_AGENT: &str = "latchkey-api-tests/1.0";
/// How long a server may take to stop before a test fails.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(20);

pub const MINUTE: Duration = Duration::from_secs(60);

type Tweak = Arc<dyn Fn(&mut Config) + Send + Sync>;

/// One running server.
pub struct TestApp {
    pub address: SocketAddr,
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    /// The session cookie's name under this server's settings.
    pub cookie_name: &'static str,
    /// The running server's state (store, token service, denylist).
    pub state: AppState,
    /// The configuration it was built with.
    pub config: Config,
    /// The `metrics.listen` listener's address, when configured.
    pub metrics_address: Option<SocketAddr>,
    /// Where the admin API listens when `admin.listen` is set.
    pub admin_address: Option<SocketAddr>,
    dir: Arc<TempDir>,
    tweak: Tweak,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    record: Arc<Record>,
}

/// What the harness has seen: secrets handed to or by the server, and every
/// response body (to check that no secret is ever echoed).
#[derive(Default)]
struct Record {
    secrets: Mutex<Vec<String>>,
    /// `(what, body, is_successful_login)`.
    bodies: Mutex<Vec<(String, String, bool)>>,
}

impl TestApp {
    /// A server with the default configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A server whose configuration `tweak` adjusts (`cfg.http.*`).
    pub async fn spawn_with(tweak: impl Fn(&mut Config) + Send + Sync + 'static) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let clock = Arc::new(ManualClock::new(START));
        Self::start(dir, clock, Arc::new(tweak), Arc::new(Record::default())).await
    }

    async fn start(
        dir: Arc<TempDir>,
        clock: Arc<ManualClock>,
        tweak: Tweak,
        record: Arc<Record>,
    ) -> Self {
        let overrides = Overrides {
            listen: Some("127.0.0.1:0".into()),
            database_url: Some(format!("sqlite://{}/t.db", dir.path().display())),
        };
        let mut config = config::load(None, HashMap::new(), &overrides).expect("config");
        // The default public origin names port 0; the request's own Host is
        // what a browser's Origin matches here.
        config.http.public_origin = None;
        tweak(&mut config);
        let app = Application::build_with_clock(&config, clock.clone() as Arc<dyn Clock>)
            .await
            .expect("build the application");
        let address = app.address();
        let metrics_address = app.metrics_address();
        let admin_address = app.admin_address();
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .no_proxy()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let cookie_name = if config.http.cookie_secure {
            "__Host-lk_session"
        } else {
            "lk_session"
        };
        Self {
            address,
            base: format!("http://{address}"),
            clock,
            client,
            cookie_name,
            state,
            config,
            metrics_address,
            admin_address,
            dir,
            tweak,
            shutdown: Some(tx),
            server: Some(server),
            record,
        }
    }

    /// Stops this server and starts a new one on the same database file,
    /// clock and configuration: a restart.
    pub async fn restart(mut self) -> Self {
        self.shutdown().await.expect("clean shutdown");
        Self::start(
            self.dir.clone(),
            self.clock.clone(),
            self.tweak.clone(),
            self.record.clone(),
        )
        .await
    }

    /// As [`restart`](Self::restart), with another configuration `tweak`
    /// (which replaces the first).
    pub async fn restart_with(
        mut self,
        tweak: impl Fn(&mut Config) + Send + Sync + 'static,
    ) -> Self {
        self.shutdown().await.expect("clean shutdown");
        Self::start(
            self.dir.clone(),
            self.clock.clone(),
            Arc::new(tweak),
            self.record.clone(),
        )
        .await
    }

    /// A second server on the same database file (and clock), running
    /// beside this one: another node.
    pub async fn spawn_beside(&self) -> Self {
        Self::start(
            self.dir.clone(),
            self.clock.clone(),
            self.tweak.clone(),
            self.record.clone(),
        )
        .await
    }

    /// Signals shutdown and waits for `run_until` to return.
    pub async fn shutdown(&mut self) -> anyhow::Result<()> {
        self.signal_shutdown();
        self.wait_stopped().await
    }

    /// Sends the shutdown signal without waiting.
    pub fn signal_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits for `run_until` to return (after [`signal_shutdown`]).
    pub async fn wait_stopped(&mut self) -> anyhow::Result<()> {
        let server = self.server.take().expect("server still running");
        tokio::time::timeout(STOP_TIMEOUT, server)
            .await
            .expect("run_until returns after the shutdown signal")
            .expect("server task did not panic")
    }

    /// Whether `run_until` has returned.
    pub fn is_stopped(&self) -> bool {
        self.server.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    /// Sends and reads the whole response; records its body.
    pub async fn send(&self, rb: RequestBuilder) -> Reply {
        let req = rb.build().expect("request builds");
        let what = format!("{} {}", req.method(), req.url().path());
        // A second step (`/v1/mfa/verify`) answers as the login it completes.
        let is_login = req.method() == Method::POST
            && ["/v1/session/login", "/v1/mfa/verify", "/v1/email/login"]
                .contains(&req.url().path());
        let res = self.client.execute(req).await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.expect("body read");
        self.record.bodies.lock().unwrap().push((
            format!("{what} -> {status}"),
            body.clone(),
            is_login && status == StatusCode::OK,
        ));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Remembers a value that must never appear in a response body.
    pub fn secret(&self, s: &str) {
        self.record.secrets.lock().unwrap().push(s.to_owned());
    }

    /// `POST /v1/register`.
    pub async fn register(&self, username: &str, password: &str) -> Reply {
        if password.chars().count() >= 8 && !password.eq_ignore_ascii_case(username) {
            self.secret(password);
        }
        self.send(
            self.post("/v1/register")
                .json(&json!({ "username": username, "password": password })),
        )
        .await
    }

    /// Registers and expects `201`; returns the user id.
    pub async fn create_user(&self, username: &str, password: &str) -> String {
        let r = self.register(username, password).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "register {username}: {}",
            r.body
        );
        r.json()["id"].as_str().expect("id").to_owned()
    }

    /// `POST /v1/session/login` as sent by a same-origin page.
    pub async fn login_attempt(&self, username: &str, password: &str) -> Reply {
        self.send(self.login_request(username, password, None))
            .await
    }

    /// The login request, unsent (`remember` omitted when `None`).
    pub fn login_request(
        &self,
        username: &str,
        password: &str,
        remember: Option<bool>,
    ) -> RequestBuilder {
        if password.chars().count() >= 8 {
            self.secret(password);
        }
        let mut body = json!({ "username": username, "password": password });
        if let Some(r) = remember {
            body["remember"] = json!(r);
        }
        self.post("/v1/session/login").json(&body)
    }

    /// Logs in and expects `200`.
    pub async fn login(&self, username: &str, password: &str, remember: bool) -> Login {
        let r = self
            .send(self.login_request(username, password, Some(remember)))
            .await;
        self.login_from(&r)
    }

    /// The [`Login`] of a successful login response.
    pub fn login_from(&self, r: &Reply) -> Login {
        assert_eq!(r.status, StatusCode::OK, "login failed: {}", r.body);
        let set_cookie = r
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{}=", self.cookie_name)))
            .expect("a session cookie is set");
        let cookie = SetCookie::parse(&set_cookie).value;
        let body = r.json();
        let csrf = body["csrf_token"].as_str().expect("csrf_token").to_owned();
        self.secret(&cookie);
        self.secret(&csrf);
        Login {
            cookie_name: self.cookie_name,
            cookie,
            set_cookie,
            csrf,
            user_id: body["user"]["id"].as_str().expect("user.id").to_owned(),
            username: body["user"]["username"]
                .as_str()
                .expect("user.username")
                .to_owned(),
        }
    }

    /// Registers `username` and logs in.
    pub async fn user(&self, username: &str) -> Login {
        self.create_user(username, PASSWORD).await;
        self.login(username, PASSWORD, false).await
    }

    /// `GET /v1/session` with `login`'s cookie: its status.
    pub async fn session_status(&self, login: &Login) -> StatusCode {
        self.send(self.get("/v1/session").cookie_of(login))
            .await
            .status
    }

    /// Fails if any response body seen so far (by this server and any
    /// started from it) contains a password, a session cookie value, or a
    /// CSRF token — except a successful login's own `csrf_token`.
    pub fn assert_no_secret_leaked(&self) {
        let secrets = self.record.secrets.lock().unwrap().clone();
        let bodies = self.record.bodies.lock().unwrap();
        for (what, body, is_login) in bodies.iter() {
            for s in &secrets {
                let escaped = serde_json::to_string(s).unwrap();
                let escaped = &escaped[1..escaped.len() - 1];
                let leaked = body.contains(s.as_str()) || body.contains(escaped);
                // A login response carries its own CSRF token and no other
                // secret; the token is 43+ chars of base64url, so telling it
                // apart from the others is by where it sits.
                let allowed = *is_login && Self::is_csrf_field(body, s);
                assert!(
                    !leaked || allowed,
                    "{what}: response body contains a secret: {body}"
                );
            }
        }
    }

    fn is_csrf_field(body: &str, s: &str) -> bool {
        serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["csrf_token"].as_str().map(|t| t == s))
            .unwrap_or(false)
    }

    /// A raw TCP connection to the server.
    pub async fn raw(&self) -> RawConn {
        RawConn::new(TcpStream::connect(self.address).await.expect("connect"))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.signal_shutdown();
    }
}

/// A successful login.
#[derive(Clone, Debug)]
pub struct Login {
    pub cookie_name: &'static str,
    /// The session cookie's value.
    pub cookie: String,
    /// The raw `Set-Cookie` header that set it.
    pub set_cookie: String,
    pub csrf: String,
    pub user_id: String,
    pub username: String,
}

/// Adds credentials to a request.
pub trait RequestExt {
    /// The session cookie only.
    fn cookie_of(self, login: &Login) -> Self;
    /// `X-CSRF-Token` only.
    fn csrf_of(self, login: &Login) -> Self;
    /// Cookie and CSRF token, as the login's own page would send them.
    fn authed(self, login: &Login) -> Self;
    /// A `Cookie` header with any name and value.
    fn raw_cookie(self, name: &str, value: &str) -> Self;
    /// `Authorization: Bearer <token>`.
    fn bearer(self, token: &str) -> Self;
}

impl RequestExt for RequestBuilder {
    fn cookie_of(self, login: &Login) -> Self {
        self.raw_cookie(login.cookie_name, &login.cookie)
    }

    fn csrf_of(self, login: &Login) -> Self {
        self.header("x-csrf-token", &login.csrf)
    }

    fn authed(self, login: &Login) -> Self {
        self.cookie_of(login).csrf_of(login)
    }

    fn raw_cookie(self, name: &str, value: &str) -> Self {
        self.header(header::COOKIE, format!("{name}={value}"))
    }

    fn bearer(self, token: &str) -> Self {
        self.header(header::AUTHORIZATION, format!("Bearer {token}"))
    }
}

/// A whole response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("ASCII Set-Cookie").to_owned())
            .collect()
    }

    /// The one `Set-Cookie` of this response, parsed.
    pub fn the_set_cookie(&self) -> SetCookie {
        let all = self.set_cookies();
        assert_eq!(all.len(), 1, "exactly one Set-Cookie: {all:?}");
        SetCookie::parse(&all[0])
    }
}

/// Checks that `reply` is an RFC 9457 problem and returns its status and
/// `code`.
pub fn problem(reply: &Reply) -> (u16, String) {
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "problem content type for {} {}",
        reply.status,
        reply.body
    );
    let body = reply.json();
    let obj = body.as_object().expect("problem is an object");
    for key in ["type", "title", "detail", "code"] {
        assert!(
            obj.get(key).is_some_and(Value::is_string),
            "problem has a string `{key}`: {body}"
        );
    }
    assert_eq!(
        obj.get("status").and_then(Value::as_u64),
        Some(u64::from(reply.status.as_u16())),
        "problem status matches the HTTP status: {body}"
    );
    (
        reply.status.as_u16(),
        obj["code"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Asserts a problem with this status and code.
pub fn assert_problem(reply: &Reply, status: u16, code: &str) {
    assert_eq!(
        problem(reply),
        (status, code.to_owned()),
        "body: {}",
        reply.body
    );
}

/// A parsed `Set-Cookie` header.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// Attributes as `(lower-case name, value)`, in order.
    pub attrs: Vec<(String, Option<String>)>,
}

impl SetCookie {
    pub fn parse(raw: &str) -> Self {
        let mut parts = raw.split(';').map(str::trim);
        let (name, value) = parts
            .next()
            .and_then(|p| p.split_once('='))
            .expect("name=value");
        let attrs = parts
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_owned())),
                None => (p.to_ascii_lowercase(), None),
            })
            .collect();
        Self {
            name: name.to_owned(),
            value: value.to_owned(),
            attrs,
        }
    }

    /// `Some(value)` if the attribute is present (`Some(None)` for a flag).
    pub fn attr(&self, name: &str) -> Option<Option<&str>> {
        let name = name.to_ascii_lowercase();
        self.attrs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_deref())
    }

    /// Attribute names, lower-cased and sorted.
    pub fn attr_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.attrs.iter().map(|(k, _)| k.clone()).collect();
        v.sort();
        v
    }

    /// Whether this header removes the cookie.
    pub fn is_clearing(&self) -> bool {
        self.attr("max-age") == Some(Some("0"))
    }
}

/// The RFC 3339 form of `START + d`, as the server prints it.
pub fn at(d: Duration) -> String {
    START.saturating_add(d).to_rfc3339()
}

/// One login's body for raw requests.
pub fn login_json(username: &str, password: &str) -> String {
    json!({ "username": username, "password": password }).to_string()
}

/// An access token and its refresh token, from `/v1/token/login` or
/// `/v1/token/refresh`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub access: String,
    pub refresh: String,
}

/// The [`Pair`] of a `200` token response.
pub fn pair_from(r: &Reply) -> Pair {
    assert_eq!(r.status, StatusCode::OK, "token response: {}", r.body);
    let body = r.json();
    Pair {
        access: body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        refresh: body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    }
}

/// The challenge a refused bearer token gets (RFC 6750 §3).
pub const INVALID_TOKEN_CHALLENGE: &str = r#"Bearer realm="latchkey", error="invalid_token""#;

/// Asserts `401 invalid_token` with the RFC 6750 challenge.
pub fn assert_invalid_token(r: &Reply) {
    assert_problem(r, 401, "invalid_token");
    assert_eq!(
        r.header("www-authenticate"),
        Some(INVALID_TOKEN_CHALLENGE),
        "{:?}",
        r.headers
    );
}

/// Asserts `401 invalid_grant` (a refresh token that does not refresh).
pub fn assert_invalid_grant(r: &Reply) {
    assert_problem(r, 401, "invalid_grant");
}

/// Bearer tokens.
impl TestApp {
    /// `POST /v1/token/login`, unsent.
    pub fn token_login_request(&self, username: &str, password: &str) -> RequestBuilder {
        if password.chars().count() >= 8 {
            self.secret(password);
        }
        self.post("/v1/token/login")
            .json(&json!({ "username": username, "password": password }))
    }

    /// `POST /v1/token/login`.
    pub async fn token_login_attempt(&self, username: &str, password: &str) -> Reply {
        self.send(self.token_login_request(username, password))
            .await
    }

    /// Logs in for tokens and expects `200`.
    pub async fn token_login(&self, username: &str, password: &str) -> Pair {
        pair_from(&self.token_login_attempt(username, password).await)
    }

    /// Registers `username` and logs in for tokens.
    pub async fn token_user(&self, username: &str) -> Pair {
        self.create_user(username, PASSWORD).await;
        self.token_login(username, PASSWORD).await
    }

    /// `POST /v1/token/refresh`, unsent.
    pub fn refresh_request(&self, refresh_token: &str) -> RequestBuilder {
        self.post("/v1/token/refresh")
            .json(&json!({ "refresh_token": refresh_token }))
    }

    /// `POST /v1/token/refresh`.
    pub async fn refresh_attempt(&self, refresh_token: &str) -> Reply {
        self.send(self.refresh_request(refresh_token)).await
    }

    /// Refreshes and expects `200`.
    pub async fn refresh(&self, refresh_token: &str) -> Pair {
        pair_from(&self.refresh_attempt(refresh_token).await)
    }

    /// `GET /v1/me` with `Authorization: Bearer <access>`.
    pub async fn me_bearer(&self, access: &str) -> Reply {
        self.send(self.get("/v1/me").bearer(access)).await
    }

    /// Asserts that `access` authenticates `/v1/me` as a bearer token.
    pub async fn assert_bearer_works(&self, access: &str) {
        let r = self.me_bearer(access).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.json()["auth"], "bearer", "{}", r.body);
    }

    /// Asserts that `access` is refused on `/v1/me` as an invalid token.
    pub async fn assert_bearer_refused(&self, access: &str) {
        assert_invalid_token(&self.me_bearer(access).await);
    }

    /// `POST /v1/token/revoke` with a `token=` form.
    pub async fn revoke_token(&self, token: &str) -> Reply {
        self.send(self.post("/v1/token/revoke").form(&[("token", token)]))
            .await
    }

    /// How this server makes and keeps signing keys.
    pub fn key_policy(&self) -> KeyPolicy {
        latchkey::app::key_policy(&self.config)
    }

    /// Makes a new current signing key in the store (as `latchkey keys
    /// rotate` does) and returns its kid. The server sees it after
    /// [`reload_keys`](Self::reload_keys) or a restart.
    pub async fn rotate_keys(&self) -> String {
        keyring::rotate(
            self.state.store().as_ref(),
            &self.key_policy(),
            self.clock.now(),
        )
        .await
        .expect("rotate")
    }

    /// Reloads the key set from the store now, as the server's periodic
    /// reload does.
    pub async fn reload_keys(&self) {
        let keys = keyring::load(
            self.state.store().as_ref(),
            &self.key_policy(),
            self.clock.now(),
        )
        .await
        .expect("load keys");
        self.state.tokens.replace_keys(keys);
    }

    /// `GET /.well-known/jwks.json`'s body.
    pub async fn jwks(&self) -> Value {
        let r = self.send(self.get("/.well-known/jwks.json")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()
    }

    /// The kids listed in the JWKS, in order.
    pub async fn jwks_kids(&self) -> Vec<String> {
        self.jwks().await["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_owned())
            .collect()
    }
}

/// A login of the hybrid (`/v1/cookie/login`): its two cookies and CSRF
/// token.
#[derive(Clone, Debug)]
pub struct HybridLogin {
    /// `name=value` of the access-token cookie.
    pub access_cookie: String,
    /// `name=value` of the refresh-token cookie.
    pub refresh_cookie: String,
    /// The access token itself (the access cookie's value).
    pub access: String,
    pub csrf: String,
    pub user_id: String,
}

impl TestApp {
    /// Logs `username` in with the hybrid and expects `200`.
    pub async fn hybrid_login(&self, username: &str, password: &str) -> HybridLogin {
        self.secret(password);
        let r = self
            .send(
                self.post("/v1/cookie/login")
                    .json(&json!({ "username": username, "password": password })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "hybrid login: {}", r.body);
        let cookies: Vec<SetCookie> = r
            .set_cookies()
            .iter()
            .map(|c| SetCookie::parse(c))
            .collect();
        let find = |suffix: &str| {
            cookies
                .iter()
                .find(|c| c.name.ends_with(suffix))
                .unwrap_or_else(|| panic!("a {suffix} cookie in {cookies:?}"))
                .clone()
        };
        let (at, rt) = (find("lk_at"), find("lk_rt"));
        let body = r.json();
        HybridLogin {
            access_cookie: format!("{}={}", at.name, at.value),
            refresh_cookie: format!("{}={}", rt.name, rt.value),
            access: at.value,
            csrf: body["csrf_token"].as_str().expect("csrf_token").to_owned(),
            user_id: body["user"]["id"].as_str().expect("user.id").to_owned(),
        }
    }
}

/// The claims of a JWT, decoded without any check (the tests' own eyes).
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}
