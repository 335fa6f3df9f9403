//! Signing keys between the store and memory: create the first key, rotate,
//! load the set (current + previous keys still verifying), and seal private
//! parts with the master key when one is configured.
//!
//! **Invariant:** with a master key, no private key reaches the store
//! unsealed, and none stays there unsealed (keys written before the master
//! key was set are sealed at start, `seal_unsealed`); sealed keys are bound to their `kid` (AES-GCM associated data),
//! so a sealed blob cannot be moved to another row.

use std::time::Duration;

use latchkey_core::Timestamp;
use latchkey_store::{KeyRecord, Store, StoreError};
use latchkey_tokens::{Algorithm, KeyMaterial, KeySet, Kid, StoredKey};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {kid}: {why}")]
    Key { kid: String, why: String },
    #[error("signing keys are sealed with a master key; set LATCHKEY_MASTER_KEY")]
    MasterKeyMissing,
    #[error("no current signing key in the store")]
    NoCurrentKey,
}

/// What the key ring needs to know.
#[derive(Clone)]
pub struct KeyPolicy {
    pub algorithm: Algorithm,
    /// Zeroed when the last copy is dropped.
    pub master_key: Option<Zeroizing<[u8; 32]>>,
    /// How long a retired key keeps verifying: the access-token lifetime
    /// plus the time other nodes may take to notice the rotation.
    pub retire_after: Duration,
}

impl std::fmt::Debug for KeyPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPolicy")
            .field("algorithm", &self.algorithm)
            .field("sealed", &self.master_key.is_some())
            .field("retire_after", &self.retire_after)
            .finish()
    }
}

fn key_err(kid: &str, why: impl std::fmt::Display) -> KeyRingError {
    KeyRingError::Key {
        kid: kid.to_owned(),
        why: why.to_string(),
    }
}

/// A new key, its `kid` drawn again while it names one of `taken`.
fn new_record(
    policy: &KeyPolicy,
    now: Timestamp,
    taken: &[KeyRecord],
) -> Result<KeyRecord, KeyRingError> {
    let kid = loop {
        let kid = Kid::random().map_err(|e| key_err("new", e))?;
        if taken.iter().all(|k| k.kid != kid.as_str()) {
            break kid;
        }
    };
    let material = KeyMaterial::generate(policy.algorithm, kid).map_err(|e| key_err("new", e))?;
    let stored = material.to_stored();
    let kid = stored.kid.as_str().to_owned();
    let (private, sealed) = match &policy.master_key {
        Some(master) => (
            latchkey_tokens::seal(master, &stored.private, kid.as_bytes())
                .map_err(|e| key_err(&kid, e))?,
            true,
        ),
        None => (stored.private.clone(), false),
    };
    Ok(KeyRecord {
        kid,
        alg: policy.algorithm.as_str().to_owned(),
        private,
        sealed,
        created_at: now,
        retired_at: None,
        not_after: None,
    })
}

fn material(record: &KeyRecord, policy: &KeyPolicy) -> Result<KeyMaterial, KeyRingError> {
    let kid = Kid::parse(&record.kid).map_err(|e| key_err(&record.kid, e))?;
    let alg = Algorithm::parse(&record.alg).map_err(|e| key_err(&record.kid, e))?;
    let private = if record.sealed {
        let master = policy
            .master_key
            .as_ref()
            .ok_or(KeyRingError::MasterKeyMissing)?;
        latchkey_tokens::open(master, &record.private, record.kid.as_bytes())
            .map_err(|e| key_err(&record.kid, e))?
            .to_vec()
    } else {
        record.private.clone()
    };
    KeyMaterial::from_stored(&StoredKey {
        kid,
        alg,
        private,
        public_jwk: None,
    })
    .map_err(|e| key_err(&record.kid, e))
}

/// With a master key, seals every key still stored unsealed (written
/// before the master key was set), so that no private key stays in the
/// clear beside sealed ones. Returns the kids it sealed.
pub async fn seal_unsealed(
    store: &dyn Store,
    policy: &KeyPolicy,
) -> Result<Vec<String>, KeyRingError> {
    let Some(master) = &policy.master_key else {
        return Ok(Vec::new());
    };
    let mut sealed = Vec::new();
    for record in store.keys().await?.iter().filter(|k| !k.sealed) {
        let blob = latchkey_tokens::seal(master, &record.private, record.kid.as_bytes())
            .map_err(|e| key_err(&record.kid, e))?;
        if store.seal_key(&record.kid, &blob).await? {
            sealed.push(record.kid.clone());
        }
    }
    Ok(sealed)
}

/// What a node does with the keys at start: seals keys stored unsealed
/// (with a master key), makes the first key or rotates to the configured
/// algorithm, and loads the set; each change is logged.
pub async fn start(
    store: &dyn Store,
    policy: &KeyPolicy,
    now: Timestamp,
) -> Result<KeySet, KeyRingError> {
    let sealed = seal_unsealed(store, policy).await?;
    if !sealed.is_empty() {
        tracing::warn!(
            kids = ?sealed,
            "sealed signing keys that were stored unencrypted before the master key was set"
        );
    }
    if let Some(kid) = ensure_current(store, policy, now).await? {
        tracing::info!(
            kid,
            algorithm = policy.algorithm.as_str(),
            "created signing key"
        );
    }
    load(store, policy, now).await
}

/// Makes sure there is a current key of the configured algorithm: creates
/// the first key on first start, rotates when the configured algorithm
/// changed. Returns the kid of a key it made, if any.
pub async fn ensure_current(
    store: &dyn Store,
    policy: &KeyPolicy,
    now: Timestamp,
) -> Result<Option<String>, KeyRingError> {
    let keys = store.keys().await?;
    match keys.iter().find(|k| k.retired_at.is_none()) {
        None => {
            let record = new_record(policy, now, &keys)?;
            let made = store.add_first_key(&record).await?;
            Ok(made.then_some(record.kid))
        }
        Some(current) if current.alg != policy.algorithm.as_str() => {
            Ok(Some(rotate(store, policy, now).await?))
        }
        Some(_) => Ok(None),
    }
}

/// Makes a new current key; the old one keeps verifying for
/// `policy.retire_after`. Returns the new kid. Without the master key on
/// a store whose keys are sealed, refuses: the new key would be written
/// in the clear beside sealed ones.
pub async fn rotate(
    store: &dyn Store,
    policy: &KeyPolicy,
    now: Timestamp,
) -> Result<String, KeyRingError> {
    let keys = store.keys().await?;
    if policy.master_key.is_none() && keys.iter().any(|k| k.sealed) {
        return Err(KeyRingError::MasterKeyMissing);
    }
    let record = new_record(policy, now, &keys)?;
    store
        .rotate_key(&record, now, now.saturating_add(policy.retire_after))
        .await?;
    Ok(record.kid)
}

/// The key set as stored at `now`: the current key and every retired key
/// still within its `not_after`.
pub async fn load(
    store: &dyn Store,
    policy: &KeyPolicy,
    now: Timestamp,
) -> Result<KeySet, KeyRingError> {
    let records = store.keys().await?;
    let current = records
        .iter()
        .find(|k| k.retired_at.is_none())
        .ok_or(KeyRingError::NoCurrentKey)?;
    let mut set = KeySet::new(material(current, policy)?);
    for r in records.iter().filter(|k| k.retired_at.is_some()) {
        let Some(not_after) = r.not_after.filter(|t| *t > now) else {
            continue;
        };
        set = set
            .with_previous(material(r, policy)?, not_after.unix_seconds())
            .map_err(|e| key_err(&r.kid, e))?;
    }
    Ok(set)
}
