//! Statements and rows, written once for every SQL backend.
//!
//! A [`Stmt`] is static SQL (`$1`, `$2`, … placeholders, which SQLite reads
//! as well as PostgreSQL) and the values bound to it. [`Exec`] runs it on
//! any sqlx database whose driver encodes and decodes the few Rust types
//! latchkey stores; [`Columns`] reads a row by column name. Both are
//! implemented once, for every such database, so a backend adds nothing
//! here: what differs between backends is its [`Dialect`](super::Dialect).

use futures_util::future::BoxFuture;
use latchkey_core::Timestamp;
use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::Dialect;
use super::error::{classify, corrupt};
use crate::Result;

/// A value bound to a placeholder.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Flag(bool),
    Text(&'a str),
    OptText(Option<&'a str>),
    Bytes(&'a [u8]),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Self::OptInt(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Self::Flag(v)
    }
}

/// Times are stored as milliseconds since the Unix epoch.
impl From<Timestamp> for Arg<'_> {
    fn from(v: Timestamp) -> Self {
        Self::Int(v.unix_millis())
    }
}

impl From<Option<Timestamp>> for Arg<'_> {
    fn from(v: Option<Timestamp>) -> Self {
        Self::OptInt(v.map(Timestamp::unix_millis))
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Self::Text(v)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Self::Text(v)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Self::OptText(v)
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Self::Bytes(v)
    }
}

/// Where a statement runs: on the pool (a statement of its own) or inside
/// an open transaction.
pub enum On<'e, DB: Database> {
    Pool(&'e Pool<DB>),
    Conn(&'e mut DB::Connection),
}

impl<'e, DB: Database> From<&'e Pool<DB>> for On<'e, DB> {
    fn from(pool: &'e Pool<DB>) -> Self {
        Self::Pool(pool)
    }
}

impl<'e, DB: Database> From<&'e mut sqlx::Transaction<'static, DB>> for On<'e, DB> {
    fn from(tx: &'e mut sqlx::Transaction<'static, DB>) -> Self {
        Self::Conn(&mut **tx)
    }
}

/// Static SQL and its parameters.
#[must_use = "a statement does nothing until it is run"]
pub struct Stmt<'a> {
    sql: &'static str,
    args: Vec<Arg<'a>>,
    /// What a unique violation means here (`Conflict(unique)`).
    unique: &'static str,
}

/// A statement of `sql`, with nothing bound yet.
pub fn q<'a>(sql: &'static str) -> Stmt<'a> {
    Stmt {
        sql,
        args: Vec::new(),
        unique: "already exists",
    }
}

impl<'a> Stmt<'a> {
    /// Binds the next placeholder (`$1`, then `$2`, …).
    pub fn bind(mut self, v: impl Into<Arg<'a>>) -> Self {
        self.args.push(v.into());
        self
    }

    /// Names the conflict a unique violation of this statement reports.
    pub fn unique(mut self, what: &'static str) -> Self {
        self.unique = what;
        self
    }

    /// Runs the statement; how many rows it touched.
    pub async fn execute<'e, D: Dialect>(self, on: impl Into<On<'e, D>>) -> Result<u64> {
        let unique = self.unique;
        let done = D::run(on.into(), self)
            .await
            .map_err(|e| classify::<D>(e, unique))?;
        Ok(D::rows_affected(&done))
    }

    pub async fn fetch_all<'e, D: Dialect>(self, on: impl Into<On<'e, D>>) -> Result<Vec<D::Row>> {
        let unique = self.unique;
        D::rows(on.into(), self)
            .await
            .map_err(|e| classify::<D>(e, unique))
    }

    pub async fn fetch_optional<'e, D: Dialect>(
        self,
        on: impl Into<On<'e, D>>,
    ) -> Result<Option<D::Row>> {
        let unique = self.unique;
        D::row(on.into(), self)
            .await
            .map_err(|e| classify::<D>(e, unique))
    }

    /// The one row the statement must return (`Corrupt` if none).
    pub async fn fetch_one<'e, D: Dialect>(self, on: impl Into<On<'e, D>>) -> Result<D::Row> {
        self.fetch_optional(on)
            .await?
            .ok_or_else(|| corrupt("a statement returned no row"))
    }
}

