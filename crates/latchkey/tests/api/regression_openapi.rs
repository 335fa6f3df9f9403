//! Issue 10, item 6: the OpenAPI document served at `GET /openapi.json`
//! says what the server does, so that generated clients work.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem};

const PROBLEM: &str = "application/problem+json";
const FORM: &str = "application/x-www-form-urlencoded";

async fn document(app: &TestApp) -> Value {
    let r = app.send(app.get("/openapi.json")).await;
    assert_eq!(r.status, StatusCode::OK);
    r.json()
}

/// Every `(method, path, operation)` of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
    }
    out
}

fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is documented");
    op
}

fn is_page(op: &Value) -> bool {
    op["tags"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t == "ui"))
}

/// Follows a local `$ref` (one level, as utoipa writes them).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().expect("ref name");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

#[tokio::test]
async fn i10_06_operation_ids_are_unique() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has an operationId"));
        seen.entry(id.to_owned())
            .or_default()
            .push(format!("{method} {path}"));
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, ops)| ops.len() > 1).collect();
    assert!(repeated.is_empty(), "repeated operationIds: {repeated:?}");
}

#[tokio::test]
async fn i10_06_api_errors_are_declared_as_problem_json_and_page_errors_as_html() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    for (method, path, op) in operations(&doc) {
        let expected = if is_page(&op) { "text/html" } else { PROBLEM };
        for (status, response) in op["responses"].as_object().expect("responses") {
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            let types: Vec<&String> = response["content"]
                .as_object()
                .map(|c| c.keys().collect())
                .unwrap_or_default();
            assert_eq!(types, [expected], "{method} {path} {status}");
            if expected == PROBLEM {
                let schema = &response["content"][PROBLEM]["schema"];
                assert_eq!(schema["$ref"], "#/components/schemas/Problem", "{path}");
            }
        }
    }
}

/// The operations that read a JSON body, and the statuses each must declare.
const BODY_REFUSALS: &[&str] = &["400", "413", "415", "422"];

#[tokio::test]
async fn i10_06_body_reading_operations_declare_400_413_415_422() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let ops = [
        "/v1/register",
        "/v1/password",
        "/v1/session/login",
        "/v1/token/login",
        "/v1/cookie/login",
        "/v1/token/refresh",
        "/v1/token/revoke",
        "/v1/token/introspect",
    ];
    for path in ops {
        let op = operation(&doc, "post", path);
        for status in BODY_REFUSALS {
            let content = &op["responses"][*status]["content"][PROBLEM];
            assert!(content.is_object(), "POST {path} declares {status}: {op}");
        }
    }
    // And every other operation with a body, pages included.
    for (method, path, op) in operations(&doc) {
        if op.get("requestBody").is_some() {
            for status in BODY_REFUSALS {
                assert!(
                    op["responses"][*status].is_object(),
                    "{method} {path} declares {status}"
                );
            }
        }
    }
}

#[tokio::test]
async fn i10_06_rate_limited_operations_declare_429() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    for path in [
        "/v1/register",
        "/v1/password",
        "/v1/session/login",
        "/v1/token/login",
        "/v1/cookie/login",
        "/v1/token/refresh",
        "/v1/token/revoke",
        "/v1/token/introspect",
        "/v1/cookie/refresh",
        "/login",
        "/account/password",
    ] {
        let op = operation(&doc, "post", path);
        assert!(
            op["responses"]["429"].is_object(),
            "POST {path} declares 429"
        );
    }
}

/// The JSON refusals the document declares are the ones served.
#[tokio::test]
async fn i10_06_declared_json_refusals_are_served() {
    let app = TestApp::spawn().await;
    for path in ["/v1/register", "/v1/session/login", "/v1/token/refresh"] {
        let r = app
            .send(
                app.post(path)
                    .header("content-type", "application/json")
                    .body("{"),
            )
            .await;
        assert_problem(&r, 400, "malformed_json");
        let r = app.send(app.post(path).body("x")).await;
        assert_problem(&r, 415, "unsupported_media_type");
        let r = app.send(app.post(path).json(&json!({}))).await;
        assert_problem(&r, 422, "invalid_request");
    }
}

