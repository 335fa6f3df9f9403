//! Passkeys and WebAuthn ceremonies.

use async_trait::async_trait;
use latchkey_core::{Timestamp, UserId};

use super::{Columns, Dialect, SqlStore, corrupt, q};
use crate::Result;
use crate::passkeys::{Ceremony, PasskeyRecord, PasskeyUse, Passkeys};

fn passkey_from_row(row: &impl Columns) -> Result<PasskeyRecord> {
    Ok(PasskeyRecord {
        id: row.text("id")?,
        user_id: UserId::parse(&row.text("user_id")?).map_err(corrupt)?,
        credential_id: row.bytes("credential_id")?,
        name: row.text("name")?,
        passkey: row.text("passkey")?,
        sign_count: row.int("sign_count")?,
        backup_eligible: row.flag("backup_eligible")?,
        backup_state: row.flag("backup_state")?,
        created_at: row.at("created_at")?,
        last_used_at: row.opt_at("last_used_at")?,
    })
}

fn ceremony_from_row(row: &impl Columns) -> Result<Ceremony> {
    let user_id = match row.opt_text("user_id")? {
        Some(id) => Some(UserId::parse(&id).map_err(corrupt)?),
        None => None,
    };
    Ok(Ceremony {
        id: row.text("id")?,
        kind: row.text("kind")?,
        user_id,
        state: row.text("state")?,
        expires_at: row.at("expires_at")?,
    })
}

#[async_trait]
impl<D: Dialect> Passkeys for SqlStore<D> {
    async fn add_passkey(&self, p: &PasskeyRecord) -> Result<()> {
        q(
            "INSERT INTO passkeys (id, user_id, credential_id, name, passkey, sign_count, \
           backup_eligible, backup_state, created_at, last_used_at) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(p.id.as_str())
        .bind(&p.user_id.to_string())
        .bind(p.credential_id.as_slice())
        .bind(p.name.as_str())
        .bind(p.passkey.as_str())
        .bind(p.sign_count)
        .bind(p.backup_eligible)
        .bind(p.backup_state)
        .bind(p.created_at)
        .bind(p.last_used_at)
        .unique("credential already registered")
        .execute(&self.pool)
        .await
        .map(drop)
    }

    async fn passkeys_of(&self, user: UserId) -> Result<Vec<PasskeyRecord>> {
        q("SELECT * FROM passkeys WHERE user_id = $1 ORDER BY created_at, id")
            .bind(&user.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(passkey_from_row)
            .collect()
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<PasskeyRecord>> {
        q("SELECT * FROM passkeys WHERE credential_id = $1")
            .bind(credential_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(passkey_from_row)
            .transpose()
    }

    async fn record_passkey_use(&self, id: &str, used: &PasskeyUse) -> Result<bool> {
        let n = q(
            "UPDATE passkeys SET passkey = $2, sign_count = $3, backup_eligible = $4, \
                   backup_state = $5, last_used_at = $6 \
                   WHERE id = $1 AND (sign_count < $3 OR (sign_count = 0 AND $3 = 0))",
        )
        .bind(id)
        .bind(used.passkey.as_str())
        .bind(used.sign_count)
        .bind(used.backup_eligible)
        .bind(used.backup_state)
        .bind(used.at)
        .execute(&self.pool)
        .await?;
        Ok(n == 1)
    }

    async fn delete_passkey(&self, id: &str, owner: UserId) -> Result<bool> {
        let n = q("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(&owner.to_string())
            .execute(&self.pool)
            .await?;
        Ok(n == 1)
    }

    async fn put_ceremony(&self, c: &Ceremony, limit: u64, now: Timestamp) -> Result<bool> {
        let user = c.user_id.map(|u| u.to_string());
        let n = q(
            "INSERT INTO webauthn_ceremonies (id, kind, user_id, state, expires_at) \
                   SELECT $1, $2, $3, $4, $5 \
                   WHERE (SELECT COUNT(*) FROM webauthn_ceremonies WHERE expires_at > $6) < $7",
        )
        .bind(c.id.as_str())
        .bind(c.kind.as_str())
        .bind(user.as_deref())
        .bind(c.state.as_str())
        .bind(c.expires_at)
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .unique("ceremony id taken")
        .execute(&self.pool)
        .await?;
        Ok(n == 1)
    }

    async fn take_ceremony(
        &self,
        id: &str,
        kind: &str,
        now: Timestamp,
    ) -> Result<Option<Ceremony>> {
        // One statement: of two concurrent takers, one deletes the row and
        // the other finds nothing. An expired ceremony is taken as nothing.
        let row = q(
            "DELETE FROM webauthn_ceremonies WHERE id = $1 AND kind = $2 \
                     RETURNING id, kind, user_id, state, expires_at",
        )
        .bind(id)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?;
        let ceremony = row.as_ref().map(ceremony_from_row).transpose()?;
        Ok(ceremony.filter(|c| c.expires_at > now))
    }

    async fn sweep_ceremonies(&self, now: Timestamp) -> Result<u64> {
        q("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
    }
}
