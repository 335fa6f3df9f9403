//! Passkeys: registering them (for a signed-in user), listing and deleting
//! them, and signing in with one alone (a discoverable credential, user
//! verification required). `webauthn-rs` does the cryptography and the
//! checks of each ceremony; this module keeps its state in the store, so
//! that any node can finish a ceremony another started, and keeps the
//! sign counter and backup flags of every passkey.
//!
//! A ceremony is taken from the store once (single use), lives five
//! minutes, and only a bounded number exist at any moment. A sign-in whose
//! counter did not move forward (a cloned authenticator) is refused and
//! logged, and so is one that lost a race for the same counter value.

use crate::audit::kind;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use latchkey_core::{Timestamp, UserId};
use latchkey_store::{Ceremony, PasskeyRecord, PasskeyUse, User};
use serde::de::DeserializeOwned;
use webauthn_rs::prelude::{
    AuthenticationResult, CredentialID, DiscoverableAuthentication, Passkey, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Uuid, Webauthn,
    WebauthnError,
};

use crate::error::AuthError;
use crate::principal::{Method, Principal};
use crate::service::AuthService;

/// How long a ceremony may take, from options to answer.
pub const CEREMONY_TTL: Duration = Duration::from_secs(300);
/// At most this many ceremonies wait at once (all users, all nodes).
pub const MAX_CEREMONIES: u64 = 10_000;
/// The longest passkey name kept (characters).
pub const MAX_NAME_CHARS: usize = 64;

const REGISTER: &str = "register";
const LOGIN: &str = "login";

/// Options for the browser's `navigator.credentials.get`, and the id that
/// names the ceremony when the answer comes back.
pub struct LoginOptions {
    pub challenge_id: String,
    pub options: RequestChallengeResponse,
}

impl AuthService {
    /// Records a verified use of `passkey` (counter, backup flags, the
    /// updated credential). A counter that did not move forward in the
    /// store (another node saw a higher one) is a clone signal: refused.
    pub(crate) async fn record_use(
        &self,
        record: &PasskeyRecord,
        passkey: &mut Passkey,
        result: &AuthenticationResult,
    ) -> Result<(), AuthError> {
        passkey.update_credential(result);
        let used = PasskeyUse {
            passkey: encode(passkey)?,
            sign_count: i64::from(result.counter()),
            backup_eligible: result.backup_eligible(),
            backup_state: result.backup_state(),
            at: self.clock.now(),
        };
        if !self.store.record_passkey_use(&record.id, &used).await? {
            return Err(clone_signal(
                record,
                WebauthnError::CredentialPossibleCompromise,
            ));
        }
        Ok(())
    }

    pub(crate) fn webauthn(&self) -> Result<&Webauthn, AuthError> {
        self.webauthn
            .as_deref()
            .ok_or(AuthError::PasskeysUnavailable)
    }

    /// Starts registering a passkey for `user`: resident key and user
    /// verification required, the user's passkeys excluded. The options
    /// are the JSON form of `navigator.credentials.create`'s argument.
    pub async fn start_passkey_registration(
        &self,
        user: &User,
    ) -> Result<serde_json::Value, AuthError> {
        let webauthn = self.webauthn()?;
        let existing = self.store.passkeys_of(user.id).await?;
        let exclude: Vec<CredentialID> = existing.iter().map(|p| p.credential_id.clone()).collect();
        let name = user.username.as_str();
        let (options, state) = webauthn
            .start_passkey_registration(uuid(user.id)?, name, name, Some(exclude))
            .map_err(refused)?;
        let challenge = URL_SAFE_NO_PAD.encode(&options.public_key.challenge);
        self.put(REGISTER, &challenge, Some(user.id), &state)
            .await?;
        // webauthn-rs asks for a resident key only as "preferred"; a
        // passkey that signs in without a username must be discoverable.
        let mut options = serde_json::to_value(&options)
            .map_err(|e| AuthError::Internal(format!("WebAuthn options: {e}")))?;
        if let Some(sel) = options.pointer_mut("/publicKey/authenticatorSelection") {
            sel["residentKey"] = "required".into();
            sel["requireResidentKey"] = true.into();
        }
        Ok(options)
    }

