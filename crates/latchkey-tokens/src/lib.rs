//! latchkey's JWT access tokens: signing keys, rotation, JWKS, issuing and
//! verifying.
//!
//! # What this crate does and does not do
//!
//! It turns [`AccessClaims`] into a compact JWS (`header.payload.signature`)
//! with the header `{"alg","kid","typ":"at+jwt"}` (RFC 9068), and turns such
//! a string back into claims only after every check below has passed. It
//! performs no IO and **never reads the clock**: every time-dependent
//! function takes `now_unix: i64` (seconds since the Unix epoch), so expiry
//! is tested at its exact edges. The OS random source is used only where a
//! secret must be fresh: key generation ([`KeyMaterial::generate`],
//! [`Kid::random`]), the AES-GCM nonce in [`seal`], and ECDSA/RSA signing
//! inside aws-lc.
//!
//! # Decisions (RFC 8725, JWT Best Current Practices)
//!
//! * **The key decides the algorithm.** The verifier looks up the key by
//!   `kid` and refuses the token unless the header's `alg` equals the
//!   algorithm that key was created for (RFC 8725 §3.1). An HS256 token
//!   "signed" with an ES256/RS256/EdDSA public key is therefore refused
//!   before any MAC is computed, and `none` in any spelling never verifies.
//! * **No keys from the token.** Headers carrying `jwk`, `jku`, `x5u`,
//!   `x5c`, `x5t` or `x5t#S256` are refused, as is any `crit` header (we
//!   understand no extensions), and any other header parameter: latchkey
//!   issues exactly `alg`, `kid` and `typ`, so anything else is not ours.
//! * **Explicit typing** (RFC 8725 §3.11): `typ` must be `at+jwt` or
//!   `application/at+jwt` (case-insensitive, RFC 9068 §4), which keeps ID
//!   tokens and other JWTs signed by the same keys from being replayed as
//!   access tokens.
//! * **Strict parsing before and after the signature.** A token longer than
//!   [`MAX_TOKEN_LEN`] bytes is refused before any decoding; it must be
//!   exactly three base64url parts without padding and with canonical
//!   trailing bits; header and claims must be JSON objects without
//!   duplicate member names. The payload is parsed only after the signature
//!   has verified.
//! * **Claims are parsed by us, into `i64`.** `exp`, `iat` and `nbf` must be
//!   JSON integers: a string such as `"exp":"9999999999"` (the shape behind
//!   CVE-2026-25537 in jsonwebtoken < 10.3) or a float is refused, never
//!   skipped. `iss`, `sub`, `aud`, `exp`, `iat`, `jti` and `sid` are
//!   required.
//! * **Time rules**, with `leeway = Expectations::leeway_secs` (default 0):
//!   expired when `now >= exp + leeway`; not yet valid when
//!   `nbf > now + leeway`; refused when `iat > now + leeway` (a token from
//!   the future means a broken or hostile issuer clock). Arithmetic
//!   saturates, so `exp = i64::MAX` cannot overflow.
//! * **Rotation.** A [`KeySet`] has one current signing key and previous
//!   keys kept for verification until their `not_after` (unix seconds); a
//!   token whose key is past `not_after` is refused even if the key is
//!   still loaded.
//! * **Secrets never print.** No error carries any part of the token or the
//!   `kid` it named; `Debug` of keys shows only `kid` and `alg`. The JWKS
//!   never contains an HS256 secret.
//!
//! # Why aws-lc-rs directly rather than jsonwebtoken
//!
//! All policy above lives here, so a JOSE library would only contribute
//! the four primitive calls, which we make to aws-lc-rs directly (the same
//! ones jsonwebtoken's `aws_lc_rs` backend makes). jsonwebtoken 11 was not
//! used in the library because: its RS256 signer accepts only PKCS#1 DER,
//! while aws-lc-rs generates and exports PKCS#8; it re-parses the private
//! key on every signature; and its process-global crypto provider panics on
//! first use if feature unification anywhere in the dependency graph turns
//! on both of its backends. It remains a dev-dependency: the tests check
//! that tokens we issue verify with it and vice versa.

#![warn(missing_docs)]

mod algorithm;
mod claims;
mod error;
mod header;
mod json;
mod jws;
mod keys;
mod keyset;
mod seal;
mod verification_key;
mod verifier;

pub use algorithm::{Algorithm, Kid};
pub use claims::{AccessClaims, Expectations};
pub use error::{KeyError, SealError, SignError, TokenError};
pub use header::Header;
pub use jws::{MAX_TOKEN_LEN, verify_signature_only};
pub use keys::{KeyMaterial, StoredKey};
pub use keyset::KeySet;
pub use seal::{open, seal};
pub use verification_key::VerificationKey;
pub use verifier::Verifier;
