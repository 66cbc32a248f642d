//! The bad-input catalogue, through the full stack (gateway → real booking → PostgreSQL):
//! every route × malformed JSON, unknown fields, wrong types, missing fields, out-of-range
//! numbers, i64 overflow, unknown ids, oversize body, wrong content type, a reused
//! idempotency key with another body, expired / tampered / `alg: none` / wrong-key /
//! other-concert / waiting tokens and wrong admin tokens. Each must get the SPEC's 4xx
//! problem+json with its code — and afterwards the auditor passes and a snapshot of the
//! database shows nothing changed.
//!
//! One test per route group, each a table; a failure names the case.

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use shared::token::{TicketStatus, TokenKeys};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::prelude::*;

/// One row of a table.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    /// `Authorization: Bearer` value.
    token: Option<String>,
    content_type: Option<&'static str>,
    idempotency_key: Option<&'static str>,
    body: Option<String>,
    status: u16,
    code: &'static str,
}

fn case(name: &'static str, method: Method, path: impl Into<String>) -> Case {
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
    fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }
    fn json(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self.content_type.get_or_insert("application/json");
        self.idempotency_key.get_or_insert("catalogue-key");
        self
    }
    fn content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = Some(content_type);
        self
    }
    fn key(mut self, key: &'static str) -> Self {
        self.idempotency_key = Some(key);
        self
    }
    fn expect(mut self, status: u16, code: &'static str) -> Self {
        self.status = status;
        self.code = code;
        self
    }
}

/// The tokens of the catalogue, all for user 1 unless said.
struct Tokens {
    /// Admitted for concert A (the one under test).
    active: String,
    /// Still waiting in A's line (user 2).
    waiting: String,
    /// Admitted, but for concert B.
    other_concert: String,
    expired: String,
    tampered: String,
    alg_none: String,
    wrong_key: String,
}

struct World {
    stack: Stack,
    concert: i64,
    schedule: i64,
    tokens: Tokens,
    reservation: String,
    snapshot: Value,
}

