//! Who is calling: the client's address and user agent.
//!
//! The address is the TCP peer, unless the peer is a configured trusted
//! proxy, in which case it is the right-most `X-Forwarded-For` entry that is
//! not itself a trusted proxy. A client-sent `X-Forwarded-For` from an
//! untrusted peer is ignored (it would let an attacker pick the address its
//! login failures are counted against).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::state::AppState;

#[derive(Clone, Debug)]
pub struct Client {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let trusted = &state.settings.trusted_proxies;
        let ip = match peer {
            Some(p) if trusted.contains(&p) => forwarded_client(parts, trusted).or(Some(p)),
            other => other,
        };
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self { ip, user_agent })
    }
}

/// The right-most `X-Forwarded-For` entry that is not a trusted proxy.
/// Entries left of it were written by the client and are not read at all,
/// so junk there changes nothing; junk at or right of it means the chain
/// cannot be trusted, and the peer is used instead.
fn forwarded_client(parts: &Parts, trusted: &[IpAddr]) -> Option<IpAddr> {
    let entries: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        let ip = entry.parse::<IpAddr>().ok()?;
        if !trusted.contains(&ip) {
            return Some(ip);
        }
    }
    None
}
