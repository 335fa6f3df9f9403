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

fn forwarded_client(parts: &Parts, trusted: &[IpAddr]) -> Option<IpAddr> {
    let all: Vec<IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .ok()?;
    all.into_iter().rev().find(|ip| !trusted.contains(ip))
}
