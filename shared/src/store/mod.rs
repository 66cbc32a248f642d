//! The queue store: everything both services keep in Redis, in one place — the key layout
//! ([`keys`]), every Lua script (`shared/lua/`, one file each, loaded here), and typed calls
//! whose replies are decoded by name into structs ([`reply`]). The gateway keeps the lines
//! and rooms here ([`queue`], [`room`]); booking takes seat locks and ends admissions here
//! ([`seats`]).
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
pub mod draw;
pub mod inventory;
pub mod keys;
pub mod queue;
pub mod reply;
pub mod room;
pub mod room_fields;
pub mod seats;

use std::sync::Arc;

use redis::Script;

use crate::config::RedisSettings;
pub use client::{RedisCallError, RedisPool};
pub use draw::{DrawStart, Frozen, Written};
pub use inventory::Inventory;
pub use keys::Keys;
pub use queue::{JoinOutcome, Left, Lookup, Place, Ticket};
pub use reply::Reply;
pub use room::{DrawState, Opening, RoomMode, RoomPut, RoomSettings, RoomStats, Tick};

/// The scripts' sources, for tools that must run exactly what the services run.
pub mod lua {
    pub const JOIN: &str = include_str!("../../lua/join.lua");
    pub const STATUS: &str = include_str!("../../lua/status.lua");
    /// The one body that ends an admission, prepended to every script that ends one.
    pub const END_ADMISSION_LIB: &str = include_str!("../../lua/lib/end_admission.lua");
    pub const LEAVE: &str = concat!(
        include_str!("../../lua/lib/end_admission.lua"),
        include_str!("../../lua/leave.lua")
    );
    pub const PROMOTE: &str = include_str!("../../lua/promote.lua");
    pub const STATS: &str = include_str!("../../lua/stats.lua");
    pub const END_ADMISSION: &str = concat!(
        include_str!("../../lua/lib/end_admission.lua"),
        include_str!("../../lua/end_admission.lua")
    );
    pub const RELEASE_HOLD: &str = include_str!("../../lua/release_hold.lua");
    pub const ROOM_PUT: &str = include_str!("../../lua/room_put.lua");
    pub const SEAT_LOCK: &str = include_str!("../../lua/seat_lock.lua");
    pub const SEAT_SOLD: &str = include_str!("../../lua/seat_sold.lua");
    pub const DRAW_BEGIN: &str = include_str!("../../lua/draw_begin.lua");
    pub const DRAW_WRITE: &str = include_str!("../../lua/draw_write.lua");

    /// Every script by name (as its file is called), for the checks that read them.
    pub const ALL: &[(&str, &str)] = &[
        ("join", JOIN),
        ("status", STATUS),
        ("leave", LEAVE),
        ("promote", PROMOTE),
        ("stats", STATS),
        ("end_admission", END_ADMISSION),
        ("release_hold", RELEASE_HOLD),
        ("room_put", ROOM_PUT),
        ("seat_lock", SEAT_LOCK),
        ("seat_sold", SEAT_SOLD),
        ("draw_begin", DRAW_BEGIN),
        ("draw_write", DRAW_WRITE),
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
    join: Script,
    status: Script,
    leave: Script,
    promote: Script,
    stats: Script,
    end_admission: Script,
    release_hold: Script,
    room_put: Script,
    seat_lock: Script,
    seat_sold: Script,
    draw_begin: Script,
    draw_write: Script,
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
            join: Script::new(lua::JOIN),
            status: Script::new(lua::STATUS),
            leave: Script::new(lua::LEAVE),
            promote: Script::new(lua::PROMOTE),
            stats: Script::new(lua::STATS),
            end_admission: Script::new(lua::END_ADMISSION),
            release_hold: Script::new(lua::RELEASE_HOLD),
            room_put: Script::new(lua::ROOM_PUT),
            seat_lock: Script::new(lua::SEAT_LOCK),
            seat_sold: Script::new(lua::SEAT_SOLD),
            draw_begin: Script::new(lua::DRAW_BEGIN),
            draw_write: Script::new(lua::DRAW_WRITE),
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

    /// Runs `script` on `keys` with `args` (a value or a tuple) in one call under the call
    /// timeout; `op` names it in metrics. Every script replies name/value pairs.
    async fn eval<A>(
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
