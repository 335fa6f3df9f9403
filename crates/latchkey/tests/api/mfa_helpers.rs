//! Second factors in the harness: an RFC 6238 implementation of its own
//! (HMAC-SHA-1 from aws-lc-rs, RFC 4648 base32, RFC 4226 truncation), never
//! `totp-rs`, and the enrolment and two-step login as a client does them.

use std::time::Duration;

use aws_lc_rs::hmac;
use latchkey_core::Clock as _;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Login, Reply, RequestExt as _, TestApp, assert_problem};

/// RFC 4648 base32 (upper case, padding optional).
pub fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("base32 character") as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

/// The six-digit RFC 6238 code (SHA-1, 30 s) of `step` for `secret`.
pub fn totp_at_step(secret: &[u8], step: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let m = mac.as_ref();
    let offset = usize::from(m[19] & 0x0f);
    let bin = u32::from_be_bytes([
        m[offset] & 0x7f,
        m[offset + 1],
        m[offset + 2],
        m[offset + 3],
    ]);
    format!("{:06}", bin % 1_000_000)
}

/// A user's TOTP factor as the harness holds it.
#[derive(Clone, Debug)]
pub struct Totp {
    pub secret: Vec<u8>,
    pub recovery_codes: Vec<String>,
}

impl TestApp {
    /// The current RFC 6238 step of the server's clock.
    pub fn step(&self) -> i64 {
        self.clock.now().unix_seconds().div_euclid(30)
    }

    /// A code no earlier request used: the clock moves to the next step
    /// first (a step is accepted once).
    pub fn fresh_code(&self, totp: &Totp) -> String {
        self.advance(Duration::from_secs(30));
        totp_at_step(&totp.secret, self.step())
    }

    /// Enrols and confirms TOTP for the signed-in `login` (cookie and CSRF
    /// token), checking each answer's shape.
    pub async fn enrol_totp(&self, login: &Login) -> Totp {
        let r = self.send(self.post("/v1/mfa/totp").authed(login)).await;
        assert_eq!(r.status, StatusCode::OK, "enrol: {}", r.body);
        let body = r.json();
        let secret_b32 = body["secret"].as_str().expect("secret").to_owned();
        let uri = body["otpauth_uri"].as_str().expect("otpauth_uri");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={secret_b32}")), "{uri}");
        let secret = base32_decode(&secret_b32);
        assert_eq!(secret.len(), 20, "160-bit secret");
        let code = totp_at_step(&secret, self.step());
        let r = self.confirm_totp(login, &code).await;
        assert_eq!(r.status, StatusCode::OK, "confirm: {}", r.body);
        let codes: Vec<String> = r.json()["recovery_codes"]
            .as_array()
            .expect("recovery_codes")
            .iter()
            .map(|c| c.as_str().expect("a code").to_owned())
            .collect();
        assert_eq!(codes.len(), 10);
        Totp {
            secret,
            recovery_codes: codes,
        }
    }

    pub async fn confirm_totp(&self, login: &Login, code: &str) -> Reply {
        self.send(
            self.post("/v1/mfa/totp/confirm")
                .authed(login)
                .json(&json!({ "code": code })),
        )
        .await
    }

    /// A user with TOTP, signed out again: `(session used to enrol, factor)`.
    pub async fn mfa_user(&self, username: &str) -> (Login, Totp) {
        let login = self.user(username).await;
        let totp = self.enrol_totp(&login).await;
        (login, totp)
    }

    /// `POST /v1/mfa/verify`.
    pub fn verify_request(&self, mfa_token: &str, code: &str) -> RequestBuilder {
        self.post("/v1/mfa/verify")
            .json(&json!({ "mfa_token": mfa_token, "code": code }))
    }

    pub async fn verify(&self, mfa_token: &str, code: &str) -> Reply {
        self.send(self.verify_request(mfa_token, code)).await
    }
}

/// The `mfa_token` of an `mfa_required` answer, after checking its shape:
/// `401`, the methods offered, and no credential issued.
pub fn mfa_token_of(r: &Reply) -> String {
    assert_problem(r, 401, "mfa_required");
    assert!(
        r.set_cookies().is_empty(),
        "no cookie before the second step"
    );
    let body: Value = r.json();
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    assert!(body.get("access_token").is_none() && body.get("csrf_token").is_none());
    let token = body["mfa_token"].as_str().expect("mfa_token").to_owned();
    assert!(token.len() >= 43, "opaque, 256 bits: {token}");
    token
}
