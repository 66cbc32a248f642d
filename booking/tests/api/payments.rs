use reqwest::StatusCode;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::prelude::*;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn payment_sells_the_seats_debits_once_and_ends_the_admission(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedule, token) = app.admitted(1, 50, 5_000).await;
    let r1 = app.hold_id(&token, schedule, 1).await;
    let r2 = app.hold_id(&token, schedule, 2).await;
    let ids = [r1.as_str(), r2.as_str()];
    // The buyer is admitted in the gateway's active set (`active_token` wrote it).
    assert!(app.admission(concert, 1).await.is_some());

    let (status, paid) = app.pay(&token, &ids, "pay-1").await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["amount"], 2000);
    assert_eq!(paid["balance"], 3000);
    assert_eq!(paid["reservation_ids"].as_array().unwrap().len(), 2);
    assert!(paid["paid_at"].is_string());
    assert_eq!(app.balance(1).await, 3000);
    assert_eq!(app.seat_status(&token, schedule, 1).await, "SOLD");
    assert_eq!(app.seat_status(&token, schedule, 2).await, "SOLD");
    let (_, shown) = app
        .read(&format!("/v1/reservations/{r1}"), Some(&token))
        .await;
    assert_eq!(shown["status"], "CONFIRMED");
    assert_eq!(shown["payment_id"], paid["payment_id"]);

    let (_, history) = app.read("/v1/users/1/points/history", None).await;
    assert_eq!(history["items"][0]["kind"], "USE");
    assert_eq!(history["items"][0]["amount"], 2000);
    assert_eq!(history["items"][0]["balance_after"], 3000);

    // Seat keys marked sold (for the configured hours), admission ended.
    let holds = app.redis_keys("hold*").await;
    assert_eq!(holds.len(), 2, "{holds:?}");
    let mut conn = app.redis.clone();
    for key in &holds {
        let (value, ttl_ms): (String, i64) = redis::pipe()
            .get(key)
            .pttl(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(value, "sold", "{key}");
        let hours = app.booking_settings.holds.sold_marker_hours as i64;
        assert!(
            ttl_ms > (hours - 1) * 3_600_000 && ttl_ms <= hours * 3_600_000,
            "{ttl_ms}"
        );
    }
    assert_eq!(app.admission(concert, 1).await, None);

    // Paying again with another key: the admission ended with the payment (410), and
    // with a new admission nothing is held any more (409).
    let answer = app.pay(&token, &ids, "pay-2").await;
    assert_problem_body(answer, StatusCode::GONE, "TICKET_GONE");
    let token = app.active_token(1, concert).await;
    let answer = app.pay(&token, &ids, "pay-2").await;
    assert_problem_body(answer, StatusCode::CONFLICT, "RESERVATION_NOT_HELD");
    assert_eq!(app.balance(1).await, 3000);
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn replayed_payment_key_returns_the_same_response_and_charges_once(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (_, schedule, token) = app.admitted(1, 50, 5_000).await;
    let id1 = app.hold_id(&token, schedule, 1).await;
    let id2 = app.hold_id(&token, schedule, 2).await;
    let first = app.pay(&token, &[&id1], "same").await;
    let second = app.pay(&token, &[&id1], "same").await;
    assert_eq!(first.0, StatusCode::CREATED);
    assert_eq!(first, second);
    assert_eq!(app.balance(1).await, 4000);
    let reused = app.pay(&token, &[&id2], "same").await;
    assert_problem_body(
        reused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    );
    assert_eq!(app.balance(1).await, 4000);
    let payments = app.scalar("SELECT count(*) FROM payments").await;
    assert_eq!(payments, 1);
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn insufficient_balance_is_402_and_changes_nothing(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (_, schedule, token) = app.admitted(1, 50, 999).await;
    let id = app.hold_id(&token, schedule, 1).await;
    let before = app.snapshot().await;
    let answer = app.pay(&token, &[&id], "k").await;
    let body = assert_problem_body(answer, StatusCode::PAYMENT_REQUIRED, "INSUFFICIENT_BALANCE");
    assert_eq!(
        body["detail"], "balance 999 is less than the amount 1000",
        "{body}"
    );
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.seat_status(&token, schedule, 1).await, "HELD");
    // After topping up, the same key now goes through (a failed request saved nothing).
    app.charge(1, 1).await;
    let (status, _) = app.pay(&token, &[&id], "k").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(app.balance(1).await, 0);
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn paying_for_others_or_unknown_reservations_is_refused(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedule, owner) = app.admitted(1, 50, 0).await;
    let thief = app.active_token(2, concert).await;
    app.charge(2, 100_000).await;
    let id = app.hold_id(&owner, schedule, 1).await;
    let before = app.snapshot().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    for (ids, key, status, code) in [
        (vec![id.as_str()], "x", StatusCode::FORBIDDEN, "FORBIDDEN"),
        (
            vec![&unknown],
            "y",
            StatusCode::NOT_FOUND,
            "RESERVATION_NOT_FOUND",
        ),
        (vec![], "z", StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
        (
            vec![&unknown, &unknown],
            "w",
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
        ),
    ] {
        assert_problem_body(app.pay(&thief, &ids, key).await, status, code);
    }
    // Without an Idempotency-Key.
    let body = json!({"reservation_ids": [id]});
    let answer = app
        .post_json("/v1/payments", Some(&owner), None, &body)
        .await;
    assert_problem_body(answer, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert_eq!(app.snapshot().await, before);
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn paying_with_a_token_for_another_concert_is_403_wrong_concert_and_changes_nothing(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedule, token) = app.admitted(1, 50, 5_000).await;
    let (concert_b, _) = app.create_concert(&[50]).await;
    let token_b = app.active_token(1, concert_b).await;
    let id = app.hold_id(&token, schedule, 1).await;
    let before = app.snapshot().await;
    let answer = app.pay(&token_b, &[&id], "k").await;
    let body = assert_problem_body(answer, StatusCode::FORBIDDEN, "WRONG_CONCERT");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(&concert.to_string()), "{body}");
    assert_eq!(app.snapshot().await, before);
    // The right token with the same key then pays: the refusal saved nothing.
    let (status, paid) = app.pay(&token, &[&id], "k").await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["balance"], 4_000);
    app.audit().await;
    app.stop().await;
}
