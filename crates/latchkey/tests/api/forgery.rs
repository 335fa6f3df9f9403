//! Forged and altered access tokens over HTTP: one test per class of
//! refusal, each `401 invalid_token` with the RFC 6750 challenge. The
//! verifier's exhaustive variants are tested in `latchkey-tokens`; these
//! show that the server applies them. Forgeries are signed with the
//! server's own key where that matters, so only the rule under test can
//! be what refuses them.

use latchkey_tokens::{AccessClaims, KeyMaterial, KeySet, Kid, MAX_TOKEN_LEN};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::jwt::{self, Signer, at_jwt_header, forge, forge_raw, real_parts};

#[tokio::test]
async fn a_token_forged_with_the_servers_own_key_and_honest_contents_is_accepted() {
    // The control for every test below: the forging harness is sound.
    let app = TestApp::spawn().await;
    let (key, header, claims) = real_parts(&app, "alice").await;
    app.assert_bearer_works(&forge(&header, &claims, &key))
        .await;
    // RFC 9068 also allows the media-type spelling of `typ`.
    let mut long_typ = header.clone();
    long_typ["typ"] = json!("application/at+jwt");
    app.assert_bearer_works(&forge(&long_typ, &claims, &key))
        .await;
}

#[tokio::test]
async fn a_token_with_an_altered_payload_or_signature_is_refused() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    let bob = app.create_user("bob", "bobs-own-passphrase").await;
    let parts: Vec<&str> = pair.access.split('.').collect();
    // Payload changed to name another user, signature kept.
    let mut claims = jwt::claims(&pair.access);
    claims["sub"] = json!(bob);
    let payload = jwt::b64(claims.to_string().as_bytes());
    app.assert_bearer_refused(&format!("{}.{payload}.{}", parts[0], parts[2]))
        .await;
    // Signature with one byte flipped.
    let mut sig = base64_decode(parts[2]);
    sig[10] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], jwt::b64(&sig));
    app.assert_bearer_refused(&flipped).await;
    // Signature stripped; and a signature from another message.
    app.assert_bearer_refused(&format!("{}.{}.", parts[0], parts[1]))
        .await;
    let other = app.token_login("alice", crate::helpers::PASSWORD).await;
    let other_sig = other.access.split('.').nth(2).unwrap();
    app.assert_bearer_refused(&format!("{}.{}.{other_sig}", parts[0], parts[1]))
        .await;
    // The genuine token is untouched by all this.
    app.assert_bearer_works(&pair.access).await;
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

#[tokio::test]
async fn alg_none_is_refused_in_any_spelling() {
    let app = TestApp::spawn().await;
    let (_, header, claims) = real_parts(&app, "alice").await;
    let unsigned = |alg: &str| {
        let mut h = header.clone();
        h["alg"] = json!(alg);
        format!(
            "{}.{}.",
            jwt::b64(h.to_string().as_bytes()),
            jwt::b64(claims.to_string().as_bytes())
        )
    };
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = unsigned(alg);
        app.assert_bearer_refused(&token).await;
        // With some signature bytes attached, too.
        app.assert_bearer_refused(&format!("{token}AAAA")).await;
    }
}

#[tokio::test]
async fn the_kids_key_decides_the_algorithm() {
    let app = TestApp::spawn().await;
    let (key, header, claims) = real_parts(&app, "alice").await;
    let kid = header["kid"].as_str().unwrap();
    // HS256 "signed" with the server's public key, as published.
    let jwks = app.jwks().await;
    let x = base64_decode(jwks["keys"][0]["x"].as_str().unwrap());
    let public_as_secret = Signer::hs256(&x);
    app.assert_bearer_refused(&forge(
        &at_jwt_header("HS256", kid),
        &claims,
        &public_as_secret,
    ))
    .await;
    // ... and keyed with the JWK's text, another common slip.
    let jwk_text = Signer::hs256(jwks["keys"][0].to_string().as_bytes());
    app.assert_bearer_refused(&forge(&at_jwt_header("HS256", kid), &claims, &jwk_text))
        .await;
    // ES256 with the server's kid, signed by a key of the attacker's.
    let es = Signer::foreign_es256();
    app.assert_bearer_refused(&forge(&at_jwt_header("ES256", kid), &claims, &es))
        .await;
    // An algorithm latchkey does not know, over a genuine signature.
    app.assert_bearer_refused(&forge(&at_jwt_header("EdDSA256", kid), &claims, &key))
        .await;
}

