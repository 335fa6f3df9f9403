//! Sign-in by a 6-digit code mailed to a verified address.

use std::net::IpAddr;

use latchkey_store::{CodeTry, TokenKind};

use super::{CODE_TTL, Kind, MAX_CODE_TRIES, code_hash};
use crate::error::AuthError;
use crate::login::throttle_keys;
use crate::principal::{Authentication, Challenge, Method, Principal};
use crate::random;
use crate::service::AuthService;

/// A uniformly drawn 6-digit code.
fn new_code() -> Result<String, AuthError> {
    loop {
        let n = u32::from_le_bytes(random::<4>()?);
        // Reject the top of the range so every code is equally likely.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

impl AuthService {
    /// Mails a sign-in code if `email` is a known, verified address (the
    /// worker's side of `POST /v1/email/code`); nothing otherwise. A new
    /// code replaces the user's previous one.
    pub(crate) async fn mail_sign_in_code(&self, email: &str) -> Result<(), AuthError> {
        let Some((user, address)) = self.store.user_by_address(email).await? else {
            return Ok(());
        };
        // A disabled account is sent nothing (it signs in no way at all).
        if !address.verified || user.disabled_at.is_some() {
            return Ok(());
        }
        self.admit_recipient(&address.email).await?;
        let code = new_code()?;
        let hash = code_hash(user.id, &code);
        self.put_token(TokenKind::Code, user.id, &address.email, &hash, CODE_TTL)
            .await?;
        let minutes = (CODE_TTL.as_secs() / 60).to_string();
        let vars = [
            ("username", user.username.as_str()),
            ("code", code.as_str()),
            ("minutes", minutes.as_str()),
        ];
        self.queue_mail(&address.email, Kind::Code, &vars).await
    }

    /// Signs in with a mailed code: a principal (`amr` = `email`), or for
    /// an account with a second factor, a challenge for it. Counted by the
    /// login throttle like a password; an unknown or unverified address,
    /// a wrong, used or expired code, and a code ended by five wrong tries
    /// are one answer: `InvalidCode`.
    pub async fn sign_in_with_code(
        &self,
        address: Option<IpAddr>,
        email: &str,
        code: &str,
    ) -> Result<Authentication, AuthError> {
        self.email_settings()?;
        let found = self.store.user_by_address(email.trim()).await?;
        let keys = throttle_keys(found.as_ref().map(|(u, _)| &u.username), address);
        self.count_attempt(&keys).await?;
        let known = found.as_ref().map(|(u, _)| u.id);
        let Some((user, addr)) = found.filter(|(u, a)| a.verified && u.disabled_at.is_none())
        else {
            let detail = serde_json::json!({ "method": "email" });
            self.audit(crate::audit::kind::LOGIN_FAILED, known, detail)
                .await;
            return Err(AuthError::InvalidCode);
        };
        let code = code.trim();
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        let hash = code_hash(user.id, if well_formed { code } else { "" });
        let now = self.clock.now();
        match self
            .store
            .try_email_code(user.id, &hash, now, MAX_CODE_TRIES)
            .await?
        {
            CodeTry::Accepted(t) if t.email == addr.email => {}
            _ => {
                let detail = serde_json::json!({ "method": "email" });
                self.audit(crate::audit::kind::LOGIN_FAILED, Some(user.id), detail)
                    .await;
                return Err(AuthError::InvalidCode);
            }
        }
        let accepts = self.second_factors_of(user.id).await?;
        if !accepts.is_empty() {
            return Ok(Authentication::Challenge(Challenge {
                user_id: user.id,
                token: None,
                passed: vec![Method::Email],
                accepts,
            }));
        }
        self.settle(&keys).await?;
        tracing::info!(user_id = %user.id, "signed in with an e-mail code");
        Ok(Authentication::Principal(Principal::new(
            user,
            vec![Method::Email],
            now,
        )))
    }
}
