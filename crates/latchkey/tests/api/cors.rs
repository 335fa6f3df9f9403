//! Credentialed CORS for listed origins only.

use reqwest::Method;

use crate::helpers::TestApp;

const SPA: &str = "http://localhost:5173";

async fn app() -> TestApp {
    TestApp::spawn_with(|cfg| cfg.http.cors_allowed_origins = vec![SPA.to_owned()]).await
}

#[tokio::test]
async fn a_listed_origin_gets_a_credentialed_preflight_with_the_csrf_header() {
    let app = app().await;
    let r = app
        .send(
            app.request(Method::OPTIONS, "/v1/cookie/login")
                .header("origin", SPA)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type,x-csrf-token",
                ),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.status);
    assert_eq!(r.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let allowed = r
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-csrf-token"), "{allowed}");
    let methods = r.header("access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");
}

#[tokio::test]
async fn an_unlisted_origin_gets_no_cors_headers_at_all() {
    let app = app().await;
    for origin in ["http://localhost:5174", "https://evil.example", "null"] {
        let preflight = app
            .send(
                app.request(Method::OPTIONS, "/v1/cookie/login")
                    .header("origin", origin)
                    .header("access-control-request-method", "POST"),
            )
            .await;
        let simple = app.send(app.get("/healthz").header("origin", origin)).await;
        for r in [&preflight, &simple] {
            let cors: Vec<_> = r
                .headers
                .keys()
                .filter(|k| k.as_str().starts_with("access-control-"))
                .collect();
            assert!(cors.is_empty(), "{origin}: {cors:?}");
        }
    }
}

#[tokio::test]
async fn a_listed_origin_may_log_in_with_the_hybrid_even_when_same_site() {
    let app = app().await;
    app.create_user("sam", "correct horse battery").await;
    let r = app
        .send(
            app.post("/v1/cookie/login")
                .header("origin", SPA)
                .header("sec-fetch-site", "same-site")
                .json(&serde_json::json!({"username": "sam", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some(SPA));
    // The same request from an unlisted sibling origin is refused.
    let r = app
        .send(
            app.post("/v1/cookie/login")
                .header("origin", "http://localhost:5174")
                .header("sec-fetch-site", "same-site")
                .json(&serde_json::json!({"username": "sam", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(r.status, 403);
}
