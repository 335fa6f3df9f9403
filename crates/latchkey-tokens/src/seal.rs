//! Encryption of private key bytes at rest, with AES-256-GCM.
//!
//! Format: `nonce (12 bytes) || ciphertext || tag (16 bytes)`. The nonce is
//! 96 random bits from the OS source for every call; with one master key
//! that stays well inside GCM's random-nonce bound (2^32 messages) for any
//! realistic number of key rotations. The associated data should be the
//! key's `kid`, so a sealed private key copied onto another key's row fails
//! to open instead of silently signing under the wrong `kid`.
//!
//! The master key comes from configuration or a secret manager; how it is
//! stored and rotated is the caller's business.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::error::SealError;

/// Length of the authentication tag appended by AES-GCM.
const TAG_LEN: usize = 16;

/// Encrypts `plaintext` under `master_key`, binding it to `aad`.
pub fn seal(master_key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
    let key = cipher(master_key)?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SealError::Seal)?;
    let mut sealed = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut sealed[NONCE_LEN..],
        )
        .map_err(|_| SealError::Seal)?;
    sealed.extend_from_slice(tag.as_ref());
    Ok(sealed)
}

/// Decrypts what [`seal`] produced with the same `master_key` and `aad`.
/// Any change to the bytes, the key or the `aad` is
/// [`SealError::Unauthentic`]. The plaintext is wiped when dropped.
pub fn open(
    master_key: &[u8; 32],
    sealed: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Truncated);
    }
    let key = cipher(master_key)?;
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Truncated)?;
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let plaintext_len = key
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .map_err(|_| SealError::Unauthentic)?
        .len();
    buffer.truncate(plaintext_len);
    Ok(buffer)
}

fn cipher(master_key: &[u8; 32]) -> Result<LessSafeKey, SealError> {
    let key = UnboundKey::new(&AES_256_GCM, master_key).map_err(|_| SealError::Seal)?;
    Ok(LessSafeKey::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: [u8; 32] = [42; 32];

    #[test]
    fn sealed_bytes_open_with_the_same_key_and_kid() {
        let sealed = seal(&MASTER, b"private key", b"kid-1");
        let opened = sealed.and_then(|sealed| open(&MASTER, &sealed, b"kid-1"));
        assert_eq!(opened.map(|p| p.to_vec()), Ok(b"private key".to_vec()));
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        assert_ne!(seal(&MASTER, b"x", b"k"), seal(&MASTER, b"x", b"k"));
    }

    #[test]
    fn tampering_the_key_the_kid_or_any_byte_is_refused() {
        let Ok(sealed) = seal(&MASTER, b"private key", b"kid-1") else {
            panic!("seal failed");
        };
        assert_eq!(
            open(&[43; 32], &sealed, b"kid-1").err(),
            Some(SealError::Unauthentic)
        );
        assert_eq!(
            open(&MASTER, &sealed, b"kid-2").err(),
            Some(SealError::Unauthentic)
        );
        for i in 0..sealed.len() {
            let mut altered = sealed.clone();
            altered[i] ^= 0x01;
            assert_eq!(
                open(&MASTER, &altered, b"kid-1").err(),
                Some(SealError::Unauthentic)
            );
        }
        let truncated = &sealed[..NONCE_LEN + TAG_LEN - 1];
        assert_eq!(
            open(&MASTER, truncated, b"kid-1").err(),
            Some(SealError::Truncated)
        );
    }
}
