//! Regressions from the security review (issue 9) for the Redis wrapper:
//! write access to Redis must not be a login as anyone.

use latchkey_store::Secrets as _;

use super::*;

fn raw_get(prefix: &Prefix, key: &str) -> Option<Vec<u8>> {
    let mut c = connection(&prefix.url).unwrap();
    redis::cmd("GET")
        .arg(format!("{}{key}", prefix.prefix))
        .query(&mut c)
        .unwrap()
}

fn raw_set(prefix: &Prefix, key: &str, value: &[u8]) {
    let mut c = connection(&prefix.url).unwrap();
    redis::cmd("SET")
        .arg(format!("{}{key}", prefix.prefix))
        .arg(value)
        .arg("PX")
        .arg(60_000)
        .query::<()>(&mut c)
        .unwrap();
}

/// A cache entry as an attacker would write it from the (public) format
/// of the first release: tag, version, then the fields.
fn hand_made_entry(session: &Session, username: &str) -> Vec<u8> {
    fn put(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&u32::try_from(s.len()).unwrap().to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = vec![b'S', 1];
    put(&mut out, session.handle.as_str());
    put(&mut out, &session.user_id.to_string());
    put(&mut out, username);
    for t in [
        session.created_at,
        session.last_seen_at,
        session.idle_expires_at,
        session.absolute_expires_at,
    ] {
        out.extend_from_slice(&t.unix_millis().to_be_bytes());
    }
    out.extend_from_slice(&[0, 0, 0]);
    out
}

/// The session `store` serves for `secret`, by user name.
async fn served_as(store: &dyn Store, secret: &SessionSecret) -> Option<String> {
    store
        .session_by_secret(&secret.hash())
        .await
        .unwrap()
        .map(|(_, name)| name.as_str().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i9_14_forged_session_cache_entries_are_refused() {
    let Some(TwoNodes { a, b, shared }) = two_nodes().await else {
        return;
    };
    let (inner, prefix) = (&shared.inner, &shared.prefix);
    let alice = user(&a, "alice", 1).await;
    let mallory = user(&a, "mallory", 2).await;
    let (alice_secret, alice_session) = session(&a, &alice, 10).await;
    let (mallory_secret, _) = session(&a, &mallory, 11).await;
    assert_eq!(served_as(&a, &alice_secret).await.as_deref(), Some("alice"));
    let genuine = raw_get(prefix, &cache_key(&alice_secret)).expect("alice is cached");
    // Nodes sharing the durable store share the key: b takes a's entry.
    assert_eq!(served_as(&b, &alice_secret).await.as_deref(), Some("alice"));

    // 1. Alice's genuine entry under a secret the attacker chose, and
    //    under the attacker's own session.
    let chosen = SessionSecret::from_random([99; 32]);
    raw_set(prefix, &cache_key(&chosen), &genuine);
    raw_set(prefix, &cache_key(&mallory_secret), &genuine);
    // 2. An entry written from scratch.
    let scratch = SessionSecret::from_random([98; 32]);
    raw_set(
        prefix,
        &cache_key(&scratch),
        &hand_made_entry(&alice_session, "alice"),
    );
    for node in [&a, &b] {
        assert_eq!(served_as(node, &chosen).await, None);
        assert_eq!(served_as(node, &scratch).await, None);
        assert_eq!(
            served_as(node, &mallory_secret).await.as_deref(),
            Some("mallory")
        );
    }
    // 3. A genuine entry with its absolute expiry pushed back.
    let end = alice_session
        .absolute_expires_at
        .unix_millis()
        .to_be_bytes();
    let at = genuine
        .windows(8)
        .position(|w| w == end)
        .expect("expiry in the entry");
    let mut longer = genuine.clone();
    longer[at..at + 8].copy_from_slice(&i64::MAX.to_be_bytes());
    raw_set(prefix, &cache_key(&alice_secret), &longer);
    let (served, _) = a
        .session_by_secret(&alice_secret.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        served.absolute_expires_at,
        alice_session.absolute_expires_at
    );

    // The key is a server secret of the durable store, not of Redis.
    let kept = inner
        .secret_or_insert("session_cache_key", &[0; 32])
        .await
        .unwrap();
    assert_ne!(kept, vec![0; 32]);
    let leaked = prefix.keys().unwrap();
    for key in leaked.iter().filter(|k| k.contains(":sess:")) {
        if let Some(value) = raw_get(prefix, key.trim_start_matches(&prefix.prefix)) {
            assert!(!value.windows(32).any(|w| w == kept.as_slice()), "{key}");
        }
    }
}
