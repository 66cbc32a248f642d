//! The operators' rooms API.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use testkit::prelude::*;

#[tokio::test]
async fn room_shows_defaults_and_live_figures() {
    let app = Stack::gateways_with(2, |s| s.queue.capacity = 2).await;
    let (status, room) = app.admin(Method::GET, 1, None).await;
    assert_eq!(status, StatusCode::OK, "{room}");
    assert_eq!(room["concert_id"], 1);
    assert_eq!(room["capacity"], 2);
    assert_eq!(room["batch_size"], 10);
    assert_eq!(room["tick_ms"], 50);
    assert_eq!(room["active_ttl_secs"], 60);
    assert_eq!(room["enabled"], true);
    assert_eq!(room["waiting"], 0);

    for user in 1..=5 {
        app.join(user, 1, user as i64).await;
    }
    let room = poll_until(Duration::from_secs(5), "a tick to be recorded", || async {
        let (_, room) = app.admin(Method::GET, 1, None).await;
        room["last_tick_by"].is_string().then_some(room)
    })
    .await;
    assert_eq!(room["waiting"], 3);
    assert_eq!(room["active"], 2);
    assert_eq!(room["admitted_last_minute"], 2);
    assert_eq!(room["head_seq"], 3);
    assert_eq!(room["last_seq"], 5);
    assert!(room["oldest_wait_secs"].as_u64().unwrap() <= 2);
    assert!(room["last_tick_by"]
        .as_str()
        .unwrap()
        .starts_with("gw-test-"));
    chrono::DateTime::parse_from_rfc3339(room["last_tick_at"].as_str().unwrap()).unwrap();
    app.stop().await;
}

#[tokio::test]
async fn admin_routes_need_the_admin_token() {
    let app = Stack::gateways(1).await;
    let url = format!("{}/admin/rooms/1", app.url(0));
    let r = app.client.get(&url).send().await.unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let r = app
        .client
        .get(&url)
        .bearer_auth("wrong-token")
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    // Checked before the body is even read.
    let r = app
        .client
        .put(&url)
        .bearer_auth("wrong-token")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    // A buyer's queue token is not an admin token.
    let t = app.join(0, 1, 1).await;
    let r = app
        .client
        .get(&url)
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    app.stop().await;
}

#[tokio::test]
async fn bad_room_settings_are_400_and_change_nothing() {
    let app = Stack::gateways(1).await;
    let bad: [Value; 9] = [
        json!({"capacity": 0}),
        json!({"batch_size": 0}),
        json!({"tick_ms": 5}),
        json!({"tick_ms": 600_000}),
        json!({"active_ttl_secs": 0}),
        json!({"capacity": -1}),
        json!({"capacity": "10"}),
        json!({"enabled": "yes"}),
        json!({"capacity": 10, "speed": 3}),
    ];
    for body in bad {
        let answer = app.admin(Method::PUT, 1, Some(body.clone())).await;
        assert_problem_body(answer, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    }
    let (_, room) = app.admin(Method::GET, 1, None).await;
    assert_eq!(room["capacity"], 100);
    assert_eq!(room["tick_ms"], 50);
    let r = app
        .client
        .put(format!("{}/admin/rooms/1", app.url(0)))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body("{\"capacity\": ")
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::BAD_REQUEST, "INVALID_REQUEST").await;
    app.stop().await;
}

#[tokio::test]
async fn unknown_concert_has_no_room() {
    let app = Stack::gateways(1).await;
    for (method, body) in [
        (Method::GET, None),
        (Method::PUT, Some(json!({"capacity": 3}))),
    ] {
        let answer = app.admin(method, 4242, body).await;
        assert_problem_body(answer, StatusCode::NOT_FOUND, "CONCERT_NOT_FOUND");
    }
    app.stop().await;
}

#[tokio::test]
async fn room_changes_apply_on_every_instance_within_a_tick() {
    let app = Stack::gateways_with(3, |s| set_queue(s, 1, 1, 200)).await;
    for user in 1..=40 {
        app.join(user, 1, user as i64).await;
    }
    let room = app
        .configure(
            1,
            json!({"capacity": 1000, "batch_size": 30, "tick_ms": 50, "active_ttl_secs": 120}),
        )
        .await;
    assert_eq!(
        (
            &room["capacity"],
            &room["batch_size"],
            &room["tick_ms"],
            &room["active_ttl_secs"]
        ),
        (&json!(1000), &json!(30), &json!(50), &json!(120))
    );
    // The next tick (at most 200 ms away with the old tick_ms) admits a whole new batch.
    let started = std::time::Instant::now();
    poll_until(
        Duration::from_secs(3),
        "a batch of 30 to be admitted",
        || async { (app.live_active(1).await >= 31).then_some(()) },
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    app.stop().await;
}
