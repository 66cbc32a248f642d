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
    let (concert, schedules) = app.create_concert(&[50]).await;
    let token = app.active_token(1, concert).await;
    app.charge(1, 5_000).await;
    let (_, r1) = app.hold(&token, schedules[0], 1).await;
    let (_, r2) = app.hold(&token, schedules[0], 2).await;
    let ids = [
        r1["reservation_id"].as_str().unwrap(),
        r2["reservation_id"].as_str().unwrap(),
    ];

    // The buyer is admitted in the gateway's active set.
    let keys = shared::store::Keys::new(app.keys.prefix().to_owned());
    let mut conn = app.redis.clone();
    let _: () = redis::cmd("ZADD")
        .arg(keys.active(concert))
        .arg(i64::MAX)
        .arg(1)
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(keys.active_seq(concert))
        .arg(1)
        .arg(1)
        .query_async(&mut conn)
        .await
        .unwrap();

    let (status, paid) = app.pay(&token, &ids, "pay-1").await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["amount"], 2000);
    assert_eq!(paid["balance"], 3000);
    assert_eq!(paid["reservation_ids"].as_array().unwrap().len(), 2);
    assert!(paid["paid_at"].is_string());
    assert_eq!(app.balance(1).await, 3000);
    assert_eq!(app.seat_status(&token, schedules[0], 1).await, "SOLD");
    assert_eq!(app.seat_status(&token, schedules[0], 2).await, "SOLD");
    let (_, shown) = json_of(
        app.get(&format!("/v1/reservations/{}", ids[0]))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(shown["status"], "CONFIRMED");
    assert_eq!(shown["payment_id"], paid["payment_id"]);

    let (_, history) = json_of(app.get("/v1/users/1/points/history").send().await.unwrap()).await;
    assert_eq!(history["items"][0]["kind"], "USE");
    assert_eq!(history["items"][0]["amount"], 2000);
    assert_eq!(history["items"][0]["balance_after"], 3000);

    // Seat keys marked sold (for the configured hours), admission ended.
    let holds: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}hold*", app.keys.prefix()))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(holds.len(), 2, "{holds:?}");
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
    let active: Option<f64> = redis::cmd("ZSCORE")
        .arg(keys.active(concert))
        .arg(1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(active, None);

    // Paying again with another key: the admission ended with the payment (410), and
    // with a new admission nothing is held any more (409).
    assert_problem_body(
        app.pay(&token, &ids, "pay-2").await,
        StatusCode::GONE,
        "TICKET_GONE",
    );
    let token = app.active_token(1, concert).await;
    assert_problem_body(
        app.pay(&token, &ids, "pay-2").await,
        StatusCode::CONFLICT,
        "RESERVATION_NOT_HELD",
    );
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
    let (concert, schedules) = app.create_concert(&[50]).await;
    let token = app.active_token(1, concert).await;
    app.charge(1, 5_000).await;
    let (_, r1) = app.hold(&token, schedules[0], 1).await;
    let (_, r2) = app.hold(&token, schedules[0], 2).await;
    let id1 = r1["reservation_id"].as_str().unwrap();
    let id2 = r2["reservation_id"].as_str().unwrap();
    let first = app.pay(&token, &[id1], "same").await;
    let second = app.pay(&token, &[id1], "same").await;
    assert_eq!(first.0, StatusCode::CREATED);
    assert_eq!(first, second);
    assert_eq!(app.balance(1).await, 4000);
    assert_problem_body(
        app.pay(&token, &[id2], "same").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    );
    assert_eq!(app.balance(1).await, 4000);
    let payments: i64 = sqlx::query_scalar("SELECT count(*) FROM payments")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(payments, 1);
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn insufficient_balance_is_402_and_changes_nothing(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedules) = app.create_concert(&[50]).await;
    let token = app.active_token(1, concert).await;
    app.charge(1, 999).await;
    let (_, held) = app.hold(&token, schedules[0], 1).await;
    let before = app.snapshot().await;
    let body = assert_problem_body(
        app.pay(&token, &[held["reservation_id"].as_str().unwrap()], "k")
            .await,
        StatusCode::PAYMENT_REQUIRED,
        "INSUFFICIENT_BALANCE",
    );
    assert_eq!(
        body["detail"], "balance 999 is less than the amount 1000",
        "{body}"
    );
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.seat_status(&token, schedules[0], 1).await, "HELD");
    // After topping up, the same key now goes through (a failed request saved nothing).
    app.charge(1, 1).await;
    let (status, _) = app
        .pay(&token, &[held["reservation_id"].as_str().unwrap()], "k")
        .await;
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
    let (concert, schedules) = app.create_concert(&[50]).await;
    let owner = app.active_token(1, concert).await;
    let thief = app.active_token(2, concert).await;
    app.charge(2, 100_000).await;
    let (_, held) = app.hold(&owner, schedules[0], 1).await;
    let id = held["reservation_id"].as_str().unwrap();
    let before = app.snapshot().await;
    assert_problem_body(
        app.pay(&thief, &[id], "x").await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_problem_body(
        app.pay(&thief, &[&unknown], "y").await,
        StatusCode::NOT_FOUND,
        "RESERVATION_NOT_FOUND",
    );
    let (status, _) = app.pay(&thief, &[], "z").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.pay(&thief, &[&unknown, &unknown], "w").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = json_of(
        app.post("/v1/payments")
            .bearer_auth(&owner)
            .json(&json!({"reservation_ids": [id]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "missing Idempotency-Key");
    assert_eq!(app.snapshot().await, before);
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn paying_with_a_token_for_another_concert_is_403_wrong_concert_and_changes_nothing(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert_a, schedules) = app.create_concert(&[50]).await;
    let (concert_b, _) = app.create_concert(&[50]).await;
    let token_a = app.active_token(1, concert_a).await;
    let token_b = app.active_token(1, concert_b).await;
    app.charge(1, 5_000).await;
    let (_, held) = app.hold(&token_a, schedules[0], 1).await;
    let id = held["reservation_id"].as_str().unwrap();
    let before = app.snapshot().await;
    let body = assert_problem_body(
        app.pay(&token_b, &[id], "k").await,
        StatusCode::FORBIDDEN,
        "WRONG_CONCERT",
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains(&concert_a.to_string()),
        "{body}"
    );
    assert_eq!(app.snapshot().await, before);
    // The right token with the same key then pays: the refusal saved nothing.
    let (status, paid) = app.pay(&token_a, &[id], "k").await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["balance"], 4_000);
    app.audit().await;
    app.stop().await;
}
