//! latchkey's HTTP surface: the router, its extractors and errors.
//!
//! This crate knows HTTP and nothing about SQL, Redis, config files or the
//! environment: the binary builds an [`AppState`] and calls [`router`].
//! Routes are registered through `utoipa-axum`, so the OpenAPI document is
//! generated from the same list that routes requests and cannot miss one.

pub mod admin;
pub mod auth;
pub mod bearer;
pub mod bff;
pub mod caller;
pub mod cookies;
pub mod deadline;
pub mod error;
pub mod finish;
pub mod forward_auth;
pub mod json;
pub mod limits;
pub mod login;
pub mod metrics;
pub mod middleware;
pub mod oidc;
pub mod openapi;
pub mod random;
pub mod routes;
pub mod settings;
pub mod state;
pub mod ui;

use std::sync::LazyLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use caller::IpRange;
pub use error::ApiError;
pub use forward_auth::ForwardAuthSettings;
pub use latchkey_auth::{PasswordService, TokenService, TokenSettings};
pub use limits::{AddressLimits, RouteLimit};
pub use state::{AppState, BffApi, IntrospectionClient, MetricsToken, SameSite, Settings};

#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "latchkey",
    description = "One authentication server for a web app and its APIs."
))]
struct ApiDoc;

/// Every route, the admin API included: what the OpenAPI document shows.
fn api_router() -> OpenApiRouter<AppState> {
    user_routes().merge(admin::routes())
}

/// latchkey's routes but the admin API.
fn user_routes() -> OpenApiRouter<AppState> {
    use routes::{
        accounts, cookie, me, mfa, mfa_passkey, ops, passkeys, revocations, sessions,
        token_endpoints, verify,
    };

    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::change_password))
        .routes(routes!(sessions::login))
        .routes(routes!(sessions::current))
        .routes(routes!(sessions::logout))
        .routes(routes!(sessions::list, sessions::end_all))
        .routes(routes!(sessions::end_one))
        .routes(routes!(token_endpoints::login))
        .routes(routes!(token_endpoints::refresh))
        .routes(routes!(token_endpoints::revoke))
        .routes(routes!(token_endpoints::introspect))
        .routes(routes!(token_endpoints::jwks))
        .routes(routes!(cookie::login))
        .routes(routes!(cookie::refresh))
        .routes(routes!(cookie::logout))
        .routes(routes!(cookie::csrf))
        .routes(routes!(mfa::enrol_totp, mfa::remove_totp))
        .routes(routes!(mfa::confirm_totp))
        .routes(routes!(mfa::regenerate_recovery_codes))
        .routes(routes!(mfa::verify))
        .routes(routes!(mfa_passkey::options))
        .routes(routes!(mfa::step_up))
        .routes(routes!(me::me))
        .routes(routes!(passkeys::register_options))
        .routes(routes!(passkeys::register))
        .routes(routes!(passkeys::list))
        .routes(routes!(passkeys::delete))
        .routes(routes!(passkeys::login_options))
        .routes(routes!(passkeys::login))
        .merge(routes::oidc::router())
        .routes(routes!(verify::verify))
        .routes(routes!(revocations::feed))
        .merge(page_router())
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi))
        .merge(email_router())
}

/// The server-rendered pages and their assets.
fn page_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ui::root))
        .routes(routes!(ui::login_page, ui::login_submit))
        .routes(routes!(ui::account_page::account_page))
        .routes(routes!(ui::account::end_session))
        .routes(routes!(ui::account::logout_everywhere))
        .routes(routes!(ui::account::logout))
        .routes(routes!(ui::account::change_password))
        .routes(routes!(ui::mfa::login_code))
        .routes(routes!(ui::mfa::totp_begin))
        .routes(routes!(ui::mfa::totp_confirm))
        .routes(routes!(ui::mfa::totp_remove))
        .routes(routes!(ui::mfa::recovery_regenerate))
        .routes(routes!(ui::stylesheet))
        .routes(routes!(ui::passkeys::script))
        .routes(routes!(ui::passkeys::delete))
        .routes(routes!(ui::oidc::unlink))
}

