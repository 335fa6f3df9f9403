//! The two-step login with a moved clock: the window's exact edges, replay,
//! lockout, recovery codes, the client binding, and the throttle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::hmac;
use latchkey_core::csrf::CsrfKey;
use latchkey_core::refresh::RefreshKey;
use latchkey_core::throttle::LoginLimits;
use latchkey_core::{
    Clock as _, ManualClock, Password, SessionPolicy, Timestamp, UserId, Username,
};
use latchkey_store::User;
use latchkey_store::sqlite::SqliteStore;
use latchkey_tokens::Algorithm;

use super::*;
use crate::keyring::{self, KeyPolicy};
use crate::totp::SealingKey;
use crate::{AuthPolicy, Authentication, PasswordService, TokenService, TokenSettings};

/// Step 60_000_000 starts here (Unix seconds 1_800_000_000).
const T0_SECS: i64 = 1_800_000_000;

/// RFC 6238 with SHA-1 and six digits, written here independently of
/// `totp-rs` (RFC 4226 §5.3 dynamic truncation).
fn expected_code(secret: &[u8], step: i64) -> String {
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

struct Fixture {
    auth: AuthService,
    clock: Arc<ManualClock>,
    user: User,
    secret: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn at(&self, ms_after_t0: i64) {
        self.clock
            .set(Timestamp::from_unix_millis(T0_SECS * 1000 + ms_after_t0));
    }

    async fn challenge(&self, client: &Device) -> String {
        let outcome = self
            .auth
            .authenticate(None, "alice", "correct horse".into())
            .await
            .unwrap();
        let Authentication::Challenge(mut c) = outcome else {
            panic!("expected a challenge");
        };
        assert_eq!(c.accepts, vec![Method::Totp, Method::RecoveryCode]);
        self.auth
            .start_pending_login(&mut c, Flavour::Tokens, true, client)
            .await
            .unwrap()
    }

    async fn verify(
        &self,
        token: &str,
        code: String,
        client: Device,
    ) -> Result<SecondStep, AuthError> {
        self.auth.verify_second_factor(token, &code, &client).await
    }

    fn code(&self, step: i64) -> String {
        expected_code(&self.secret, step)
    }
}

fn client() -> Device {
    Device {
        user_agent: Some("test/1".into()),
        ip: Some("192.0.2.7".into()),
    }
}

async fn service() -> (AuthService, Arc<ManualClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store: Arc<dyn latchkey_store::Store> = Arc::new(SqliteStore::open(&url).await.unwrap());
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(
        T0_SECS * 1000,
    )));
    let policy = KeyPolicy {
        algorithm: Algorithm::EdDSA,
        master_key: None,
        retire_after: Duration::from_secs(600),
    };
    let keys = keyring::start(store.as_ref(), &policy, clock.now())
        .await
        .unwrap();
    let tokens = TokenService::new(
        keys,
        TokenSettings::default(),
        RefreshKey::from_bytes(&[1; 32]),
    );
    let auth = AuthService {
        store,
        clock: clock.clone(),
        passwords: PasswordService::new(1, 8).unwrap(),
        tokens: Arc::new(tokens),
        csrf: CsrfKey::from_bytes(&[2; 32]),
        policy: AuthPolicy {
            login_limits: LoginLimits::default(),
            sessions: SessionPolicy::default(),
            revocation_ttl: Duration::from_secs(600),
            recent_auth: AuthPolicy::RECENT_AUTH,
        },
        sealing: Some(SealingKey::new(zeroize::Zeroizing::new([5; 32]))),
        webauthn: None,
        email: None,
        webhooks: Default::default(),
    };
    (auth, clock, dir)
}

/// Alice, with a confirmed TOTP factor (confirmed at step T0/30 - 10).
async fn enrolled() -> Fixture {
    let (auth, clock, dir) = service().await;
    let username = Username::parse("alice").unwrap();
    let password = Password::new_for("correct horse".into(), &username).unwrap();
    let user = User {
        id: UserId::from_random([1; 16]),
        username,
        password_hash: Some(auth.passwords.hash(password).await.unwrap()),
        created_at: clock.now(),
        disabled_at: None,
    };
    auth.store.create_user(&user).await.unwrap();
    let enrolment = auth.begin_totp(user.id, "latchkey").await.unwrap();
    let secret = totp_rs::Secret::try_from_base32(&enrolment.secret)
        .unwrap()
        .as_bytes()
        .to_vec();
    let f = Fixture {
        auth,
        clock,
        user,
        secret,
        _dir: dir,
    };
    f.at(-300_000);
    let codes = f
        .auth
        .confirm_totp(f.user.id, &f.code(T0_SECS / 30 - 10))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    f.at(0);
    f
}

#[tokio::test]
async fn a_right_code_completes_the_login_once_with_amr_pwd_otp_mfa() {
    let f = enrolled().await;
    let token = f.challenge(&client()).await;
    let step = f.verify(&token, f.code(T0_SECS / 30), client());
    let step = step.await.unwrap();
    assert_eq!(step.principal.amr_values(), vec!["pwd", "otp", "mfa"]);
    assert_eq!((step.flavour, step.remember), (Flavour::Tokens, true));
    let again = f.verify(&token, f.code(T0_SECS / 30 + 1), client());
    assert!(matches!(again.await, Err(AuthError::InvalidMfaToken)));
}

