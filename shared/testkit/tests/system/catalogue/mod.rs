//! The bad-input catalogue, through the full stack (gateway → real booking → PostgreSQL):
//! every route × malformed JSON, unknown fields, wrong types, missing fields, out-of-range
//! numbers, i64 overflow, unknown ids, oversize body, wrong content type, a reused
//! idempotency key with another body, expired / tampered / `alg: none` / wrong-key /
//! other-concert / waiting tokens and wrong admin tokens. Each must get the contract's 4xx
//! problem+json with its code — and afterwards the auditor passes and a snapshot of the
//! database shows nothing changed.
//!
//! One test per route group, each a table; a failure names the case: the queue and points
//! routes in `buyer.rs`, booking's in `holds_and_payments.rs`, the operator routes in `admin.rs`. This
//! module is the machinery: the world every table runs in, the cases every route shares.

mod admin;
mod buyer;
mod holds_and_payments;

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use shared::token::{TicketStatus, TokenKeys};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::http::problem_mismatch;
use testkit::prelude::*;

/// One row of a table.
pub(super) struct Case {
    pub(super) name: &'static str,
    pub(super) method: Method,
    pub(super) path: String,
    /// `Authorization: Bearer` value.
    pub(super) token: Option<String>,
    pub(super) content_type: Option<&'static str>,
    pub(super) idempotency_key: Option<&'static str>,
    pub(super) body: Option<String>,
    pub(super) status: u16,
    pub(super) code: &'static str,
}

pub(super) fn case(name: &'static str, method: Method, path: impl Into<String>) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        token: None,
        content_type: None,
        idempotency_key: None,
        body: None,
        status: 400,
        code: "INVALID_REQUEST",
    }
}

impl Case {
    pub(super) fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }
    pub(super) fn json(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self.content_type.get_or_insert("application/json");
        self.idempotency_key.get_or_insert("catalogue-key");
        self
    }
    pub(super) fn content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = Some(content_type);
        self
    }
    pub(super) fn key(mut self, key: &'static str) -> Self {
        self.idempotency_key = Some(key);
        self
    }
    pub(super) fn expect(mut self, status: u16, code: &'static str) -> Self {
        self.status = status;
        self.code = code;
        self
    }
}

/// The tokens of the catalogue, all for user 1 unless said.
pub(super) struct Tokens {
    /// Admitted for concert A (the one under test).
    pub(super) active: String,
    /// Still waiting in A's line (user 2).
    pub(super) waiting: String,
    /// Admitted, but for concert B.
    pub(super) other_concert: String,
    pub(super) expired: String,
    pub(super) tampered: String,
    pub(super) alg_none: String,
    pub(super) wrong_key: String,
}

pub(super) struct World {
    pub(super) stack: Stack,
    pub(super) concert: i64,
    pub(super) schedule: i64,
    pub(super) tokens: Tokens,
    pub(super) reservation: String,
    pub(super) snapshot: Value,
}