#[tokio::test]
async fn keys_carried_or_referenced_by_the_header_are_refused() {
    let app = TestApp::spawn().await;
    let (key, header, claims) = real_parts(&app, "alice").await;
    // The classic: the attacker's own key embedded, and used to sign.
    let attacker = Signer::foreign_ed25519();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": jwt::b64(&attacker.public)});
    for kid in [header["kid"].clone(), json!("attacker-key-1")] {
        let h = json!({"alg": "EdDSA", "kid": kid, "typ": "at+jwt", "jwk": jwk});
        app.assert_bearer_refused(&forge(&h, &claims, &attacker))
            .await;
    }
    // Even signed by the server's own key, a key parameter is refused.
    let refs = [
        ("jwk", jwk.clone()),
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        ("x5c", json!(["MIIB"])),
    ];
    for (name, value) in refs {
        let mut h = header.clone();
        h[name] = value;
        app.assert_bearer_refused(&forge(&h, &claims, &key)).await;
    }
}

#[tokio::test]
async fn a_crit_header_is_refused_even_when_correctly_signed() {
    let app = TestApp::spawn().await;
    let (key, header, claims) = real_parts(&app, "alice").await;
    for crit in [json!(["exp"]), json!([]), json!(["b64"])] {
        let mut h = header.clone();
        h["crit"] = crit;
        if h["crit"] == json!(["b64"]) {
            h["b64"] = json!(false);
        }
        app.assert_bearer_refused(&forge(&h, &claims, &key)).await;
    }
}

#[tokio::test]
async fn unknown_missing_and_traversal_shaped_kids_are_refused() {
    let app = TestApp::spawn().await;
    let (key, header, claims) = real_parts(&app, "alice").await;
    let kids = [
        json!("../../etc/passwd"),
        json!("/dev/null"),
        json!("..\\..\\keys"),
        json!("' OR 1=1 --"),
        json!("k".repeat(65)),
        json!(""),
        json!(7),
        json!(null),
        json!("AAAAAAAAAAAAAAAAAAAAAA"),
    ];
    for kid in kids {
        let mut h = header.clone();
        h["kid"] = kid;
        app.assert_bearer_refused(&forge(&h, &claims, &key)).await;
    }
    let mut h = header.clone();
    h.as_object_mut().unwrap().remove("kid");
    app.assert_bearer_refused(&forge(&h, &claims, &key)).await;
    // A well-formed token from a key the server never had.
    let stranger = KeyMaterial::generate(
        latchkey_tokens::Algorithm::EdDSA,
        Kid::parse("stranger-1").unwrap(),
    )
    .unwrap();
    let claims: AccessClaims = serde_json::from_value(claims).unwrap();
    let token = KeySet::new(stranger).sign(&claims).unwrap();
    app.assert_bearer_refused(&token).await;
    // Or from another latchkey server altogether.
    let other = TestApp::spawn().await;
    let theirs = other.token_user("alice").await;
    other.assert_bearer_works(&theirs.access).await;
    app.assert_bearer_refused(&theirs.access).await;
}

#[tokio::test]
async fn a_wrong_or_missing_typ_is_refused() {
    let app = TestApp::spawn().await;
    let (key, header, claims) = real_parts(&app, "alice").await;
    for typ in [json!("JWT"), json!("jwt"), json!("id_token+jwt"), json!(1)] {
        let mut h = header.clone();
        h["typ"] = typ;
        app.assert_bearer_refused(&forge(&h, &claims, &key)).await;
    }
    let mut h = header.clone();
    h.as_object_mut().unwrap().remove("typ");
    app.assert_bearer_refused(&forge(&h, &claims, &key)).await;
}

/// `claims` with `name` set to `value`, or removed when `None`.
fn with(claims: &Value, name: &str, value: Option<Value>) -> Value {
    let mut c = claims.clone();
    match value {
        Some(v) => c[name] = v,
        None => {
            c.as_object_mut().unwrap().remove(name);
        }
    }
    c
}

