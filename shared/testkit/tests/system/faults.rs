//! Faults injected in the middle of a concurrent sale (two gateways, the real booking
//! service, real Redis and PostgreSQL; `testkit::Stack` with its proxies): Redis lost and back empty, booking
//! unreachable, a gateway killed, PostgreSQL connections killed during payments.
//!
//! For each: while the dependency is down buyers get 503 + `Retry-After` (never a 500,
//! never an answer slower than the configured timeout); once it is back the sale goes on
//! with no restart (recovery time measured); the auditor passes; no seat is sold twice;
//! admission stays FIFO. `scripts/faults` does the same with real processes (`kill -9`).

use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Connection;
use tokio::sync::oneshot;

use testkit::buyer::{Call, Outcome};
use testkit::prelude::*;
use testkit::proxy::Mode;
use testkit::redis::fifo_snapshot;
use testkit::sale::{summary, Sale, SaleSpec};

const BUYERS: i64 = 30;
const SEATS: i64 = 20;
const PRICE: i64 = 1000;

/// What buyers saw while a dependency was down.
struct Window {
    unavailable: usize,
    max_latency: Duration,
}

/// Every call started in `[from, to)`: no 500 (or any 5xx but 503), every 503 with
/// `Retry-After`, none slower than `bound`.
fn assert_down_window(sale: &Sale, from: Instant, to: Instant, bound: Duration) -> Window {
    let calls = sale.calls_between(from, to);
    let bad: Vec<&Call> = calls
        .iter()
        .filter(|c| c.status >= 500 && c.status != 503)
        .collect();
    assert!(bad.is_empty(), "5xx other than 503 while down: {bad:#?}");
    let missing: Vec<&Call> = calls
        .iter()
        .filter(|c| c.status == 503 && !c.retry_after)
        .collect();
    assert!(missing.is_empty(), "503 without Retry-After: {missing:#?}");
    let max_latency = calls.iter().map(|c| c.latency).max().unwrap_or_default();
    assert!(
        max_latency < bound,
        "an answer took {max_latency:?} while down (bound {bound:?}); calls: {}",
        summary(&calls)
    );
    Window {
        unavailable: calls.iter().filter(|c| c.status == 503).count(),
        max_latency,
    }
}

/// Keeps the fault on until buyers have seen `n` 503s (and at least `min` has passed).
async fn until_503s(sale: &Sale, since: Instant, n: usize, min: Duration) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seen = sale
            .calls_between(since, Instant::now() + Duration::from_secs(3600))
            .iter()
            .filter(|c| c.status == 503)
            .count();
        if seen >= n && since.elapsed() >= min {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "buyers saw only {seen} 503s while the dependency was down"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Seconds from `since` to the first successful answer of a call of kind `what` that
/// started after it.
fn recovery_secs(sale: &Sale, since: Instant, what: &[&str]) -> f64 {
    sale.all_calls()
        .iter()
        .filter(|c| c.started >= since && (200..300).contains(&c.status))
        .filter(|c| what.contains(&c.what))
        .map(|c| (c.started + c.latency - since).as_secs_f64())
        .fold(f64::INFINITY, f64::min)
}

/// Waits (up to 15 s) for the first success of a call of kind `what` after `up`; seconds.
async fn wait_recovery(sale: &Sale, up: Instant, what: &[&str]) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let secs = recovery_secs(sale, up, what);
        if secs.is_finite() {
            return secs;
        }
        assert!(
            Instant::now() < deadline,
            "no {what:?} call succeeded within 15 s of the dependency coming back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The end of every fault test: every buyer is done, every seat sold exactly once, no 500
/// during the whole sale, the auditor passes, admission stayed FIFO.
async fn assert_sale_is_sound(
    stack: &Stack,
    sale: Sale,
    schedule: i64,
    fifo: FifoWatch,
) -> Vec<Outcome> {
    let log = sale.calls.clone();
    let outcomes = sale.finish().await;
    let calls = log.lock().unwrap().clone();
    let gave_up: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::GaveUp(_)))
        .collect();
    let last: Vec<Call> = calls
        .iter()
        .filter(|c| c.started.elapsed() < Duration::from_secs(3))
        .cloned()
        .collect();
    assert!(
        gave_up.is_empty(),
        "buyers gave up: {gave_up:?}; last calls: {}; codes {:?}",
        summary(&last),
        last.iter()
            .map(|c| c.code.as_str())
            .collect::<std::collections::BTreeSet<_>>()
    );
    let internal: Vec<&Call> = calls.iter().filter(|c| c.status == 500).collect();
    assert!(internal.is_empty(), "500s during the sale: {internal:#?}");
    let paid: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Paid { seat_no } => Some(*seat_no),
            _ => None,
        })
        .collect();
    assert_eq!(paid.len() as i64, SEATS, "every seat sold: {outcomes:?}");
    let per_seat = stack.confirmed_per_seat(schedule).await;
    assert!(
        per_seat.iter().all(|(_, n)| *n == 1),
        "a seat was sold twice: {per_seat:?}"
    );
    let report = stack.audit().await;
    assert_eq!(report.totals.sold_seats, SEATS, "{report}");
    let (samples, violations) = fifo.stop().await;
    assert!(samples > 0, "the FIFO watch took no sample");
    assert!(
        violations.is_empty(),
        "admission was not FIFO (max admitted seq, min waiting seq): {violations:?}"
    );
    outcomes
}

