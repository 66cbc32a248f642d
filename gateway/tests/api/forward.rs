//! Forwarding to booking: admission checks, what is passed through, and failures.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shared::token::TicketStatus;

use testkit::prelude::*;

/// What the stub booking service echoes of `r` (a 200 from it).
async fn echo(r: reqwest::Response, what: &str) -> Value {
    assert_eq!(r.status(), StatusCode::OK, "{what} goes to booking");
    r.json().await.unwrap()
}

#[tokio::test]
async fn active_token_reaches_booking_with_method_path_query_body_and_headers() {
    let app = Stack::gateways(1).await;
    let t = app.join(0, 1, 42).await;
    assert_eq!(t.state(), "active");

    let r = app
        .client
        .post(format!("{}/v1/reservations?dry=1", app.url(0)))
        .bearer_auth(&t.token)
        .header("idempotency-key", "idem-1")
        .header("x-request-id", "req-fwd-1")
        .header("cookie", "session=secret")
        .header("x-other", "nope")
        .json(&json!({"schedule_id": 5, "seat_no": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "req-fwd-1");
    let sent = echo(r, "a hold").await;
    let passed = json!({
        "method": "POST",
        "path": "/v1/reservations",
        "query": "dry=1",
        "authorization": format!("Bearer {}", t.token),
        "content_type": "application/json",
        "idempotency_key": "idem-1",
        "request_id": "req-fwd-1",
        // Only the listed headers go on.
        "cookie": null,
        "x_other": null,
    });
    assert_json_includes(&sent, &passed);
    let body: Value = serde_json::from_str(sent["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"schedule_id": 5, "seat_no": 7}));

    let reservation = "/v1/reservations/0190a1b2-0000-7000-8000-000000000000";
    for (method, path) in [
        (Method::GET, "/v1/concerts/1/schedules"),
        (Method::GET, "/v1/schedules/5/seats"),
        (Method::GET, reservation),
        (Method::DELETE, reservation),
    ] {
        let r = app.request(0, method.clone(), path, Some(&t.token), None);
        let echo = echo(r.await, &format!("{method} {path}")).await;
        let sent = json!({"method": method.as_str(), "path": path});
        assert_json_includes(&echo, &sent);
    }
    app.stop().await;
}

#[tokio::test]
async fn booking_status_content_type_retry_after_and_body_come_back_unchanged() {
    let app = Stack::gateways(1).await;
    let t = app.join(0, 1, 1).await;
    let r = app.fetch("/v1/schedules/409/seats", Some(&t.token)).await;
    assert_problem(r, StatusCode::CONFLICT, "SEAT_UNAVAILABLE").await;
    let r = app.fetch("/v1/schedules/503/seats", Some(&t.token)).await;
    assert_eq!(r.headers()["retry-after"], "7");
    assert_problem(r, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").await;
    app.stop().await;
}

#[tokio::test]
async fn waiting_token_on_a_booking_route_is_403_with_its_position() {
    let app = Stack::gateways_with(1, |s| s.queue.capacity = 1).await;
    app.join(0, 1, 1).await;
    app.join(0, 1, 2).await;
    let t = app.join(0, 1, 3).await;
    assert_eq!(t.position(), 2);
    for (method, path) in [
        (Method::GET, "/v1/concerts/1/schedules"),
        (Method::GET, "/v1/schedules/1/seats"),
        (Method::POST, "/v1/reservations"),
        (Method::POST, "/v1/payments"),
    ] {
        let r = app
            .request(0, method, path, Some(&t.token), Some(json!({})))
            .await;
        let body = assert_problem(r, StatusCode::FORBIDDEN, "NOT_ADMITTED").await;
        assert_eq!(body["position"], 2);
    }
    let r = app.fetch("/v1/schedules/1/seats", None).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    app.stop().await;
}

#[tokio::test]
async fn token_for_another_concert_cannot_list_its_schedules() {
    let app = Stack::gateways(1).await;
    let t = app.join(0, 1, 1).await;
    let r = app.fetch("/v1/concerts/2/schedules", Some(&t.token)).await;
    assert_problem(r, StatusCode::FORBIDDEN, "WRONG_CONCERT").await;
    app.stop().await;
}

#[tokio::test]
async fn points_and_concert_routes_need_no_admission() {
    let app = Stack::gateways(1).await;
    for (method, path, body) in [
        (Method::GET, "/v1/users/7/points", None),
        (
            Method::POST,
            "/v1/users/7/points/charge",
            Some(json!({"amount": 1000})),
        ),
        (Method::GET, "/v1/users/7/points/history?limit=5", None),
    ] {
        let r = app.request(0, method.clone(), path, None, body).await;
        assert_eq!(echo(r, path).await["method"], method.as_str());
    }
    let concert = echo(app.fetch("/v1/concerts/1", None).await, "a concert").await;
    assert_eq!(concert["concert_id"], 1);
    app.stop().await;
}

#[tokio::test]
async fn payment_ends_the_admission_so_the_token_stops_working() {
    let app = Stack::gateways_with(1, |s| s.queue.capacity = 1).await;
    let t = app.join(0, 1, 1).await;
    let next = app.join(0, 1, 2).await;
    let r = app
        .client
        .post(format!("{}/v1/payments", app.url(0)))
        .bearer_auth(&t.token)
        .header("idempotency-key", "pay-1")
        .json(&json!({"reservation_ids": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_problem_body(
        app.status(0, &t.token).await,
        StatusCode::GONE,
        "TICKET_GONE",
    );
    let r = app.fetch("/v1/schedules/1/seats", Some(&t.token)).await;
    assert_problem(r, StatusCode::GONE, "TICKET_GONE").await;
    // The slot goes to the next in line.
    app.wait_active(&next.token, Duration::from_secs(5)).await;
    app.stop().await;
}

#[tokio::test]
async fn ending_the_admission_as_booking_does_makes_the_token_gone() {
    let app = Stack::gateways(1).await;
    let t = app.join(0, 1, 5).await;
    let claims = t.claims(&app);
    assert_eq!(claims.st, TicketStatus::Active);
    assert!(app.store().end_admission(1, 5, claims.seq).await.unwrap());
    // Booking ended it: the gateway's memory learns it at its next read of the room's
    // ended list (a refresh, ≤ 250 ms); booking routes check Redis at once (below).
    poll_until(Duration::from_secs(2), "the end seen", || async {
        (app.status(0, &t.token).await.0 == StatusCode::GONE).then_some(())
    })
    .await;
    let r = app.fetch("/v1/concerts/1/schedules", Some(&t.token)).await;
    assert_problem(r, StatusCode::GONE, "TICKET_GONE").await;
    app.stop().await;
}

#[tokio::test]
async fn booking_down_is_503_with_retry_after() {
    let mut app = Stack::gateways(1).await;
    let t = app.join(0, 1, 1).await;
    app.stop_booking().await;
    let started = std::time::Instant::now();
    let r = app.fetch("/v1/schedules/1/seats", Some(&t.token)).await;
    assert!(r.headers().contains_key("retry-after"));
    assert_problem(r, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").await;
    let r = app.fetch("/v1/users/1/points", None).await;
    assert_problem(r, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").await;
    // An unknown concert cannot be looked up either: 503, not 404.
    let r = app.post_token(0, 3, 1, None).await;
    assert_problem(r, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").await;
    assert!(started.elapsed() < Duration::from_secs(5));
    app.assert_ready(StatusCode::SERVICE_UNAVAILABLE, "ok", "unavailable")
        .await;
    app.stop().await;
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused_before_booking() {
    let app = Stack::gateways(1).await;
    let t = app.join(0, 1, 1).await;
    let r = app
        .client
        .post(format!("{}/v1/reservations", app.url(0)))
        .bearer_auth(&t.token)
        .header("content-type", "application/json")
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE").await;
    app.stop().await;
}

#[tokio::test]
async fn a_hold_on_a_seat_someone_holds_is_refused_at_the_gateway_without_calling_booking() {
    let app = Stack::gateways(1).await;
    let t = app.join(0, 1, 42).await;
    assert_eq!(t.state(), "active");
    let hold = |body: &Value, content_type: &str| {
        app.client
            .post(format!("{}/v1/reservations", app.url(0)))
            .bearer_auth(&t.token)
            .header("content-type", content_type.to_owned())
            .body(body.to_string())
            .send()
    };
    let seat = json!({"schedule_id": 5, "seat_no": 7});
    let held = app.keys.hold(1, 5, 7);
    let _: () = app
        .redis_query(redis::cmd("SET").arg(&held).arg("someone-else"))
        .await;

    // Held: 409 from the gateway (the stub would have echoed 200).
    let r = hold(&seat, "application/json").await.unwrap();
    assert_problem(r, StatusCode::CONFLICT, "SEAT_UNAVAILABLE").await;

    // Another seat, the same seat number in another concert's key space, a body booking
    // must judge (unknown field, wrong type): forwarded to booking.
    let other_concert = app.keys.hold(2, 5, 8);
    let _: () = app
        .redis_query(redis::cmd("SET").arg(other_concert).arg("x"))
        .await;
    for body in [
        json!({"schedule_id": 5, "seat_no": 8}),
        json!({"schedule_id": 5, "seat_no": 7, "extra": 1}),
        json!({"schedule_id": "5", "seat_no": 7}),
    ] {
        let r = hold(&body, "application/json").await.unwrap();
        let echo = echo(r, &body.to_string()).await;
        let sent = json!({"path": "/v1/reservations", "body": body.to_string()});
        assert_json_includes(&echo, &sent);
    }

    // Not sent as JSON: booking answers it (415), as it would for a free seat.
    echo(hold(&seat, "text/plain").await.unwrap(), "a text body").await;

    // Released: forwarded again.
    let _: () = app.redis_query(redis::cmd("DEL").arg(&held)).await;
    echo(
        hold(&seat, "application/json").await.unwrap(),
        "a free seat",
    )
    .await;
    app.stop().await; // removes every key under the test's prefix
}

#[tokio::test]
async fn a_waiting_token_on_a_held_seat_is_still_not_admitted() {
    let app = Stack::gateways_with(1, |s| s.queue.capacity = 1).await;
    app.join(0, 1, 1).await;
    let t = app.join(0, 1, 2).await;
    assert_eq!(t.state(), "waiting");
    let held = app.keys.hold(1, 5, 7);
    let _: () = app.redis_query(redis::cmd("SET").arg(&held).arg("x")).await;
    let seat = json!({"schedule_id": 5, "seat_no": 7});
    let r = app.request(
        0,
        Method::POST,
        "/v1/reservations",
        Some(&t.token),
        Some(seat),
    );
    assert_problem(r.await, StatusCode::FORBIDDEN, "NOT_ADMITTED").await;
    app.stop().await;
}
