//! sqlx errors as [`StoreError`]s: the one classifier of the SQL backends.
//!
//! The class is decided here, once, from sqlx's portable error kinds, so
//! the same failure is the same class on every backend:
//!
//! * a unique violation is `Conflict` (named by the statement: "username
//!   taken"), a foreign-key violation `Conflict("no such …")` — the caller
//!   referred to something that is not there, which is not an outage;
//! * a row that does not decode is `Corrupt`;
//! * everything else (connection, pool, timeout, lock, a closed store) is
//!   `Unavailable`.
//!
//! A [`Dialect`] says only how to describe an unclassified database error
//! (PostgreSQL drops the message of data exceptions, which quote the bound
//! value). No message ever carries a bound value.

use sqlx::error::DatabaseError;

use super::Dialect;
use crate::StoreError;

/// Maps `e`; `unique` names what a unique violation means.
pub fn classify<D: Dialect>(e: sqlx::Error, unique: &'static str) -> StoreError {
    match e {
        sqlx::Error::Database(d) => database::<D>(d.as_ref(), unique),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => corrupt(e),
        sqlx::Error::Encode(_) => StoreError::Unavailable("a value could not be encoded".into()),
        e => StoreError::Unavailable(e.to_string()),
    }
}

fn database<D: Dialect>(d: &dyn DatabaseError, unique: &'static str) -> StoreError {
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
    StoreError::Unavailable(D::describe(d))
}

pub fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(e: impl Fn() -> sqlx::Error) -> [StoreError; 2] {
        [
            classify::<sqlx::Sqlite>(e(), "x"),
            classify::<sqlx::Postgres>(e(), "x"),
        ]
    }

    #[test]
    fn pool_errors_are_unavailable() {
        for e in both(|| sqlx::Error::PoolTimedOut)
            .into_iter()
            .chain(both(|| sqlx::Error::PoolClosed))
            .chain(both(|| {
                sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into())
            }))
        {
            assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
        }
    }

    #[test]
    fn undecodable_rows_are_corrupt() {
        for e in both(|| sqlx::Error::ColumnNotFound("seq".into())) {
            assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
        }
    }
}
