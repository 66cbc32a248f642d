//! Booking's routes through the gateway: schedules, seats, holds, payments.

use reqwest::Method;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::*;

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
            "seat held by another buyer",
            "/v1/reservations",
            format!(r#"{{"schedule_id": {schedule}, "seat_no": 3}}"#),
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
