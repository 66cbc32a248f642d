//! The Redis client: every call bounded in time, one node or a Redis Cluster.
//!
//! One node: a few multiplexed, self-reconnecting connections ([`ConnectionManager`]) are
//! shared by all requests in round robin; each call is pipelined on one of them, so there
//! is no checkout round trip (deadpool-redis PINGs on every checkout, doubling the round
//! trips of a one-command request). A cluster (`redis.cluster_urls`): the redis crate's
//! async cluster connection, which keeps a connection to every node, routes each command
//! (and each script and pipeline, by its first key) to the master of its slot, follows
//! `MOVED`/`ASK` and refreshes the slot map when the topology changes (a failover). The
//! rest of the code sees one type, [`Conn`], either way: every key of a concert carries
//! its `{concert}` hash tag, so every script and pipeline touches one slot.
//!
//! Every call runs under [`RedisPool::timeout`], so a dead or unreachable Redis — or a
//! cluster in the middle of a failover — turns into [`RedisCallError`] (a 503 for the
//! caller) within the configured time instead of a hang; the connections come back by
//! themselves.
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
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use tokio::sync::OnceCell;

/// A connection to one node or to a cluster: what every call of the store runs on.
#[derive(Clone)]
pub enum Conn {
    Node(ConnectionManager),
    Cluster(ClusterConnection),
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Node(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Node(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Node(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Where the calls go.
enum Target {
    Nodes(Arc<[ConnectionManager]>),
    /// Connected on first use (a service starts while the cluster is down).
    Cluster {
        client: Box<ClusterClient>,
        conn: OnceCell<ClusterConnection>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RedisCallError {
    #[error("redis call timed out after {0:?}")]
    Timeout(Duration),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// Round-robin set of reconnecting multiplexed connections, or a cluster connection.
#[derive(Clone)]
pub struct RedisPool {
    target: Arc<Target>,
    next: Arc<AtomicUsize>,
    /// Calls between start and finish right now, across all connections.
    in_flight: Arc<AtomicUsize>,
    timeout: Duration,
    service: &'static str,
}

impl std::fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPool")
            .field("connections", &self.connections())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisPool {
    /// Creates the connections lazily: nothing is dialled until the first call, so a
    /// service starts (and reports not-ready) while Redis is down.
    pub fn new(settings: &RedisSettings, service: &'static str) -> Result<Self, redis::RedisError> {
        let timeout = Duration::from_millis(settings.timeout_ms.max(1));
        let seeds: Vec<&str> = settings
            .cluster_urls
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let target = if seeds.is_empty() {
            let client = redis::Client::open(settings.url.as_str())?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(500));
            let conns = (0..settings.connections.max(1))
                .map(|_| ConnectionManager::new_lazy_with_config(client.clone(), config.clone()))
                .collect::<Result<Vec<_>, _>>()?;
            Target::Nodes(conns.into())
        } else {
            // Each call is bounded by `timeout` below; inside it the client may retry a
            // moved slot or a node being replaced a couple of times.
            let client = redis::cluster::ClusterClientBuilder::new(seeds)
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .retries(2)
                .min_retry_wait(50)
                .max_retry_wait(500)
                .build()?;
            Target::Cluster {
                client: Box::new(client),
                conn: OnceCell::new(),
            }
        };
        Ok(Self {
            target: Arc::new(target),
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
        match self.target.as_ref() {
            Target::Nodes(conns) => conns.len(),
            Target::Cluster { .. } => 1,
        }
    }

    /// Whether the calls go to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.target.as_ref(), Target::Cluster { .. })
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
        .set(self.connections() as f64);
        metrics::gauge!(
            "redis_pool_connections",
            "service" => self.service,
            "state" => "in_flight"
        )
        .set(self.in_flight() as f64);
    }

    /// One connection (a cheap clone of a shared multiplexed or cluster connection).
    pub async fn conn(&self) -> redis::RedisResult<Conn> {
        match self.target.as_ref() {
            Target::Nodes(conns) => {
                let i = self.next.fetch_add(1, Ordering::Relaxed) % conns.len();
                Ok(Conn::Node(conns[i].clone()))
            }
            Target::Cluster { client, conn } => Ok(Conn::Cluster(
                conn.get_or_try_init(|| client.get_async_connection())
                    .await?
                    .clone(),
            )),
        }
    }

    /// Runs `f` on a connection under the call timeout; `op` names it in metrics.
    pub async fn run<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T, RedisCallError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let started = Instant::now();
        let in_flight = InFlight::enter(&self.in_flight);
        let call = async { f(self.conn().await?).await };
        let result = match tokio::time::timeout(self.timeout, call).await {
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