#[tokio::test]
async fn the_window_accepts_one_step_either_side_at_its_exact_edges() {
    let step = T0_SECS / 30;
    // A code of `step` is still good at the last millisecond of step+1,
    // not at the first of step+2; a code of step+1 is good from the first
    // millisecond of `step`, not at the last of step-1.
    for (ms, code_step, ok) in [
        (30_000, step, true),
        (60_000 - 1, step, true),
        (60_000, step, false),
        (0, step + 1, true),
        (-1, step + 1, false),
    ] {
        let f = enrolled().await;
        f.at(ms);
        let token = f.challenge(&client()).await;
        let got = f.verify(&token, f.code(code_step), client());
        assert_eq!(
            got.await.is_ok(),
            ok,
            "at {ms} ms, code of step {code_step}"
        );
    }
}

#[tokio::test]
async fn a_replayed_code_is_refused_even_in_a_new_login() {
    let f = enrolled().await;
    let code = f.code(T0_SECS / 30);
    let first = f.challenge(&client()).await;
    f.verify(&first, code.clone(), client()).await.unwrap();
    let second = f.challenge(&client()).await;
    let replay = f.verify(&second, code.clone(), client()).await;
    assert!(matches!(replay, Err(AuthError::InvalidCode)));
    // An earlier step than the last accepted one is refused too.
    let older = f.verify(&second, f.code(T0_SECS / 30 - 1), client());
    assert!(matches!(older.await, Err(AuthError::InvalidCode)));
    let next = f.verify(&second, f.code(T0_SECS / 30 + 1), client());
    assert!(next.await.is_ok());
}

#[tokio::test]
async fn five_wrong_codes_end_the_mfa_token() {
    let f = enrolled().await;
    let token = f.challenge(&client()).await;
    for _ in 0..MAX_CODE_ATTEMPTS {
        let wrong = f.verify(&token, "000000".into(), client()).await;
        assert!(matches!(wrong, Err(AuthError::InvalidCode)));
    }
    let right = f.verify(&token, f.code(T0_SECS / 30), client());
    assert!(matches!(right.await, Err(AuthError::InvalidMfaToken)));
}

#[tokio::test]
async fn the_token_lives_five_minutes_and_only_for_its_client() {
    let f = enrolled().await;
    let token = f.challenge(&client()).await;
    let other = Device {
        user_agent: Some("other/1".into()),
        ..client()
    };
    let code = f.code(T0_SECS / 30 + 10);
    let elsewhere = f.verify(&token, code.clone(), other.clone()).await;
    assert!(matches!(elsewhere, Err(AuthError::InvalidMfaToken)));
    f.at(300_000);
    let late = f.verify(&token, code.clone(), client()).await;
    assert!(matches!(late, Err(AuthError::InvalidMfaToken)));
    let garbage = f.verify("nope", code.clone(), client()).await;
    assert!(matches!(garbage, Err(AuthError::InvalidMfaToken)));
}

#[tokio::test]
async fn a_recovery_code_works_once_and_is_counted_down() {
    let f = enrolled().await;
    let codes = f
        .auth
        .regenerate_recovery_codes(crate::Reauthentication {
            user: f.user.id,
            address: None,
            password: Some("correct horse".into()),
            auth_time: None,
        })
        .await
        .unwrap();
    let token = f.challenge(&client()).await;
    let step = f.verify(&token, codes[0].to_uppercase(), client());
    assert_eq!(
        step.await.unwrap().principal.amr,
        vec![Method::Password, Method::RecoveryCode]
    );
    let token = f.challenge(&client()).await;
    let again = f.verify(&token, codes[0].clone(), client()).await;
    assert!(matches!(again, Err(AuthError::InvalidCode)));
    let state = f.auth.mfa_state(f.user.id).await.unwrap();
    assert_eq!(state.recovery.remaining, 9);
    assert_eq!(state.recovery.last_used_at, Some(f.clock.now()));
}

#[tokio::test]
async fn wrong_codes_count_against_the_account_like_passwords() {
    let f = enrolled().await;
    // Each challenge costs one attempt until its second step succeeds, and
    // each wrong code one more: the account's limit (10) is reached.
    let mut refused = false;
    for _ in 0..6 {
        let token = match f
            .auth
            .authenticate(None, "alice", "correct horse".into())
            .await
        {
            Ok(Authentication::Challenge(mut c)) => f
                .auth
                .start_pending_login(&mut c, Flavour::Session, false, &client())
                .await
                .unwrap(),
            Err(AuthError::RateLimited { .. }) => {
                refused = true;
                break;
            }
            other => panic!("unexpected {other:?}"),
        };
        match f.verify(&token, "000000".into(), client()).await {
            Err(AuthError::InvalidCode) => {}
            Err(AuthError::RateLimited { .. }) => {
                refused = true;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(refused, "second steps must be throttled");
}
