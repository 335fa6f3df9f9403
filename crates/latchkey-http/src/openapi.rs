//! The finishing pass over the generated OpenAPI document: what holds for
//! every operation is declared here, once, from the mechanism that makes
//! it true, rather than repeated (and forgotten) in each annotation.
//!
//! - Every 4xx/5xx body of the API is `application/problem+json` (it is
//!   [`ApiError`](crate::ApiError) that renders them); the pages (tag `ui`)
//!   answer errors as HTML.
//! - Every operation that reads a body can refuse it: `400` (unreadable or
//!   malformed JSON), `413` (too large), `415` (wrong content type) and
//!   `422` (a missing or mistyped field). `AppJson`, `TokenParam` and the
//!   pages' form reader answer these for every route that reads a body.
//! - The security schemes the operations name are defined.

use serde_json::{Map, Value, json};

const PROBLEM: &str = "application/problem+json";
const HTML: &str = "text/html";

/// The refusals any body-reading operation can answer, with what they mean.
const BODY_REFUSALS: [(&str, &str); 4] = [
    (
        "400",
        "malformed_json, invalid_request: the body cannot be read",
    ),
    ("413", "payload_too_large"),
    (
        "415",
        "unsupported_media_type: not a content type this operation reads",
    ),
    (
        "422",
        "invalid_request: a field is missing or of the wrong type",
    ),
];

/// Applies the document-wide rules to `doc` (an OpenAPI 3.1 document).
pub fn finish(doc: &mut Value) {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if is_method(method) {
                    finish_operation(op);
                }
            }
        }
    }
    security_schemes(doc);
}

fn is_method(key: &str) -> bool {
    matches!(
        key,
        "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
    )
}

fn is_page(op: &Value) -> bool {
    op["tags"]
        .as_array()
        .is_some_and(|tags| tags.iter().any(|t| t == "ui"))
}

fn finish_operation(op: &mut Value) {
    let page = is_page(op);
    let reads_body = op.get("requestBody").is_some();
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        if !page && is_error(status) {
            as_problem(response);
        }
    }
    if reads_body {
        for (status, description) in BODY_REFUSALS {
            if !responses.contains_key(status) {
                responses.insert(status.to_owned(), refusal(page, description));
            }
        }
    }
}

fn is_error(status: &str) -> bool {
    status.starts_with('4') || status.starts_with('5')
}

/// Renames an error's `application/json` content to the problem type it is
/// served as (and gives a body-less error the problem schema).
fn as_problem(response: &mut Value) {
    let Some(obj) = response.as_object_mut() else {
        return;
    };
    let content = obj
        .entry("content")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(content) = content.as_object_mut() else {
        return;
    };
    let media = content
        .remove("application/json")
        .unwrap_or_else(|| json!({ "schema": problem_ref() }));
    content.retain(|k, _| k != PROBLEM);
    content.insert(PROBLEM.to_owned(), media);
}

fn problem_ref() -> Value {
    json!({ "$ref": "#/components/schemas/Problem" })
}

fn refusal(page: bool, description: &str) -> Value {
    if page {
        json!({
            "description": "An error page",
            "content": { HTML: { "schema": { "type": "string" } } },
        })
    } else {
        json!({
            "description": description,
            "content": { PROBLEM: { "schema": problem_ref() } },
        })
    }
}

/// The schemes that operations name in `security`.
fn security_schemes(doc: &mut Value) {
    let Some(root) = doc.as_object_mut() else {
        return;
    };
    let components = root
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(components) = components.as_object_mut() else {
        return;
    };
    components.insert(
        "securitySchemes".to_owned(),
        json!({
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An access token from /v1/token/login or /v1/token/refresh",
            },
            "basic": {
                "type": "http",
                "scheme": "basic",
                "description": "An [[introspection.clients]] id and secret",
            },
            "admin_key": {
                "type": "http",
                "scheme": "bearer",
                "description": "An admin key (`lk_admin_…`) from `latchkey admin-keys create`; each route names the scope it needs",
            },
            "session": {
                "type": "apiKey",
                "in": "cookie",
                "name": "__Host-lk_session",
                "description": "The session cookie (`lk_session` when cookies.secure is false); unsafe methods also need X-CSRF-Token",
            },
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_problems_and_bodies_can_be_refused() {
        let mut doc = json!({ "paths": { "/x": { "post": {
            "tags": ["t"],
            "requestBody": { "content": { "application/json": {} } },
            "responses": {
                "200": { "content": { "application/json": {} } },
                "401": { "content": { "application/json": { "schema": problem_ref() } } },
            }
        } } } });
        finish(&mut doc);
        let responses = &doc["paths"]["/x"]["post"]["responses"];
        assert!(responses["200"]["content"]["application/json"].is_object());
        assert!(responses["401"]["content"][PROBLEM].is_object());
        assert!(responses["401"]["content"]["application/json"].is_null());
        for status in ["400", "413", "415", "422"] {
            assert!(
                responses[status]["content"][PROBLEM].is_object(),
                "{status}"
            );
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
}
