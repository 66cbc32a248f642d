//! The checks both services' OpenAPI documents must pass (each service's docs test calls
//! them with its own route list): OpenAPI 3.1; exactly the routes the router serves;
//! unique operation ids; the right security scheme per route; every error response a
//! problem+json that names real codes under their real status, with `X-Request-Id` and,
//! for 503, `Retry-After`; the codes the contract promises per route; and a `/docs` page
//! that loads nothing from outside the service.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared::Code;

/// Booking routes behind an admission answer these through the gateway (and booking
/// re-checks the token itself).
pub const ADMITTED: &[&str] = &[
    "INVALID_TOKEN",
    "NOT_ADMITTED",
    "TICKET_GONE",
    "SERVICE_UNAVAILABLE",
];

/// (method, path) of routes.
pub type Routes = &'static [(&'static str, &'static str)];

/// (method, path, codes): codes a route's documented errors must include.
pub type Codes = &'static [(&'static str, &'static str, &'static [&'static str])];

/// The buyer's booking routes: booking serves them, the gateway forwards them.
pub const BOOKING_ROUTES: Routes = &[
    ("get", "/v1/concerts"),
    ("get", "/v1/concerts/{concert_id}"),
    ("get", "/v1/concerts/{concert_id}/schedules"),
    ("get", "/v1/schedules/{schedule_id}/seats"),
    ("get", "/v1/schedules/{schedule_id}/sections"),
    ("post", "/v1/reservations"),
    ("get", "/v1/orders/{order_id}"),
    ("delete", "/v1/orders/{order_id}"),
    ("get", "/v1/reservations/{reservation_id}"),
    ("delete", "/v1/reservations/{reservation_id}"),
    ("post", "/v1/payments"),
    ("get", "/v1/payments/{payment_id}"),
    ("get", "/v1/users/{user_id}/reservations"),
    ("get", "/v1/users/{user_id}/points"),
    ("post", "/v1/users/{user_id}/points/charge"),
    ("get", "/v1/users/{user_id}/points/history"),
    ("get", "/v1/users/{user_id}/tickets"),
    ("get", "/v1/tickets/keys"),
    ("post", "/v1/tickets/{ticket_id}/cancel"),
];

/// Every service's probes, metrics and documents (`shared::docs::router`).
pub const SERVICE_ROUTES: Routes = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/docs"),
];

/// Codes the contract names for the buyer's booking routes, in either service's document.
pub const BOOKING_CODES: Codes = &[
    (
        "get",
        "/v1/concerts/{concert_id}/schedules",
        &["WRONG_CONCERT"],
    ),
    (
        "post",
        "/v1/reservations",
        &[
            "SEAT_UNAVAILABLE",
            "SEAT_NOT_FOUND",
            "HOLD_LIMIT",
            "NOT_ENOUGH_SEATS",
            "TICKET_LIMIT",
            "WRONG_CONCERT",
        ],
    ),
    (
        "post",
        "/v1/tickets/{ticket_id}/cancel",
        &[
            "CANCEL_CLOSED",
            "ALREADY_CHECKED_IN",
            "TICKET_CANCELLED",
            "TICKET_NOT_FOUND",
            "IDEMPOTENCY_KEY_REUSED",
        ],
    ),
    (
        "delete",
        "/v1/orders/{order_id}",
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
];

/// What one service's document must contain.
pub struct Expect {
    /// `gateway` or `booking`: names the dump `target/tmp/openapi/<service>.json`.
    pub service: &'static str,
    /// Every (method, path) the router serves, in groups (e.g. [`BOOKING_ROUTES`], the
    /// service's own, [`SERVICE_ROUTES`]).
    pub routes: &'static [Routes],
    /// Codes a route's documented errors must include (beyond [`ADMITTED`] for gated ones),
    /// in groups (e.g. [`BOOKING_CODES`] and the service's own); a route named in several
    /// groups must include them all.
    pub codes: &'static [Codes],
}

/// Public routes: no queue token.
fn public(method: &str, path: &str) -> bool {
    path.starts_with("/v1/users/")
        || path.starts_with("/v1/rooms/")
        || path == "/v1/concerts"
        || path == "/v1/concerts/{concert_id}"
        || path == "/v1/payments/{payment_id}"
        || path.starts_with("/v1/tickets/")
        || (path.starts_with("/v1/queue/") && method == "post")
}

/// Booking routes that need an admission.
fn gated(path: &str) -> bool {
    path.starts_with("/v1/") && !path.starts_with("/v1/queue/") && !public("get", path)
}

impl Expect {
    /// Every (method, path) the service serves.
    pub fn routes(&self) -> impl Iterator<Item = &(&'static str, &'static str)> {
        self.routes.iter().flat_map(|group| group.iter())
    }

    /// The codes `method path` must document.
    pub fn codes_of(&self, method: &str, path: &str) -> Vec<&'static str> {
        let mut codes: Vec<&str> = self
            .codes
            .iter()
            .flat_map(|group| group.iter())
            .filter(|(m, p, _)| *m == method && *p == path)
            .flat_map(|(_, _, codes)| codes.iter().copied())
            .collect();
        if gated(path) {
            codes.extend(ADMITTED);
        }
        codes
    }
}

/// Fetches `/openapi.json` from `base` and keeps a copy for `scripts/validate-openapi`.
pub async fn fetch(client: &reqwest::Client, base: &str, service: &str) -> Value {
    let response = client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: Value = response.json().await.unwrap();
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/tmp/openapi"
    ));
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join(format!("{service}.json")),
        serde_json::to_vec_pretty(&doc).unwrap(),
    )
    .unwrap();
    doc
}

/// Every (method, path) the document describes.
pub fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
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

