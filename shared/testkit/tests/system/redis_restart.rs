//! Redis loses its data mid-sale (the shipped configuration runs it without persistence):
//! every key of the stack's prefix is deleted, as a restart would leave them. The rooms'
//! settings come back from booking (a closed room stays closed, a throttled one keeps its
//! rate), tokens of the lost line are answered 410 `TICKET_GONE` with `reason:
//! queue_reset` (never a made-up position), buyers join again, and an operator's change
//! of a room whose hash is gone lists it for the tickers again.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::prelude::*;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_redis_restart_keeps_room_settings_and_resets_old_tokens(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let stack = Stack::full(pool(opts, c).await, 1).await;
    let (closed, _) = stack.concert_with(10, 1000).await;
    let (throttled, schedule) = stack.concert_with(10, 1000).await;
    stack
        .configure(throttled, json!({"capacity": 1, "batch_size": 1}))
        .await;
    let active = stack.join(0, throttled, 1).await;
    assert_eq!(active.state(), "active", "{}", active.body);
    let waiting = stack.join(0, throttled, 2).await;
    assert_eq!(waiting.state(), "waiting", "{}", waiting.body);
    stack.join(0, closed, 9).await;
    stack.configure(closed, json!({"enabled": false})).await;

    stack.wipe_redis();

    // The closed room is still closed to new buyers.
    let r = stack.post_token(0, closed, 3, None).await;
    assert_problem(r, StatusCode::CONFLICT, "QUEUE_CLOSED").await;
    // The throttled room keeps its settings.
    let (status, room) = stack.admin(Method::GET, throttled, None).await;
    assert_eq!(status, StatusCode::OK, "{room}");
    assert_eq!(
        (room["capacity"].as_u64(), room["batch_size"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(room["enabled"], true);
    let (_, room) = stack.admin(Method::GET, closed, None).await;
    assert_eq!(room["enabled"], false, "{room}");

    // Tokens of the lost line: 410 queue_reset, whatever they are used for.
    for (what, response) in [
        (
            "status of a waiting token",
            stack
                .request(
                    0,
                    Method::GET,
                    "/v1/queue/status",
                    Some(&waiting.token),
                    None,
                )
                .await,
        ),
        (
            "a booking route with an active token",
            stack
                .request(
                    0,
                    Method::GET,
                    &format!("/v1/concerts/{throttled}/schedules"),
                    Some(&active.token),
                    None,
                )
                .await,
        ),
    ] {
        let body = assert_problem(response, StatusCode::GONE, "TICKET_GONE").await;
        assert_eq!(body["reason"], "queue_reset", "{what}: {body}");
    }
    // Booking itself refuses the old admission the same way.
    let answer = stack.hold(&active.token, schedule, 1).await;
    let body = assert_problem_body(answer, StatusCode::GONE, "TICKET_GONE");
    assert_eq!(body["reason"], "queue_reset", "{body}");

    // Buyers join again, under the kept settings: one active at a time.
    let first = stack.join(0, throttled, 2).await;
    let second = stack.join(0, throttled, 1).await;
    assert_eq!(
        (first.state(), second.state()),
        ("active", "waiting"),
        "{} {}",
        first.body,
        second.body
    );
    assert_ne!(
        first.claims(&stack).ep,
        waiting.claims(&stack).ep,
        "the new line has a new epoch"
    );

    // Lost again; this time an operator changes the room before anyone joins: the change
    // lists the room for the tickers, so the line moves without a gateway restart.
    stack.wipe_redis();
    stack
        .configure(throttled, json!({"batch_size": 2, "capacity": 5}))
        .await;
    let mut redis = testkit::redis::conn().await;
    let listed: Vec<i64> = redis::cmd("SMEMBERS")
        .arg(stack.keys.rooms())
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(listed.contains(&throttled), "{listed:?}");
    let (_, room) = stack.admin(Method::GET, throttled, None).await;
    assert_eq!(
        (room["capacity"].as_u64(), room["batch_size"].as_u64()),
        (Some(5), Some(2))
    );
    for user in 10..15 {
        stack.join(0, throttled, user).await;
    }
    poll_until(Duration::from_secs(10), "the ticker to admit", || async {
        let (_, room) = stack.admin(Method::GET, throttled, None).await;
        (room["active"] == 5).then_some(())
    })
    .await;
    stack.audit().await;
    stack.stop().await;
}
