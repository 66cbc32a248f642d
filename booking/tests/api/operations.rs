//! Operating the service: `/metrics` after traffic, and graceful shutdown that finishes
//! the requests in flight while refusing new connections.
//!
//! Every in-process app of this test binary records into one global recorder, so the
//! metrics assertions compare before and after rather than exact totals.

use std::time::Duration;

use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::metrics::{sample, scrape, value};
use testkit::prelude::*;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn metrics_show_holds_payments_pools_and_requests_after_traffic(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let before = scrape(app.get("/metrics")).await;

    let (concert, schedule, token) = app.admitted(1, 10, 5_000).await;
    let other = app.active_token(2, concert).await;
    let id = app.hold_id(&token, schedule, 1).await;
    let (status, _) = app.hold(&other, schedule, 1).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, paid) = app.pay(&token, &[&id], "metrics-pay").await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");

    let after = scrape(app.get("/metrics")).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        let (b, a) = (value(&before, name, labels), value(&after, name, labels));
        assert!(a > b, "{name}{labels:?} did not move: {b} -> {a}");
    };
    moved("booking_holds_total", &[("outcome", "held")]);
    moved("booking_holds_total", &[("outcome", "unavailable")]);
    moved("booking_payments_total", &[("outcome", "paid")]);
    assert!(
        value(&after, "booking_payment_points_total", &[])
            >= value(&before, "booking_payment_points_total", &[]) + 1000.0,
        "points paid"
    );
    let hold_route = [
        ("service", "booking"),
        ("route", "/v1/reservations"),
        ("method", "POST"),
    ];
    for status in ["201", "409"] {
        moved(
            "http_requests_total",
            &[&hold_route[..], &[("status", status)]].concat(),
        );
    }
    moved("http_request_duration_seconds_count", &hold_route);
    moved(
        "redis_call_duration_seconds_count",
        &[("service", "booking"), ("outcome", "ok")],
    );

    // Pools, as of the scrape.
    let idle = sample(&after, "db_pool_connections", &[("state", "idle")]);
    let in_use = sample(&after, "db_pool_connections", &[("state", "in_use")]);
    assert!(idle.is_some() && in_use.is_some(), "db pool gauges");
    assert!(
        idle.unwrap() + in_use.unwrap() >= 1.0,
        "the pool has connections"
    );
    assert!(value(&after, "db_pool_max_connections", &[]) >= 1.0);
    assert!(
        value(
            &after,
            "redis_pool_connections",
            &[("service", "booking"), ("state", "configured")]
        ) >= 1.0
    );
    assert!(sample(
        &after,
        "redis_pool_connections",
        &[("service", "booking"), ("state", "in_flight")]
    )
    .is_some());
    app.stop().await;
}

/// A payment blocked on a row lock the test holds is in flight when the app is told to
/// stop: new connections are refused at once, and the payment still completes with 201
/// once the lock goes.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn shutdown_finishes_in_flight_requests_and_refuses_new_ones(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (_, schedule, token) = app.admitted(1, 10, 5_000).await;
    let id = app.hold_id(&token, schedule, 1).await;

    // Hold the buyer's row: the payment's `SELECT ... FOR UPDATE` waits behind it.
    let blocker = app
        .lock(&["SELECT balance FROM users WHERE id = 1 FOR UPDATE"])
        .await;
    let payment = tokio::spawn({
        let request = app
            .post("/v1/payments")
            .bearer_auth(&token)
            .header("Idempotency-Key", "shutdown-pay")
            .json(&serde_json::json!({"reservation_ids": [id]}));
        async move { json_of(request.send().await.unwrap()).await }
    });
    let db = app.db().clone();
    assert!(
        eventually(Duration::from_secs(10), || {
            let db = db.clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
                .fetch_one(&db)
                .await
                .unwrap()
                    > 0
            }
        })
        .await,
        "the payment never blocked on the row lock"
    );

    // Stop: the listener closes, the in-flight payment keeps going.
    app.booking_app().cancel.cancel();
    let addr = app.booking_app().addr;
    assert!(
        eventually(Duration::from_secs(5), || async move {
            tokio::net::TcpStream::connect(addr).await.is_err()
        })
        .await,
        "new connections are still accepted after shutdown began"
    );
    assert!(!payment.is_finished(), "the payment was cut short");

    blocker.rollback().await.unwrap();
    let (status, paid) = tokio::time::timeout(Duration::from_secs(10), payment)
        .await
        .expect("the in-flight payment finishes")
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["amount"], 1000);
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("the server stops once the payment is done");
}