/// E-mail: the JSON routes and the pages.
fn email_router() -> OpenApiRouter<AppState> {
    use routes::email;
    OpenApiRouter::new()
        .routes(routes!(email::set))
        .routes(routes!(email::verify))
        .routes(routes!(email::forgot))
        .routes(routes!(email::reset))
        .routes(routes!(email::code))
        .routes(routes!(email::login))
        .routes(routes!(ui::email::forgot_page, ui::email::forgot_submit))
        .routes(routes!(ui::email::reset_page, ui::email::reset_submit))
        .routes(routes!(ui::email::verify_page, ui::email::verify_submit))
        .routes(routes!(ui::email::account_email))
}

static OPENAPI: LazyLock<serde_json::Value> = LazyLock::new(|| {
    let (_, api) = api_router().split_for_parts();
    let mut doc = serde_json::to_value(api).unwrap_or_default();
    openapi::finish(&mut doc);
    doc
});

/// The OpenAPI 3.1 document of every route.
pub fn openapi() -> serde_json::Value {
    OPENAPI.clone()
}

/// Credentialed CORS for the configured origins only (exact match, never
/// a wildcard); other origins get no CORS headers at all.
/// (The BFF applies the same lists itself: `bff::cors`.)
fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    let list: Vec<axum::http::HeaderValue> =
        origins.iter().filter_map(|o| o.parse().ok()).collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::list(list))
        .allow_credentials(true)
        .allow_methods(bff::cors::METHODS)
        .allow_headers(bff::cors::HEADERS)
        .expose_headers([bff::cors::EXPOSED])
        .max_age(std::time::Duration::from_secs(bff::cors::MAX_AGE_SECS))
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let api = if state.settings.admin_public {
        api_router()
    } else {
        user_routes()
    };
    let (routes, _) = api.split_for_parts();
    let cors = cors(&state.settings.cors_allowed_origins);
    // CORS wraps latchkey's own routes only: the BFF passes every method,
    // OPTIONS included, to its upstream after authenticating it.
    // (The 405 fallback is set before the CORS layer so that a preflight
    // for a route without OPTIONS still reaches CORS.)
    let routes = routes
        // Per-address limits, by matched route (see `limits`).
        .route_layer(limits::PerAddressLayer::new(state.clone()))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(cors)
        .route("/bff/{api}", axum::routing::any(bff::proxy))
        .route("/bff/{api}/", axum::routing::any(bff::proxy))
        .route("/bff/{api}/{*path}", axum::routing::any(bff::proxy))
        .fallback(|| async { ApiError::NotFound });
    outer_layers(routes, state)
}

/// The admin API alone, for a listener of its own (`admin.listen`), with
/// the same limits, deadlines and headers as the public listener.
pub fn admin_router(state: AppState) -> Router {
    let (routes, _) = admin::routes().split_for_parts();
    let routes = routes
        .route_layer(limits::PerAddressLayer::new(state.clone()))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(|| async { ApiError::NotFound });
    outer_layers(routes, state)
}

/// What wraps every route of a listener: the body limit extractors
/// read, then [`middleware::ObserveLayer`] (TRACE refused, header and body
/// limits, the body-read deadline, security headers, CORS headers only for
/// listed origins, metrics and the access log), and panics answered as an
/// opaque 500.
fn outer_layers(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .layer(DefaultBodyLimit::max(middleware::MAX_BODY_BYTES))
        .layer(middleware::ObserveLayer::new(state.clone()))
        .layer(CatchPanicLayer::custom(|_| panic_response()))
        .with_state(state)
}

/// `/metrics` alone, for a listener of its own (`metrics.listen`), so
/// that operators can keep it off the public one.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(routes::ops::private_metrics))
        .fallback(|| async { ApiError::NotFound })
        .layer(CatchPanicLayer::custom(|_| panic_response()))
        .with_state(state)
}

fn panic_response() -> Response {
    ApiError::Internal("handler panicked".into()).into_response()
}