    /// Finishes a registration started by `user`: the ceremony is found by
    /// the challenge the browser signed, and must be this user's.
    pub async fn finish_passkey_registration(
        &self,
        user: UserId,
        credential: &RegisterPublicKeyCredential,
        name: Option<String>,
    ) -> Result<PasskeyRecord, AuthError> {
        let webauthn = self.webauthn()?;
        let challenge = signed_challenge(&credential.response.client_data_json)?;
        let ceremony = self.take(REGISTER, &challenge).await?;
        if ceremony.user_id != Some(user) {
            return Err(AuthError::PasskeyRefused);
        }
        let state: PasskeyRegistration = decode(&ceremony.state)?;
        let passkey = webauthn
            .finish_passkey_registration(credential, &state)
            .map_err(refused)?;
        let serialized = encode(&passkey)?;
        let (sign_count, backup_eligible, backup_state) = counter_and_flags(&serialized);
        let now = self.clock.now();
        let record = PasskeyRecord {
            id: crate::random::<16>().map(|b| hex(&b))?,
            user_id: user,
            credential_id: passkey.cred_id().to_vec(),
            name: clean_name(name, now),
            passkey: serialized,
            sign_count,
            backup_eligible,
            backup_state,
            created_at: now,
            last_used_at: None,
        };
        self.store.add_passkey(&record).await?;
        tracing::info!(user = %user, passkey = %record.id, "passkey registered");
        let detail = serde_json::json!({ "method": "webauthn", "passkey": record.id });
        self.audit(kind::MFA_ENROLLED, Some(user), detail).await;
        Ok(record)
    }

    /// Starts a sign-in with a discoverable passkey (no username).
    pub async fn start_passkey_login(&self) -> Result<LoginOptions, AuthError> {
        let webauthn = self.webauthn()?;
        let (options, state) = webauthn
            .start_discoverable_authentication()
            .map_err(refused)?;
        let challenge_id = crate::random::<32>().map(|b| hex(&b))?;
        self.put(LOGIN, &challenge_id, None, &state).await?;
        Ok(LoginOptions {
            challenge_id,
            options,
        })
    }

    /// Finishes a passkey sign-in: a principal whose `amr` is `hwk` (a
    /// device-bound key) or `swk` (a synced one).
    pub async fn finish_passkey_login(
        &self,
        challenge_id: &str,
        credential: &PublicKeyCredential,
    ) -> Result<Principal, AuthError> {
        let webauthn = self.webauthn()?;
        let ceremony = self.take(LOGIN, challenge_id).await?;
        let state: DiscoverableAuthentication = decode(&ceremony.state)?;
        let (handle, cred_id) = webauthn
            .identify_discoverable_authentication(credential)
            .map_err(refused)?;
        let record = self
            .store
            .passkey_by_credential(cred_id)
            .await?
            .filter(|r| uuid(r.user_id).is_ok_and(|u| u == handle))
            .ok_or(AuthError::PasskeyRefused)?;
        let mut passkey: Passkey = decode(&record.passkey)?;
        let result =
            match webauthn.finish_discoverable_authentication_v2(credential, state, &passkey) {
                Ok(result) => result,
                Err(e) => {
                    let detail = serde_json::json!({ "method": "passkey", "passkey": record.id });
                    self.audit(kind::LOGIN_FAILED, Some(record.user_id), detail)
                        .await;
                    return Err(clone_signal(&record, e));
                }
            };
        self.record_use(&record, &mut passkey, &result).await?;
        let user = self
            .store
            .user_by_id(record.user_id)
            .await?
            .filter(|u| u.disabled_at.is_none())
            .ok_or(AuthError::PasskeyRefused)?;
        // User verification was required: the device's PIN or biometric,
        // then its key, two factors in one method (`mfa`).
        let method = Method::Passkey {
            hardware: !result.backup_eligible(),
        };
        let mut principal = Principal::new(user, vec![method], self.clock.now());
        principal.multi_factor = true;
        Ok(principal)
    }

    /// The user's passkeys, oldest first.
    pub async fn passkeys(&self, user: UserId) -> Result<Vec<PasskeyRecord>, AuthError> {
        Ok(self.store.passkeys_of(user).await?)
    }

    /// Deletes passkey `id` of `owner`; whether there was one.
    pub async fn delete_passkey(&self, owner: UserId, id: &str) -> Result<bool, AuthError> {
        let deleted = self.store.delete_passkey(id, owner).await?;
        if deleted {
            tracing::info!(user = %owner, passkey = %id, "passkey deleted");
            let detail = serde_json::json!({ "method": "webauthn", "passkey": id });
            self.audit(kind::MFA_REMOVED, Some(owner), detail).await;
        }
        Ok(deleted)
    }

    pub(crate) async fn put<T: serde::Serialize>(
        &self,
        kind: &str,
        key: &str,
        user: Option<UserId>,
        state: &T,
    ) -> Result<(), AuthError> {
        let now = self.clock.now();
        let ceremony = Ceremony {
            id: ceremony_id(key),
            kind: kind.to_owned(),
            user_id: user,
            state: encode(state)?,
            expires_at: now.saturating_add(CEREMONY_TTL),
        };
        if self
            .store
            .put_ceremony(&ceremony, MAX_CEREMONIES, now)
            .await?
        {
            Ok(())
        } else {
            tracing::warn!(kind, "too many WebAuthn ceremonies waiting; refused one");
            Err(AuthError::Overloaded)
        }
    }

