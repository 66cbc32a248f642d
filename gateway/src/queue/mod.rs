//! The waiting line of each concert, kept in Redis.
//!
//! Per waiting buyer Redis holds exactly one sorted-set entry (member = user id, score =
//! ticket number): with 1,000,000 waiting that is ~94 bytes per buyer by `MEMORY USAGE`,
//! ~102 by `INFO memory`, all keys included (`scripts/queue-memory`). Admitted
//! buyers live in a second sorted set scored by admission expiry, with their ticket number
//! in a hash, so a token can be matched to the admission it was issued for.
//!
//! Every transition — join, status, leave, and the admission tick (`room.rs`) — is ONE Lua
//! script call ([`redis::Script`], sent as `EVALSHA`), so concurrent requests on any number of
//! gateway instances never see or leave a half-done change, and no lock is needed. The
//! scripts read the time from Redis (`TIME`), so all instances share one clock. No request
//! path uses `SCAN` or `KEYS`: every operation is O(log N) on sets keyed by user.
//!
//! This module knows nothing about HTTP; handlers map its outcomes to responses.

mod room;

use std::sync::Arc;

use redis::Script;
use shared::config::QueueSettings;
use shared::keys::Keys;
use shared::redis::{RedisCallError, RedisPool};

pub use room::{RoomPatch, RoomStats, Tick};

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Admitted until `expires_at_ms` (Redis server clock, ms since the epoch).
    Active { expires_at_ms: i64 },
    /// In line with `rank` buyers ahead (0 = head of the line).
    Waiting { rank: u64 },
}

/// A buyer's ticket as the store holds it right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    pub seq: i64,
    pub place: Place,
    /// Redis server time of the read, ms.
    pub now_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinOutcome {
    /// The buyer's place; `created` when this call handed out the ticket.
    Placed { ticket: Ticket, created: bool },
    /// The room is disabled and the buyer had no place.
    Closed,
    /// The room hash is missing from Redis (e.g. after a flush); nothing was written.
    NoRoom,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Redis(#[from] RedisCallError),
    #[error("unexpected reply from a queue script: {0}")]
    UnexpectedReply(String),
}

impl From<redis::RedisError> for QueueError {
    fn from(e: redis::RedisError) -> Self {
        QueueError::Redis(RedisCallError::Redis(e))
    }
}

struct Scripts {
    join: Script,
    status: Script,
    leave: Script,
    promote: Script,
    stats: Script,
    end_admission: Script,
}

/// The queue scripts bound to one Redis pool, key prefix and set of room defaults.
#[derive(Clone)]
pub struct Queue {
    redis: RedisPool,
    keys: Keys,
    defaults: QueueSettings,
    scripts: Arc<Scripts>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("prefix", &self.keys.prefix())
            .finish_non_exhaustive()
    }
}

/// The source of the join script, for tools that must run exactly what the gateway runs
/// (`scripts/queue-memory` reads the same file).
pub const JOIN_LUA: &str = include_str!("lua/join.lua");

/// How long a left ticket stays in the room's `left` set (gateways read it every tick).
const LEFT_LISTED_MS: i64 = 60_000;

impl Queue {
    pub fn new(redis: RedisPool, keys: Keys, defaults: QueueSettings) -> Self {
        let scripts = Scripts {
            join: Script::new(JOIN_LUA),
            status: Script::new(include_str!("lua/status.lua")),
            leave: Script::new(include_str!("lua/leave.lua")),
            promote: Script::new(include_str!("lua/promote.lua")),
            stats: Script::new(include_str!("lua/stats.lua")),
            end_admission: shared::redis::end_admission_script(),
        };
        Self {
            redis,
            keys,
            defaults,
            scripts: Arc::new(scripts),
        }
    }

    pub fn redis(&self) -> &RedisPool {
        &self.redis
    }

    /// The instance defaults as script arguments (used where the room hash lacks a field).
    fn default_args(&self) -> [String; 5] {
        let d = &self.defaults;
        [
            d.capacity.to_string(),
            d.batch_size.to_string(),
            d.tick_ms.to_string(),
            d.active_ttl_secs.to_string(),
            if d.enabled { "1" } else { "0" }.to_string(),
        ]
    }

