//! The gateway's OpenAPI document and docs page, like booking's: the document declares
//! OpenAPI 3.1, lists every route the router serves (forwarded booking and points routes
//! included) and no route it does not, names only real codes with their real statuses, and
//! the `/docs` page loads nothing from outside the service.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared::Code;

use crate::helpers::*;

/// Every (method, path) that `gateway::startup::router` serves, from the modules'
/// `router()` functions and `shared::docs::router`. A new route goes here too.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/queue/tokens"),
    ("delete", "/v1/queue/tokens"),
    ("get", "/v1/queue/status"),
    ("get", "/v1/concerts/{concert_id}"),
    ("get", "/v1/concerts/{concert_id}/schedules"),
    ("get", "/v1/schedules/{schedule_id}/seats"),
    ("post", "/v1/reservations"),
    ("get", "/v1/reservations/{reservation_id}"),
    ("delete", "/v1/reservations/{reservation_id}"),
    ("post", "/v1/payments"),
    ("get", "/v1/users/{user_id}/points"),
    ("post", "/v1/users/{user_id}/points/charge"),
    ("get", "/v1/users/{user_id}/points/history"),
    ("get", "/admin/rooms/{concert_id}"),
    ("put", "/admin/rooms/{concert_id}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/docs"),
];

/// Admission-gated routes: besides booking's own codes, the gateway answers 401, 403
/// `NOT_ADMITTED` (with the position), 410 `TICKET_GONE` and 503 with `Retry-After`.
const ADMITTED: &[&str] = &[
    "INVALID_TOKEN",
    "NOT_ADMITTED",
    "TICKET_GONE",
    "SERVICE_UNAVAILABLE",
];

/// Codes the SPEC names for a route: its documented errors must include them.
const SPEC_CODES: &[(&str, &str, &[&str])] = &[
    (
        "post",
        "/v1/queue/tokens",
        &[
            "INVALID_REQUEST",
            "INVALID_TOKEN",
            "CONCERT_NOT_FOUND",
            "QUEUE_CLOSED",
            "RATE_LIMITED",
            "PAYLOAD_TOO_LARGE",
            "SERVICE_UNAVAILABLE",
        ],
    ),
    (
        "get",
        "/v1/queue/status",
        &["INVALID_TOKEN", "TICKET_GONE", "SERVICE_UNAVAILABLE"],
    ),
    ("delete", "/v1/queue/tokens", &["INVALID_TOKEN"]),
    (
        "get",
        "/v1/concerts/{concert_id}/schedules",
        &["WRONG_CONCERT"],
    ),
    (
        "get",
        "/v1/schedules/{schedule_id}/seats",
        &["SCHEDULE_NOT_FOUND"],
    ),
    (
        "post",
        "/v1/reservations",
        &[
            "SEAT_UNAVAILABLE",
            "SEAT_NOT_FOUND",
            "HOLD_LIMIT",
            "WRONG_CONCERT",
        ],
    ),
    (
        "get",
        "/v1/reservations/{reservation_id}",
        &["RESERVATION_NOT_FOUND"],
    ),
    (
        "delete",
        "/v1/reservations/{reservation_id}",
        &["RESERVATION_NOT_FOUND", "RESERVATION_NOT_HELD"],
    ),
    (
        "post",
        "/v1/payments",
        &[
            "INSUFFICIENT_BALANCE",
            "RESERVATION_EXPIRED",
            "RESERVATION_NOT_HELD",
            "RESERVATION_NOT_FOUND",
            "FORBIDDEN",
            "IDEMPOTENCY_KEY_REUSED",
        ],
    ),
    (
        "post",
        "/v1/users/{user_id}/points/charge",
        &[
            "INVALID_AMOUNT",
            "INVALID_REQUEST",
            "IDEMPOTENCY_KEY_REUSED",
        ],
    ),
    (
        "get",
        "/admin/rooms/{concert_id}",
        &["UNAUTHORIZED", "CONCERT_NOT_FOUND"],
    ),
    (
        "put",
        "/admin/rooms/{concert_id}",
        &["UNAUTHORIZED", "INVALID_REQUEST", "CONCERT_NOT_FOUND"],
    ),
];

impl TestApp {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url(0)))
            .send()
            .await
            .unwrap()
    }
}

fn spec_codes(method: &str, path: &str) -> Vec<&'static str> {
    let mut codes: Vec<&str> = SPEC_CODES
        .iter()
        .filter(|(m, p, _)| *m == method && *p == path)
        .flat_map(|(_, _, codes)| codes.iter().copied())
        .collect();
    let gated = path.starts_with("/v1/")
        && !path.starts_with("/v1/queue/")
        && !path.starts_with("/v1/users/")
        && path != "/v1/concerts/{concert_id}";
    if gated {
        codes.extend(ADMITTED);
    }
    codes
}

async fn fetch_document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(format!("{}/openapi.json", app.url(0)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: Value = response.json().await.unwrap();
    // A copy for `scripts/validate-openapi` (openapi-spec-validator).
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("openapi");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("gateway.json"),
        serde_json::to_vec_pretty(&doc).unwrap(),
    )
    .unwrap();
    doc
}

fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            if item.get(method).is_some() {
                routes.insert((method.to_string(), path.clone()));
            }
        }
    }
    routes
}

/// The codes a response names, in backticks, e.g. "`SEAT_UNAVAILABLE`: ...".
fn named_codes(description: &str) -> Vec<&str> {
    description
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect()
}

