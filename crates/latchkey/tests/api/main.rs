#![allow(clippy::unwrap_used, clippy::expect_used)]
// Real-time bounds on socket deadlines (never "took < X" assertions).
#![allow(clippy::disallowed_methods)]
//! End-to-end tests of latchkey's HTTP contract (API.md): a real
//! server on a free port, a SQLite file in a temporary directory, a manual
//! clock, and real HTTP requests. Each test starts its own server.

mod accounts;
mod admin;
mod assurance;
mod audit;
mod bff;
mod cors;
mod credentials;
mod csrf;
mod email;
mod email_code;
mod email_helpers;
mod email_outage;
mod email_reset;
mod email_ui;
mod errors;
mod expiry;
mod forgery;
mod forward_auth;
mod forward_auth_rd;
mod forward_auth_rules;
mod helpers;
mod introspection;
mod jwt;
mod keys;
mod logins;
mod me;
mod mfa_helpers;
mod mfa_login;
mod mfa_pages;
mod mfa_passkey;
mod mfa_totp;
mod no_leaks;
mod oidc;
mod oidc_flavours;
mod oidc_peer;
mod oidc_unlink_page;
mod operations;
mod passkeys;
mod passkeys_ui;
mod proxies;
mod raw_http;
mod refresh;
mod regression_audiences;
mod regression_bff;
mod regression_connections;
mod regression_forms;
mod regression_limits;
mod regression_openapi;
mod regression_readiness;
mod regression_store;
mod regression_tokens;
mod revocation;
mod revocation_feed;
mod sessions;
mod soft_authenticator;
mod throttling;
mod tokens;
mod ui_account;
mod ui_recent_auth;
mod webhook_helpers;
mod webhooks;
