//! A passkey as the second step of a login: a WebAuthn authentication
//! ceremony restricted to the pending login's user's passkeys
//! (`allowCredentials`), bound to that pending login, single use and five
//! minutes long; its assertion completes the login exactly as a code does
//! (the same throttle, single use and five strikes).
//!
//! User verification is required, as webauthn-rs does for every passkey
//! (WebAuthn L3 lets a second factor merely prefer it; requiring it keeps
//! one rule for a passkey, alone or after a password).

use latchkey_store::Proof;
use webauthn_rs::prelude::{Passkey, PasskeyAuthentication, PublicKeyCredential};

use crate::error::AuthError;
use crate::issue::Device;
use crate::passkeys::{LoginOptions, decode, hex, refused};
use crate::principal::Method;
use crate::second_factor::{Opened, SecondStep};
use crate::service::AuthService;

/// The ceremony kind of a passkey second step.
const MFA: &str = "mfa";

/// What a second-step ceremony keeps: the pending login it belongs to
/// (the SHA-256 of its `mfa_token`, hex) and webauthn-rs's state.
#[derive(serde::Serialize, serde::Deserialize)]
struct Bound {
    login: String,
    state: PasskeyAuthentication,
}

impl AuthService {
    /// Starts a passkey second step for the pending login behind
    /// `mfa_token`: options allowing only its user's passkeys.
    pub async fn start_mfa_passkey(
        &self,
        mfa_token: &str,
        client: &Device,
    ) -> Result<LoginOptions, AuthError> {
        let webauthn = self.webauthn()?;
        let opened = self.open_pending(mfa_token, client).await?;
        let passkeys = self.user_passkeys(&opened).await?;
        if passkeys.is_empty() {
            return Err(AuthError::PasskeyRefused);
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(refused)?;
        let challenge_id = crate::random::<32>().map(|b| hex(&b))?;
        let bound = Bound {
            login: hex(&opened.hash),
            state,
        };
        self.put(MFA, &challenge_id, Some(opened.user.id), &bound)
            .await?;
        Ok(LoginOptions {
            challenge_id,
            options,
        })
    }

    /// Completes the pending login behind `mfa_token` with a passkey
    /// assertion answering ceremony `challenge_id`. A refused assertion is
    /// a strike like a wrong code (`InvalidCode`).
    pub async fn verify_mfa_passkey(
        &self,
        mfa_token: &str,
        challenge_id: &str,
        credential: &PublicKeyCredential,
        client: &Device,
    ) -> Result<SecondStep, AuthError> {
        let opened = self.open_pending(mfa_token, client).await?;
        let keys = self.count_second_step(&opened.user, client).await?;
        let accepted = match self
            .check_assertion(&opened, challenge_id, credential)
            .await
        {
            Ok(method) => self
                .consume_pending(&opened.hash, Proof::Passkey)
                .await?
                .then_some(method),
            Err(AuthError::PasskeyRefused) => None,
            Err(e) => return Err(e),
        };
        self.conclude(opened, &keys, accepted).await
    }

    /// Checks the assertion against the ceremony (taken once, this pending
    /// login's) and the user's passkey, and records the passkey's use
    /// (its counter must move forward): the method it proves.
    async fn check_assertion(
        &self,
        opened: &Opened,
        challenge_id: &str,
        credential: &PublicKeyCredential,
    ) -> Result<Method, AuthError> {
        let webauthn = self.webauthn()?;
        let ceremony = self.take(MFA, challenge_id).await?;
        let bound: Bound = decode(&ceremony.state)?;
        if ceremony.user_id != Some(opened.user.id) || bound.login != hex(&opened.hash) {
            return Err(AuthError::PasskeyRefused);
        }
        let result = webauthn
            .finish_passkey_authentication(credential, &bound.state)
            .map_err(refused)?;
        let record = self
            .store
            .passkey_by_credential(result.cred_id())
            .await?
            .filter(|r| r.user_id == opened.user.id)
            .ok_or(AuthError::PasskeyRefused)?;
        let mut passkey: Passkey = decode(&record.passkey)?;
        self.record_use(&record, &mut passkey, &result).await?;
        Ok(Method::Passkey {
            hardware: !result.backup_eligible(),
        })
    }

    async fn user_passkeys(&self, opened: &Opened) -> Result<Vec<Passkey>, AuthError> {
        self.store
            .passkeys_of(opened.user.id)
            .await?
            .iter()
            .map(|r| decode(&r.passkey))
            .collect()
    }
}