/// Runs statements on a database whose driver binds and reads latchkey's
/// types. Implemented for every such database (SQLite and PostgreSQL).
pub trait Exec: Database<Row: Columns> {
    /// `s` as a sqlx query, its values bound.
    fn query(s: Stmt<'_>) -> Query<'static, Self, Self::Arguments>;
    fn run<'e>(on: On<'e, Self>, s: Stmt<'_>) -> BoxFuture<'e, sqlx::Result<Self::QueryResult>>;
    fn rows<'e>(on: On<'e, Self>, s: Stmt<'_>) -> BoxFuture<'e, sqlx::Result<Vec<Self::Row>>>;
    fn row<'e>(on: On<'e, Self>, s: Stmt<'_>) -> BoxFuture<'e, sqlx::Result<Option<Self::Row>>>;
}

impl<DB> Exec for DB
where
    DB: Database<Row: Columns>,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> Option<i64>: Encode<'a, DB> + Type<DB>,
    for<'a> bool: Encode<'a, DB> + Type<DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB> + Type<DB>,
    for<'a> &'a [u8]: Encode<'a, DB> + Type<DB>,
{
    fn query(s: Stmt<'_>) -> Query<'static, Self, Self::Arguments> {
        s.args
            .into_iter()
            .fold(sqlx::query(s.sql), |query, arg| match arg {
                Arg::Int(v) => query.bind(v),
                Arg::OptInt(v) => query.bind(v),
                Arg::Flag(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
                Arg::OptText(v) => query.bind(v),
                Arg::Bytes(v) => query.bind(v),
            })
    }

    fn run<'e>(on: On<'e, Self>, s: Stmt<'_>) -> BoxFuture<'e, sqlx::Result<Self::QueryResult>> {
        let query = Self::query(s);
        match on {
            On::Pool(pool) => pool.execute(query),
            On::Conn(conn) => conn.execute(query),
        }
    }

    fn rows<'e>(on: On<'e, Self>, s: Stmt<'_>) -> BoxFuture<'e, sqlx::Result<Vec<Self::Row>>> {
        let query = Self::query(s);
        match on {
            On::Pool(pool) => pool.fetch_all(query),
            On::Conn(conn) => conn.fetch_all(query),
        }
    }

    fn row<'e>(on: On<'e, Self>, s: Stmt<'_>) -> BoxFuture<'e, sqlx::Result<Option<Self::Row>>> {
        let query = Self::query(s);
        match on {
            On::Pool(pool) => pool.fetch_optional(query),
            On::Conn(conn) => conn.fetch_optional(query),
        }
    }
}

/// A row read by column name; what does not decode is `Corrupt`.
pub trait Columns {
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn flag(&self, col: &str) -> Result<bool>;
    fn text(&self, col: &str) -> Result<String>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>>;

    fn at(&self, col: &str) -> Result<Timestamp> {
        self.int(col).map(Timestamp::from_unix_millis)
    }

    fn opt_at(&self, col: &str) -> Result<Option<Timestamp>> {
        Ok(self.opt_int(col)?.map(Timestamp::from_unix_millis))
    }
}

impl<R: Row> Columns for R
where
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn int(&self, col: &str) -> Result<i64> {
        self.try_get(col).map_err(corrupt)
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        self.try_get(col).map_err(corrupt)
    }

    fn flag(&self, col: &str) -> Result<bool> {
        self.try_get(col).map_err(corrupt)
    }

    fn text(&self, col: &str) -> Result<String> {
        self.try_get(col).map_err(corrupt)
    }

    fn bytes(&self, col: &str) -> Result<Vec<u8>> {
        self.try_get(col).map_err(corrupt)
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.try_get(col).map_err(corrupt)
    }

    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>> {
        self.try_get(col).map_err(corrupt)
    }
}
