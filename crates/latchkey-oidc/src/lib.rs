//! latchkey as an OpenID Connect relying party, for any number of
//! providers: discovery and keys ([`Provider`]), the authorization request
//! (code flow, PKCE S256, `state`, `nonce`), the code exchange, and strict
//! checks of the ID token and of the back-channel logout token
//! ([`check`]). No store, no HTTP server: latchkey-auth decides what a
//! verified identity means.

pub mod check;
pub mod http;
mod jose;
mod provider;

pub use check::{IdentityClaims, LogoutClaims, Refusal};
pub use http::Http;
pub use provider::{
    Authorization, MAX_TOKEN_AGE, OidcError, Provider, ProviderConfig, REFETCH_MIN_INTERVAL,
    RETRY_FIRST, RETRY_MAX, SKEW,
};
