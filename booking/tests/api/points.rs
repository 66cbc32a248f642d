use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::prelude::*;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn unknown_user_has_zero_balance_and_charges_add_up(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    assert_eq!(app.balance(7).await, 0);
    let (status, body) = app.charge(7, 5_000).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"user_id": 7, "balance": 5000}));
    app.charge(7, 2_500).await;
    assert_eq!(app.balance(7).await, 7_500);
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn history_is_newest_first_with_a_cursor(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    for amount in 1..=5 {
        app.charge(3, amount * 100).await;
    }
    let (status, page) = app.read("/v1/users/3/points/history?limit=2", None).await;
    assert_eq!(status, StatusCode::OK);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let newest = json!({"amount": 500, "kind": "CHARGE", "balance_after": 1500});
    assert_json_includes(&items[0], &newest);
    assert_eq!(items[1]["amount"], 400);
    let cursor = page["next_before"].as_i64().unwrap();
    let next = format!("/v1/users/3/points/history?limit=10&before={cursor}");
    let (_, rest) = app.read(&next, None).await;
    let amounts: Vec<i64> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, vec![300, 200, 100]);
    assert!(rest["next_before"].is_null());
    for bad in ["limit=0", "limit=101", "limit=x", "before=-1", "cursor=3"] {
        let path = format!("/v1/users/3/points/history?{bad}");
        let response = app.send(Method::GET, &path, None).await;
        assert_problem(response, StatusCode::BAD_REQUEST, "INVALID_REQUEST").await;
    }
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn replayed_charge_key_returns_the_same_response_and_charges_once(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let send = |amount: i64| {
        app.post("/v1/users/9/points/charge")
            .header("Idempotency-Key", "charge-once")
            .json(&json!({"amount": amount}))
            .send()
    };
    let (s1, b1) = json_of(send(1000).await.unwrap()).await;
    let (s2, b2) = json_of(send(1000).await.unwrap()).await;
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(app.balance(9).await, 1000);
    assert_problem(
        send(2000).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    assert_eq!(app.balance(9).await, 1000);
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn bad_amounts_and_ids_are_refused_and_change_nothing(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    app.charge(5, 100).await;
    let before = app.snapshot().await;
    let cases = [
        (json!({"amount": 0}), "INVALID_AMOUNT"),
        (json!({"amount": -5}), "INVALID_AMOUNT"),
        (json!({"amount": 10_000_001}), "INVALID_AMOUNT"),
        (json!({"amount": 1.5}), "INVALID_AMOUNT"),
        (json!({"amount": 1e30}), "INVALID_AMOUNT"),
        (
            json!({"amount": 9_223_372_036_854_775_807_i64}),
            "INVALID_AMOUNT",
        ),
        (json!({"amount": "100"}), "INVALID_REQUEST"),
        (json!({}), "INVALID_REQUEST"),
        (json!({"amount": 10, "bonus": 5}), "INVALID_REQUEST"),
    ];
    for (body, code) in cases {
        let response = app
            .post("/v1/users/5/points/charge")
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, code).await;
    }
    let ten = json!({"amount": 10});
    for user in ["0", "-3", "abc"] {
        let path = format!("/v1/users/{user}/points/charge");
        let (status, _) = app.post_json(&path, None, Some("k"), &ten).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
    }
    let missing_key = app
        .post_json("/v1/users/5/points/charge", None, None, &ten)
        .await;
    assert_eq!(
        missing_key.0,
        StatusCode::BAD_REQUEST,
        "missing key: {}",
        missing_key.1
    );
    assert_eq!(app.snapshot().await, before);
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn balance_never_overflows(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    app.charge(4, 10).await;
    // Bring the balance next to its ceiling directly, keeping the history consistent.
    sqlx::query("UPDATE users SET balance = 1000000000000000 - 5 WHERE id = 4")
        .execute(app.db())
        .await
        .unwrap();
    let answer = app.charge(4, 10_000_000).await;
    assert_problem_body(answer, StatusCode::BAD_REQUEST, "INVALID_AMOUNT");
    assert_eq!(app.balance(4).await, 1_000_000_000_000_000 - 5);
    app.stop().await;
}
