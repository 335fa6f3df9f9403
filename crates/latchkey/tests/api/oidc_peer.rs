//! The OpenID provider the `oidc*` tests sign in at: panva's
//! `oidc-provider` (OpenID certified), run by `tests/oidc-provider/` with
//! node, and a small driver that walks its redirects like a browser.
//! Gated on `LATCHKEY_TEST_OIDC`: unset, the tests print one line and
//! pass; set, a missing node or provider fails them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use latchkey_core::Timestamp;
use latchkey_oidc::ProviderConfig;
use reqwest::header;
use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{Reply, TestApp};

pub const PROVIDER: &str = "test";
pub const CLIENT_ID: &str = "latchkey-tests";
pub const CLIENT_SECRET: &str = "client-secret-for-tests";
/// latchkey's callback as registered (the tests' issuer is `listen`'s
/// `127.0.0.1:0`; the driver sends the callback to the real address).
pub const REDIRECT_URI: &str = "http://127.0.0.1:0/v1/oidc/test/callback";

/// Whether the provider tests run; prints the skip line when not.
pub fn enabled() -> bool {
    if std::env::var_os("LATCHKEY_TEST_OIDC").is_some() {
        return true;
    }
    println!("skipped: set LATCHKEY_TEST_OIDC");
    false
}

pub struct Peer {
    pub issuer: String,
    pub http: reqwest::Client,
    _child: Child,
}

fn script_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-provider")
}

impl Peer {
    /// Starts the provider (on `port`, or an ephemeral one).
    pub async fn start(port: Option<u16>) -> Self {
        let dir = script_dir();
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "LATCHKEY_TEST_OIDC is set: run `npm ci` in tests/oidc-provider first"
        );
        let mut cmd = Command::new("node");
        cmd.current_dir(&dir)
            .args(["provider.mjs", CLIENT_ID, CLIENT_SECRET, REDIRECT_URI])
            .args(port.map(|p| p.to_string()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .expect("node must be installed when LATCHKEY_TEST_OIDC is set");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let issuer = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.expect("provider output") {
                if let Some(issuer) = line.strip_prefix("issuer ") {
                    return issuer.to_owned();
                }
            }
            panic!("the provider exited before listening");
        })
        .await
        .expect("the provider starts within 20 s");
        // Keep reading: a closed pipe would end the provider at its next line.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            issuer,
            http,
            _child: child,
        }
    }

    /// Who signs in at the provider next.
    pub async fn next_login(&self, sub: &str, name: &str) {
        let r = self
            .http
            .post(format!("{}/test/login", self.issuer))
            .json(&serde_json::json!({ "sub": sub, "name": name }))
            .send()
            .await
            .expect("provider answers");
        assert_eq!(r.status(), 204);
    }

    /// Where the provider's back-channel logout tokens go.
    pub async fn relay_logout_to(&self, url: &str) {
        let r = self
            .http
            .post(format!("{}/test/target", self.issuer))
            .json(&serde_json::json!({ "url": url }))
            .send()
            .await
            .expect("provider answers");
        assert_eq!(r.status(), 204);
    }

    /// The last back-channel logout request body the provider sent.
    pub async fn last_logout(&self) -> String {
        let r = self.http.get(format!("{}/test/last-logout", self.issuer));
        r.send()
            .await
            .expect("provider answers")
            .text()
            .await
            .expect("body")
    }
}

