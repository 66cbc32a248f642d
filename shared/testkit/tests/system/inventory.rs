//! The line knows the inventory: booking's counters follow holds, releases, expiries and
//! sales (the auditor checks them against the seats); every join and status answer carries
//! `seats_left` (and `held`); while no seat is buyable nobody is admitted; while seats are
//! only held the line stays. When every seat is sold a waitlisted room (the default) keeps
//! its line — buyers are told `sold_out` with their places, joins go to the back — and
//! admits in line order, one buyer per seat, as seats come back; a room with `waitlist`
//! off releases it (joins 409 `SOLD_OUT`, waiting buyers `status: "sold_out"`).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::prelude::*;

/// The real stack (one gateway; booking publishes its inventory and sweeps holds every
/// 100 ms) with a concert of `seats` seats whose room admits one buyer at a time; the
/// concert's id and its schedule's.
async fn one_at_a_time(opts: PgPoolOptions, c: PgConnectOptions, seats: i64) -> (Stack, i64, i64) {
    let stack = Stack::full_with(pool(opts, c).await, 1, |_, bk| {
        bk.inventory.publish_interval_ms = 100;
        bk.holds.sweep_interval_ms = 100;
    })
    .await;
    let (concert, schedule) = stack.concert_with(seats, 1000).await;
    let room = json!({"capacity": 1, "batch_size": 1, "tick_ms": 50});
    stack.configure(concert, room).await;
    (stack, concert, schedule)
}

/// Holds `seat` through the gateway and expects 201; the reservation's id.
async fn hold(stack: &Stack, token: &str, schedule: i64, seat: i64) -> String {
    let (status, held) = stack.hold_at(0, token, schedule, seat).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    held["reservation_id"].as_str().unwrap().to_owned()
}

