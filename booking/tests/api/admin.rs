use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::prelude::*;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn operator_creates_a_concert_and_reads_its_sales(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedules) = app.create_concert(&[50, 10]).await;
    assert_eq!(schedules.len(), 2);

    let token = app.active_token(1, concert).await;
    app.charge(1, 10_000).await;
    let id = app.hold_id(&token, schedules[1], 3).await;
    let (status, _) = app.pay(&token, &[&id], "k1").await;
    assert_eq!(status, StatusCode::CREATED);
    // The payment ended the admission: a second one to hold another seat.
    let token = app.active_token(1, concert).await;
    app.hold_id(&token, schedules[0], 1).await;

    let (status, sales) = app
        .read(&format!("/admin/concerts/{concert}"), Some(ADMIN))
        .await;
    assert_eq!(status, StatusCode::OK, "{sales}");
    let totals = json!({"total_seats": 60, "sold_seats": 1, "held_seats": 1, "revenue": 1000,
        "payments": 1});
    assert_json_includes(&sales, &totals);
    assert_eq!(sales["schedules"][1]["sold_seats"], 1);
    assert_eq!(sales["schedules"][1]["available_seats"], 9);
    assert_eq!(sales["schedules"][0]["available_seats"], 49);

    let (status, public) = app.read(&format!("/v1/concerts/{concert}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(public["title"], "Test concert");
    assert_eq!(public["schedules"].as_array().unwrap().len(), 2);
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn admin_routes_need_the_admin_token_and_valid_bodies(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let good =
        json!({"title": "X", "schedules": [{"starts_at": "2030-01-01T19:00:00Z", "price": 100}]});
    let r = app
        .post("/admin/concerts")
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let wrong = app
        .post_json("/admin/concerts", Some("wrong"), None, &good)
        .await;
    assert_problem_body(wrong, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    // A buyer token is not an admin token.
    let buyer = app.active_token(1, 1).await;
    let r = app
        .send(Method::GET, "/admin/concerts/1", Some(&buyer))
        .await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;

    let before = app.snapshot().await;
    let bad = [
        json!({"title": "", "schedules": [{"starts_at": "2030-01-01T19:00:00Z", "price": 100}]}),
        json!({"title": "X", "schedules": []}),
        json!({"title": "X", "schedules": [{"starts_at": "not a date", "price": 100}]}),
        json!({"title": "X", "schedules": [{"starts_at": "2030-01-01T19:00:00Z", "price": 0}]}),
        json!({"title": "X", "schedules": [{"starts_at": "2030-01-01T19:00:00Z", "price": 100, "seats": 0}]}),
        json!({"title": "X", "schedules": [{"starts_at": "2030-01-01T19:00:00Z", "price": 100, "seats": 100001}]}),
        json!({"title": "X", "venue": "Y", "schedules": [{"starts_at": "2030-01-01T19:00:00Z", "price": 100}]}),
    ];
    for body in bad {
        let (status, problem) = app.post_concert(&body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {problem}");
    }
    assert_eq!(app.snapshot().await, before);

    let r = app
        .send(Method::GET, "/admin/concerts/999", Some(ADMIN))
        .await;
    assert_problem(r, StatusCode::NOT_FOUND, "CONCERT_NOT_FOUND").await;
    let (status, _) = app.read("/v1/concerts/999", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn probes_unknown_routes_and_request_ids(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    let health = app.get("/healthz").send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.headers().contains_key("x-request-id"));
    let ready = app
        .get("/readyz")
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.headers()["x-request-id"], "abc-123");
    let r = app.send(Method::GET, "/nope", None).await;
    assert_problem(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let r = app.send(Method::DELETE, "/v1/payments", None).await;
    assert_problem(r, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED").await;
    app.stop().await;
}
