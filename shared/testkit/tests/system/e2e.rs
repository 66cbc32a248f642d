//! End to end through the real services: gateway (in-process) in front of the real booking
//! service on a fresh PostgreSQL database, both on one Redis prefix and one JWT key.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::prelude::*;

/// The real booking service on the test's database with one gateway in front.
async fn stack(
    opts: PgPoolOptions,
    c: PgConnectOptions,
    adjust: impl FnOnce(&mut gateway::GatewaySettings),
) -> Stack {
    let options = Options {
        gateways: 1,
        backend: Backend::Real(pool(opts, c).await),
        ..Options::default()
    };
    Stack::start(options, |gw, _| adjust(gw)).await
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn buyer_joins_is_admitted_holds_pays_and_the_token_stops_working(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    use reqwest::Method;
    let stack = stack(opts, c, |_| {}).await;
    let (concert, schedule) = stack.concert_with(50, 3000).await;

    // Join: empty line, free capacity -> active at once.
    let (status, joined) = stack
        .call(
            0,
            Method::POST,
            "/v1/queue/tokens",
            None,
            Some(json!({"concert_id": concert, "user_id": 77})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{joined}");
    assert_eq!(joined["status"], "active");
    let token = joined["token"].as_str().unwrap().to_string();

    // Points need no admission.
    let (status, charged) = stack
        .call(
            0,
            Method::POST,
            "/v1/users/77/points/charge",
            None,
            Some(json!({"amount": 10_000})),
        )
        .await;
    assert_eq!(
        (status, charged["balance"].as_i64()),
        (StatusCode::OK, Some(10_000))
    );

    let (status, schedules) = stack
        .call(
            0,
            Method::GET,
            &format!("/v1/concerts/{concert}/schedules"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{schedules}");
    assert_eq!(schedules[0]["available_seats"], 50);
    let (status, seats) = stack
        .call(
            0,
            Method::GET,
            &format!("/v1/schedules/{schedule}/seats"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seats["seats"].as_array().unwrap().len(), 50);

    let (status, held) = stack
        .call(
            0,
            Method::POST,
            "/v1/reservations",
            Some(&token),
            Some(json!({"schedule_id": schedule, "seat_no": 12})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let id = held["reservation_id"].as_str().unwrap().to_string();

    let (status, paid) = stack
        .call(
            0,
            Method::POST,
            "/v1/payments",
            Some(&token),
            Some(json!({"reservation_ids": [id]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["balance"], 7_000);

    // The admission ended with the payment: the token no longer works anywhere.
    assert_problem_body(
        stack
            .call(0, Method::GET, "/v1/queue/status", Some(&token), None)
            .await,
        StatusCode::GONE,
        "TICKET_GONE",
    );
    let (status, _) = stack
        .call(
            0,
            Method::GET,
            &format!("/v1/schedules/{schedule}/seats"),
            Some(&token),
            None,
        )
        .await;
    assert!(
        status == StatusCode::GONE || status == StatusCode::FORBIDDEN,
        "{status}"
    );
    let (status, _) = stack
        .call(
            0,
            Method::POST,
            "/v1/reservations",
            Some(&token),
            Some(json!({"schedule_id": schedule, "seat_no": 13})),
        )
        .await;
    assert!(status.is_client_error(), "{status}");

    let report = booking::audit::run(stack.db()).await.unwrap();
    assert!(report.passed(), "{report}");
    assert_eq!(report.totals.sold_seats, 1);
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn waiting_buyer_is_refused_until_admitted_then_gets_through(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    use reqwest::Method;
    let stack = stack(opts, c, |s| set_queue(s, 1, 1, 50)).await;
    let (concert, schedule) = stack.concert_with(50, 3000).await;
    let (_, first) = stack
        .call(
            0,
            Method::POST,
            "/v1/queue/tokens",
            None,
            Some(json!({"concert_id": concert, "user_id": 1})),
        )
        .await;
    assert_eq!(first["status"], "active");
    let (_, second) = stack
        .call(
            0,
            Method::POST,
            "/v1/queue/tokens",
            None,
            Some(json!({"concert_id": concert, "user_id": 2})),
        )
        .await;
    assert_eq!(second["status"], "waiting");
    assert_eq!(second["position"], 1);
    let waiting = second["token"].as_str().unwrap().to_string();
    let body = assert_problem_body(
        stack
            .call(
                0,
                Method::GET,
                &format!("/v1/schedules/{schedule}/seats"),
                Some(&waiting),
                None,
            )
            .await,
        StatusCode::FORBIDDEN,
        "NOT_ADMITTED",
    );
    assert_eq!(body["position"], 1);

    // The first buyer leaves; the second is admitted on the next tick.
    let first_token = first["token"].as_str().unwrap().to_string();
    let response = stack
        .client
        .delete(format!("{}/v1/queue/tokens", stack.url(0)))
        .bearer_auth(&first_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let active = poll_until(Duration::from_secs(5), "second buyer admitted", || async {
        let (status, body) = stack
            .call(0, Method::GET, "/v1/queue/status", Some(&waiting), None)
            .await;
        (status == StatusCode::OK && body["status"] == "active").then_some(body)
    })
    .await;
    let token = active["token"].as_str().unwrap();
    let (status, _) = stack
        .call(
            0,
            Method::GET,
            &format!("/v1/schedules/{schedule}/seats"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    stack.stop().await;
}
