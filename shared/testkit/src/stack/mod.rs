//! One stack for every test: booking and any number of gateways, in-process on port 0.
//!
//! - [`Stack::gateways`]: gateways in front of a [`crate::stub::StubBooking`] (the gateway's
//!   integration tests; no database).
//! - [`Stack::booking`]: the real booking service alone on a test database (booking's
//!   integration tests call it directly with tokens they mint).
//! - [`Stack::start`] with [`Options`]: anything in between — the real booking service
//!   with gateways in front (system tests), switchable proxies in front of Redis and
//!   booking ([`crate::proxy`]) for fault tests.
//!
//! Every stack has a Redis key prefix of its own, shared by its services (and one JWT
//! key); [`Stack::stop`] shuts everything down and deletes the prefix, and a stack dropped
//! by a failing test still deletes it.

mod backend;
mod queue;

use std::time::Duration;

use backend::BookingSide;
use gateway::GatewaySettings;
use shared::config::Layered;
use shared::store::Keys;
use shared::token::TokenKeys;
use sqlx::PgPool;

use crate::proxy::FlakyProxy;
use crate::redis::{delete_prefix, unique_prefix};
use crate::redis_url;
pub use queue::Ticket;

/// Which booking service the gateways talk to.
#[derive(Default)]
pub enum Backend {
    /// [`crate::stub::StubBooking`]: knows concerts 1–3, echoes what it is sent.
    #[default]
    Stub,
    /// The real booking service on this (test) database.
    Real(PgPool),
}

/// What a test wants.
#[derive(Default)]
pub struct Options {
    pub gateways: usize,
    pub backend: Backend,
    /// The services reach Redis through a [`FlakyProxy`].
    pub redis_proxy: bool,
    /// The gateways reach booking through a [`FlakyProxy`].
    pub booking_proxy: bool,
    /// Every service uses the test Redis Cluster (`REDIS_CLUSTER_URLS`) instead of the
    /// single node.
    pub cluster: bool,
}

pub struct Stack {
    /// `None` once a test killed that instance.
    pub gateways: Vec<Option<gateway::RunningApp>>,
    /// The gateways' base URLs, by instance.
    pub urls: Vec<String>,
    booking: BookingSide,
    pub redis_proxy: Option<FlakyProxy>,
    pub booking_proxy: Option<FlakyProxy>,
    /// The gateways' settings (booking's are [`Stack::booking_settings`]).
    pub settings: GatewaySettings,
    pub booking_settings: booking::BookingSettings,
    pub keys: Keys,
    /// Mints and verifies the stack's queue tokens.
    pub tokens: TokenKeys,
    pub redis: redis::aio::MultiplexedConnection,
    pub client: reqwest::Client,
    /// The cluster's seed nodes when the stack runs on the test cluster.
    pub cluster_urls: Option<String>,
    stopped: bool,
}

/// Gateway settings for tests: port 0, the stack's prefix, fast ticks, a small room.
pub fn gateway_settings() -> GatewaySettings {
    let mut s = GatewaySettings::defaults();
    s.http.addr = "127.0.0.1:0".parse().unwrap();
    s.redis.url = redis_url();
    s.redis.key_prefix = unique_prefix();
    s.redis.timeout_ms = 1000;
    s.redis.connections = 2;
    set_queue(&mut s, 100, 10, 50);
    s.queue.active_ttl_secs = 60;
    s.booking.timeout_ms = 2000;
    s
}

/// A room's line in gateway settings: at most `capacity` admitted at once, `batch_size`
/// admitted per tick of `tick_ms` (for [`Stack::gateways_with`] and [`Stack::start`]).
pub fn set_queue(s: &mut GatewaySettings, capacity: u64, batch_size: u64, tick_ms: u64) {
    s.queue.capacity = capacity;
    s.queue.batch_size = batch_size;
    s.queue.tick_ms = tick_ms;
}

