//! The floor latchkey's per-request cost is measured against
//! (`scripts/bench.sh`): bare axum on the same runtime, answering
//!
//! - `GET /hello`: nothing but HTTP;
//! - `GET /hs256`: after verifying an HS256 bearer token with jsonwebtoken;
//! - `GET /eddsa`: after verifying an EdDSA bearer token with jsonwebtoken.
//!
//! `floor LISTEN TOKENS_FILE` serves on `LISTEN` and writes the two tokens
//! it accepts (an HS256 one, then an EdDSA one, one per line) to
//! `TOKENS_FILE`. Keys are made at start; no access log, no metrics.

use std::sync::Arc;

use anyhow::Context as _;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    exp: u64,
}

struct Keys {
    hs256: DecodingKey,
    eddsa: DecodingKey,
    hs256_rules: Validation,
    eddsa_rules: Validation,
}

fn rules(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.set_issuer(&["https://floor.example"]);
    v.set_audience(&["floor"]);
    v
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn verify(headers: &HeaderMap, key: &DecodingKey, rules: &Validation) -> StatusCode {
    match bearer(headers).map(|t| jsonwebtoken::decode::<Claims>(t, key, rules)) {
        Some(Ok(_)) => StatusCode::OK,
        _ => StatusCode::UNAUTHORIZED,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (listen, tokens) = args
        .next()
        .zip(args.next())
        .context("usage: floor LISTEN TOKENS_FILE")?;

    let secret: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37));
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).context("ed25519 key")?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).context("ed25519 key")?;
    let claims = Claims {
        sub: "0193b5c2-7f4e-7c2a-9d1e-3a5b6c7d8e9f".into(),
        iss: "https://floor.example".into(),
        aud: "floor".into(),
        exp: 4_000_000_000,
    };
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&secret),
    )?;
    let ed = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims,
        &EncodingKey::from_ed_der(pkcs8.as_ref()),
    )?;
    std::fs::write(&tokens, format!("{hs}\n{ed}\n")).context("writing the tokens")?;

    let keys = Arc::new(Keys {
        hs256: DecodingKey::from_secret(&secret),
        eddsa: DecodingKey::from_ed_der(pair.public_key().as_ref()),
        hs256_rules: rules(Algorithm::HS256),
        eddsa_rules: rules(Algorithm::EdDSA),
    });
    let app = Router::new()
        .route("/hello", get(|| async { "ok" }))
        .route(
            "/hs256",
            get(|State(k): State<Arc<Keys>>, h: HeaderMap| async move {
                verify(&h, &k.hs256, &k.hs256_rules)
            }),
        )
        .route(
            "/eddsa",
            get(|State(k): State<Arc<Keys>>, h: HeaderMap| async move {
                verify(&h, &k.eddsa, &k.eddsa_rules)
            }),
        )
        .with_state(keys);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
