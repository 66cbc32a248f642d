//! Malformed, unknown, mistyped and oversize bodies: always a 4xx problem+json, never a
//! change in the database.

use reqwest::{Method, StatusCode};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::prelude::*;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn bad_bodies_get_problems_and_change_nothing(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (_, schedule, token) = app.admitted(1, 50, 10_000).await;
    let before = app.snapshot().await;
    let huge = format!("{{\"amount\": 1, \"pad\": \"{}\"}}", "x".repeat(70 * 1024));
    let routes = [
        "/v1/reservations".to_string(),
        "/v1/payments".to_string(),
        "/v1/users/1/points/charge".to_string(),
        "/admin/concerts".to_string(),
    ];
    const JSON: &str = "application/json";
    let invalid = (StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let bodies = [
        ("{not json", JSON, invalid),
        ("[]", JSON, invalid),
        ("[1, 7]", JSON, invalid),
        (
            r#"{"schedule_id": "one", "seat_no": 1, "reservation_ids": 5, "amount": "x", "title": 7}"#,
            JSON,
            invalid,
        ),
        (r#"{"unexpected": true}"#, JSON, invalid),
        (
            r#"{"schedule_id": 1, "seat_no": 99999999999999999999}"#,
            JSON,
            invalid,
        ),
        (
            "schedule_id=1",
            "application/x-www-form-urlencoded",
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE"),
        ),
        (
            huge.as_str(),
            JSON,
            (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
        ),
    ];
    for route in &routes {
        for (body, content_type, (status, code)) in bodies {
            let response = app
                .post(route)
                .bearer_auth(if route.starts_with("/admin") {
                    ADMIN
                } else {
                    token.as_str()
                })
                .header("content-type", content_type)
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            eprintln!("{route} {}", &body[..body.len().min(60)]);
            assert_problem(response, status, code).await;
        }
    }
    // Wrong path parameter types.
    for path in [
        "/v1/schedules/abc/seats",
        "/v1/reservations/not-a-uuid",
        "/v1/concerts/1.5/schedules",
    ] {
        let response = app.send(Method::GET, path, Some(&token)).await;
        assert_problem(response, StatusCode::BAD_REQUEST, "INVALID_REQUEST").await;
    }
    let answer = app.hold(&token, schedule, i64::MAX).await;
    assert_problem_body(answer, StatusCode::NOT_FOUND, "SEAT_NOT_FOUND");
    assert_eq!(app.snapshot().await, before);
    app.audit().await;
    app.stop().await;
}
