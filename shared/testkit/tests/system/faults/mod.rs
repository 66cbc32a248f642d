//! Faults injected in the middle of a concurrent sale (two gateways, the real booking
//! service, real Redis and PostgreSQL; `testkit::Stack` with its proxies): Redis lost and
//! back empty, booking unreachable, a gateway killed, PostgreSQL connections killed during
//! payments. The assertions are in `watch.rs`.
//!
//! For each: while the dependency is down buyers get 503 + `Retry-After` (never a 500,
//! never an answer slower than the configured timeout); once it is back the sale goes on
//! with no restart (recovery time measured); the auditor passes; no seat is sold twice;
//! admission stays FIFO. `scripts/faults` does the same with real processes (`kill -9`).

use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Connection;
use testkit::prelude::*;
use testkit::proxy::Mode;

mod watch;

use watch::*;

const BUYERS: i64 = 30;
const SEATS: i64 = 20;
const PRICE: i64 = 1000;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn redis_lost_mid_sale_gives_503_then_recovers_and_never_sells_a_seat_twice(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let drill = Drill::start(opts, c, Proxy::Redis, 5).await;
    let (stack, sale) = (&drill.stack, &drill.sale);

    // Kill: every connection dropped, new ones refused.
    let proxy = stack.redis_proxy.as_ref().unwrap();
    let down = Instant::now();
    proxy.set(Mode::Down);
    until_503s(sale, down, 10, Duration::from_millis(300)).await;
    // Restart empty: the line, the admissions and every seat lock are gone.
    stack.wipe_redis();
    let up = Instant::now();
    proxy.set(Mode::Up);
    let window = assert_down_window(sale, down, up, Duration::from_secs(2));

    let recovery = wait_recovery(sale, up, &["join", "status", "hold", "pay"]).await;

    let (stack, outcomes) = drill.finish().await;
    println!(
        "redis lost: {} answered 503, max latency {:?}, recovered in {recovery:.2}s, {} buyers",
        window.unavailable,
        window.max_latency,
        outcomes.len()
    );
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn booking_unreachable_mid_sale_gives_503_within_the_timeout_and_recovers(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let drill = Drill::start(opts, c, Proxy::Booking, 5).await;
    let (stack, sale) = (&drill.stack, &drill.sale);
    let timeout = Duration::from_millis(stack.settings.booking.timeout_ms);

    let proxy = stack.booking_proxy.as_ref().unwrap();
    // Hung first (calls run into the booking timeout), then gone (refused at once).
    let down = Instant::now();
    proxy.set(Mode::Blackhole);
    until_503s(sale, down, 4, Duration::from_millis(300)).await;
    let refused = Instant::now();
    proxy.set(Mode::Down);
    until_503s(sale, refused, 10, Duration::from_millis(300)).await;
    let up = Instant::now();
    proxy.set(Mode::Up);
    let window = assert_down_window(sale, down, up, timeout + Duration::from_secs(1));
    // The line keeps moving without booking: status calls still answer.
    let queue_ok = sale
        .calls_between(down, up)
        .iter()
        .filter(|c| c.what == "status" && c.status == 200)
        .count();
    assert!(
        queue_ok > 0,
        "the queue stopped answering while booking was down"
    );
    let recovery = wait_recovery(sale, up, &["charge", "seats", "hold", "pay"]).await;

    let (stack, outcomes) = drill.finish().await;
    println!(
        "booking unreachable: {} answered 503, max latency {:?} (timeout {timeout:?}), \
         recovered in {recovery:.2}s, {} buyers",
        window.unavailable,
        window.max_latency,
        outcomes.len()
    );
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn killing_one_gateway_mid_sale_leaves_the_other_admitting_in_order(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let mut drill = Drill::start(opts, c, Proxy::None, 5).await;

    let killed = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), drill.stack.kill_gateway(0))
        .await
        .expect("the gateway shuts down");
    // The load balancer takes the dead instance out.
    let (stack, sale) = (&drill.stack, &drill.sale);
    let survivor = stack.urls[1].clone();
    *sale.urls.write().unwrap() = vec![survivor.clone()];
    let switched = Instant::now();

    // Admission goes on on the survivor: a buyer is admitted after the kill.
    let admitted_after = || async {
        let admitted = sale.admitted_at.lock().unwrap();
        admitted
            .iter()
            .find(|t| **t > switched)
            .map(|t| *t - killed)
    };
    let recovered = poll_until(
        Duration::from_secs(10),
        "an admission after the kill",
        admitted_after,
    )
    .await;
    assert!(
        recovered < Duration::from_secs(10),
        "admission resumed after {recovered:?}"
    );
    let refused = sale
        .calls_between(killed, switched)
        .iter()
        .filter(|c| c.status == 0)
        .count();

    let (stack, outcomes) = drill.finish().await;
    println!(
        "gateway killed: {refused} refused connections before the switch, next admission \
         after {recovered:?}, {} buyers",
        outcomes.len()
    );
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn postgres_connections_killed_during_payments_give_503_and_nothing_half_written(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let database = c.get_database().unwrap().to_owned();
    let admin_options = c.clone().database("postgres");
    let drill = Drill::start(opts, c, Proxy::None, 3).await;
    let sale = &drill.sale;

    // "PostgreSQL down" for this test's database only: every backend serving it is
    // terminated as soon as it appears.
    let mut admin = sqlx::PgConnection::connect_with(&admin_options)
        .await
        .unwrap();
    let down = Instant::now();
    let mut killed = 0i64;
    while down.elapsed() < Duration::from_millis(1500) {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&database)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        killed += n;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let up = Instant::now();
    // The statement timeout bounds any answer; give it a generous margin.
    let window = assert_down_window(sale, down, up, Duration::from_secs(6));
    let recovery = wait_recovery(sale, up, &["charge", "seats", "hold", "pay"]).await;

    let (stack, outcomes) = drill.finish().await;
    // Nothing half-written and nothing charged twice: one payment per buyer who paid.
    let twice: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT user_id, count(*) FROM payments GROUP BY user_id HAVING count(*) > 1",
    )
    .fetch_all(stack.db())
    .await
    .unwrap();
    assert!(twice.is_empty(), "charged twice: {twice:?}");
    println!(
        "postgres connections killed: {killed} backends, {} answered 503, max latency {:?}, \
         recovered in {recovery:.2}s, {} buyers",
        window.unavailable,
        window.max_latency,
        outcomes.len()
    );
    stack.stop().await;
}
