//! Booking alone ends an admission after a payment. When Redis cannot be reached right
//! after the commit, nobody else is asked to do it: booking keeps retrying in the
//! background, and once Redis answers again the paid ticket is no longer admitted and its
//! seat is marked sold.

use std::time::Duration;

use booking::payments::batch::{pay_together, PayCall};
use reqwest::StatusCode;
use shared::config::RedisSettings;
use shared::store::seats::SeatKey;
use shared::store::{Lookup, Store};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::proxy::{FlakyProxy, Mode};
use uuid::Uuid;

use testkit::prelude::*;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_paid_admission_ends_once_redis_is_back(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedules) = app.create_concert(&[5]).await;
    app.charge(1, 10_000).await;
    let (status, body) = app
        .hold(&app.active_token(1, concert).await, schedules[0], 3)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let reservation: Uuid = body["reservation_id"].as_str().unwrap().parse().unwrap();

    // Booking's store, but reaching Redis through a proxy that is down.
    let redis: std::net::SocketAddr = testkit::redis_url()
        .trim_start_matches("redis://")
        .parse()
        .unwrap();
    let proxy = FlakyProxy::start(redis).await;
    proxy.set(Mode::Down);
    let flaky = Store::new(
        &RedisSettings {
            url: format!("redis://{}", proxy.addr),
            cluster_urls: None,
            key_prefix: app.keys.prefix().to_owned(),
            timeout_ms: 300,
            connections: 1,
        },
        "test",
    )
    .unwrap();
    let call = PayCall {
        user_id: 1,
        concert_id: concert,
        seq: 1,
        request_hash: booking::idempotency::fingerprint(&[reservation]),
        reservation_ids: vec![reservation],
        key: "k".into(),
        payment_id: Uuid::now_v7(),
    };
    let db = &app.booking_app().state.db;
    let paid = pay_together(db, &flaky, &[call], 3_600_000).await;
    let paid = paid[0].as_ref().expect("the payment commits without Redis");
    assert!(!paid.row.replayed && !paid.admission_ended);

    let store = app.store();
    assert!(
        matches!(
            store.status(concert, 1, 1, 0).await.unwrap(),
            Lookup::Found(_)
        ),
        "still admitted while Redis is away"
    );
    proxy.set(Mode::Up);
    poll_until(Duration::from_secs(10), "the admission ended by booking", || {
        let store = store.clone();
        async move {
            (store.status(concert, 1, 1, 0).await.unwrap() == Lookup::Gone).then_some(())
        }
    })
    .await;
    let seat: Option<String> = redis::cmd("GET")
        .arg(app.keys.hold(concert, schedules[0], 3))
        .query_async(&mut app.redis.clone())
        .await
        .unwrap();
    assert_eq!(seat.as_deref().map(SeatKey::parse), Some(SeatKey::Sold));
}