/// Samples the FIFO invariant from Redis every few milliseconds until stopped.
struct FifoWatch {
    stop: oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<(usize, Vec<(i64, i64)>)>,
}

impl FifoWatch {
    async fn start(stack: &Stack, concert: i64) -> Self {
        let keys = stack.keys.clone();
        let mut redis = testkit::redis::conn().await;
        let (stop, mut stopped) = oneshot::channel();
        let handle = tokio::spawn(async move {
            let (mut samples, mut violations) = (0, Vec::new());
            loop {
                if let (Some(admitted), Some(waiting)) =
                    fifo_snapshot(&mut redis, &keys, concert).await
                {
                    if admitted >= waiting {
                        violations.push((admitted, waiting));
                    }
                }
                samples += 1;
                tokio::select! {
                    _ = &mut stopped => return (samples, violations),
                    _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
            }
        });
        Self { stop, handle }
    }

    async fn stop(self) -> (usize, Vec<(i64, i64)>) {
        let _ = self.stop.send(());
        self.handle.await.unwrap()
    }
}

fn spec(concert_id: i64, schedule_id: i64) -> SaleSpec {
    SaleSpec {
        concert_id,
        schedule_id,
        buyers: BUYERS,
        first_user: 1,
        price: PRICE,
        within: Duration::from_secs(60),
    }
}

/// A small room so there is always a line, and short holds: a hold whose answer was lost
/// with a cut connection (committed, but the buyer never learnt its id) frees its seat in
/// seconds rather than the default 5 minutes.
/// The stack's database pool: a request that cannot get a connection within 3 s (every
/// backend killed) is answered 503 then.
async fn fault_pool(opts: PgPoolOptions, c: PgConnectOptions) -> sqlx::PgPool {
    opts.max_connections(10)
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(c)
        .await
        .unwrap()
}

/// Dependencies are declared down quickly too: short Redis and booking timeouts.
fn small_room(gw: &mut gateway::GatewaySettings, bk: &mut booking::BookingSettings) {
    gw.queue.capacity = 4;
    gw.queue.batch_size = 2;
    gw.queue.tick_ms = 50;
    gw.redis.timeout_ms = 300;
    gw.booking.timeout_ms = 1500;
    gw.booking.connect_timeout_ms = 500;
    bk.redis.timeout_ms = 300;
    bk.holds.ttl_secs = 3;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn redis_lost_mid_sale_gives_503_then_recovers_and_never_sells_a_seat_twice(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let options = Options {
        backend: Backend::Real(fault_pool(opts, c).await),
        redis_proxy: true,
        gateways: 2,
        ..Options::default()
    };
    let stack = Stack::start(options, small_room).await;
    let (concert, schedule) = stack.concert_with(SEATS, PRICE).await;
    let fifo = FifoWatch::start(&stack, concert).await;
    let sale = Sale::start(&stack, spec(concert, schedule));
    sale.wait_paid(5, Duration::from_secs(30)).await;

    // Kill: every connection dropped, new ones refused.
    let proxy = stack.redis_proxy.as_ref().unwrap();
    let down = Instant::now();
    proxy.set(Mode::Down);
    until_503s(&sale, down, 10, Duration::from_millis(300)).await;
    // Restart empty: the line, the admissions and every seat lock are gone.
    stack.wipe_redis();
    let up = Instant::now();
    proxy.set(Mode::Up);
    let window = assert_down_window(&sale, down, up, Duration::from_secs(2));

    let recovery = wait_recovery(&sale, up, &["join", "status", "hold", "pay"]).await;

    let outcomes = assert_sale_is_sound(&stack, sale, schedule, fifo).await;
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
    let options = Options {
        backend: Backend::Real(fault_pool(opts, c).await),
        booking_proxy: true,
        gateways: 2,
        ..Options::default()
    };
    let stack = Stack::start(options, small_room).await;
    let timeout = Duration::from_millis(stack.settings.booking.timeout_ms);
    let (concert, schedule) = stack.concert_with(SEATS, PRICE).await;
    let fifo = FifoWatch::start(&stack, concert).await;
    let sale = Sale::start(&stack, spec(concert, schedule));
    sale.wait_paid(5, Duration::from_secs(30)).await;

    let proxy = stack.booking_proxy.as_ref().unwrap();
    // Hung first (calls run into the booking timeout), then gone (refused at once).
    let down = Instant::now();
    proxy.set(Mode::Blackhole);
    until_503s(&sale, down, 4, Duration::from_millis(300)).await;
    let refused = Instant::now();
    proxy.set(Mode::Down);
    until_503s(&sale, refused, 10, Duration::from_millis(300)).await;
    let up = Instant::now();
    proxy.set(Mode::Up);
    let window = assert_down_window(&sale, down, up, timeout + Duration::from_secs(1));
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
    let recovery = wait_recovery(&sale, up, &["charge", "seats", "hold", "pay"]).await;

    let outcomes = assert_sale_is_sound(&stack, sale, schedule, fifo).await;
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
    let options = Options {
        backend: Backend::Real(fault_pool(opts, c).await),
        gateways: 2,
        ..Options::default()
    };
    let mut stack = Stack::start(options, small_room).await;
    let (concert, schedule) = stack.concert_with(SEATS, PRICE).await;
    let fifo = FifoWatch::start(&stack, concert).await;
    let sale = Sale::start(&stack, spec(concert, schedule));
    sale.wait_paid(5, Duration::from_secs(30)).await;

    let killed = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), stack.kill_gateway(0))
        .await
        .expect("the gateway shuts down");
    // The load balancer takes the dead instance out.
    let survivor = stack.urls[1].clone();
    *sale.urls.write().unwrap() = vec![survivor.clone()];
    let switched = Instant::now();

