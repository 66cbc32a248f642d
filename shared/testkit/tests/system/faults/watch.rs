//! What the fault tests watch and assert: the calls in a fault's window, recovery, a sound
//! sale at the end (every seat sold once, the audit), the FIFO invariant sampled
//! throughout; and the stack they run on.

use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::buyer::{Call, Outcome};
use testkit::prelude::*;
use testkit::redis::fifo_snapshot;
use testkit::sale::{summary, Sale, SaleSpec};
use tokio::sync::oneshot;

use super::{BUYERS, PRICE, SEATS};

/// What buyers saw while a dependency was down.
pub(super) struct Window {
    pub(super) unavailable: usize,
    pub(super) max_latency: Duration,
}

/// Every call started in `[from, to)`: no 500 (or any 5xx but 503), every 503 with
/// `Retry-After`, none slower than `bound`.
pub(super) fn assert_down_window(
    sale: &Sale,
    from: Instant,
    to: Instant,
    bound: Duration,
) -> Window {
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
pub(super) async fn until_503s(sale: &Sale, since: Instant, n: usize, min: Duration) {
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
pub(super) fn recovery_secs(sale: &Sale, since: Instant, what: &[&str]) -> f64 {
    sale.all_calls()
        .iter()
        .filter(|c| c.started >= since && (200..300).contains(&c.status))
        .filter(|c| what.contains(&c.what))
        .map(|c| (c.started + c.latency - since).as_secs_f64())
        .fold(f64::INFINITY, f64::min)
}

/// Waits (up to 15 s) for the first success of a call of kind `what` after `up`; seconds.
pub(super) async fn wait_recovery(sale: &Sale, up: Instant, what: &[&str]) -> f64 {
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
pub(super) async fn assert_sale_is_sound(
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
            Outcome::Paid { seat_nos } => Some(seat_nos.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(paid.len() as i64, SEATS, "every seat sold: {outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Paid { seat_nos } if seat_nos.len() == 2)),
        "some buyers bought a pair as one order: {outcomes:?}"
    );
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
pub(super) struct FifoWatch {
    stop: oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<(usize, Vec<(i64, i64)>)>,
}

impl FifoWatch {
    pub(super) async fn start(stack: &Stack, concert: i64) -> Self {
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

    pub(super) async fn stop(self) -> (usize, Vec<(i64, i64)>) {
        let _ = self.stop.send(());
        self.handle.await.unwrap()
    }
}

/// Which dependency a drill puts behind a switchable proxy ([`testkit::proxy`]).
pub(super) enum Proxy {
    None,
    Redis,
    Booking,
}

/// A fault drill: the stack (two gateways, the real booking service on [`fault_pool`],
/// [`small_room`], `proxy` in front of a dependency), a sale of [`SEATS`] seats to
/// [`BUYERS`] buyers running on it, and the FIFO watch.
pub(super) struct Drill {
    pub(super) stack: Stack,
    pub(super) sale: Sale,
    schedule: i64,
    fifo: FifoWatch,
}

impl Drill {
    /// Starts the drill and returns once `paid` buyers have paid (the sale is under way).
    pub(super) async fn start(
        opts: PgPoolOptions,
        c: PgConnectOptions,
        proxy: Proxy,
        paid: usize,
    ) -> Self {
        let options = Options {
            backend: Backend::Real(fault_pool(opts, c).await),
            gateways: 2,
            redis_proxy: matches!(proxy, Proxy::Redis),
            booking_proxy: matches!(proxy, Proxy::Booking),
            ..Options::default()
        };
        let stack = Stack::start(options, small_room).await;
        let (concert, schedule) = stack.concert_with(SEATS, PRICE).await;
        let fifo = FifoWatch::start(&stack, concert).await;
        let sale = Sale::start(&stack, spec(concert, schedule));
        sale.wait_paid(paid, Duration::from_secs(30)).await;
        Self {
            stack,
            sale,
            schedule,
            fifo,
        }
    }

    /// The end of the drill: [`assert_sale_is_sound`]; the stack (still running) and what
    /// became of every buyer.
    pub(super) async fn finish(self) -> (Stack, Vec<Outcome>) {
        let outcomes = assert_sale_is_sound(&self.stack, self.sale, self.schedule, self.fifo).await;
        (self.stack, outcomes)
    }
}

pub(super) fn spec(concert_id: i64, schedule_id: i64) -> SaleSpec {
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
pub(super) async fn fault_pool(opts: PgPoolOptions, c: PgConnectOptions) -> sqlx::PgPool {
    opts.max_connections(10)
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(c)
        .await
        .unwrap()
}

/// Dependencies are declared down quickly too: short Redis and booking timeouts.
pub(super) fn small_room(gw: &mut gateway::GatewaySettings, bk: &mut booking::BookingSettings) {
    set_queue(gw, 4, 2, 50);
    gw.redis.timeout_ms = 300;
    gw.booking.timeout_ms = 1500;
    gw.booking.connect_timeout_ms = 500;
    bk.redis.timeout_ms = 300;
    bk.holds.ttl_secs = 3;
}
