//! The OpenAPI shapes of the browser's `PublicKeyCredential` JSON, as the
//! passkey routes accept it (webauthn-rs parses it; these types only
//! describe it). Binary members are base64url without padding, and only
//! canonical encodings decode, so the pattern spells out exactly which
//! strings are accepted: a client reading the document never sends one
//! the server rejects before verifying the signature.

use serde::Deserialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Base64url without padding, canonical: the unused low bits of the last
/// character are zero (2 trailing characters carry 8 bits, 3 carry 16).
pub const BASE64URL_PATTERN: &str =
    "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$";

/// A base64url member (see [`BASE64URL_PATTERN`]).
#[derive(Deserialize)]
pub struct Base64Url(pub String);

impl utoipa::PartialSchema for Base64Url {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(BASE64URL_PATTERN))
            .description(Some("base64url without padding"))
            .into()
    }
}

impl utoipa::ToSchema for Base64Url {}

/// The credential type: always `public-key`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialType {
    PublicKey,
}

/// `navigator.credentials.get()`'s answer, as `PublicKeyCredential.toJSON()`
/// gives it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssertionCredentialJson {
    /// The credential id (base64url).
    pub id: String,
    pub raw_id: Base64Url,
    pub response: AssertionResponseJson,
    #[serde(rename = "type")]
    pub credential_type: CredentialType,
    /// The client's extension outputs (ignored unless latchkey asked).
    #[serde(default)]
    pub client_extension_results: Extensions,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssertionResponseJson {
    pub authenticator_data: Base64Url,
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: Base64Url,
    pub signature: Base64Url,
    /// The user handle of a discoverable credential (required to sign in
    /// with a passkey alone).
    #[serde(default)]
    pub user_handle: Option<Base64Url>,
}

/// `navigator.credentials.create()`'s answer, as `PublicKeyCredential.toJSON()`
/// gives it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttestationCredentialJson {
    /// The credential id (base64url).
    pub id: String,
    pub raw_id: Base64Url,
    pub response: AttestationResponseJson,
    #[serde(rename = "type")]
    pub credential_type: CredentialType,
    /// The client's extension outputs (ignored unless latchkey asked).
    #[serde(default)]
    pub client_extension_results: Extensions,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttestationResponseJson {
    pub attestation_object: Base64Url,
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: Base64Url,
    /// `getTransports()`: `usb`, `nfc`, `ble`, `internal`, `hybrid`… (names
    /// it does not know are kept as unknown).
    #[serde(default)]
    pub transports: Option<Vec<String>>,
}

/// Client extension outputs, as `getClientExtensionResults()` gives them
/// (`credProps`, …): read only where latchkey asked for the extension.
#[derive(Default, Deserialize, utoipa::ToSchema)]
pub struct Extensions {}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::BASE64URL_PATTERN;

    /// The documented pattern accepts exactly what webauthn-rs's decoder
    /// (strict, unpadded base64url) accepts: every string up to five
    /// characters over an alphabet with each kind of last character.
    #[test]
    fn the_base64url_pattern_accepts_exactly_what_decodes() {
        let pattern = regex::Regex::new(BASE64URL_PATTERN).unwrap();
        let alphabet = [
            'A', 'B', 'E', 'Q', 'R', 'g', 'w', '8', '9', '_', '-', '=', '+',
        ];
        let mut strings = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = strings
                .iter()
                .filter(|s| s.len() == strings.last().map_or(0, String::len))
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(longer);
        }
        assert!(strings.len() > 300_000);
        for s in &strings {
            assert_eq!(
                pattern.is_match(s),
                URL_SAFE_NO_PAD.decode(s).is_ok(),
                "{s:?}"
            );
        }
    }
}