    // Admission goes on on the survivor: a buyer is admitted after the kill.
    let deadline = Instant::now() + Duration::from_secs(10);
    let recovered = loop {
        if let Some(t) = sale
            .admitted_at
            .lock()
            .unwrap()
            .iter()
            .find(|t| **t > switched)
        {
            break *t - killed;
        }
        assert!(
            Instant::now() < deadline,
            "nobody was admitted after the kill"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        recovered < Duration::from_secs(10),
        "admission resumed after {recovered:?}"
    );
    let refused = sale
        .calls_between(killed, switched)
        .iter()
        .filter(|c| c.status == 0)
        .count();

    let outcomes = assert_sale_is_sound(&stack, sale, schedule, fifo).await;
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
    let options = Options {
        backend: Backend::Real(fault_pool(opts, c).await),
        gateways: 2,
        ..Options::default()
    };
    let stack = Stack::start(options, small_room).await;
    let (concert, schedule) = stack.concert_with(SEATS, PRICE).await;
    let fifo = FifoWatch::start(&stack, concert).await;
    let sale = Sale::start(&stack, spec(concert, schedule));
    sale.wait_paid(3, Duration::from_secs(30)).await;

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
    let window = assert_down_window(&sale, down, up, Duration::from_secs(6));
    let recovery = wait_recovery(&sale, up, &["charge", "seats", "hold", "pay"]).await;

    let outcomes = assert_sale_is_sound(&stack, sale, schedule, fifo).await;
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