/// Pays for `reservation` through the gateway and expects 201.
async fn pay(stack: &Stack, token: &str, reservation: &str) {
    let (status, body) = stack.pay_at(0, token, &[reservation], None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_sold_out_concert_without_waitlist_stops_admitting_and_releases_its_line(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let (stack, concert, schedule) = one_at_a_time(opts, c, 2).await;
    let room = stack.configure(concert, json!({"waitlist": false})).await;
    assert_eq!(room["waitlist"], false, "{room}");
    for user in 1..=4 {
        stack.charge(user, 5_000).await;
    }
    let first = stack.join(0, concert, 1).await;
    let waiting = [
        stack.join(0, concert, 2).await,
        stack.join(0, concert, 3).await,
        stack.join(0, concert, 4).await,
    ];
    assert_eq!(first.state(), "active");
    poll_until(
        Duration::from_secs(5),
        "seats_left to be published",
        || async {
            let (_, body) = stack.status(0, &waiting[0].token).await;
            (body["seats_left"] == 2).then_some(())
        },
    )
    .await;

    // Buyer 1 buys seat 1 and leaves the room; buyer 2 is admitted and buys seat 2.
    let held = hold(&stack, &first.token, schedule, 1).await;
    let (_, body) = stack.status(0, &waiting[2].token).await;
    assert_eq!(body["status"], "waiting", "{body}");
    pay(&stack, &first.token, &held).await;
    let second = stack
        .wait_active(&waiting[0].token, Duration::from_secs(10))
        .await;
    let second = second["token"].as_str().unwrap();
    let held = hold(&stack, second, schedule, 2).await;
    // Every seat is held or sold: the room admits nobody while that lasts.
    poll_until(Duration::from_secs(5), "seats_left 0", || async {
        let (_, body) = stack.status(0, &waiting[1].token).await;
        (body["seats_left"] == 0 && body["held"] == 1).then_some(())
    })
    .await;
    pay(&stack, second, &held).await;

    // Sold out: within about a publish and a tick, the line is released.
    let released = poll_until(
        Duration::from_secs(5),
        "the line to be released",
        || async {
            let (status, body) = stack.status(0, &waiting[2].token).await;
            (status == StatusCode::OK && body["status"] == "sold_out").then_some(body)
        },
    )
    .await;
    assert_eq!(released["seats_left"], 0, "{released}");
    let (_, body) = stack.status(0, &waiting[1].token).await;
    assert_eq!(body["status"], "sold_out", "{body}");
    let r = stack.post_token(0, concert, 99, None).await;
    assert_problem(r, StatusCode::CONFLICT, "SOLD_OUT").await;
    // Buyers who were in line cannot come back in either.
    let r = stack.post_token(0, concert, 3, None).await;
    assert_problem(r, StatusCode::CONFLICT, "SOLD_OUT").await;
    let (_, room) = stack.admin(Method::GET, concert, None).await;
    assert_eq!(room["waiting"], 0, "{room}");
    stack.audit().await;
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_concert_whose_seats_are_only_held_keeps_its_line(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let (stack, concert, schedule) = one_at_a_time(opts, c, 1).await;
    let first = stack.join(0, concert, 1).await;
    let second = stack.join(0, concert, 2).await;
    let held = hold(&stack, &first.token, schedule, 1).await;
    let body = poll_until(
        Duration::from_secs(5),
        "the hold to be published",
        || async {
            let (_, body) = stack.status(0, &second.token).await;
            (body["held"] == 1).then_some(body)
        },
    )
    .await;
    assert_eq!(
        (body["status"].as_str(), body["seats_left"].as_u64()),
        (Some("waiting"), Some(0)),
        "{body}"
    );
    // Still waiting a while later: held is not sold.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, body) = stack.status(0, &second.token).await;
    assert_eq!(body["status"], "waiting", "{body}");
    // The hold is released: the seat is buyable again.
    let released = stack.release_at(0, &first.token, &held).await;
    assert_eq!(released, StatusCode::NO_CONTENT);
    poll_until(
        Duration::from_secs(5),
        "the release to be published",
        || async {
            let (_, body) = stack.status(0, &second.token).await;
            (body["seats_left"] == 1 && body["held"] == 0).then_some(())
        },
    )
    .await;
    stack.audit().await;
    stack.stop().await;
}

/// Cancels `user`'s ticket `ticket` on booking (as the gateway forwards it) and expects 200.
async fn cancel_ticket(stack: &Stack, user: i64, ticket: &str) {
    let r = stack
        .post(&format!("/v1/tickets/{ticket}/cancel"))
        .header("X-User-Id", user.to_string())
        .header("Idempotency-Key", format!("cancel-{ticket}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_waitlisted_line_keeps_its_places_through_the_sell_out_and_gets_the_seats_that_come_back(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let (stack, concert, schedule) = one_at_a_time(opts, c, 2).await;
    // Wide open: only the seats hold admission back.
    let room = json!({"capacity": 10, "batch_size": 10, "tick_ms": 50});
    stack.configure(concert, room).await;
    for user in 1..=5 {
        stack.charge(user, 5_000).await;
    }
    // Buyers 1 and 2 buy the two seats.
    let mut tickets = Vec::new();
    for (user, seat) in [(1, 1), (2, 2)] {
        let joined = stack.join(0, concert, user).await;
        assert_eq!(joined.state(), "active", "{}", joined.body);
        let held = hold(&stack, &joined.token, schedule, seat).await;
        pay(&stack, &joined.token, &held).await;
        tickets.push(held);
    }
    // Joins after the sell-out: placed at the back, told sold_out with their places.
    poll_until(Duration::from_secs(5), "the sell-out", || async {
        let (_, room) = stack.admin(Method::GET, concert, None).await;
        (room["sold_out"] == true).then_some(())
    })
    .await;
    let third = stack.join(0, concert, 3).await;
    assert_eq!(third.status, StatusCode::CREATED, "{}", third.body);
    assert_eq!(third.position(), 1);
    let fourth = stack.join(0, concert, 4).await;
    let fifth = stack.join(0, concert, 5).await;
    assert_eq!(
        (fourth.body["status"].as_str(), fourth.position()),
        (Some("sold_out"), 2)
    );
    assert_eq!(
        (fifth.body["status"].as_str(), fifth.position()),
        (Some("sold_out"), 3)
    );
    // The push stream says the same, and stays open.
    let stream = stack
        .client
        .get(format!("{}/v1/queue/events", stack.url(0)))
        .bearer_auth(&fifth.token)
        .send()
        .await
        .unwrap();
    let mut events = testkit::sse::SseStream::new(stream);
    let first = events.next_event(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (
            first.event.as_str(),
            first.json()["status"].as_str(),
            first.json()["position"].as_u64()
        ),
        ("status", Some("sold_out"), Some(3)),
        "{first:?}"
    );
    // Still there a while later: no 410 while the line is kept.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, body) = stack.status(0, &third.token).await;
    assert_eq!(
        (status, body["status"].as_str(), body["position"].as_u64()),
        (StatusCode::OK, Some("sold_out"), Some(1)),
        "{body}"
    );

    // Buyer 1 cancels: one seat comes back, the head of the line gets it, nobody else.
    cancel_ticket(&stack, 1, &tickets[0]).await;
    let admitted = stack
        .wait_active(&third.token, Duration::from_secs(5))
        .await;
    let token = admitted["token"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, body) = stack.status(0, &fourth.token).await;
    assert_eq!(
        (
            body["status"].as_str(),
            body["position"].as_u64(),
            body["seats_left"].as_u64()
        ),
        (Some("waiting"), Some(1), Some(1)),
        "one seat back, one buyer admitted: {body}"
    );
    // The stream saw the seat come back: a waiting position.
    let mut saw_waiting = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        match events.next_event(Duration::from_millis(500)).await {
            Some(e) if e.event == "status" && e.json()["status"] == "waiting" => {
                saw_waiting = true;
                break;
            }
            _ => {}
        }
    }
    assert!(
        saw_waiting,
        "the stream told the waiting buyer the seat came back"
    );
    // The admitted buyer buys it: sold out again, the next in line keeps its place.
    let held = hold(&stack, &token, schedule, 1).await;
    pay(&stack, &token, &held).await;
    let mut last = serde_json::Value::Null;
    for _ in 0..50 {
        let (_, body) = stack.status(0, &fourth.token).await;
        if body["status"] == "sold_out" && body["position"] == 1 {
            break;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, body) = stack.status(0, &fourth.token).await;
    assert_eq!(
        (body["status"].as_str(), body["position"].as_u64()),
        (Some("sold_out"), Some(1)),
        "{body} (before: {last})"
    );
    let (_, room) = stack.admin(Method::GET, concert, None).await;
    assert_eq!(room["waiting"], 2, "{room}");
    stack.audit().await;
    stack.stop().await;
}