    /// The ceremony `key` of `kind`, taken (so never again).
    pub(crate) async fn take(&self, kind: &str, key: &str) -> Result<Ceremony, AuthError> {
        self.store
            .take_ceremony(&ceremony_id(key), kind, self.clock.now())
            .await?
            .ok_or(AuthError::PasskeyRefused)
    }
}

/// The store keeps ceremonies under a hash of the key the client holds.
fn ceremony_id(key: &str) -> String {
    hex(&latchkey_core::sha256(key.as_bytes()))
}

/// The challenge in a `clientDataJSON` (base64url, as the options sent it).
fn signed_challenge(client_data_json: &[u8]) -> Result<String, AuthError> {
    #[derive(serde::Deserialize)]
    struct ClientData {
        challenge: String,
    }
    serde_json::from_slice::<ClientData>(client_data_json)
        .map(|c| c.challenge)
        .map_err(|_| AuthError::PasskeyRefused)
}

/// A refused sign-in; a counter that did not move forward is a clone
/// signal, logged (never the credential itself).
pub(crate) fn clone_signal(record: &PasskeyRecord, e: WebauthnError) -> AuthError {
    if matches!(e, WebauthnError::CredentialPossibleCompromise) {
        tracing::warn!(
            user = %record.user_id,
            passkey = %record.id,
            "passkey counter did not move forward: possibly a cloned authenticator; sign-in refused"
        );
    }
    refused(e)
}

pub(crate) fn refused(e: WebauthnError) -> AuthError {
    tracing::debug!(error = %e, "WebAuthn ceremony refused");
    AuthError::PasskeyRefused
}

fn uuid(id: UserId) -> Result<Uuid, AuthError> {
    Uuid::parse_str(&id.to_string())
        .map_err(|_| AuthError::Internal("user id is not a UUID".into()))
}

fn clean_name(name: Option<String>, now: Timestamp) -> String {
    let trimmed: String = name
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let trimmed = trimmed.trim();
    if trimmed.is_empty() {
        let day = now.to_rfc3339().get(..10).unwrap_or_default().to_owned();
        format!("Passkey added {day}")
    } else {
        trimmed.to_owned()
    }
}

/// The counter and backup flags of a serialized `Passkey` (webauthn-rs
/// keeps them private; its serialized form names them).
fn counter_and_flags(serialized: &str) -> (i64, bool, bool) {
    let v: serde_json::Value = serde_json::from_str(serialized).unwrap_or_default();
    let cred = &v["cred"];
    (
        cred["counter"].as_i64().unwrap_or(0),
        cred["backup_eligible"].as_bool().unwrap_or(false),
        cred["backup_state"].as_bool().unwrap_or(false),
    )
}

pub(crate) fn encode<T: serde::Serialize>(v: &T) -> Result<String, AuthError> {
    serde_json::to_string(v).map_err(|e| AuthError::Internal(format!("WebAuthn state: {e}")))
}

pub(crate) fn decode<T: DeserializeOwned>(s: &str) -> Result<T, AuthError> {
    serde_json::from_str(s).map_err(|e| AuthError::Internal(format!("stored WebAuthn state: {e}")))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_never_empty() {
        let now = Timestamp::from_unix_millis(1_767_225_600_000);
        assert_eq!(clean_name(Some("  laptop \n".into()), now), "laptop");
        assert_eq!(
            clean_name(Some("x".repeat(100)), now).chars().count(),
            MAX_NAME_CHARS
        );
        assert_eq!(clean_name(Some("a\u{7}b".into()), now), "ab");
        assert_eq!(clean_name(None, now), "Passkey added 2026-01-01");
        assert_eq!(
            clean_name(Some("   ".into()), now),
            "Passkey added 2026-01-01"
        );
    }

    #[test]
    fn the_counter_and_flags_are_read_from_the_serialized_passkey() {
        let stored = r#"{"cred":{"counter":7,"backup_eligible":true,"backup_state":false}}"#;
        assert_eq!(counter_and_flags(stored), (7, true, false));
        assert_eq!(counter_and_flags("{}"), (0, false, false));
    }

    #[test]
    fn ceremony_ids_are_hashes_of_what_the_client_holds() {
        let id = ceremony_id("abc");
        assert_eq!(id.len(), 64);
        assert_ne!(id, "abc");
        assert_eq!(id, ceremony_id("abc"));
    }
}
