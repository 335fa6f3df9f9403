//! The configured OpenID Connect providers of this node, by name. Built
//! with the state (nothing fetched); the binary starts their discovery
//! (see [`Providers::discover_in_background`]).

use std::sync::Arc;
use std::time::Duration;

use latchkey_oidc::{Http, Provider, ProviderConfig};

/// How long one call to a provider may take.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct Providers(Vec<Arc<Provider>>);

impl Providers {
    /// The providers of `configs`, each answering at
    /// `{issuer}/v1/oidc/{name}/callback`.
    pub fn new(configs: &[ProviderConfig], issuer: &str) -> Self {
        if configs.is_empty() {
            return Self::default();
        }
        let http = match Http::new(PROVIDER_TIMEOUT) {
            Ok(http) => http,
            Err(error) => {
                tracing::error!(%error, "no HTTP client for OpenID Connect providers; they are off");
                return Self::default();
            }
        };
        let origin = issuer.trim_end_matches('/');
        let providers = configs
            .iter()
            .filter_map(|c| {
                let redirect = format!("{origin}/v1/oidc/{}/callback", c.name);
                match Provider::new(c.clone(), &redirect, http.clone()) {
                    Ok(p) => Some(Arc::new(p)),
                    Err(error) => {
                        tracing::error!(provider = %c.name, %error, "provider is off");
                        None
                    }
                }
            })
            .collect();
        Self(providers)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Provider>> {
        self.0.iter().find(|p| p.config.name == name)
    }

    pub fn all(&self) -> &[Arc<Provider>] {
        &self.0
    }

    /// Starts each provider's discovery, retried with back-off until it
    /// succeeds; latchkey serves meanwhile (the provider shows as
    /// unavailable). Needs a Tokio runtime.
    pub fn discover_in_background(&self) {
        for provider in &self.0 {
            tokio::spawn(Arc::clone(provider).discover_until_available());
        }
    }
}