/// A response, or the reusable response it refers to.
fn resolve<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str() {
        Some(r) => {
            let name = r.strip_prefix("#/components/responses/").unwrap();
            &doc["components"]["responses"][name]
        }
        None => response,
    }
}

/// 3.1, exactly `expect.routes`, unique operation ids, and the right security schemes.
pub fn check_routes(doc: &Value, expect: &Expect) {
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1"), "openapi is {version}");
    let documented = documented_routes(doc);
    let expected: BTreeSet<(String, String)> = expect
        .routes()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = expected.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "routes not in the document: {missing:?}"
    );
    assert!(extra.is_empty(), "documented but not served: {extra:?}");

    // Client generators name functions after operation ids: they must be unique.
    let mut ids = BTreeSet::new();
    for (method, path) in &documented {
        let id = doc["paths"][path][method]["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id), "operationId {id} is used twice");
    }

    // Buyer routes need the queue token, operator routes the admin token.
    for (method, path) in expect.routes() {
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
        let expected: &[&str] = if path.starts_with("/admin/") {
            &["admin_token"]
        } else if path.starts_with("/internal/") {
            &["internal_token"]
        } else if *method == "post" && *path == "/v1/queue/tokens" {
            // Joining works with or without a token: `security: [{}, {queue_token: []}]`.
            assert_eq!(security[0], serde_json::json!({}), "joining needs no token");
            &["queue_token"]
        } else if path.starts_with("/v1/") && !public(method, path) {
            &["queue_token"]
        } else {
            &[]
        };
        assert_eq!(schemes, expected, "security of {method} {path}");
        for scheme in schemes {
            let defined = &doc["components"]["securitySchemes"][scheme];
            if scheme == shared::docs::INTERNAL_TOKEN {
                assert_eq!(defined["type"], "apiKey", "{scheme}");
                assert_eq!(defined["name"], "X-Internal-Token", "{scheme}");
            } else {
                assert_eq!(defined["scheme"], "bearer", "{scheme}");
            }
        }
    }
}

/// Every error response: problem+json, real codes under their status, `X-Request-Id`,
/// `Retry-After` on 503, the promised codes; and the `Code` schema lists every code.
pub fn check_errors(doc: &Value, expect: &Expect) {
    let problem = shared::docs::PROBLEM_JSON;
    for (method, path) in documented_routes(doc) {
        let responses = doc["paths"][&path][&method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} has no responses"));
        let mut codes = BTreeSet::new();
        for (status, response) in responses {
            let status: u16 = status.parse().unwrap();
            let response = resolve(doc, response);
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
        for code in expect.codes_of(&method, &path) {
            assert!(
                codes.contains(code),
                "{method} {path} does not document {code}"
            );
        }
    }
    let listed: BTreeSet<&str> = doc["components"]["schemas"]["Code"]["enum"]
        .as_array()
        .expect("Code enum")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let all: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, all);
}

/// Routes that answer `NOT_ADMITTED` document the problem with the buyer's position.
pub fn check_not_admitted(doc: &Value, expect: &Expect) {
    // A problem (`allOf` ProblemDetails) with the position.
    let forbidden = &doc["components"]["schemas"]["Forbidden"];
    let parts = forbidden["allOf"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    assert!(
        parts
            .iter()
            .any(|p| p["properties"]["position"].is_object()),
        "{forbidden}"
    );
    assert!(
        parts
            .iter()
            .any(|p| p["$ref"] == "#/components/schemas/ProblemDetails"),
        "{forbidden}"
    );
    for (method, path) in documented_routes(doc) {
        if !expect.codes_of(&method, &path).contains(&"NOT_ADMITTED") {
            continue;
        }
        let response = resolve(doc, &doc["paths"][&path][&method]["responses"]["403"]);
        let schema = &response["content"][shared::docs::PROBLEM_JSON]["schema"]["$ref"];
        assert_eq!(
            schema, "#/components/schemas/Forbidden",
            "{method} {path}: 403 must carry the position"
        );
    }
}

/// Every documented route is routed (no 404 `NOT_FOUND`, no 405).
pub async fn check_served(base: &str, doc: &Value) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (method, path) in documented_routes(doc) {
        let url = format!(
            "{base}{}",
            path.replace("{reservation_id}", &uuid::Uuid::now_v7().to_string())
                .replace("{payment_id}", &uuid::Uuid::now_v7().to_string())
                .replace("{order_id}", &uuid::Uuid::now_v7().to_string())
                .replace("{ticket_id}", &uuid::Uuid::now_v7().to_string())
                .replace("{venue_id}", "1")
                .replace("{concert_id}", "1")
                .replace("{schedule_id}", "1")
                .replace("{user_id}", "1")
                .replace("{version}", "any")
                .replace("{file}", "app.js")
        );
        assert!(!url.contains('{'), "unhandled path parameter in {path}");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = client.request(method.clone(), &url).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_ne!(body["code"], "NOT_FOUND", "{method} {path} is not routed");
    }
}

/// `/docs` is Swagger UI from the binary: every asset served locally, no outside URL,
/// our document, no online validator.
pub async fn check_docs_page(client: &reqwest::Client, base: &str) {
    let get = |path: String| {
        let client = client.clone();
        async move { client.get(path).send().await.unwrap() }
    };
    let response = get(format!("{base}/docs")).await;
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
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| {
            [".js", ".css", ".png"].iter().any(|ext| s.ends_with(ext))
                && !s.contains(char::is_whitespace)
        })
        .collect();
    assert!(assets.len() >= 4, "assets: {assets:?}");
    for asset in assets {
        let path = format!("{base}/docs/{}", asset.trim_start_matches("./"));
        assert_eq!(get(path.clone()).await.status(), StatusCode::OK, "{path}");
    }
    let init = get(format!("{base}/docs/swagger-initializer.js"))
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
}
