//! A software WebAuthn authenticator for the tests: one P-256 key per
//! credential, "none" attestation, user presence and verification always
//! given. Written here, from the WebAuthn and CTAP2 specifications, apart
//! from the code under test: it builds the authenticator data, the CBOR
//! attestation object and COSE key, the client data and the ES256
//! signature that a browser and an authenticator would.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

/// One discoverable credential held by the software authenticator.
pub struct SoftPasskey {
    key: EcdsaKeyPair,
    pub credential_id: Vec<u8>,
    pub user_handle: Vec<u8>,
    pub rp_id: String,
    /// The signature counter; 0 means "keeps no counter" (as synced
    /// passkeys do). Each assertion adds one when `counting`.
    pub counter: u32,
    pub counting: bool,
    /// Backup eligible and backed up (a synced passkey: `swk`).
    pub synced: bool,
}

fn sha256(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

fn b64(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().expect("a base64url string"))
        .expect("base64url")
}

/// CBOR: a major type and its argument.
fn head(major: u8, n: usize) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=255 => vec![m | 24, n as u8],
        _ => {
            let mut v = vec![m | 25];
            v.extend_from_slice(&(n as u16).to_be_bytes());
            v
        }
    }
}

fn cbor_text(s: &str) -> Vec<u8> {
    [head(3, s.len()), s.as_bytes().to_vec()].concat()
}

fn cbor_bytes(b: &[u8]) -> Vec<u8> {
    [head(2, b.len()), b.to_vec()].concat()
}

impl SoftPasskey {
    /// `navigator.credentials.create` with `options` (`{"publicKey": …}`)
    /// on a page of `origin`: the new credential and its JSON form.
    pub fn create(options: &Value, origin: &str, synced: bool) -> (Self, Value) {
        let pk = &options["publicKey"];
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).expect("P-256 key");
        let mut credential_id = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut credential_id).expect("random");
        let passkey = Self {
            key,
            credential_id,
            user_handle: b64(&pk["user"]["id"]),
            rp_id: pk["rp"]["id"].as_str().expect("rp.id").to_owned(),
            counter: 0,
            counting: !synced,
            synced,
        };
        let client_data = client_data("webauthn.create", &pk["challenge"], origin);
        let auth_data = passkey.auth_data(AT, Some(&passkey.attested_credential()));
        let attestation = [
            vec![0xa3],
            cbor_text("fmt"),
            cbor_text("none"),
            cbor_text("attStmt"),
            vec![0xa0],
            cbor_text("authData"),
            cbor_bytes(&auth_data),
        ]
        .concat();
        let id = B64.encode(&passkey.credential_id);
        let json = json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "attestationObject": B64.encode(attestation),
                "clientDataJSON": B64.encode(client_data),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        });
        (passkey, json)
    }

    /// `navigator.credentials.get` with `options` on a page of `origin`.
    pub fn get(&mut self, options: &Value, origin: &str) -> Value {
        let pk = &options["publicKey"];
        assert_eq!(pk["rpId"].as_str(), Some(self.rp_id.as_str()), "rpId");
        if self.counting {
            self.counter += 1;
        }
        self.assert_with(&pk["challenge"], origin)
    }

    /// An assertion over `challenge` with the counter as it stands.
    pub fn assert_with(&self, challenge: &Value, origin: &str) -> Value {
        let client_data = client_data("webauthn.get", challenge, origin);
        let auth_data = self.auth_data(0, None);
        let signed = [auth_data.clone(), sha256(&client_data)].concat();
        let signature = self
            .key
            .sign(&SystemRandom::new(), &signed)
            .expect("signature");
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(auth_data),
                "clientDataJSON": B64.encode(client_data),
                "signature": B64.encode(signature.as_ref()),
                "userHandle": B64.encode(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
    }

    fn auth_data(&self, extra_flags: u8, attested: Option<&[u8]>) -> Vec<u8> {
        let backup = if self.synced { BE | BS } else { 0 };
        let mut out = sha256(self.rp_id.as_bytes());
        out.push(UP | UV | backup | extra_flags);
        out.extend_from_slice(&self.counter.to_be_bytes());
        if let Some(a) = attested {
            out.extend_from_slice(a);
        }
        out
    }

    /// AAGUID (zeros), the credential id and the COSE_Key (EC2, ES256).
    fn attested_credential(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        assert_eq!(point.len(), 65, "uncompressed P-256 point");
        let (x, y) = (&point[1..33], &point[33..65]);
        let cose = [
            vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21],
            cbor_bytes(x),
            vec![0x22],
            cbor_bytes(y),
        ]
        .concat();
        let mut out = vec![0u8; 16];
        out.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.credential_id);
        out.extend_from_slice(&cose);
        out
    }
}

fn client_data(kind: &str, challenge: &Value, origin: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": kind,
        "challenge": challenge.as_str().expect("challenge"),
        "origin": origin,
        "crossOrigin": false,
    }))
    .expect("JSON")
}
