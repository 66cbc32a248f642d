//! Malformed, unknown, mistyped and oversize bodies: always a 4xx problem+json, never a
//! change in the database.

use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::prelude::*;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn bad_bodies_get_problems_and_change_nothing(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedules) = app.create_concert(&[50]).await;
    let token = app.active_token(1, concert).await;
    app.charge(1, 10_000).await;
    let before = app.snapshot().await;
    let huge = format!("{{\"amount\": 1, \"pad\": \"{}\"}}", "x".repeat(70 * 1024));
    let routes = [
        "/v1/reservations".to_string(),
        "/v1/payments".to_string(),
        "/v1/users/1/points/charge".to_string(),
        "/admin/concerts".to_string(),
    ];
    let bodies: [(&str, &str, StatusCode); 8] = [
        ("{not json", "application/json", StatusCode::BAD_REQUEST),
        ("[]", "application/json", StatusCode::BAD_REQUEST),
        ("[1, 7]", "application/json", StatusCode::BAD_REQUEST),
        (
            r#"{"schedule_id": "one", "seat_no": 1, "reservation_ids": 5, "amount": "x", "title": 7}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"unexpected": true}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"schedule_id": 1, "seat_no": 99999999999999999999}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "schedule_id=1",
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            huge.as_str(),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for route in &routes {
        for (body, content_type, expected) in &bodies {
            let response = app
                .post(route)
                .bearer_auth(if route.starts_with("/admin") {
                    ADMIN
                } else {
                    token.as_str()
                })
                .header("content-type", *content_type)
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json",
                "{route}"
            );
            let (status, problem) = json_of(response).await;
            assert_eq!(
                status,
                *expected,
                "{route} {}: {problem}",
                &body[..body.len().min(60)]
            );
            assert_eq!(problem["status"], expected.as_u16());
            assert!(
                problem["code"].is_string()
                    && problem["title"].is_string()
                    && problem["type"].is_string()
            );
        }
    }
    // Wrong path parameter types.
    for path in [
        "/v1/schedules/abc/seats",
        "/v1/reservations/not-a-uuid",
        "/v1/concerts/1.5/schedules",
    ] {
        let (status, problem) =
            json_of(app.get(path).bearer_auth(&token).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {problem}");
        assert_eq!(problem["code"], "INVALID_REQUEST");
    }
    let (status, _) = app.hold(&token, schedules[0], i64::MAX).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.snapshot().await, before);
    app.audit().await;
    app.stop().await;
}