/// The join limit per client address in gateway settings: `joins_per_sec` joins a second,
/// bursts of `burst`.
pub fn set_address_limit(s: &mut GatewaySettings, joins_per_sec: u32, burst: u32) {
    s.rate_limit.joins_per_sec = joins_per_sec;
    s.rate_limit.burst = burst;
}

/// The join limit per user in gateway settings: `joins_per_sec` joins a second, bursts of
/// `burst`.
pub fn set_user_limit(s: &mut GatewaySettings, joins_per_sec: u32, burst: u32) {
    s.rate_limit.user_joins_per_sec = joins_per_sec;
    s.rate_limit.user_burst = burst;
}

/// Booking settings for tests: port 0, a fast sweeper; prefix and JWT key set by the stack.
pub fn booking_settings() -> booking::BookingSettings {
    let mut s = booking::BookingSettings::defaults();
    s.http.addr = "127.0.0.1:0".parse().unwrap();
    s.redis.url = redis_url();
    s.holds.sweep_interval_ms = 200;
    s
}

impl Stack {
    /// `n` gateways in front of the stub booking service.
    pub async fn gateways(n: usize) -> Self {
        Self::gateways_with(n, |_| {}).await
    }

    pub async fn gateways_with(n: usize, adjust: impl FnOnce(&mut GatewaySettings)) -> Self {
        let options = Options {
            gateways: n,
            ..Options::default()
        };
        Self::start(options, |gw, _| adjust(gw)).await
    }

    /// The real booking service alone, on `db`.
    pub async fn booking(db: PgPool) -> Self {
        Self::booking_with(db, |_| {}).await
    }

    pub async fn booking_with(
        db: PgPool,
        adjust: impl FnOnce(&mut booking::BookingSettings),
    ) -> Self {
        let options = Options {
            gateways: 0,
            backend: Backend::Real(db),
            ..Options::default()
        };
        Self::start(options, |_, bk| adjust(bk)).await
    }

    /// The real booking service on `db` with `gateways` gateways in front.
    pub async fn full(db: PgPool, gateways: usize) -> Self {
        Self::full_with(db, gateways, |_, _| {}).await
    }

    /// [`Stack::full`] with the settings changed first (as [`Stack::start`]).
    pub async fn full_with(
        db: PgPool,
        gateways: usize,
        adjust: impl FnOnce(&mut GatewaySettings, &mut booking::BookingSettings),
    ) -> Self {
        let options = Options {
            gateways,
            backend: Backend::Real(db),
            ..Options::default()
        };
        Self::start(options, adjust).await
    }

    /// Starts what `options` asks for; `adjust` changes the settings first (the stack then
    /// gives booking the gateways' Redis prefix and JWT key).
    pub async fn start(
        options: Options,
        adjust: impl FnOnce(&mut GatewaySettings, &mut booking::BookingSettings),
    ) -> Self {
        let mut gw = gateway_settings();
        let mut bk = booking_settings();
        // Booking answers the gateways only, as in production.
        let internal = secrecy::SecretString::from(format!("internal-{}", uuid::Uuid::new_v4()));
        gw.booking.internal_token = Some(internal.clone());
        bk.internal.token = Some(internal);
        if options.cluster {
            gw.redis.cluster_urls = Some(
                crate::redis::cluster_urls()
                    .expect("REDIS_CLUSTER_URLS: scripts/test starts the test cluster"),
            );
        }
        adjust(&mut gw, &mut bk);
        bk.redis.key_prefix = gw.redis.key_prefix.clone();
        bk.redis.cluster_urls = gw.redis.cluster_urls.clone();
        bk.jwt = gw.jwt.clone();
        let redis_proxy = if options.redis_proxy {
            let target = socket_addr(&gw.redis.url);
            let proxy = FlakyProxy::start(target).await;
            gw.redis.url = format!("redis://{}", proxy.addr);
            bk.redis.url = gw.redis.url.clone();
            Some(proxy)
        } else {
            None
        };
        let booking = BookingSide::start(options.backend, &gw, &bk).await;
        let booking_proxy = if options.booking_proxy {
            let proxy = FlakyProxy::start(booking.addr()).await;
            gw.booking.url = format!("http://{}", proxy.addr);
            Some(proxy)
        } else {
            gw.booking.url = booking.url();
            None
        };
        let mut gateways = Vec::new();
        for i in 0..options.gateways {
            let mut s = gw.clone();
            s.instance_id = Some(format!("gw-test-{i}"));
            gateways.push(Some(gateway::spawn(s).await.expect("gateway starts")));
        }
        Stack {
            urls: gateways.iter().flatten().map(|g| g.url()).collect(),
            gateways,
            booking,
            redis_proxy,
            booking_proxy,
            keys: Keys::new(gw.redis.key_prefix.clone()),
            tokens: TokenKeys::new(&gw.jwt),
            redis: crate::redis::conn().await,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            cluster_urls: gw.redis.cluster_urls.clone(),
            settings: gw,
            booking_settings: bk,
            stopped: false,
        }
    }

