//! Redis down: every queue call answers 503 with `Retry-After` within the Redis timeout —
//! never a 500, never a hang — and the gateway recovers by itself when Redis returns.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use shared::token::TicketStatus;

use testkit::prelude::*;
use testkit::proxy::Mode;

/// Every queue-backed call must be a 503 problem with `Retry-After`, quickly.
async fn assert_queue_calls_are_503(app: &Stack, token: &str, within: Duration) {
    let calls: [(Method, &str, Option<&str>, Option<serde_json::Value>); 5] = [
        (
            Method::POST,
            "/v1/queue/tokens",
            None,
            Some(json!({"concert_id": 1, "user_id": 77})),
        ),
        (
            Method::POST,
            "/v1/queue/tokens",
            Some(token),
            Some(json!({"concert_id": 1, "user_id": 1})),
        ),
        (Method::GET, "/v1/queue/status", Some(token), None),
        (Method::DELETE, "/v1/queue/tokens", Some(token), None),
        (Method::GET, "/v1/concerts/1/schedules", Some(token), None),
    ];
    for (method, path, token, body) in calls {
        let started = Instant::now();
        let r = app.request(0, method.clone(), path, token, body).await;
        let elapsed = started.elapsed();
        assert!(r.headers().contains_key("retry-after"), "{method} {path}");
        assert_problem(r, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").await;
        assert!(elapsed < within, "{method} {path} took {elapsed:?}");
    }
}

#[tokio::test]
async fn unreachable_redis_gives_503_with_retry_after_within_the_timeout() {
    let app = Stack::gateways_with(1, |s| {
        s.redis.url = "redis://127.0.0.1:1".into();
        s.redis.timeout_ms = 300;
    })
    .await;
    let token = app.mint(&claims(1, 1, 1, TicketStatus::Active, 60));
    assert_queue_calls_are_503(&app, &token, Duration::from_millis(1500)).await;
    assert_eq!(app.fetch("/healthz", None).await.status(), StatusCode::OK);
    app.assert_ready(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "ok")
        .await;
    app.stop().await;
}

#[tokio::test]
async fn redis_outage_gives_503_and_the_gateway_recovers_by_itself() {
    let options = Options {
        gateways: 1,
        redis_proxy: true,
        ..Options::default()
    };
    let app = Stack::start(options, |gw, _| gw.redis.timeout_ms = 300).await;
    let redis = app.redis_proxy.as_ref().unwrap();
    let t = app.join(0, 1, 1).await;
    assert_eq!(t.state(), "active");

    // Hung Redis: calls time out at the Redis deadline.
    redis.set(Mode::Blackhole);
    assert_queue_calls_are_503(&app, &t.token, Duration::from_millis(1500)).await;
    // Stopped Redis: refused at once.
    redis.set(Mode::Down);
    assert_queue_calls_are_503(&app, &t.token, Duration::from_millis(1500)).await;

    // Back: the same token works again without any restart.
    redis.set(Mode::Up);
    let body = poll_until(
        Duration::from_secs(10),
        "the gateway to recover",
        || async {
            let (status, body) = app.status(0, &t.token).await;
            (status == StatusCode::OK).then_some(body)
        },
    )
    .await;
    assert_eq!(body["status"], "active");
    assert_eq!(app.join(0, 1, 2).await.status, StatusCode::CREATED);
    app.stop().await;
}
