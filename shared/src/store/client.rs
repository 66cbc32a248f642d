//! The Redis client: every call bounded in time.
//!
//! A few multiplexed, self-reconnecting connections ([`ConnectionManager`]) are shared by
//! all requests in round robin; each call is pipelined on one of them, so there is no
//! checkout round trip (deadpool-redis PINGs on every checkout, doubling the round trips
//! of a one-command request). Every call runs under [`RedisPool::timeout`], so a dead or
//! unreachable Redis turns into [`RedisCallError`] (a 503 for the caller) within the
//! configured time instead of a hang; the managers reconnect by themselves when Redis
//! returns.
//!
//! Usage is observable: [`RedisPool::record_usage`] publishes the configured connections
//! and the calls in flight right now (an atomic counter kept by [`RedisPool::run`]) as
//! `redis_pool_connections{service, state}`; each service calls it when `/metrics` is
//! scraped.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::RedisSettings;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

#[derive(Debug, thiserror::Error)]
pub enum RedisCallError {
    #[error("redis call timed out after {0:?}")]
    Timeout(Duration),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// Round-robin set of reconnecting multiplexed connections.
#[derive(Clone)]
pub struct RedisPool {
    conns: Arc<[ConnectionManager]>,
    next: Arc<AtomicUsize>,
    /// Calls between start and finish right now, across all connections.
    in_flight: Arc<AtomicUsize>,
    timeout: Duration,
    service: &'static str,
}

impl std::fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPool")
            .field("connections", &self.conns.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisPool {
    /// Creates the connections lazily: nothing is dialled until the first call, so a
    /// service starts (and reports not-ready) while Redis is down.
    pub fn new(settings: &RedisSettings, service: &'static str) -> Result<Self, redis::RedisError> {
        let timeout = Duration::from_millis(settings.timeout_ms.max(1));
        let client = redis::Client::open(settings.url.as_str())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conns = (0..settings.connections.max(1))
            .map(|_| ConnectionManager::new_lazy_with_config(client.clone(), config.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            conns: conns.into(),
            next: Arc::new(AtomicUsize::new(0)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            timeout,
            service,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Calls in flight right now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Sets `redis_pool_connections{service, state="configured"|"in_flight"}`: the
    /// multiplexed connections and the calls running on them now (call it at scrape time).
    pub fn record_usage(&self) {
        metrics::gauge!(
            "redis_pool_connections",
            "service" => self.service,
            "state" => "configured"
        )
        .set(self.conns.len() as f64);
        metrics::gauge!(
            "redis_pool_connections",
            "service" => self.service,
            "state" => "in_flight"
        )
        .set(self.in_flight() as f64);
    }

    /// One connection (cheap clone of a shared multiplexed connection).
    pub fn conn(&self) -> ConnectionManager {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len();
        self.conns[i].clone()
    }

    /// Runs `f` on a connection under the call timeout; `op` names it in metrics.
    pub async fn run<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T, RedisCallError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let started = Instant::now();
        let in_flight = InFlight::enter(&self.in_flight);
        let result = match tokio::time::timeout(self.timeout, f(self.conn())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(RedisCallError::Redis(e)),
            Err(_) => Err(RedisCallError::Timeout(self.timeout)),
        };
        drop(in_flight);
        metrics::histogram!(
            "redis_call_duration_seconds",
            "service" => self.service,
            "op" => op,
            "outcome" => if result.is_ok() { "ok" } else { "error" }
        )
        .record(started.elapsed().as_secs_f64());
        result
    }

    /// `PING`, for readiness probes.
    pub async fn ping(&self) -> Result<(), RedisCallError> {
        self.run("ping", |mut c| async move {
            redis::cmd("PING").query_async::<String>(&mut c).await
        })
        .await
        .map(|_| ())
    }
}

/// Counts a call in flight until dropped (also when the caller's future is dropped).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
