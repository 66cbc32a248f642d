//! The whole stack on a real Redis Cluster (3 masters + 3 replicas, `scripts/cluster up`;
//! `scripts/test` starts it and sets `REDIS_CLUSTER_URLS`): a sale that runs every Lua
//! script and every pipeline of both services — room writes, joins, the pre-queue and its
//! draw, status polls and push streams, the admission tick and its departure reads, holds
//! and their release, payments of two concerts committed in one group (their Redis
//! cleanup in one call per concert), the inventory publish, the operators' figures. A
//! script or pipeline that touched two slots would fail with CROSSSLOT (a 500 or 503
//! here); the concerts sit on different masters.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::prelude::*;
use testkit::sse::SseStream;

const SOON: Duration = Duration::from_secs(20);

/// The master (of three, with `redis-cli --cluster create`'s even split) of a concert.
fn master_of(concert: i64) -> u16 {
    match slot_of(concert) {
        0..=5460 => 0,
        5461..=10922 => 1,
        _ => 2,
    }
}

fn slot_of(concert: i64) -> u16 {
    // CRC16/XMODEM of the hash tag, as Redis Cluster computes it.
    let mut crc: u16 = 0;
    for byte in concert.to_string().bytes() {
        crc ^= (byte as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16_384
}

/// Holds `seat` through gateway `gw` and expects 201; the reservation's id.
async fn hold(stack: &Stack, gw: usize, token: &str, schedule: i64, seat: i64) -> String {
    let (status, held) = stack.hold_at(gw, token, schedule, seat).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    held["reservation_id"].as_str().unwrap().to_owned()
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_sale_on_a_redis_cluster_runs_every_script_in_one_slot(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    if testkit::redis::cluster_urls().is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the cluster tests (scripts/test)"
        );
        eprintln!("note: REDIS_CLUSTER_URLS not set (scripts/cluster up); skipping");
        return;
    }
    let options = Options {
        gateways: 2,
        backend: Backend::Real(pool(opts, c).await),
        cluster: true,
        ..Options::default()
    };
    let stack = Stack::start(options, |gw, bk| {
        set_queue(gw, 2, 1, 100);
        bk.inventory.publish_interval_ms = 100;
        bk.holds.sweep_interval_ms = 100;
    })
    .await;
    let (a, schedule_a) = stack.concert_with(10, 100).await;
    // A second concert on another master.
    let (b, schedule_b) = loop {
        let (b, schedule) = stack.concert_with(10, 100).await;
        if master_of(b) != master_of(a) {
            break (b, schedule);
        }
    };

    // An opening with a pre-queue (room_put, join into the pre-queue, draw_begin and
    // draw_write at the opening, the public room and draw).
    let opens_at = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    stack
        .configure(a, json!({"opens_at": opens_at, "prequeue_secs": 600}))
        .await;
    for user in 1..=4 {
        stack.charge(user, 10_000).await;
        let t = stack.join((user % 2) as usize, a, user).await;
        assert_eq!(t.state(), "prequeue");
    }
    let drawn = poll_until(SOON, "the draw", || async {
        let (_, room) = stack.public_room(a).await;
        (room["draw_state"] == "drawn").then_some(room)
    })
    .await;
    assert!(drawn["seed"].is_string());
    let draw = format!("/v1/rooms/{a}/draw");
    let (status, page) = stack.call(1, Method::GET, &draw, None, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 4);

    // The line: joins (join.lua), status polls (status.lua), a push stream (status_many),
    // the ticker (promote.lua, the departures pipeline), a leave (leave.lua).
    let mut tickets = Vec::new();
    for user in 1..=4 {
        tickets.push(stack.join(0, a, user).await);
    }
    for user in 5..=6 {
        stack.charge(user, 10_000).await;
        tickets.push(stack.join(1, a, user).await);
    }
    let stream = stack
        .client
        .get(format!("{}/v1/queue/events", stack.url(1)))
        .bearer_auth(&tickets[5].token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut events = SseStream::new(stream);
    assert_eq!(events.next_event(SOON).await.unwrap().event, "status");
    assert_eq!(
        stack.leave(1, &tickets[4].token).await,
        StatusCode::NO_CONTENT
    );

    // The first two admitted: holds (seat_lock.lua), a release (release_hold.lua), then
    // payments of concert A and concert B at once (one group commit; seat_sold.lua and
    // end_admission.lua, one pipeline per concert).
    let active = poll_until(SOON, "two admitted", || async {
        let mut now = Vec::new();
        for t in &tickets[..4] {
            let (_, body) = stack.status(0, &t.token).await;
            if body["status"] == "active" {
                now.push(body["token"].as_str().unwrap().to_owned());
            }
        }
        (now.len() == 2).then_some(now)
    })
    .await;
    let held = hold(&stack, 0, &active[0], schedule_a, 1).await;
    let released = stack.release_at(0, &active[0], &held).await;
    assert_eq!(released, StatusCode::NO_CONTENT);
    let held_a = hold(&stack, 0, &active[0], schedule_a, 2).await;
    stack.charge(50, 10_000).await;
    let on_b = stack.join(1, b, 50).await;
    assert_eq!(on_b.state(), "active");
    let held_b = hold(&stack, 1, &on_b.token, schedule_b, 3).await;
    let (ids_a, ids_b) = ([held_a.as_str()], [held_b.as_str()]);
    let (pay_a, pay_b) = tokio::join!(
        stack.pay_at(0, &active[0], &ids_a, None),
        stack.pay_at(1, &on_b.token, &ids_b, None),
    );
    assert_eq!(pay_a.0, StatusCode::CREATED, "{}", pay_a.1);
    assert_eq!(pay_b.0, StatusCode::CREATED, "{}", pay_b.1);
    // The admission ended in Redis: the paid token is gone (a Redis re-check).
    let seats = format!("/v1/schedules/{schedule_a}/seats");
    let r = stack.fetch(&seats, Some(&active[0])).await;
    assert_problem(r, StatusCode::GONE, "TICKET_GONE").await;

    // The inventory published per concert; the operators' figures (stats.lua).
    poll_until(SOON, "the inventory", || async {
        let (_, room) = stack.public_room(b).await;
        (room["seats_left"] == 9).then_some(())
    })
    .await;
    let (status, room) = stack.admin(Method::GET, a, None).await;
    assert_eq!(status, StatusCode::OK, "{room}");
    assert_eq!(room["draw"]["state"], "drawn");

    // All of it lives on the cluster's masters, nothing on the single node.
    let count = |url: String| {
        let prefix = stack.keys.prefix().to_owned();
        async move {
            let mut conn = redis::Client::open(url)
                .unwrap()
                .get_multiplexed_async_connection()
                .await
                .unwrap();
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query_async(&mut conn)
                .await
                .unwrap();
            keys.len()
        }
    };
    let urls = stack.cluster_urls.clone().unwrap();
    let mut on_masters = Vec::new();
    for url in urls.split(',') {
        on_masters.push(count(url.to_owned()).await);
    }
    assert!(
        on_masters.iter().filter(|&&n| n > 0).count() >= 2,
        "{on_masters:?}"
    );
    assert_eq!(count(testkit::redis_url()).await, 0);
    stack.audit().await;
    stack.stop().await;
}
