//! Recovery codes: ten single-use codes shown once, stored only as SHA-256
//! hashes. Each carries 80 random bits (16 base32 characters, shown as
//! `xxxx-xxxx-xxxx-xxxx`), so a plain hash is as good as a slow one: there
//! is nothing to brute-force (NIST SP 800-63B §5.1.2.2 lets look-up secrets
//! of 64 bits or more be stored with an approved one-way function).

use latchkey_core::sha256;

use crate::error::AuthError;
use crate::random;

/// How many codes a set holds.
pub const CODES_PER_SET: usize = 10;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const CHARS: usize = 16;

/// A new set: the codes to show once, and the hashes to store.
pub fn new_set() -> Result<(Vec<String>, Vec<[u8; 32]>), AuthError> {
    let mut codes = Vec::with_capacity(CODES_PER_SET);
    let mut hashes = Vec::with_capacity(CODES_PER_SET);
    while codes.len() < CODES_PER_SET {
        let code = encode(&random::<10>()?);
        let hash = hash(&code).ok_or_else(|| AuthError::Internal("recovery code".into()))?;
        if !hashes.contains(&hash) {
            codes.push(code);
            hashes.push(hash);
        }
    }
    Ok((codes, hashes))
}

/// 80 bits as 16 base32 characters in groups of four.
fn encode(bytes: &[u8; 10]) -> String {
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(*b);
    }
    let mut out = String::with_capacity(CHARS + 3);
    for i in 0..CHARS {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let shift = 5 * (CHARS - 1 - i);
        let index = usize::try_from((bits >> shift) & 31).unwrap_or(0);
        out.push(char::from(ALPHABET[index]));
    }
    out
}

/// The hash of a presented code, read leniently (any case, dashes and
/// spaces ignored); `None` if it cannot be a recovery code.
pub fn hash(presented: &str) -> Option<[u8; 32]> {
    if presented.len() > 64 {
        return None;
    }
    let canonical: String = presented
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid = canonical.len() == CHARS && canonical.bytes().all(|b| ALPHABET.contains(&b));
    valid.then(|| sha256(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_set_is_ten_distinct_codes_of_80_bits_hashed() {
        let (codes, hashes) = new_set().unwrap();
        assert_eq!((codes.len(), hashes.len()), (10, 10));
        for (code, h) in codes.iter().zip(&hashes) {
            assert_eq!(code.len(), 19, "{code}");
            assert_eq!(code.matches('-').count(), 3);
            assert_eq!(hash(code).as_ref(), Some(h));
        }
    }

    #[test]
    fn codes_are_read_in_any_case_with_or_without_dashes() {
        let code = encode(&[0xA5; 10]);
        let h = hash(&code).unwrap();
        assert_eq!(hash(&code.to_uppercase()), Some(h));
        assert_eq!(hash(&code.replace('-', "")), Some(h));
        assert_eq!(hash(&code.replace('-', " ")), Some(h));
        assert_eq!(hash("123456"), None);
        assert_eq!(hash(&format!("{code}a")), None);
        assert_eq!(hash("0000-0000-0000-0000"), None, "0 and 1 are not base32");
    }

    #[test]
    fn encoding_is_big_endian_base32() {
        assert_eq!(encode(&[0; 10]), "aaaa-aaaa-aaaa-aaaa");
        assert_eq!(encode(&[0xFF; 10]), "7777-7777-7777-7777");
    }
}
