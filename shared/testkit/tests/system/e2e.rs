//! End to end through the real services: gateway (in-process) in front of the real booking
//! service on a fresh PostgreSQL database, both on one Redis prefix and one JWT key.

use std::time::Duration;

use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::prelude::*;

/// The real stack (one gateway, `adjust`ed) and a concert of 50 seats at 3,000 points: its
/// id and its schedule's.
async fn a_concert_on_sale(
    opts: PgPoolOptions,
    c: PgConnectOptions,
    adjust: impl FnOnce(&mut gateway::GatewaySettings, &mut booking::BookingSettings),
) -> (Stack, i64, i64) {
    let stack = Stack::full_with(pool(opts, c).await, 1, adjust).await;
    let (concert, schedule) = stack.concert_with(50, 3000).await;
    (stack, concert, schedule)
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn buyer_joins_is_admitted_holds_pays_and_the_token_stops_working(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let (stack, concert, schedule) = a_concert_on_sale(opts, c, |_, _| {}).await;

    // Join: empty line, free capacity -> active at once.
    let joined = stack.join(0, concert, 77).await;
    assert_eq!(joined.status, StatusCode::CREATED, "{}", joined.body);
    assert_eq!(joined.state(), "active");
    let token = joined.token;

    // Points need no admission.
    let (status, charged) = stack.charge_at(0, 77, 10_000).await;
    assert_eq!(
        (status, charged["balance"].as_i64()),
        (StatusCode::OK, Some(10_000))
    );

    let schedules = format!("/v1/concerts/{concert}/schedules");
    let (status, schedules) = json_of(stack.fetch(&schedules, Some(&token)).await).await;
    assert_eq!(status, StatusCode::OK, "{schedules}");
    assert_eq!(schedules[0]["available_seats"], 50);
    let seats = format!("/v1/schedules/{schedule}/seats");
    let (status, body) = json_of(stack.fetch(&seats, Some(&token)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["seats"].as_array().unwrap().len(), 50);

    let (status, held) = stack.hold_at(0, &token, schedule, 12).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let id = held["reservation_id"].as_str().unwrap();
    let (status, paid) = stack.pay_at(0, &token, &[id], None).await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["balance"], 7_000);

    // The admission ended with the payment: the token no longer works anywhere.
    let gone = stack.status(0, &token).await;
    assert_problem_body(gone, StatusCode::GONE, "TICKET_GONE");
    let status = stack.fetch(&seats, Some(&token)).await.status();
    assert!(
        status == StatusCode::GONE || status == StatusCode::FORBIDDEN,
        "{status}"
    );
    let (status, _) = stack.hold_at(0, &token, schedule, 13).await;
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
    let admit_one = |gw: &mut gateway::GatewaySettings, _: &mut _| set_queue(gw, 1, 1, 50);
    let (stack, concert, schedule) = a_concert_on_sale(opts, c, admit_one).await;
    let first = stack.join(0, concert, 1).await;
    assert_eq!(first.state(), "active");
    let second = stack.join(0, concert, 2).await;
    assert_eq!((second.state(), second.position()), ("waiting", 1));
    let seats = format!("/v1/schedules/{schedule}/seats");
    let refused = stack.fetch(&seats, Some(&second.token)).await;
    let body = assert_problem(refused, StatusCode::FORBIDDEN, "NOT_ADMITTED").await;
    assert_eq!(body["position"], 1);

    // The first buyer leaves; the second is admitted on the next tick.
    assert_eq!(stack.leave(0, &first.token).await, StatusCode::NO_CONTENT);
    let active = stack
        .wait_active(&second.token, Duration::from_secs(5))
        .await;
    let token = active["token"].as_str().unwrap();
    assert_eq!(
        stack.fetch(&seats, Some(token)).await.status(),
        StatusCode::OK
    );
    stack.stop().await;
}
