//! Authenticated cache entries: every session entry written to Redis
//! carries `HMAC-SHA256(key, "latchkey-session-cache-v1" || 0 || secret
//! hash || entry)`, and a lookup serves only an entry whose tag verifies.
//!
//! The key is a server secret of the durable store (`session_cache_key`,
//! made on first use like the other server secrets), never written to
//! Redis. So write access to Redis cannot make a session: an entry forged
//! from scratch, edited, or moved to another secret's key (the secret hash
//! is under the tag) is refused and the durable store answers instead.

use aws_lc_rs::hmac;

use crate::{Result, Secrets, StoreError};

/// The name of the server secret the tags are made with.
pub(crate) const SECRET_NAME: &str = "session_cache_key";
const CONTEXT: &[u8] = b"latchkey-session-cache-v1\0";
const TAG_LEN: usize = 32;

/// The key cache entries are authenticated with.
pub(crate) struct CacheKey(hmac::Key);

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(..)")
    }
}

impl CacheKey {
    /// The key kept in `store` (stored there now if there is none yet).
    pub(crate) async fn from_store<S: Secrets + ?Sized>(store: &S) -> Result<Self> {
        let mut candidate = [0u8; 32];
        aws_lc_rs::rand::fill(&mut candidate)
            .map_err(|_| StoreError::Unavailable("OS random failed".into()))?;
        let stored = store.secret_or_insert(SECRET_NAME, &candidate).await?;
        if stored.len() != 32 {
            return Err(StoreError::Corrupt(format!(
                "{SECRET_NAME} has the wrong length"
            )));
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, &stored)))
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    fn tag(&self, secret_hash: &[u8], entry: &[u8]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(CONTEXT);
        ctx.update(secret_hash);
        ctx.update(entry);
        ctx.sign()
    }

    /// `entry` followed by its tag, for the cache key of `secret_hash`.
    pub(crate) fn seal(&self, secret_hash: &[u8], mut entry: Vec<u8>) -> Vec<u8> {
        let tag = self.tag(secret_hash, &entry);
        entry.extend_from_slice(tag.as_ref());
        entry
    }

    /// The entry in `sealed` if its tag verifies for `secret_hash`
    /// (compared in constant time), else `None`.
    pub(crate) fn open<'a>(&self, secret_hash: &[u8], sealed: &'a [u8]) -> Option<&'a [u8]> {
        let split = sealed.len().checked_sub(TAG_LEN)?;
        let (entry, tag) = sealed.split_at(split);
        let mut ctx = Vec::with_capacity(CONTEXT.len() + secret_hash.len() + entry.len());
        ctx.extend_from_slice(CONTEXT);
        ctx.extend_from_slice(secret_hash);
        ctx.extend_from_slice(entry);
        hmac::verify(&self.0, &ctx, tag).ok().map(|()| entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sealed_entry_under_its_own_secret_opens() {
        let key = CacheKey::from_bytes(&[1; 32]);
        let sealed = key.seal(&[2; 32], b"entry".to_vec());
        assert_eq!(key.open(&[2; 32], &sealed), Some(b"entry".as_slice()));
        assert_eq!(key.open(&[3; 32], &sealed), None, "moved to another secret");
        for i in 0..sealed.len() {
            let mut edited = sealed.clone();
            edited[i] ^= 1;
            assert_eq!(key.open(&[2; 32], &edited), None, "byte {i} edited");
        }
        assert_eq!(key.open(&[2; 32], &sealed[..31]), None);
        let other = CacheKey::from_bytes(&[9; 32]);
        assert_eq!(other.open(&[2; 32], &sealed), None, "another key");
    }
}