    /// Puts `user_id` in line for `concert_id`, or returns the place the user already has.
    #[tracing::instrument(skip(self))]
    pub async fn join(&self, concert_id: i64, user_id: i64) -> Result<JoinOutcome, QueueError> {
        let keys = self.keys.queue_keys(concert_id);
        let defaults = self.default_args();
        let script = &self.scripts.join;
        let (status, seq, rank, expiry, created, now): (String, i64, i64, i64, i64, i64) = self
            .redis
            .run("queue_join", |mut c| async move {
                let mut call = script.prepare_invoke();
                call.key(&keys[..]).arg(user_id).arg(&defaults[..]);
                call.invoke_async(&mut c).await
            })
            .await?;
        let ticket = |place| Ticket {
            seq,
            place,
            now_ms: now,
        };
        Ok(match status.as_str() {
            "active" => JoinOutcome::Placed {
                ticket: ticket(Place::Active {
                    expires_at_ms: expiry,
                }),
                created: created == 1,
            },
            "waiting" => JoinOutcome::Placed {
                ticket: ticket(Place::Waiting {
                    rank: rank.max(0) as u64,
                }),
                created: created == 1,
            },
            "closed" => JoinOutcome::Closed,
            "noroom" => JoinOutcome::NoRoom,
            other => return Err(QueueError::UnexpectedReply(format!("join: {other}"))),
        })
    }

    /// Where ticket `seq` of `user_id` stands; `None` when it is gone (left, expired, paid,
    /// or replaced by a newer ticket).
    #[tracing::instrument(skip(self))]
    pub async fn status(
        &self,
        concert_id: i64,
        user_id: i64,
        seq: i64,
    ) -> Result<Option<Ticket>, QueueError> {
        Ok(self.status_at_seat(concert_id, user_id, seq, None).await?.0)
    }

    /// [`Queue::status`], and in the same script call, for an active ticket, whether the
    /// hold key of `seat` (schedule id, seat number) in this concert exists: someone holds
    /// that seat right now.
    #[tracing::instrument(skip(self))]
    pub async fn status_at_seat(
        &self,
        concert_id: i64,
        user_id: i64,
        seq: i64,
        seat: Option<(i64, i32)>,
    ) -> Result<(Option<Ticket>, bool), QueueError> {
        let mut keys = vec![
            self.keys.waiting(concert_id),
            self.keys.active(concert_id),
            self.keys.active_seq(concert_id),
        ];
        keys.extend(
            seat.map(|(schedule_id, seat_no)| self.keys.hold(concert_id, schedule_id, seat_no)),
        );
        let script = &self.scripts.status;
        let (status, rank, expiry, now, held): (String, i64, i64, i64, i64) = self
            .redis
            .run("queue_status", |mut c| async move {
                let mut call = script.prepare_invoke();
                call.key(&keys[..]).arg(user_id).arg(seq);
                call.invoke_async(&mut c).await
            })
            .await?;
        let place = match status.as_str() {
            "active" => Place::Active {
                expires_at_ms: expiry,
            },
            "waiting" => Place::Waiting {
                rank: rank.max(0) as u64,
            },
            "gone" => return Ok((None, false)),
            other => return Err(QueueError::UnexpectedReply(format!("status: {other}"))),
        };
        let ticket = Ticket {
            seq,
            place,
            now_ms: now,
        };
        Ok((Some(ticket), held == 1))
    }

    /// Drops ticket `seq` of `user_id`, waiting or admitted. Returns whether anything was
    /// dropped (leaving twice is not an error).
    #[tracing::instrument(skip(self))]
    pub async fn leave(&self, concert_id: i64, user_id: i64, seq: i64) -> Result<bool, QueueError> {
        let keys = [
            self.keys.waiting(concert_id),
            self.keys.active(concert_id),
            self.keys.active_seq(concert_id),
            self.keys.left(concert_id),
        ];
        let script = &self.scripts.leave;
        let dropped: i64 = self
            .redis
            .run("queue_leave", |mut c| async move {
                let mut call = script.prepare_invoke();
                call.key(&keys[..])
                    .arg(user_id)
                    .arg(seq)
                    .arg(LEFT_LISTED_MS);
                call.invoke_async(&mut c).await
            })
            .await?;
        Ok(dropped != 0)
    }

    /// Tickets that left the line of `concert_id` at or after `since_ms` (Redis clock),
    /// as `(ticket number, time left ms)`, oldest first; read by the ticker for
    /// [`crate::rooms::Rooms::waiting_position`].
    pub async fn left_since(
        &self,
        concert_id: i64,
        since_ms: i64,
    ) -> Result<Vec<(i64, i64)>, QueueError> {
        let key = self.keys.left(concert_id);
        Ok(self
            .redis
            .run("queue_left", |mut c| async move {
                redis::cmd("ZRANGEBYSCORE")
                    .arg(&key)
                    .arg(since_ms)
                    .arg("+inf")
                    .arg("WITHSCORES")
                    .query_async::<Vec<(i64, i64)>>(&mut c)
                    .await
            })
            .await?)
    }

    /// Ends the admission of ticket `seq` (what booking does after a payment).
    #[tracing::instrument(skip(self))]
    pub async fn end_admission(
        &self,
        concert_id: i64,
        user_id: i64,
        seq: i64,
    ) -> Result<bool, QueueError> {
        Ok(shared::redis::end_admission(
            &self.redis,
            &self.keys,
            &self.scripts.end_admission,
            concert_id,
            user_id,
            seq,
        )
        .await?)
    }
}