pub(super) async fn world(opts: PgPoolOptions, c: PgConnectOptions) -> World {
    let options = Options {
        gateways: 1,
        backend: Backend::Real(pool(opts, c).await),
        ..Options::default()
    };
    let stack = Stack::start(options, |gw, _| set_queue(gw, 1, 10, 50)).await;
    let (concert, schedule) = stack.concert_with(10, 1000).await;
    let (other, _) = stack.concert_with(10, 1000).await;
    let join = |concert: i64, user: i64| {
        let stack = &stack;
        async move {
            let (status, body) = stack
                .call(
                    0,
                    Method::POST,
                    "/v1/queue/tokens",
                    None,
                    Some(json!({"concert_id": concert, "user_id": user})),
                )
                .await;
            assert!(status.is_success(), "join: {status} {body}");
            (
                body["status"].as_str().unwrap().to_owned(),
                body["token"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (st, active) = join(concert, 1).await;
    assert_eq!(st, "active");
    let (st, waiting) = join(concert, 2).await;
    assert_eq!(st, "waiting");
    let (st, other_concert) = join(other, 1).await;
    assert_eq!(st, "active");

    // Money and one live hold, so the snapshot has something that could change.
    let (status, _) = stack
        .call(
            0,
            Method::POST,
            "/v1/users/1/points/charge",
            None,
            Some(json!({"amount": 500})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, held) = stack
        .call(
            0,
            Method::POST,
            "/v1/reservations",
            Some(&active),
            Some(json!({"schedule_id": schedule, "seat_no": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let reservation = held["reservation_id"].as_str().unwrap().to_owned();
    // Seat 3 held by another buyer (user 3, admitted directly).
    let third = stack.active_token(3, concert).await;
    let (status, body) = stack.hold(&third, schedule, 3).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The same key once with a valid body, so the catalogue can reuse it with another.
    let response = stack
        .client
        .post(format!("{}/v1/users/1/points/charge", stack.urls[0]))
        .header("Idempotency-Key", "used-key")
        .json(&json!({"amount": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let keys = TokenKeys::new(&stack.settings.jwt);
    let expired = keys.mint(&claims(1, concert, 1, TicketStatus::Active, -10));
    let mut tampered = active.clone().into_bytes();
    let at = tampered.len() - 5;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let payload = active.split('.').nth(1).unwrap();
    let alg_none = format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    let mut other_settings = stack.settings.jwt.clone();
    other_settings.secret = SecretString::from("another-secret-that-is-long-enough-32b");
    let wrong_key =
        TokenKeys::new(&other_settings).mint(&claims(1, concert, 1, TicketStatus::Active, 600));
    let snapshot = stack.snapshot().await;
    World {
        stack,
        concert,
        schedule,
        tokens: Tokens {
            active,
            waiting,
            other_concert,
            expired,
            tampered,
            alg_none,
            wrong_key,
        },
        reservation,
        snapshot,
    }
}

impl World {
    /// Runs every case against `base`; collects all failures, then reports them together.
    pub(super) async fn run(&self, base: &str, cases: Vec<Case>) {
        let mut failures = Vec::new();
        for case in &cases {
            let mut request = self
                .stack
                .client
                .request(case.method.clone(), format!("{base}{}", case.path));
            if let Some(token) = &case.token {
                request = request.bearer_auth(token);
            }
            if let Some(content_type) = case.content_type {
                request = request.header("content-type", content_type);
            }
            if let Some(key) = case.idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            if let Some(body) = &case.body {
                request = request.body(body.clone());
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let expected = StatusCode::from_u16(case.status).unwrap();
            // The test kit's problem check, collected rather than failing at the first case.
            if let Some(wrong) =
                problem_mismatch(status, Some(&content_type), &body, expected, case.code)
            {
                failures.push(format!(
                    "  {} {} [{}]: expected {} {}, got {wrong}",
                    case.method, case.path, case.name, case.status, case.code
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }

    pub(super) async fn finish(self) {
        assert_eq!(
            self.stack.snapshot().await,
            self.snapshot,
            "the catalogue changed the database"
        );
        self.stack.audit().await;
        self.stack.stop().await;
    }
}

pub(super) const OVERFLOW: &str = "9223372036854775808";

/// The bad tokens every token-checked route must refuse.
pub(super) fn token_cases(w: &World, method: Method, path: &str, body: Option<&str>) -> Vec<Case> {
    let t = &w.tokens;
    let with = |name, token: &str| {
        let c = case(name, method.clone(), path).token(token);
        match body {
            Some(b) => c.json(b),
            None => c,
        }
    };
    // A payment with an expired (genuine) token is a retry whose admission ran out: booking
    // looks for the saved answer of its key, and a key it never saw is 410.
    let expired = if method == Method::POST && path == "/v1/payments" {
        (410, "TICKET_GONE")
    } else {
        (401, "INVALID_TOKEN")
    };
    vec![
        with("no token", "").expect(401, "INVALID_TOKEN"),
        with("expired token", &t.expired).expect(expired.0, expired.1),
        with("tampered token", &t.tampered).expect(401, "INVALID_TOKEN"),
        with("alg none token", &t.alg_none).expect(401, "INVALID_TOKEN"),
        with("wrong-key token", &t.wrong_key).expect(401, "INVALID_TOKEN"),
        with("garbage token", "not.a.jwt").expect(401, "INVALID_TOKEN"),
    ]
}

/// Body cases shared by every JSON route: `valid` is a correct body for the route.
pub(super) fn body_cases(
    method: Method,
    path: &str,
    token: Option<&str>,
    valid: &Value,
) -> Vec<Case> {
    let mk = |name| {
        let c = case(name, method.clone(), path);
        match token {
            Some(t) => c.token(t),
            None => c,
        }
    };
    let mut unknown = valid.clone();
    unknown["extra"] = json!(1);
    let huge = format!(r#"{{"pad": "{}"}}"#, "x".repeat(70 * 1024));
    vec![
        mk("malformed JSON").json("{not json"),
        mk("truncated JSON").json(&valid.to_string()[..valid.to_string().len() - 1]),
        mk("array instead of object").json("[]"),
        mk("null body").json("null"),
        mk("empty object (missing fields)").json("{}"),
        mk("unknown field").json(unknown.to_string()),
        mk("oversize body")
            .json(huge)
            .expect(413, "PAYLOAD_TOO_LARGE"),
        mk("wrong content type")
            .json(valid.to_string())
            .content_type("text/plain")
            .expect(415, "UNSUPPORTED_MEDIA_TYPE"),
        mk("form body")
            .json("a=1")
            .content_type("application/x-www-form-urlencoded")
            .expect(415, "UNSUPPORTED_MEDIA_TYPE"),
    ]
}
