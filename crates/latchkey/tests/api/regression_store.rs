//! Regressions from the security review (issue 9) about what a node
//! checks against the store at start: the issuer every node shares, and
//! signing keys left unsealed when a master key is set.

use std::collections::HashMap;
use std::sync::Arc;

use latchkey::Application;
use latchkey::config::{self, Config, MasterKey, Overrides};
use latchkey_core::{Clock, ManualClock};
use tempfile::TempDir;

use crate::helpers::START;

/// A node's configuration on the database in `dir`, from `LATCHKEY_*`
/// variables.
fn node(dir: &TempDir, env: &[(&str, &str)]) -> Config {
    let overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        database_url: Some(format!("sqlite://{}/t.db", dir.path().display())),
    };
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    config::load(None, env, &overrides).expect("config")
}

async fn build(config: &Config) -> anyhow::Result<Application> {
    let clock = Arc::new(ManualClock::new(START)) as Arc<dyn Clock>;
    Application::build_with_clock(config, clock).await
}

fn issuer_of(app: &Application) -> String {
    app.state().tokens.settings().issuer.clone()
}

#[tokio::test]
async fn i9_13_a_node_with_another_issuer_refuses_to_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = build(&node(
        &dir,
        &[("LATCHKEY_ISSUER", "https://auth.example.test")],
    ))
    .await
    .expect("first start");
    drop(first);
    // Another explicit issuer on the same store: a one-line refusal that
    // names both values.
    let err = build(&node(
        &dir,
        &[("LATCHKEY_ISSUER", "https://other.example.test")],
    ))
    .await
    .err()
    .expect("a node with another issuer must not start");
    let msg = format!("{err:#}");
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert!(msg.contains("https://auth.example.test"), "{msg}");
    assert!(msg.contains("https://other.example.test"), "{msg}");
    // The same issuer starts; so does a node without one, which takes the
    // recorded issuer rather than its listen address.
    let same = build(&node(
        &dir,
        &[("LATCHKEY_ISSUER", "https://auth.example.test")],
    ))
    .await
    .expect("same issuer");
    assert_eq!(issuer_of(&same), "https://auth.example.test");
    let unset = build(&node(&dir, &[])).await.expect("no issuer");
    assert_eq!(issuer_of(&unset), "https://auth.example.test");
    assert_eq!(
        unset.state().settings.public_origin.as_deref(),
        Some("https://auth.example.test")
    );
}

#[tokio::test]
async fn i9_13_nodes_started_without_an_issuer_agree_on_the_first_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = build(&node(&dir, &[])).await.expect("node a");
    let recorded = issuer_of(&a);
    let mut other = node(&dir, &[]);
    other.issuer = "http://127.0.0.1:9".into();
    other.http.tokens.issuer = other.issuer.clone();
    let b = build(&other).await.expect("node b");
    assert_eq!(issuer_of(&b), recorded);
}

#[tokio::test]
async fn i9_15_unsealed_keys_are_sealed_at_start_when_a_master_key_is_set() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = build(&node(&dir, &[])).await.expect("without a master key");
    let store = plain.state().store().clone();
    assert!(store.keys().await.expect("keys").iter().all(|k| !k.sealed));
    drop(plain);
    let mut sealed = node(&dir, &[]);
    sealed.master_key = Some(MasterKey::from_bytes([7; 32]));
    let app = build(&sealed).await.expect("with a master key");
    let keys = app.state().store().keys().await.expect("keys");
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| k.sealed), "{keys:?}");
    drop(app);
    // Now the master key is required.
    let err = build(&node(&dir, &[])).await.err().expect("refused");
    assert!(
        format!("{err:#}").contains("LATCHKEY_MASTER_KEY"),
        "{err:#}"
    );
}

#[test]
fn i9_15_redact_url_hides_passwords_in_the_query_too() {
    use latchkey::app::redact_url;
    for (url, secret) in [
        (
            "postgres://app@db/lk?sslmode=require&password=hunter2",
            "hunter2",
        ),
        ("postgres://db/lk?password=hunter2", "hunter2"),
        ("postgres://app:s3cret@db/lk?PASSWORD=hunter2", "hunter2"),
        ("postgres://app:s3cret@db/lk?sslpassword=k3y&x=1", "k3y"),
        ("postgres://app:s3cret@db/lk", "s3cret"),
        ("redis://:s3cret@cache:6379/0", "s3cret"),
    ] {
        let shown = redact_url(url);
        assert!(!shown.contains(secret), "{url} -> {shown}");
    }
    assert_eq!(
        redact_url("postgres://app@db/lk?sslmode=require&password=x&application_name=a"),
        "postgres://app@db/lk?sslmode=require&password=***&application_name=a"
    );
    assert_eq!(redact_url("sqlite://latchkey.db"), "sqlite://latchkey.db");
}

#[test]
fn i9_15_the_master_key_is_not_copy_and_is_zeroed_on_drop() {
    // A `Copy` type has no drop glue; a key that zeroes itself has.
    assert!(std::mem::needs_drop::<MasterKey>());
    let c = node(
        &tempfile::tempdir().expect("temp dir"),
        &[(
            "LATCHKEY_MASTER_KEY",
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        )],
    );
    assert_eq!(format!("{:?}", c.master_key), "Some(MasterKey(..))");
}
