//! The rooms' durable settings (`/internal/rooms/{id}`): what the gateways read back after
//! Redis lost its data, and where operators' changes are recorded first.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::prelude::*;

const DEFAULTS: &str = r#"{"capacity": 500, "batch_size": 100, "tick_ms": 1000,
    "active_ttl_secs": 600, "enabled": true}"#;

fn change(patch: Value) -> Value {
    json!({"defaults": serde_json::from_str::<Value>(DEFAULTS).unwrap(), "patch": patch})
}

async fn patch(stack: &Stack, concert: i64, body: Value) -> (StatusCode, Value) {
    json_of(
        stack
            .to_booking(Method::PATCH, &format!("/internal/rooms/{concert}"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn changes_are_merged_counted_and_read_back(opts: PgPoolOptions, c: PgConnectOptions) {
    let stack = Stack::booking(pool(opts, c).await).await;
    let (concert, _) = stack.concert_with(5, 100).await;
    let room = format!("/internal/rooms/{concert}");
    let get = || stack.read(&room, None);
    let (status, room) = get().await;
    assert_eq!(status, StatusCode::OK, "{room}");
    assert_eq!(
        room,
        json!({"concert_id": concert, "settings": null, "version": 0, "seed": null})
    );

    let (status, room) = patch(&stack, concert, change(json!({"enabled": false}))).await;
    assert_eq!(status, StatusCode::OK, "{room}");
    assert_eq!(room["version"], 1);
    assert_eq!(
        room["settings"]["mode"], "closed",
        "enabled: false is mode closed"
    );
    assert_eq!(
        room["settings"]["capacity"], 500,
        "the defaults filled the rest"
    );
    let (_, room) = patch(&stack, concert, change(json!({"capacity": 7}))).await;
    assert_eq!(room["version"], 2);
    assert_eq!(
        (
            room["settings"]["capacity"].as_u64(),
            room["settings"]["mode"].as_str()
        ),
        (Some(7), Some("closed")),
        "the earlier change is kept"
    );
    assert_eq!(get().await.1, room, "read back as written");

    // Concurrent changes apply one after the other: none is lost.
    let results = futures::future::join_all(
        (1..=10u64).map(|n| patch(&stack, concert, change(json!({"batch_size": n})))),
    )
    .await;
    assert!(results.iter().all(|(s, _)| *s == StatusCode::OK));
    let (_, room) = get().await;
    assert_eq!(room["version"], 12);
    let versions: std::collections::BTreeSet<u64> = results
        .iter()
        .map(|(_, r)| r["version"].as_u64().unwrap())
        .collect();
    assert_eq!(
        versions,
        (3..=12).collect(),
        "each change got its own version"
    );

    // Scheduling an opening draws the seed once; moving the opening keeps it.
    assert!(room["seed"].is_null());
    let soon = |mins: i64| (chrono::Utc::now() + chrono::Duration::minutes(mins)).to_rfc3339();
    let (_, room) = patch(&stack, concert, change(json!({"opens_at": soon(30)}))).await;
    let seed = room["seed"].as_str().unwrap().to_owned();
    assert_eq!(shared::draw::parse_seed(&seed).map(|s| s.len()), Some(32));
    let (_, room) = patch(&stack, concert, change(json!({"opens_at": soon(40)}))).await;
    assert_eq!(room["seed"], seed.as_str(), "the commitment stays");
    assert_eq!(get().await.1["seed"], seed.as_str());
    // An opening in the past is refused, and changes nothing.
    let (status, _) = patch(&stack, concert, change(json!({"opens_at": soon(-1)}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(get().await.1, room);
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn bad_changes_and_callers_are_refused_and_change_nothing(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let stack = Stack::booking(pool(opts, c).await).await;
    let (concert, _) = stack.concert_with(5, 100).await;
    let before = stack.snapshot().await;
    for (body, code) in [
        (change(json!({"capacity": 0})), "INVALID_REQUEST"),
        (change(json!({"colour": "red"})), "INVALID_REQUEST"),
        (
            change(json!({"rate_per_minute": 1, "batch_size": 50})),
            "INVALID_REQUEST",
        ),
        (change(json!({"mode": "paused"})), "INVALID_REQUEST"),
        (json!({"patch": {}}), "INVALID_REQUEST"),
        (json!([]), "INVALID_REQUEST"),
    ] {
        let answer = patch(&stack, concert, body.clone()).await;
        assert_problem_body(answer, StatusCode::BAD_REQUEST, code);
    }
    assert_problem_body(
        patch(&stack, 999_999, change(json!({"enabled": false}))).await,
        StatusCode::NOT_FOUND,
        "CONCERT_NOT_FOUND",
    );
    let (status, _) = stack.read("/internal/rooms/999999", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = stack.read("/internal/rooms/0", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Without the internal token: 401, nothing read or written.
    for method in [Method::GET, Method::PATCH] {
        let r = stack
            .client
            .request(
                method,
                format!("{}/internal/rooms/{concert}", stack.booking_url()),
            )
            .json(&change(json!({"enabled": false})))
            .send()
            .await
            .unwrap();
        assert_problem(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
    let rooms = stack.scalar("SELECT count(*) FROM rooms").await;
    assert_eq!(rooms, 0, "no room row was written");
    assert_eq!(stack.snapshot().await, before);
    stack.stop().await;
}