#[tokio::test]
async fn openapi_document_is_3_1_and_lists_every_route() {
    let app = spawn_app().await;
    let doc = fetch_document(&app).await;

    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1"), "openapi is {version}");

    let documented = documented_routes(&doc);
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = expected.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "routes not in the document: {missing:?}"
    );
    assert!(extra.is_empty(), "documented but not in ROUTES: {extra:?}");

    // Client generators name functions after operation ids: they must be unique.
    let mut ids = BTreeSet::new();
    for (method, path) in &documented {
        let id = doc["paths"][path][method]["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id), "operationId {id} is used twice");
    }

    // Buyer routes need the queue token, operator routes the admin token.
    for (method, path) in ROUTES {
        let security = &doc["paths"][path][method]["security"];
        let schemes: Vec<&str> = security
            .as_array()
            .map(|a| {
                a.iter()
                    .flat_map(|r| r.as_object().unwrap().keys())
                    .map(String::as_str)
                    .collect()
            })
            .unwrap_or_default();
        let public = path.starts_with("/v1/users/") || *path == "/v1/concerts/{concert_id}";
        let expected: &[&str] = if path.starts_with("/admin/") {
            &["admin_token"]
        } else if path.starts_with("/v1/") && !public {
            &["queue_token"]
        } else {
            &[]
        };
        // Joining works with or without a token: `security: [{}, {queue_token: []}]`.
        if *method == "post" && *path == "/v1/queue/tokens" {
            assert_eq!(security[0], serde_json::json!({}), "joining needs no token");
        }
        assert_eq!(schemes, expected, "security of {method} {path}");
        for scheme in schemes {
            assert_eq!(
                doc["components"]["securitySchemes"][scheme]["scheme"], "bearer",
                "{scheme}"
            );
        }
    }
    app.cleanup().await;
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let app = spawn_app().await;
    let doc = fetch_document(&app).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (method, path) in documented_routes(&doc) {
        let url = format!(
            "{}{}",
            app.url(0),
            path.replace("{reservation_id}", &uuid::Uuid::now_v7().to_string())
                .replace("{concert_id}", "1")
                .replace("{schedule_id}", "1")
                .replace("{user_id}", "1")
        );
        assert!(!url.contains('{'), "unhandled path parameter in {path}");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = client.request(method.clone(), &url).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_ne!(body["code"], "NOT_FOUND", "{method} {path} is not routed");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn error_responses_name_real_codes_with_their_status() {
    let app = spawn_app().await;
    let doc = fetch_document(&app).await;
    let problem = shared::docs::PROBLEM_JSON;
    for (method, path) in documented_routes(&doc) {
        let responses = doc["paths"][&path][&method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} has no responses"));
        let mut codes = BTreeSet::new();
        for (status, response) in responses {
            let status: u16 = status.parse().unwrap();
            let response = match response["$ref"].as_str() {
                Some(r) => {
                    let name = r.strip_prefix("#/components/responses/").unwrap();
                    &doc["components"]["responses"][name]
                }
                None => response,
            };
            assert!(
                response.is_object(),
                "{method} {path} {status}: dangling $ref"
            );
            assert!(
                response["headers"]["X-Request-Id"].is_object(),
                "{method} {path} {status}: no X-Request-Id"
            );
            if status < 400 {
                continue;
            }
            assert!(
                response["content"][problem].is_object(),
                "{method} {path} {status} is not {problem}"
            );
            let description = response["description"].as_str().unwrap_or_default();
            let named = named_codes(description);
            assert!(
                !named.is_empty(),
                "{method} {path} {status} names no code: {description}"
            );
            for name in named {
                let code = Code::from_wire(name)
                    .unwrap_or_else(|| panic!("{method} {path}: unknown code {name}"));
                assert_eq!(
                    code.status().as_u16(),
                    status,
                    "{method} {path}: {name} documented under the wrong status"
                );
                codes.insert(name.to_string());
            }
            if status == 503 {
                assert!(
                    response["headers"]["Retry-After"].is_object(),
                    "{method} {path}: 503 without Retry-After"
                );
            }
        }
        for code in spec_codes(&method, &path) {
            assert!(
                codes.contains(code),
                "{method} {path} does not document {code}"
            );
        }
    }
    // The problem schema lists every code.
    let listed: BTreeSet<&str> = doc["components"]["schemas"]["Code"]["enum"]
        .as_array()
        .expect("Code enum")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let all: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, all);
    app.cleanup().await;
}

#[tokio::test]
async fn docs_page_is_served_from_the_binary() {
    let app = spawn_app().await;
    let response = app.get("/docs").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().path(), "/docs/", "redirected to the page");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("src=\"//"),
        "the page must not load anything from outside:\n{html}"
    );

    // Every asset the page references is served from the binary.
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| {
            [".js", ".css", ".png"].iter().any(|ext| s.ends_with(ext))
                && !s.contains(char::is_whitespace)
        })
        .collect();
    assert!(assets.len() >= 4, "assets: {assets:?}");
    for asset in assets {
        let path = format!("/docs/{}", asset.trim_start_matches("./"));
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }

    // The initializer points at our document and switches off the online validator.
    let init = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/openapi.json"), "{init}");
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    assert!(
        !init.contains("http://") && !init.contains("https://"),
        "{init}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn not_admitted_is_documented_with_the_position() {
    let app = spawn_app().await;
    let doc = fetch_document(&app).await;
    let forbidden = &doc["components"]["schemas"]["Forbidden"];
    assert!(
        forbidden["properties"]["position"].is_object(),
        "{forbidden}"
    );
    for (method, path) in documented_routes(&doc) {
        if !spec_codes(&method, &path).contains(&"NOT_ADMITTED") {
            continue;
        }
        let schema = &doc["paths"][&path][&method]["responses"]["403"]["content"]
            [shared::docs::PROBLEM_JSON]["schema"]["$ref"];
        assert_eq!(
            schema, "#/components/schemas/Forbidden",
            "{method} {path}: 403 must carry the position"
        );
    }
    app.cleanup().await;
}