#[tokio::test]
async fn a_wrong_issuer_or_audience_is_refused() {
    let app = TestApp::spawn().await;
    let (key, header, claims) = real_parts(&app, "alice").await;
    let iss = claims["iss"].as_str().unwrap().to_owned();
    let bad = [
        ("iss", json!("https://evil.example")),
        ("iss", json!(format!("{iss}/"))),
        ("aud", json!("latchkey-admin")),
        ("aud", json!(["other-api"])),
        ("aud", json!("LATCHKEY")),
    ];
    for (name, value) in bad {
        let token = forge(&header, &with(&claims, name, Some(value)), &key);
        app.assert_bearer_refused(&token).await;
    }
    for name in ["iss", "aud", "sub", "jti", "sid", "exp", "iat"] {
        let token = forge(&header, &with(&claims, name, None), &key);
        app.assert_bearer_refused(&token).await;
    }
}

#[tokio::test]
async fn time_claims_are_enforced_and_must_be_integers() {
    let app = TestApp::spawn().await;
    let (key, header, claims) = real_parts(&app, "alice").await;
    let iat = claims["iat"].as_i64().unwrap();
    let bad = [
        ("nbf", json!(iat + 60)),
        ("iat", json!(iat + 60)),
        ("exp", json!(iat)),
        ("exp", json!(iat - 1)),
        ("exp", json!(format!("{}", iat + 300))),
        ("exp", json!("9999999999")),
        ("exp", json!(1e10)),
        ("exp", json!(u64::MAX)),
        ("iat", json!("0")),
        ("nbf", json!(null)),
    ];
    for (name, value) in bad {
        let token = forge(&header, &with(&claims, name, Some(value)), &key);
        app.assert_bearer_refused(&token).await;
    }
    // nbf at now is fine.
    let token = forge(&header, &with(&claims, "nbf", Some(json!(iat))), &key);
    app.assert_bearer_works(&token).await;
}

#[tokio::test]
async fn duplicate_members_are_refused() {
    let app = TestApp::spawn().await;
    let (key, header, claims) = real_parts(&app, "alice").await;
    let h = header.to_string();
    let c = claims.to_string();
    let dup_header = h.replacen('{', r#"{"typ":"JWT","#, 1);
    app.assert_bearer_refused(&forge_raw(&dup_header, &c, &key))
        .await;
    let dup_claim = c.replacen('{', r#"{"aud":"other","#, 1);
    app.assert_bearer_refused(&forge_raw(&h, &dup_claim, &key))
        .await;
}

/// A token signed with `key` of exactly `len` bytes, padded with an
/// unknown claim (ignored by the verifier). base64url skips one length in
/// four, so a space in the header's JSON is the other way to move by one.
fn sized(key: &Signer, header: &Value, claims: &Value, len: usize) -> String {
    let h = header.to_string();
    for h in [h.clone(), h.replacen(',', ", ", 1)] {
        let make = |pad: usize| {
            let c = with(claims, "pad", Some(json!("x".repeat(pad))));
            forge_raw(&h, &c.to_string(), key)
        };
        let start = ((len - make(0).len()) * 3 / 4).saturating_sub(8);
        for pad in start.. {
            let token = make(pad);
            if token.len() == len {
                return token;
            }
            if token.len() > len {
                break;
            }
        }
    }
    panic!("no token of {len} bytes");
}

#[tokio::test]
async fn tokens_over_8_kib_are_refused_and_8_kib_is_accepted() {
    let app = TestApp::spawn().await;
    let (key, header, claims) = real_parts(&app, "alice").await;
    let fits = sized(&key, &header, &claims, MAX_TOKEN_LEN);
    app.assert_bearer_works(&fits).await;
    let over = sized(&key, &header, &claims, MAX_TOKEN_LEN + 1);
    app.assert_bearer_refused(&over).await;
    // Far over (but within the header limit): still 401 invalid_token.
    let huge = format!(
        "{}.{}.{}",
        "e".repeat(4000),
        "e".repeat(4000),
        "e".repeat(4000)
    );
    app.assert_bearer_refused(&huge).await;
}
