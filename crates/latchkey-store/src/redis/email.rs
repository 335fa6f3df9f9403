//! E-mail addresses, tokens and the outbox go to the durable store alone:
//! tokens are taken once and outbox rows claimed once by its single
//! statements.

use latchkey_core::{Timestamp, UserId};

use super::RedisCached;
use crate::email::{
    Address, Addresses, CodeTry, Delivery, EmailToken, EmailTokens, Mail, Outbox, OutboxCounts,
    TokenKind,
};
use crate::{Result, User};

wrap! {
    impl Addresses {
        pass {
            fn create_user_with_address(&self, user: &User, address: &Address) -> Result<()>;
            fn set_address(&self, user: UserId, address: Option<&Address>) -> Result<bool>;
            fn address_of(&self, user: UserId) -> Result<Option<Address>>;
            fn user_by_address(&self, email: &str) -> Result<Option<(User, Address)>>;
            fn mark_address_verified(&self, user: UserId, email: &str) -> Result<bool>;
        }
    }
}

wrap! {
    impl EmailTokens {
        pass {
            fn put_email_token(&self, hash: &[u8; 32], token: &EmailToken) -> Result<()>;
            fn take_email_token(
                &self,
                hash: &[u8; 32],
                kind: TokenKind,
                now: Timestamp,
            ) -> Result<Option<EmailToken>>;
            fn try_email_code(
                &self,
                user: UserId,
                hash: &[u8; 32],
                now: Timestamp,
                max: u32,
            ) -> Result<CodeTry>;
            fn sweep_email_tokens(&self, now: Timestamp) -> Result<u64>;
        }
    }
}

wrap! {
    impl Outbox {
        pass {
            fn enqueue_mail(&self, mail: &Mail) -> Result<()>;
            fn claim_mail(
                &self,
                now: Timestamp,
                lease_until: Timestamp,
                limit: u32,
            ) -> Result<Vec<Mail>>;
            fn finish_mail(&self, id: &str, delivery: &Delivery) -> Result<()>;
            fn mail(&self, id: &str) -> Result<Option<Mail>>;
            fn outbox_counts(&self) -> Result<OutboxCounts>;
            fn sweep_mail(&self, cutoff: Timestamp) -> Result<u64>;
        }
    }
}