async fn world(opts: PgPoolOptions, c: PgConnectOptions) -> World {
    let options = Options {
        gateways: 1,
        backend: Backend::Real(pool(opts, c).await),
        ..Options::default()
    };
    let stack = Stack::start(options, |gw, _| {
        gw.queue.capacity = 1;
        gw.queue.tick_ms = 50;
    })
    .await;
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
    async fn run(&self, base: &str, cases: Vec<Case>) {
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
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let code = body["code"].as_str().unwrap_or_default();
            let shape_ok = content_type == "application/problem+json"
                && body["status"] == status
                && body["title"].is_string()
                && body["type"].is_string();
            if status != case.status || code != case.code || !shape_ok {
                failures.push(format!(
                    "  {} {} [{}]: expected {} {}, got {status} {code} ({content_type}) {body}",
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

    async fn finish(self) {
        assert_eq!(
            self.stack.snapshot().await,
            self.snapshot,
            "the catalogue changed the database"
        );
        self.stack.audit().await;
        self.stack.stop().await;
    }
}

const OVERFLOW: &str = "9223372036854775808";

/// The bad tokens every token-checked route must refuse.
fn token_cases(w: &World, method: Method, path: &str, body: Option<&str>) -> Vec<Case> {
    let t = &w.tokens;
    let with = |name, token: &str| {
        let c = case(name, method.clone(), path).token(token);
        match body {
            Some(b) => c.json(b),
            None => c,
        }
    };
    vec![
        with("no token", "").expect(401, "INVALID_TOKEN"),
        with("expired token", &t.expired).expect(401, "INVALID_TOKEN"),
        with("tampered token", &t.tampered).expect(401, "INVALID_TOKEN"),
        with("alg none token", &t.alg_none).expect(401, "INVALID_TOKEN"),
        with("wrong-key token", &t.wrong_key).expect(401, "INVALID_TOKEN"),
        with("garbage token", "not.a.jwt").expect(401, "INVALID_TOKEN"),
    ]
}

/// Body cases shared by every JSON route: `valid` is a correct body for the route.
fn body_cases(method: Method, path: &str, token: Option<&str>, valid: &Value) -> Vec<Case> {
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

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn queue_routes_refuse_bad_input_with_problems(opts: PgPoolOptions, c: PgConnectOptions) {
    let w = world(opts, c).await;
    let gw = w.stack.urls[0].clone();
    let concert = w.concert;
    let valid = json!({"concert_id": concert, "user_id": 1});
    let mut cases = body_cases(Method::POST, "/v1/queue/tokens", None, &valid);
    let join = |name, body: String| case(name, Method::POST, "/v1/queue/tokens").json(body);
    cases.extend([
        join(
            "string id",
            format!(r#"{{"concert_id": "{concert}", "user_id": 1}}"#),
        ),
        join(
            "float id",
            format!(r#"{{"concert_id": {concert}.5, "user_id": 1}}"#),
        ),
        join("missing user_id", format!(r#"{{"concert_id": {concert}}}"#)),
        join(
            "zero user",
            format!(r#"{{"concert_id": {concert}, "user_id": 0}}"#),
        ),
        join(
            "negative concert",
            r#"{"concert_id": -1, "user_id": 1}"#.into(),
        ),
        join(
            "i64 overflow",
            format!(r#"{{"concert_id": {OVERFLOW}, "user_id": 1}}"#),
        ),
        join(
            "unknown concert",
            r#"{"concert_id": 999999, "user_id": 1}"#.into(),
        )
        .expect(404, "CONCERT_NOT_FOUND"),
    ]);
    cases.extend(
        token_cases(
            &w,
            Method::POST,
            "/v1/queue/tokens",
            Some(&valid.to_string()),
        )
        .into_iter()
        .skip(1),
    );
    cases.extend(token_cases(&w, Method::GET, "/v1/queue/status", None));
    cases.extend(token_cases(&w, Method::DELETE, "/v1/queue/tokens", None));
    cases.push(
        case("wrong method", Method::PUT, "/v1/queue/status").expect(405, "METHOD_NOT_ALLOWED"),
    );
    cases.push(case("unknown route", Method::GET, "/v1/queue/nope").expect(404, "NOT_FOUND"));
    w.run(&gw, cases).await;
    w.finish().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn booking_routes_refuse_bad_input_with_problems(opts: PgPoolOptions, c: PgConnectOptions) {
    let w = world(opts, c).await;
    let gw = w.stack.urls[0].clone();
    let (concert, schedule) = (w.concert, w.schedule);
    let t = &w.tokens;
    let active = t.active.as_str();
    let hold = json!({"schedule_id": schedule, "seat_no": 2});
    let pay = json!({"reservation_ids": [w.reservation]});
    let mut cases = body_cases(Method::POST, "/v1/reservations", Some(active), &hold);
    cases.extend(body_cases(Method::POST, "/v1/payments", Some(active), &pay));
    let post =
        |name, path: &str, body: String| case(name, Method::POST, path).token(active).json(body);
    let unknown_uuid = uuid::Uuid::new_v4();
    cases.extend([
        post(
            "seat as string",
            "/v1/reservations",
            format!(r#"{{"schedule_id": {schedule}, "seat_no": "2"}}"#),
        ),
        post(
            "missing seat",
            "/v1/reservations",
            format!(r#"{{"schedule_id": {schedule}}}"#),
        ),
        post(
            "seat i64 overflow",
            "/v1/reservations",
            format!(r#"{{"schedule_id": {schedule}, "seat_no": {OVERFLOW}}}"#),
        ),
        post(
            "seat out of range",
            "/v1/reservations",
            format!(r#"{{"schedule_id": {schedule}, "seat_no": 11}}"#),
        )
        .expect(404, "SEAT_NOT_FOUND"),
        post(
            "seat zero",
            "/v1/reservations",
            format!(r#"{{"schedule_id": {schedule}, "seat_no": 0}}"#),
        )
        .expect(404, "SEAT_NOT_FOUND"),
        post(
            "seat i64::MAX",
            "/v1/reservations",
            format!(r#"{{"schedule_id": {schedule}, "seat_no": {}}}"#, i64::MAX),
        )
        .expect(404, "SEAT_NOT_FOUND"),
        post(
            "unknown schedule",
            "/v1/reservations",
            r#"{"schedule_id": 999999, "seat_no": 1}"#.into(),
        )
        .expect(404, "SEAT_NOT_FOUND"),
        post(
            "seat already held",
            "/v1/reservations",
            format!(r#"{{"schedule_id": {schedule}, "seat_no": 1}}"#),
        )
        .expect(409, "SEAT_UNAVAILABLE"),
        post(
            "ids not a list",
            "/v1/payments",
            r#"{"reservation_ids": "x"}"#.into(),
        ),
        post(
            "id not a uuid",
            "/v1/payments",
            r#"{"reservation_ids": ["nope"]}"#.into(),
        ),
        post(
            "empty id list",
            "/v1/payments",
            r#"{"reservation_ids": []}"#.into(),
        ),
        post(
            "unknown reservation",
            "/v1/payments",
            format!(r#"{{"reservation_ids": ["{unknown_uuid}"]}}"#),
        )
        .expect(404, "RESERVATION_NOT_FOUND"),
        post("balance too low", "/v1/payments", pay.to_string())
            .key("pay-low")
            .expect(402, "INSUFFICIENT_BALANCE"),
        case("no idempotency key", Method::POST, "/v1/payments")
            .token(active)
            .json(pay.to_string())
            .key(""),
        case(
            "unknown reservation (GET)",
            Method::GET,
            format!("/v1/reservations/{unknown_uuid}"),
        )
        .token(active)
        .expect(404, "RESERVATION_NOT_FOUND"),
        case(
            "reservation id not a uuid",
            Method::GET,
            "/v1/reservations/123",
        )
        .token(active),
        case(
            "unknown schedule seats",
            Method::GET,
            "/v1/schedules/999999/seats",
        )
        .token(active)
        .expect(404, "SCHEDULE_NOT_FOUND"),
        case(
            "schedule id overflow",
            Method::GET,
            format!("/v1/schedules/{OVERFLOW}/seats"),
        )
        .token(active),
        case(
            "schedule id not a number",
            Method::GET,
            "/v1/schedules/abc/seats",
        )
        .token(active),
        case(
            "other concert's schedules",
            Method::GET,
            format!("/v1/concerts/{concert}/schedules"),
        )
        .token(&t.other_concert)
        .expect(403, "WRONG_CONCERT"),
        post(
            "hold with another concert's token",
            "/v1/reservations",
            hold.to_string(),
        )
        .token(&t.other_concert)
        .expect(403, "WRONG_CONCERT"),
        case(
            "waiting token on seats",
            Method::GET,
            format!("/v1/schedules/{schedule}/seats"),
        )
        .token(&t.waiting)
        .expect(403, "NOT_ADMITTED"),
        post("waiting token holds", "/v1/reservations", hold.to_string())
            .token(&t.waiting)
            .expect(403, "NOT_ADMITTED"),
        post("waiting token pays", "/v1/payments", pay.to_string())
            .token(&t.waiting)
            .expect(403, "NOT_ADMITTED"),
    ]);
    for (method, path, body) in [
        (
            Method::GET,
            format!("/v1/concerts/{concert}/schedules"),
            None,
        ),
        (Method::GET, format!("/v1/schedules/{schedule}/seats"), None),
        (
            Method::POST,
            "/v1/reservations".to_string(),
            Some(hold.to_string()),
        ),
        (
            Method::GET,
            format!("/v1/reservations/{}", w.reservation),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/reservations/{}", w.reservation),
            None,
        ),
        (
            Method::POST,
            "/v1/payments".to_string(),
            Some(pay.to_string()),
        ),
    ] {
        cases.extend(token_cases(&w, method, &path, body.as_deref()));
    }
    w.run(&gw, cases).await;
    w.finish().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn points_routes_refuse_bad_input_with_problems(opts: PgPoolOptions, c: PgConnectOptions) {
    let w = world(opts, c).await;
    let gw = w.stack.urls[0].clone();
    let charge_path = "/v1/users/1/points/charge";
    let mut cases = body_cases(Method::POST, charge_path, None, &json!({"amount": 10}));
    let charge = |name, body: &str| {
        case(name, Method::POST, charge_path)
            .json(body.to_owned())
            .key("fresh-key")
    };
    cases.extend([
        charge("amount zero", r#"{"amount": 0}"#).expect(400, "INVALID_AMOUNT"),
        charge("amount negative", r#"{"amount": -5}"#).expect(400, "INVALID_AMOUNT"),
        charge("amount above the maximum", r#"{"amount": 10000001}"#).expect(400, "INVALID_AMOUNT"),
        charge("amount i64::MAX", &format!(r#"{{"amount": {}}}"#, i64::MAX))
            .expect(400, "INVALID_AMOUNT"),
        charge(
            "amount i64 overflow",
            &format!(r#"{{"amount": {OVERFLOW}}}"#),
        )
        .expect(400, "INVALID_AMOUNT"),
        charge("amount fraction", r#"{"amount": 1.5}"#).expect(400, "INVALID_AMOUNT"),
        charge("amount as string", r#"{"amount": "10"}"#),
        charge("amount missing", r#"{}"#),
        case("reused key, other body", Method::POST, charge_path)
            .json(r#"{"amount": 200}"#)
            .key("used-key")
            .expect(422, "IDEMPOTENCY_KEY_REUSED"),
        case("no idempotency key", Method::POST, charge_path)
            .json(r#"{"amount": 10}"#)
            .key(""),
        case(
            "user id not a number",
            Method::POST,
            "/v1/users/abc/points/charge",
        )
        .json(r#"{"amount": 10}"#),
        case(
            "user id overflow",
            Method::POST,
            format!("/v1/users/{OVERFLOW}/points/charge"),
        )
        .json(r#"{"amount": 10}"#),
        case("user id zero", Method::POST, "/v1/users/0/points/charge").json(r#"{"amount": 10}"#),
        case(
            "balance of a non-number user",
            Method::GET,
            "/v1/users/x/points",
        ),
        case(
            "history limit not a number",
            Method::GET,
            "/v1/users/1/points/history?limit=abc",
        ),
        case(
            "history limit overflow",
            Method::GET,
            format!("/v1/users/1/points/history?limit={OVERFLOW}"),
        ),
        case(
            "history unknown parameter",
            Method::GET,
            "/v1/users/1/points/history?color=red",
        ),
        case("wrong method", Method::DELETE, "/v1/users/1/points")
            .expect(405, "METHOD_NOT_ALLOWED"),
    ]);
    w.run(&gw, cases).await;
    w.finish().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn admin_routes_refuse_wrong_tokens_and_bad_bodies(opts: PgPoolOptions, c: PgConnectOptions) {
    let w = world(opts, c).await;
    let gw = w.stack.urls[0].clone();
    let booking = w.stack.booking_url();
    let concert = w.concert;
    let room = format!("/admin/rooms/{concert}");
    let mut gateway_cases = Vec::new();
    for (name, token) in [
        ("no admin token", None),
        ("wrong admin token", Some("wrong-admin-token")),
        ("queue token as admin", Some(w.tokens.active.as_str())),
    ] {
        for method in [Method::GET, Method::PUT] {
            let mut c = case(name, method.clone(), &room).expect(401, "UNAUTHORIZED");
            c.token = token.map(str::to_owned);
            if method == Method::PUT {
                c = c.json(r#"{"capacity": 1000}"#);
            }
            gateway_cases.push(c);
        }
    }
    let put = |name, body: &str| {
        case(name, Method::PUT, &room)
            .token(ADMIN)
            .json(body.to_owned())
    };
    gateway_cases.extend([
        put("malformed JSON", "{"),
        put("unknown field", r#"{"capacity": 10, "colour": "red"}"#),
        put("capacity as string", r#"{"capacity": "10"}"#),
        put("negative capacity", r#"{"capacity": -1}"#),
        put(
            "capacity overflow",
            &format!(r#"{{"capacity": {OVERFLOW}0}}"#),
        ),
        put("tick zero", r#"{"tick_ms": 0}"#),
        put("wrong content type", r#"{"capacity": 10}"#)
            .content_type("text/plain")
            .expect(415, "UNSUPPORTED_MEDIA_TYPE"),
        case("unknown concert", Method::GET, "/admin/rooms/999999")
            .token(ADMIN)
            .expect(404, "CONCERT_NOT_FOUND"),
        case("concert id not a number", Method::GET, "/admin/rooms/abc").token(ADMIN),
    ]);
    w.run(&gw, gateway_cases).await;

    let starts = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let valid =
        json!({"title": "T", "schedules": [{"starts_at": starts, "seats": 5, "price": 100}]});
    let mut booking_cases = body_cases(Method::POST, "/admin/concerts", Some(ADMIN), &valid);
    let create = |name, body: String| {
        case(name, Method::POST, "/admin/concerts")
            .token(ADMIN)
            .json(body)
    };
    booking_cases.extend([
        case("no admin token", Method::POST, "/admin/concerts").json(valid.to_string()).expect(401, "UNAUTHORIZED"),
        case("wrong admin token", Method::POST, "/admin/concerts").token("nope").json(valid.to_string()).expect(401, "UNAUTHORIZED"),
        case("wrong admin token (GET)", Method::GET, format!("/admin/concerts/{concert}")).token("nope").expect(401, "UNAUTHORIZED"),
        create("seats zero", json!({"title": "T", "schedules": [{"starts_at": starts, "seats": 0, "price": 100}]}).to_string()),
        create("seats overflow", format!(r#"{{"title": "T", "schedules": [{{"starts_at": "{starts}", "seats": {OVERFLOW}, "price": 100}}]}}"#)),
        create("price negative", json!({"title": "T", "schedules": [{"starts_at": starts, "seats": 5, "price": -1}]}).to_string()).expect(400, "INVALID_AMOUNT"),
        create("date not a date", json!({"title": "T", "schedules": [{"starts_at": "tomorrow", "seats": 5, "price": 100}]}).to_string()),
        case("unknown concert", Method::GET, "/admin/concerts/999999").token(ADMIN).expect(404, "CONCERT_NOT_FOUND"),
    ]);
    w.run(&booking, booking_cases).await;
    w.finish().await;
}
