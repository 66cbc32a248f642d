//! `/metrics` after traffic: the room's gauges and counters, request counts and latency by
//! route and status, and the Redis pool's usage and call latency.
//!
//! Every in-process app of this test binary records into one global recorder, so the
//! assertions use a concert id only this test uses, or compare before and after.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use testkit::metrics::{sample, value};
use testkit::prelude::*;

#[tokio::test]
async fn metrics_show_room_request_and_redis_figures_after_traffic() {
    let app = Stack::gateways(1).await;
    // A concert id no other test uses, so its series are this test's alone.
    let concert = 700_000 + (rand_id() % 100_000);
    app.stub().concerts.lock().unwrap().insert(concert);
    let c = concert.to_string();
    // Joins answered 201.
    let joins = [
        ("service", "gateway"),
        ("route", "/v1/queue/tokens"),
        ("method", "POST"),
        ("status", "201"),
    ];
    let joins_before = value(&app.metrics(0).await, "http_requests_total", &joins);

    // One slot: the first buyer is admitted at once, the other two wait.
    app.configure(concert, json!({"capacity": 1})).await;
    let first = app.join(0, concert, 1).await;
    assert_eq!(first.state(), "active");
    app.join(0, concert, 2).await;
    app.join(0, concert, 3).await;
    // The first leaves: the next tick admits buyer 2.
    assert_eq!(app.leave(0, &first.token).await, StatusCode::NO_CONTENT);

    let text = poll_until(Duration::from_secs(10), "the room's figures", || async {
        let text = app.metrics(0).await;
        let waiting = sample(&text, "queue_waiting", &[("concert_id", &c)]);
        let active = sample(&text, "queue_active", &[("concert_id", &c)]);
        let admitted = sample(&text, "queue_admitted_total", &[("concert_id", &c)]);
        (waiting == Some(1.0) && active == Some(1.0) && admitted >= Some(2.0)).then_some(text)
    })
    .await;

    let ticks = sample(
        &text,
        "queue_promotion_ticks_total",
        &[("concert_id", &c), ("instance", "gw-test-0")],
    );
    assert!(ticks > Some(0.0), "promotion ticks by instance: {ticks:?}");
    let joined = sample(
        &text,
        "queue_joins_total",
        &[("concert_id", &c), ("result", "waiting")],
    );
    assert_eq!(joined, Some(2.0));

    let joins_after = value(&text, "http_requests_total", &joins);
    assert!(
        joins_after >= joins_before + 3.0,
        "{joins_before} -> {joins_after}"
    );
    let latency = sample(
        &text,
        "http_request_duration_seconds_count",
        &[("service", "gateway"), ("route", "/v1/queue/tokens")],
    );
    assert!(latency >= Some(3.0), "{latency:?}");
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "latency is a histogram"
    );

    let redis_calls = sample(
        &text,
        "redis_call_duration_seconds_count",
        &[("service", "gateway"), ("outcome", "ok")],
    );
    assert!(redis_calls > Some(0.0), "{redis_calls:?}");
    let configured = sample(
        &text,
        "redis_pool_connections",
        &[("service", "gateway"), ("state", "configured")],
    );
    assert!(configured >= Some(1.0), "{configured:?}");
    assert!(
        sample(
            &text,
            "redis_pool_connections",
            &[("service", "gateway"), ("state", "in_flight")],
        )
        .is_some(),
        "in-flight Redis calls are reported"
    );
    app.stop().await;
}

fn rand_id() -> i64 {
    (uuid::Uuid::new_v4().as_u128() % 1_000_000_000) as i64
}
