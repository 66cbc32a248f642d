//! The inventory booking publishes: the seat triggers count every hold, release, expiry and
//! sale; the publisher folds and writes the totals to Redis; the auditor catches a drift.

use std::time::Duration;

use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::prelude::*;

async fn published(app: &Stack, concert: i64) -> (i64, i64, i64) {
    booking::inventory::publish_once(app.db(), &app.booking_app().state.store, true)
        .await
        .unwrap();
    let mut redis = app.redis.clone();
    let (total, held, sold): (i64, i64, i64) = redis::cmd("HMGET")
        .arg(app.keys.inventory(concert))
        .arg("total")
        .arg("held")
        .arg("sold")
        .query_async(&mut redis)
        .await
        .unwrap();
    (total, held, sold)
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn the_inventory_follows_holds_releases_expiries_and_sales(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking_with(pool(opts, c).await, |s| {
        s.holds.ttl_secs = 1;
        s.holds.sweep_interval_ms = 100;
        // The test publishes itself.
        s.inventory.publish_interval_ms = 3_600_000;
    })
    .await;
    let (concert, schedules) = app.create_concert(&[5, 3]).await;
    assert_eq!(published(&app, concert).await, (8, 0, 0));

    let token = app.active_token(1, concert).await;
    app.charge(1, 10_000).await;
    let a = app.hold_id(&token, schedules[0], 1).await;
    let b = app.hold_id(&token, schedules[1], 1).await;
    app.hold_id(&token, schedules[0], 2).await;
    assert_eq!(published(&app, concert).await, (8, 3, 0));

    // A release, a sale.
    assert_eq!(app.release(&token, &b).await, StatusCode::NO_CONTENT);
    let (status, body) = app.pay(&token, &[&a], "inv-1").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(published(&app, concert).await, (8, 1, 1));

    // The last hold runs out (1 s) and the sweeper resets it.
    poll_until(Duration::from_secs(7), "the sweep", || async {
        (published(&app, concert).await == (8, 0, 1)).then_some(())
    })
    .await;
    let report = app.audit().await;
    assert!(report.passed());

    // A counter that drifted from the seats is a breach.
    sqlx::query("UPDATE schedule_inventory SET sold = sold + 1 WHERE schedule_id = $1")
        .bind(schedules[0])
        .execute(app.db())
        .await
        .unwrap();
    let report = booking::audit::run(app.db()).await.unwrap();
    assert!(!report.passed(), "{report}");
    sqlx::query("UPDATE schedule_inventory SET sold = sold - 1 WHERE schedule_id = $1")
        .bind(schedules[0])
        .execute(app.db())
        .await
        .unwrap();
    app.stop().await;
}
