//! sqlx errors as [`StoreError`]s, without the values that were bound.
//!
//! PostgreSQL puts the offending row in an error's DETAIL (never shown
//! here), but the primary message of a data exception (SQLSTATE class
//! `22`, e.g. `invalid input syntax for type bigint: "…"`) quotes the value
//! itself; for that class only the code is kept.

use sqlx::error::DatabaseError;

use crate::StoreError;

/// Maps `e`, calling a unique violation "already exists".
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    db_err_as(e, "already exists")
}

/// Maps `e`: unique violations become `Conflict(unique)`, foreign-key
/// violations `Conflict("no such …")`, undecodable rows `Corrupt`, and
/// everything else (connection, pool, timeout, lock) `Unavailable`.
pub(crate) fn db_err_as(e: sqlx::Error, unique: &'static str) -> StoreError {
    match e {
        sqlx::Error::Database(d) => database(d.as_ref(), unique),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => corrupt(e),
        sqlx::Error::Encode(_) => StoreError::Unavailable("a value could not be encoded".into()),
        e => StoreError::Unavailable(e.to_string()),
    }
}

fn database(d: &dyn DatabaseError, unique: &'static str) -> StoreError {
    if d.is_unique_violation() {
        return StoreError::Conflict(unique);
    }
    if d.is_foreign_key_violation() {
        // Sessions and families reference users; tokens reference families.
        return StoreError::Conflict(match d.table() {
            Some("refresh_tokens") => "no such refresh family",
            _ => "no such user",
        });
    }
    let code = d.code().unwrap_or_default();
    if code.starts_with("22") {
        StoreError::Unavailable(format!("postgres error {code}"))
    } else {
        StoreError::Unavailable(format!("postgres error {code}: {}", d.message()))
    }
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_errors_are_unavailable() {
        assert!(matches!(
            db_err(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            db_err(sqlx::Error::Io(
                std::io::ErrorKind::ConnectionRefused.into()
            )),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn undecodable_rows_are_corrupt() {
        assert!(matches!(
            db_err(sqlx::Error::ColumnNotFound("seq".into())),
            StoreError::Corrupt(_)
        ));
    }
}
