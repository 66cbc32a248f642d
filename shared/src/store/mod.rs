//! The queue store, the part both services use: the key layout of everything kept in Redis
//! ([`keys`]), the room hash's fields ([`room_fields`]), the client ([`client`]), replies
//! decoded by name ([`reply`]), and the calls both make: where a ticket stands and ending
//! an admission ([`queue`], behind [`crate::admission`]), seat keys ([`seats`]) and the
//! published inventory ([`inventory`]). Their scripts are `shared/lua/`, one file each. The
//! gateway's own calls (join, leave, the room hash and the admission tick, the draw) and
//! their scripts live in the gateway (`gateway::line`, `gateway/lua/`) on top of [`Store`].
//!
//! Per waiting buyer Redis holds exactly one sorted-set entry (member = user id, score =
//! ticket number): with 1,000,000 waiting that is ~94 bytes per buyer by `MEMORY USAGE`,
//! all keys included (`queue-memory`). Admitted buyers live in a second sorted set scored
//! by admission expiry, with their ticket number in a hash, so a token can be matched to
//! the admission it was issued for.
//!
//! Every transition — join, status, leave, the admission tick, ending an admission,
//! releasing a seat lock — is ONE Lua script call ([`redis::Script`], sent as `EVALSHA`),
//! so concurrent requests on any number of gateway instances never see or leave a
//! half-done change, and no lock is needed. The scripts read the time from Redis (`TIME`),
//! so all instances share one clock. No request path uses `SCAN` or `KEYS`: every
//! operation is O(log N) on sets keyed by user. Every call is bounded by
//! `redis.timeout_ms` ([`client`]), so a dead Redis is an error (a 503) in that time.

pub mod client;
pub mod inventory;
pub mod keys;
pub mod queue;
pub mod reply;
pub mod room_fields;
pub mod seats;

use std::sync::Arc;

use redis::Script;

use crate::config::RedisSettings;
pub use crate::contract::rooms::{DrawState, RoomMode, RoomSettings};
pub use client::{RedisCallError, RedisPool};
pub use inventory::Inventory;
pub use keys::Keys;
pub use queue::{Lookup, Place, Ticket};
pub use reply::Reply;

/// The scripts' sources, for tools that must run exactly what the services run. These are
/// the scripts both services call; the gateway's own (join, leave, the admission tick, the
/// room hash, the draw) are `gateway::line::lua`.
pub mod lua {
    pub const STATUS: &str = include_str!("../../lua/status.lua");
    /// The one body that ends an admission, prepended to every script that ends one
    /// (`end_admission.lua` here, the gateway's `leave.lua`).
    pub const END_ADMISSION_LIB: &str = include_str!("../../lua/lib/end_admission.lua");
    pub const END_ADMISSION: &str = concat!(
        include_str!("../../lua/lib/end_admission.lua"),
        include_str!("../../lua/end_admission.lua")
    );
    pub const RELEASE_HOLD: &str = include_str!("../../lua/release_hold.lua");
    pub const SEAT_LOCK: &str = include_str!("../../lua/seat_lock.lua");
    pub const SEAT_SOLD: &str = include_str!("../../lua/seat_sold.lua");

    /// Every script by name (as its file is called), for the checks that read them.
    pub const ALL: &[(&str, &str)] = &[
        ("status", STATUS),
        ("end_admission", END_ADMISSION),
        ("release_hold", RELEASE_HOLD),
        ("seat_lock", SEAT_LOCK),
        ("seat_sold", SEAT_SOLD),
    ];
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Redis(#[from] RedisCallError),
    #[error("unexpected reply from Redis: {0}")]
    UnexpectedReply(String),
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        StoreError::Redis(RedisCallError::Redis(e))
    }
}

struct Scripts {
    status: Script,
    end_admission: Script,
    release_hold: Script,
    seat_lock: Script,
    seat_sold: Script,
}

/// The Redis client, the key prefix and the scripts; cheap to clone.
#[derive(Clone)]
pub struct Store {
    redis: RedisPool,
    keys: Keys,
    scripts: Arc<Scripts>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("prefix", &self.keys.prefix())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connections are made lazily: a service starts (and reports not-ready) while Redis
    /// is down.
    pub fn new(settings: &RedisSettings, service: &'static str) -> Result<Self, redis::RedisError> {
        Ok(Self::with_pool(
            RedisPool::new(settings, service)?,
            Keys::new(settings.key_prefix.clone()),
        ))
    }

    pub fn with_pool(redis: RedisPool, keys: Keys) -> Self {
        let scripts = Scripts {
            status: Script::new(lua::STATUS),
            end_admission: Script::new(lua::END_ADMISSION),
            release_hold: Script::new(lua::RELEASE_HOLD),
            seat_lock: Script::new(lua::SEAT_LOCK),
            seat_sold: Script::new(lua::SEAT_SOLD),
        };
        Self {
            redis,
            keys,
            scripts: Arc::new(scripts),
        }
    }

    pub fn redis(&self) -> &RedisPool {
        &self.redis
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// One plain command under the call timeout (a pipeline of one); `op` names it in
    /// metrics.
    pub async fn command<T>(&self, op: &'static str, cmd: redis::Cmd) -> Result<T, StoreError>
    where
        T: redis::FromRedisValue + Send,
    {
        let mut pipe = redis::pipe();
        pipe.add_command(cmd);
        let (reply,): (T,) = self.pipeline(op, pipe).await?;
        Ok(reply)
    }

    /// Plain commands in one round trip under the call timeout; `op` names it in metrics.
    pub async fn pipeline<T>(
        &self,
        op: &'static str,
        pipe: redis::Pipeline,
    ) -> Result<T, StoreError>
    where
        T: redis::FromRedisValue + Send,
    {
        Ok(self
            .redis
            .run(
                op,
                |mut c| async move { pipe.query_async::<T>(&mut c).await },
            )
            .await?)
    }

    /// Runs `script` on `keys` with `args` (a value or a tuple) in one call under the call
    /// timeout; `op` names it in metrics. Every script replies name/value pairs.
    pub async fn eval<A>(
        &self,
        op: &'static str,
        script: &Script,
        keys: &[String],
        args: A,
    ) -> Result<Reply, StoreError>
    where
        A: redis::ToRedisArgs + Send + Sync,
    {
        Ok(self
            .redis
            .run(op, |mut c| async move {
                script.key(keys).arg(&args).invoke_async(&mut c).await
            })
            .await?)
    }
}