pub fn provider_config(issuer: &str) -> ProviderConfig {
    ProviderConfig {
        name: PROVIDER.into(),
        issuer: issuer.into(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(SecretString::from(CLIENT_SECRET)),
        display_name: "Test IdP".into(),
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
        username_claim: "preferred_username".into(),
        email_claim: "email".into(),
    }
}

/// The provider's tokens carry real times: the app's clock is set to now.
#[allow(clippy::disallowed_methods)] // the provider lives in real time
pub fn real_now() -> Timestamp {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    Timestamp::from_unix_millis(i64::try_from(now.as_millis()).expect("fits"))
}

/// Waits (up to 30 s) for the app to have discovered the provider.
pub async fn wait_available(app: &TestApp) {
    for _ in 0..300 {
        if app
            .state
            .oidc
            .get(PROVIDER)
            .is_some_and(|p| p.is_available())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the provider was not discovered within 30 s");
}

/// A browser: the provider's cookies, kept across its redirects.
#[derive(Default)]
pub struct Browser {
    jar: HashMap<String, String>,
}

/// A callback the provider sent the browser to, and the binding cookie.
pub struct Callback {
    /// Path and query on latchkey.
    pub path: String,
    pub binding: Option<String>,
}

pub fn cookie_value(reply: &Reply, name: &str) -> Option<String> {
    reply.set_cookies().iter().find_map(|c| {
        let (pair, _) = c.split_once(';').unwrap_or((c, ""));
        let (n, v) = pair.split_once('=')?;
        (n == name && !v.is_empty()).then(|| v.to_owned())
    })
}

impl Browser {
    /// Starts at `/v1/oidc/test/start{query}` (with a session cookie when
    /// signed in) and follows the provider until it sends the browser back.
    pub async fn sign_in(&mut self, app: &TestApp, query: &str, session: Option<&str>) -> Callback {
        let mut start = app.get(&format!("/v1/oidc/{PROVIDER}/start{query}"));
        if let Some(cookie) = session {
            start = start.header(header::COOKIE, format!("{}={cookie}", app.cookie_name));
        }
        let r = app.send(start).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let binding = cookie_value(&r, "__Host-lk_oidc");
        let mut location = r.header("location").expect("Location").to_owned();
        for _ in 0..6 {
            if let Some(path) = location.strip_prefix("http://127.0.0.1:0") {
                return Callback {
                    path: path.to_owned(),
                    binding,
                };
            }
            location = self.follow(&location).await;
        }
        panic!("the provider did not send the browser back");
    }

    async fn follow(&mut self, url: &str) -> String {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let r = self
            .http()
            .get(url)
            .header(header::COOKIE, cookies.join("; "))
            .send()
            .await
            .expect("provider answers");
        for c in r.headers().get_all(header::SET_COOKIE) {
            let c = c.to_str().expect("ASCII");
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((n, v)) = pair.split_once('=') {
                self.jar.insert(n.to_owned(), v.to_owned());
            }
        }
        let status = r.status();
        let location = r
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().expect("ASCII").to_owned());
        let location =
            location.unwrap_or_else(|| panic!("provider answered {status} without Location"));
        match location.strip_prefix('/') {
            Some(path) => format!("{}/{path}", origin(url)),
            None => location,
        }
    }

    fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// Signs out at the provider (RP-initiated logout, confirmed), which
    /// sends latchkey a back-channel logout token.
    pub async fn sign_out_at(&mut self, peer: &Peer) {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let cookies = cookies.join("; ");
        let page = self
            .http()
            .get(format!("{}/session/end?client_id={CLIENT_ID}", peer.issuer))
            .header(header::COOKIE, &cookies)
            .send()
            .await
            .expect("provider answers")
            .text()
            .await
            .expect("page");
        let xsrf = page
            .split("name=\"xsrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the logout page has an xsrf field");
        let r = self
            .http()
            .post(format!("{}/session/end/confirm", peer.issuer))
            .header(header::COOKIE, &cookies)
            .form(&[("xsrf", xsrf), ("logout", "yes")])
            .send()
            .await
            .expect("provider answers");
        assert!(
            r.status().is_redirection() || r.status().is_success(),
            "{}",
            r.status()
        );
    }
}

fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("absolute URL");
    let host = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{host}")
}

/// Sends the callback from the browser holding `binding`.
pub async fn callback(app: &TestApp, cb: &Callback, binding: Option<&str>) -> Reply {
    let mut rb = app.get(&cb.path);
    if let Some(b) = binding {
        rb = rb.header(header::COOKIE, format!("__Host-lk_oidc={b}"));
    }
    app.send(rb).await
}
