//! Published examples: RFC 7515 Appendix A.1 (HS256), A.2 (RS256), A.3
//! (ES256) and RFC 8037 Appendix A.4 (Ed25519). They are plain JWS objects
//! (`typ: JWT` or none, no `kid`, no `aud`), so they pass the JWS-level
//! check and are refused as access tokens.

use latchkey_tokens::{
    Algorithm, KeyMaterial, KeySet, Kid, StoredKey, TokenError, VerificationKey, Verifier,
    verify_signature_only,
};

use crate::support::{NOW, b64, expectations, raw_sign, unb64};

const RFC7515_PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

const A1_TOKEN_HEADER: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
const A1_SIGNATURE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const A1_KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

const A2_HEADER: &str = "eyJhbGciOiJSUzI1NiJ9";
const A2_SIGNATURE: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
const A2_MODULUS: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";

const A3_HEADER: &str = "eyJhbGciOiJFUzI1NiJ9";
const A3_SIGNATURE: &str =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

const RFC8037_TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

fn a1() -> (String, VerificationKey) {
    let token = format!("{A1_TOKEN_HEADER}.{RFC7515_PAYLOAD}.{A1_SIGNATURE}");
    (token, VerificationKey::hs256(&unb64(A1_KEY)).unwrap())
}

fn a2() -> (String, VerificationKey) {
    let token = format!("{A2_HEADER}.{RFC7515_PAYLOAD}.{A2_SIGNATURE}");
    let key = VerificationKey::rs256(&unb64(A2_MODULUS), &unb64("AQAB")).unwrap();
    (token, key)
}

fn a3() -> (String, VerificationKey) {
    let token = format!("{A3_HEADER}.{RFC7515_PAYLOAD}.{A3_SIGNATURE}");
    let point = [&[0x04][..], &unb64(A3_X), &unb64(A3_Y)].concat();
    (token, VerificationKey::es256(&point).unwrap())
}

fn rfc8037() -> (String, VerificationKey) {
    (
        RFC8037_TOKEN.to_owned(),
        VerificationKey::ed25519(&unb64(RFC8037_X)).unwrap(),
    )
}

/// The RFC 8037 private key as PKCS#8 v1 DER (RFC 8410 §7): a fixed
/// 16-byte prefix and the 32-byte seed `d`.
fn rfc8037_key() -> KeyMaterial {
    let prefix = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let private = [&prefix[..], &unb64(RFC8037_D)].concat();
    let kid = Kid::parse("rfc8037").unwrap();
    let stored = StoredKey {
        kid,
        alg: Algorithm::EdDSA,
        private,
        public_jwk: None,
    };
    KeyMaterial::from_stored(&stored).unwrap()
}

#[test]
fn rfc7515_a1_hs256_example_verifies_with_its_published_key() {
    let (token, key) = a1();
    assert_eq!(verify_signature_only(&token, &key), Ok(()));
}

#[test]
fn rfc7515_a2_rs256_example_verifies_with_its_published_key() {
    let (token, key) = a2();
    assert_eq!(verify_signature_only(&token, &key), Ok(()));
}

#[test]
fn rfc7515_a3_es256_example_verifies_with_its_published_key() {
    let (token, key) = a3();
    assert_eq!(verify_signature_only(&token, &key), Ok(()));
}

#[test]
fn rfc8037_a4_ed25519_example_verifies_with_its_published_key() {
    let (token, key) = rfc8037();
    assert_eq!(verify_signature_only(&token, &key), Ok(()));
}

#[test]
fn rfc_examples_fail_with_another_algorithms_key() {
    let (hs_token, hs_key) = a1();
    let (es_token, es_key) = a3();
    assert_eq!(
        verify_signature_only(&hs_token, &es_key),
        Err(TokenError::AlgorithmMismatch)
    );
    assert_eq!(
        verify_signature_only(&es_token, &hs_key),
        Err(TokenError::AlgorithmMismatch)
    );
}

#[test]
fn rfc8037_a4_private_key_loads_and_derives_the_published_public_key() {
    let key = rfc8037_key();
    let jwk = key.public_jwk().unwrap();
    assert_eq!(jwk["x"], RFC8037_X);
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
}

#[test]
fn rfc8037_a4_signing_with_the_published_key_reproduces_the_token_byte_for_byte() {
    let key = rfc8037_key();
    let input = &RFC8037_TOKEN[..RFC8037_TOKEN.rfind('.').unwrap()];
    let token = format!("{input}.{}", b64(raw_sign(&key, input.as_bytes())));
    assert_eq!(token, RFC8037_TOKEN);
}

#[test]
fn eddsa_access_tokens_are_deterministic_and_verify_with_the_published_public_key() {
    let set = KeySet::new(rfc8037_key());
    let first = set.sign(&crate::support::claims()).unwrap();
    assert_eq!(set.sign(&crate::support::claims()).unwrap(), first);
    let (_, published) = rfc8037();
    assert_eq!(verify_signature_only(&first, &published), Ok(()));
}

#[test]
fn rfc_examples_are_refused_as_access_tokens() {
    for (token, key) in [a1(), a2(), a3(), rfc8037()] {
        let mut verifier = Verifier::new();
        verifier
            .insert(Kid::parse("rfc").unwrap(), key, None)
            .unwrap();
        // `typ` is `JWT` (A.1) or absent (A.2, A.3, RFC 8037), and no `kid`.
        let refused = verifier.verify(&token, &expectations(), NOW);
        assert_eq!(refused, Err(TokenError::WrongType), "{token}");
    }
}

#[test]
fn rfc_example_with_typ_fixed_is_still_refused_for_lacking_kid() {
    let (_, key) = a1();
    let token = format!(
        "{}.{RFC7515_PAYLOAD}.{A1_SIGNATURE}",
        b64(r#"{"alg":"HS256","typ":"at+jwt"}"#)
    );
    let mut verifier = Verifier::new();
    verifier
        .insert(Kid::parse("rfc").unwrap(), key, None)
        .unwrap();
    assert_eq!(
        verifier.verify(&token, &expectations(), NOW),
        Err(TokenError::MissingKid)
    );
}
