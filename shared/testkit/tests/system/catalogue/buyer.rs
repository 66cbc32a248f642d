//! The queue and points routes.

use reqwest::Method;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::*;

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
