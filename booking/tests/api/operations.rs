//! Operating the service: `/metrics` after traffic, and graceful shutdown that finishes
//! the requests in flight while refusing new connections.
//!
//! Every in-process app of this test binary records into one global recorder, so the
//! metrics assertions compare before and after rather than exact totals.

use std::time::Duration;

use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::prelude::*;

/// The sum of the samples of `name` whose labels include every `(key, value)` of `labels`;
/// `None` when no sample matches.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (metric, label_text) = match series.split_once('{') {
            Some((metric, rest)) => (metric, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if metric != name {
            continue;
        }
        if labels
            .iter()
            .all(|(k, v)| label_text.contains(&format!("{k}=\"{v}\"")))
        {
            *found.get_or_insert(0.0) += value.parse::<f64>().unwrap_or(0.0);
        }
    }
    found
}

async fn scrape(app: &Stack) -> String {
    let response = app.get("/metrics").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(text, name, labels).unwrap_or(0.0)
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn metrics_show_holds_payments_pools_and_requests_after_traffic(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let before = scrape(&app).await;

    let (concert, schedules) = app.create_concert(&[10]).await;
    let token = app.active_token(1, concert).await;
    let other = app.active_token(2, concert).await;
    app.charge(1, 5_000).await;
    let (status, held) = app.hold(&token, schedules[0], 1).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let (status, _) = app.hold(&other, schedules[0], 1).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let id = held["reservation_id"].as_str().unwrap();
    let (status, paid) = app.pay(&token, &[id], "metrics-pay").await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");

    let after = scrape(&app).await;
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
    moved(
        "http_requests_total",
        &[
            hold_route[0],
            hold_route[1],
            hold_route[2],
            ("status", "201"),
        ],
    );
    moved(
        "http_requests_total",
        &[
            hold_route[0],
            hold_route[1],
            hold_route[2],
            ("status", "409"),
        ],
    );
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
    let (concert, schedules) = app.create_concert(&[10]).await;
    let token = app.active_token(1, concert).await;
    app.charge(1, 5_000).await;
    let (_, held) = app.hold(&token, schedules[0], 1).await;
    let id = held["reservation_id"].as_str().unwrap().to_owned();

    // Hold the buyer's row: the payment's `SELECT ... FOR UPDATE` waits behind it.
    let mut blocker = app.db().begin().await.unwrap();
    sqlx::query("SELECT balance FROM users WHERE id = 1 FOR UPDATE")
        .execute(&mut *blocker)
        .await
        .unwrap();
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
