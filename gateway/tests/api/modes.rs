//! Room modes switched under load, across two gateways: `queue_all` pauses admission while
//! joins keep being placed, `open` resumes it in ticket order, `closed` refuses joins while
//! the line keeps moving; and `rate_per_minute` sets the batch and the tick.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use testkit::prelude::*;
use testkit::redis::fifo_snapshot;

/// Waits for two admission ticks to have run on the room after now.
async fn two_ticks(app: &Stack) {
    for what in ["a tick", "another tick"] {
        let seen = app.room(0, 1).await["last_tick_at"].clone();
        poll_until(Duration::from_secs(10), what, || async {
            (app.room(0, 1).await["last_tick_at"] != seen).then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn modes_pause_resume_and_close_admission_under_load() {
    let app = Arc::new(
        Stack::gateways_with(2, |s| {
            set_queue(s, 100_000, 5, 50);
            s.rate_limit.user_joins_per_sec = 0;
        })
        .await,
    );
    app.configure(1, json!({"mode": "open"})).await;

    // Buyers keep joining through both gateways for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let next_user = Arc::new(AtomicI64::new(1));
    let closed_refusals = Arc::new(AtomicI64::new(0));
    let joiners: Vec<_> = (0..4)
        .map(|k| {
            let (app, stop, next_user, refusals) = (
                app.clone(),
                stop.clone(),
                next_user.clone(),
                closed_refusals.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let user = next_user.fetch_add(1, Ordering::Relaxed);
                    let r = app.post_token(k, 1, user, None).await;
                    match r.status() {
                        StatusCode::CREATED => {}
                        StatusCode::CONFLICT => {
                            refusals.fetch_add(1, Ordering::Relaxed);
                        }
                        other => panic!("join answered {other}"),
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect();
    let mut redis = app.redis.clone();
    let fifo = |snapshot: (Option<i64>, Option<i64>)| {
        if let (Some(admitted), Some(waiting)) = snapshot {
            assert!(admitted < waiting, "{snapshot:?}");
        }
    };

    // Open: the line moves.
    two_ticks(&app).await;
    assert!(app.room(0, 1).await["active"].as_u64().unwrap() > 0);

    // queue_all: joins are still placed, nobody is admitted.
    let paused = app.configure(1, json!({"mode": "queue_all"})).await;
    assert_eq!(paused["mode"], "queue_all");
    assert_eq!(paused["enabled"], true);
    two_ticks(&app).await;
    let before = app.room(0, 1).await;
    tokio::time::sleep(Duration::from_millis(600)).await; // a dozen ticks
    let after = app.room(0, 1).await;
    assert_eq!(after["active"], before["active"], "admitted while paused");
    assert!(
        after["waiting"].as_u64() > before["waiting"].as_u64(),
        "joins are still placed: {before} {after}"
    );
    fifo(fifo_snapshot(&mut redis, &app.keys, 1).await);

    // open again: admission resumes, in ticket order.
    app.configure(1, json!({"mode": "open"})).await;
    poll_until(Duration::from_secs(10), "admission to resume", || async {
        (app.room(0, 1).await["active"].as_u64() > after["active"].as_u64()).then_some(())
    })
    .await;
    for _ in 0..20 {
        fifo(fifo_snapshot(&mut redis, &app.keys, 1).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // closed (through the alias): joins refused, the line keeps moving.
    let closed = app.configure(1, json!({"enabled": false})).await;
    assert_eq!(
        (closed["mode"].as_str(), closed["enabled"].as_bool()),
        (Some("closed"), Some(false))
    );
    two_ticks(&app).await;
    let refused_before = closed_refusals.load(Ordering::Relaxed);
    let moving = app.room(0, 1).await;
    poll_until(
        Duration::from_secs(10),
        "the closed line to move",
        || async {
            (app.room(0, 1).await["active"].as_u64() > moving["active"].as_u64()).then_some(())
        },
    )
    .await;
    poll_until(Duration::from_secs(10), "joins to be refused", || async {
        (closed_refusals.load(Ordering::Relaxed) > refused_before).then_some(())
    })
    .await;
    let r = app.post_token(0, 1, 999_999_999, None).await;
    assert_problem(r, StatusCode::CONFLICT, "QUEUE_CLOSED").await;

    stop.store(true, Ordering::Relaxed);
    for joiner in joiners {
        joiner.await.unwrap();
    }
    fifo(fifo_snapshot(&mut redis, &app.keys, 1).await);
    Arc::into_inner(app).unwrap().stop().await;
}

#[tokio::test]
async fn rate_per_minute_sets_batch_and_tick() {
    let app = Stack::gateways(1).await;
    app.configure(1, json!({"tick_ms": 1_000})).await;
    // The current tick (1 s) kept as nearly as possible: 2 buyers per 1.2 s.
    let room = app.configure(1, json!({"rate_per_minute": 100})).await;
    assert_eq!(
        (
            room["batch_size"].as_u64(),
            room["tick_ms"].as_u64(),
            room["rate_per_minute"].as_u64()
        ),
        (Some(2), Some(1_200), Some(100)),
        "{room}"
    );
    let room = app
        .configure(1, json!({"rate_per_minute": 600, "tick_ms": 250}))
        .await;
    assert_eq!(
        (room["batch_size"].as_u64(), room["tick_ms"].as_u64()),
        (Some(3), Some(300))
    );
    for bad in [
        json!({"rate_per_minute": 0}),
        json!({"rate_per_minute": 10, "batch_size": 1, "tick_ms": 100}),
        json!({"rate_per_minute": 1, "batch_size": 5}),
        json!({"mode": "closed", "enabled": true}),
        json!({"mode": "paused"}),
    ] {
        assert_problem_body(
            app.admin(Method::PUT, 1, Some(bad.clone())).await,
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
        );
    }
    let unchanged = app.admin(Method::GET, 1, None).await.1;
    assert_eq!(
        unchanged["rate_per_minute"], 600,
        "bad changes changed nothing"
    );
    app.stop().await;
}