    /// A queue store on the stack's Redis prefix, as the gateway has it (the same scripts:
    /// the shared calls and the gateway's own).
    pub fn store(&self) -> gateway::line::LineStore {
        gateway::line::LineStore::new(&self.settings.redis, "test").expect("valid redis settings")
    }

    /// The running gateways' `host:port`s.
    pub fn gateway_addrs(&self) -> Vec<String> {
        let running = self.gateways.iter().flatten();
        running.map(|g| g.addr.to_string()).collect()
    }

    /// Gateway `instance`'s base URL (wrapping around the instances).
    pub fn url(&self, instance: usize) -> String {
        self.urls[instance % self.urls.len()].clone()
    }

    /// Shuts gateway `instance` down (it stops accepting; its ticker stops).
    pub async fn kill_gateway(&mut self, instance: usize) {
        if let Some(gateway) = self.gateways[instance].take() {
            gateway.shutdown().await;
        }
    }

    /// Runs one Redis command on the stack's connection (a test reading or changing the
    /// store behind the services' backs); its reply.
    pub async fn redis_query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        cmd.query_async(&mut self.redis.clone()).await.unwrap()
    }

    /// The stack's keys (single node) matching `pattern` after its prefix (`KEYS`: tests only).
    pub async fn redis_keys(&self, pattern: &str) -> Vec<String> {
        redis::cmd("KEYS")
            .arg(format!("{}{pattern}", self.keys.prefix()))
            .query_async(&mut self.redis.clone())
            .await
            .unwrap()
    }

    /// Redis "restarted empty": every key of this stack is gone.
    pub fn wipe_redis(&self) {
        delete_prefix(self.keys.prefix());
    }

    /// Stops every service, then deletes every key of the stack's prefix.
    pub async fn stop(mut self) {
        for gateway in std::mem::take(&mut self.gateways).into_iter().flatten() {
            gateway.shutdown().await;
        }
        std::mem::take(&mut self.booking).stop().await;
        self.delete_keys();
        self.stopped = true;
    }

    fn delete_keys(&self) {
        match &self.cluster_urls {
            Some(urls) => crate::redis::delete_prefix_in_cluster(urls, self.keys.prefix()),
            None => delete_prefix(self.keys.prefix()),
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if !self.stopped {
            // A failed test: stop what runs and still remove the keys.
            for gateway in self.gateways.iter().flatten() {
                gateway.cancel.cancel();
            }
            self.booking.cancel();
            self.delete_keys();
        }
    }
}

/// Where a `redis://host:port` URL points.
fn socket_addr(url: &str) -> std::net::SocketAddr {
    let rest = url.trim_start_matches("redis://");
    let host_port = rest.split('/').next().unwrap_or(rest);
    std::net::ToSocketAddrs::to_socket_addrs(host_port)
        .ok()
        .and_then(|mut a| a.next())
        .expect("REDIS_URL names a host:port")
}
