//! Who is calling (`Caller`): the client's address and user agent.
//!
//! The address is the TCP peer, unless the peer is a configured trusted
//! proxy, in which case it is the right-most `X-Forwarded-For` entry that is
//! not itself a trusted proxy. A client-sent `X-Forwarded-For` from an
//! untrusted peer is ignored (it would let an attacker pick the address its
//! login failures are counted against).
//!
//! Addresses are canonical everywhere: an IPv4-mapped IPv6 address
//! (`::ffff:a.b.c.d`, how a dual-stack listener sees IPv4 peers) is the
//! IPv4 address, in the peer, in `X-Forwarded-For` and in the configured
//! proxy ranges alike.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};

use crate::state::AppState;

#[derive(Clone, Debug)]
pub struct Caller {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = client_ip(
            &parts.extensions,
            &parts.headers,
            &state.settings.trusted_proxies,
        );
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self { ip, user_agent })
    }
}

/// The client's canonical address: the peer, or what a trusted peer
/// forwarded.
pub fn client_ip(
    extensions: &Extensions,
    headers: &HeaderMap,
    trusted: &[IpRange],
) -> Option<IpAddr> {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())?;
    if is_trusted(trusted, peer) {
        forwarded_client(headers, trusted).or(Some(peer))
    } else {
        Some(peer)
    }
}

fn is_trusted(trusted: &[IpRange], ip: IpAddr) -> bool {
    trusted.iter().any(|r| r.contains(ip))
}

/// The right-most `X-Forwarded-For` entry that is not a trusted proxy.
/// Entries left of it were written by the client and are not read at all,
/// so junk there changes nothing; junk at or right of it means the chain
/// cannot be trusted, and the peer is used instead.
fn forwarded_client(headers: &HeaderMap, trusted: &[IpRange]) -> Option<IpAddr> {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        let ip = entry.parse::<IpAddr>().ok()?.to_canonical();
        if !is_trusted(trusted, ip) {
            return Some(ip);
        }
    }
    None
}

/// An address or a CIDR range (`10.0.0.0/8`, `2001:db8::/32`, `::1`), held
/// canonically: `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an IP address or a CIDR range like 10.0.0.0/8")]
pub struct InvalidIpRange;

impl IpRange {
    /// Whether `ip` (in any form) is inside the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(a) & mask == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(net)
            }
            _ => false,
        }
    }
}

impl FromStr for IpRange {
    type Err = InvalidIpRange;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| InvalidIpRange)?)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| InvalidIpRange)?;
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => {
                // The mapped block is ::ffff:0:0/96; a wider prefix would
                // reach outside it.
                let p = prefix.unwrap_or(128);
                if !(96..=128).contains(&p) {
                    return Err(InvalidIpRange);
                }
                (addr.to_canonical(), p - 96)
            }
            IpAddr::V4(_) => (addr, prefix.unwrap_or(32)),
            IpAddr::V6(_) => (addr, prefix.unwrap_or(128)),
        };
        let network = match addr {
            IpAddr::V4(a) if prefix <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) if prefix <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
            _ => return Err(InvalidIpRange),
        };
        Ok(Self { network, prefix })
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}