/// `(path, fields, required)` of each form.
const FORMS: &[(&str, &[&str], &[&str])] = &[
    (
        "/login",
        &["password", "rd", "remember", "username"],
        &["password", "username"],
    ),
    ("/logout", &["csrf_token", "rd"], &["csrf_token"]),
    // Its own form, not the sign-out page's (two `LogoutForm` schemas once
    // shared one name in the document, and the last registered won).
    (
        "/v1/oidc/{provider}/backchannel-logout",
        &["logout_token"],
        &["logout_token"],
    ),
    (
        "/account/logout-everywhere",
        &["csrf_token"],
        &["csrf_token"],
    ),
    (
        "/account/sessions/{id}/end",
        &["csrf_token"],
        &["csrf_token"],
    ),
    (
        "/account/password",
        &[
            "confirm_password",
            "csrf_token",
            "current_password",
            "new_password",
        ],
        &["csrf_token", "current_password", "new_password"],
    ),
    ("/v1/token/revoke", &["token"], &["token"]),
    ("/v1/token/introspect", &["token"], &["token"]),
];

#[tokio::test]
async fn i10_06_form_bodies_are_urlencoded_objects_with_their_fields() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    for (path, fields, required) in FORMS {
        let op = operation(&doc, "post", path);
        let schema = &op["requestBody"]["content"][FORM]["schema"];
        assert!(schema.is_object(), "POST {path} takes a form: {op}");
        let schema = resolve(&doc, schema);
        assert_eq!(schema["type"], "object", "POST {path}: {schema}");
        let mut names: Vec<&str> = schema["properties"]
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        names.sort_unstable();
        assert_eq!(names, *fields, "POST {path}");
        let mut req: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        req.sort_unstable();
        assert_eq!(req, *required, "POST {path}");
        for (name, field) in schema["properties"].as_object().unwrap() {
            assert!(field["type"].is_string(), "POST {path} {name}: {field}");
        }
    }
}

#[tokio::test]
async fn i10_06_security_schemes_named_by_operations_are_defined() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (method, path, op) in operations(&doc) {
        for requirement in op["security"].as_array().into_iter().flatten() {
            for name in requirement.as_object().expect("requirement").keys() {
                assert!(schemes.contains_key(name), "{method} {path} names `{name}`");
            }
        }
    }
}

/// The username rules as the document states them.
struct Rules {
    min: usize,
    max: usize,
    /// The characters of the pattern's one class.
    allowed: fn(char) -> bool,
}

fn username_rules(doc: &Value) -> Rules {
    let register = operation(doc, "post", "/v1/register");
    let body = resolve(
        doc,
        &register["requestBody"]["content"]["application/json"]["schema"],
    );
    let username = &body["properties"]["username"];
    assert_eq!(username["minLength"], 1, "{username}");
    assert_eq!(username["maxLength"], 64, "{username}");
    assert_eq!(username["pattern"], "^[A-Za-z0-9._@+-]+$", "{username}");
    let password = &body["properties"]["password"];
    assert_eq!(password["minLength"], 8, "{password}");
    assert_eq!(password["maxLength"], 256, "{password}");
    Rules {
        min: 1,
        max: 64,
        allowed: |c| c.is_ascii_alphanumeric() || "._@+-".contains(c),
    }
}

#[tokio::test]
async fn i10_06_username_schema_matches_the_server_rules() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let rules = username_rules(&doc);
    let candidates = [
        String::new(),
        "a".into(),
        "A.b_c-d@e+f9".into(),
        "x".repeat(rules.max),
        "y".repeat(rules.max + 1),
        "has space".into(),
        "slash/".into(),
        "émile".into(),
        "bang!".into(),
        "nul\0".into(),
    ];
    for name in candidates {
        let n = name.chars().count();
        let valid = n >= rules.min && n <= rules.max && name.chars().all(rules.allowed);
        let r = app.register(&name, PASSWORD).await;
        if valid {
            assert_eq!(r.status, StatusCode::CREATED, "{name:?}: {}", r.body);
        } else {
            assert_problem(&r, 422, "invalid_username");
        }
    }
}
