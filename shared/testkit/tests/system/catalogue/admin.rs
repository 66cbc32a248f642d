//! Both operator APIs: wrong tokens and bad bodies.

use reqwest::Method;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::prelude::*;

use super::*;

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
