//! Rooms: the per-concert settings hash, the set of known rooms, the admission tick and the
//! figures operators read.
//!
//! A room's settings live in its hash (`mode`, `capacity`, `batch_size`, `tick_ms`,
//! `active_ttl_secs`, and their `version`; `enabled` = mode is not closed, for readers of
//! before modes), next to the room's `epoch` and the
//! tick bookkeeping the promote script keeps there (`last_tick_ms`, `last_tick_by`,
//! `admitted_1m`). A room hash is always written with every setting ([`LineStore::put_room`]);
//! the scripts read them on every call (there are no defaults inside the scripts), so an
//! operator's change applies on every instance at its next call.
//!
//! The epoch is the Redis time (µs) at which the hash was created. Queue tokens carry it:
//! after Redis lost its data the room is created again with a new epoch, and every token
//! of the old line is answered "reset" instead of with a position in a line that no longer
//! exists.

pub use shared::contract::rooms::{DrawState, RoomMode, RoomSettings};

use chrono::{DateTime, Utc};
use shared::draw::{self, Seed};
use shared::store::inventory::Inventory;
use shared::store::queue::epoch_of;
use shared::store::{Reply, StoreError};

use super::{LineStore, SCRIPTS};

/// What [`LineStore::put_room`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomPut {
    /// The settings were written (the hash had none, or an older version).
    pub applied: bool,
    /// The room's epoch (new when this call created the hash).
    pub epoch: u64,
}

/// Result of one call of the promote script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// This call did the tick of its slot (other calls in the slot only read figures).
    pub ran: bool,
    pub admitted: u64,
    /// Expired admissions dropped by this tick.
    pub dropped: u64,
    pub waiting: u64,
    /// Admissions that have not expired.
    pub active: u64,
    /// Lowest waiting ticket number, or the next ticket number when the line is empty.
    pub head_seq: i64,
    /// Buyers admitted over the last minute (ticks and joins into an empty line).
    pub admitted_last_minute: u64,
    pub tick_ms: u64,
    pub capacity: u64,
    pub batch_size: u64,
    pub active_ttl_secs: u64,
    pub mode: RoomMode,
    /// Redis server time, ms.
    pub now_ms: i64,
    /// Time from the oldest to the newest entry of the one-minute admission log, ms.
    pub log_span_ms: u64,
    /// The room's epoch (0 for a room created before epochs existed).
    pub epoch: u64,
    /// The concert's seats as booking last published them.
    pub inventory: Option<Inventory>,
    /// Every seat is sold: the room admits nobody; it keeps its line when `waitlist`, else
    /// it released it.
    pub sold_out: bool,
    /// The room keeps its line through a sell-out (the setting `waitlist`).
    pub waitlist: bool,
    pub opening: Opening,
}

/// A room's scheduled opening and its draw, as the promote and stats scripts reply them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Opening {
    /// The opening (Redis clock, ms), if one is scheduled.
    pub opens_at_ms: Option<i64>,
    pub prequeue_secs: u64,
    pub state: DrawState,
    /// Entries in the pre-queue, or in the draw once it is frozen.
    pub entries: u64,
    /// Entries the draw has placed in line.
    pub placed: u64,
    /// SHA-256 of the seed: public as soon as the opening is scheduled.
    pub seed_sha256: Option<[u8; 32]>,
    /// The seed: replied only once the draw is done.
    pub seed: Option<Seed>,
    pub drawn_ms: Option<i64>,
}

impl Opening {
    fn from_reply(reply: &Reply, script: &str) -> Result<Self, StoreError> {
        let hex32 = |name: &str| -> Result<Option<[u8; 32]>, StoreError> {
            let text = reply.text(script, name)?;
            if text.is_empty() {
                return Ok(None);
            }
            draw::parse_seed(&text)
                .map(Some)
                .ok_or_else(|| StoreError::UnexpectedReply(format!("{script}: {name} {text}")))
        };
        let opens_at = reply.text(script, "opens_at_ms")?;
        let opens_at_ms = if opens_at.is_empty() {
            None
        } else {
            Some(opens_at.parse().map_err(|_| {
                StoreError::UnexpectedReply(format!("{script}: opens_at_ms {opens_at}"))
            })?)
        };
        let state = match reply.text(script, "draw_state")?.as_str() {
            "" => DrawState::None,
            "scheduled" => DrawState::Scheduled,
            "drawing" => DrawState::Drawing,
            "drawn" => DrawState::Drawn,
            other => {
                return Err(StoreError::UnexpectedReply(format!(
                    "{script}: draw_state {other}"
                )))
            }
        };
        let drawn_ms = reply.int(script, "drawn_ms")?;
        Ok(Self {
            opens_at_ms,
            prequeue_secs: reply.count(script, "prequeue_secs")?,
            state,
            entries: reply.count(script, "prequeued")?,
            placed: reply.count(script, "draw_written")?,
            seed_sha256: hex32("seed_sha256")?,
            seed: hex32("seed")?,
            drawn_ms: (drawn_ms > 0).then_some(drawn_ms),
        })
    }

    pub fn opens_at(&self) -> Option<DateTime<Utc>> {
        self.opens_at_ms.and_then(DateTime::from_timestamp_millis)
    }

    /// When the pre-queue opens.
    pub fn prequeue_opens_at(&self) -> Option<DateTime<Utc>> {
        self.opens_at()
            .map(|at| at - chrono::Duration::seconds(self.prequeue_secs as i64))
    }

    pub fn drawn_at(&self) -> Option<DateTime<Utc>> {
        self.drawn_ms.and_then(DateTime::from_timestamp_millis)
    }

    /// The opening has passed (on the clock of `now_ms`) and its draw is not written yet.
    pub fn draw_due(&self, now_ms: i64) -> bool {
        self.opens_at_ms.is_some_and(|at| now_ms >= at) && self.state != DrawState::Drawn
    }
}

/// A room's settings and live figures, for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomStats {
    pub exists: bool,
    pub settings: RoomSettings,
    pub waiting: u64,
    pub active: u64,
    pub admitted_last_minute: u64,
    pub head_seq: i64,
    pub last_seq: i64,
    pub oldest_wait_ms: u64,
    /// Redis time of the last tick, ms (0 = never ticked).
    pub last_tick_ms: i64,
    pub last_tick_by: String,
    pub now_ms: i64,
    /// The settings' version (booking's count of operator changes; 0 = the defaults).
    pub version: u64,
    pub epoch: u64,
    pub inventory: Option<Inventory>,
    pub opening: Opening,
}

fn flag(on: bool) -> String {
    if on { "1" } else { "0" }.to_string()
}

/// The hash fields of `settings` and the opening's seed (empty values: none).
fn fields(settings: &RoomSettings, seed: Option<&Seed>) -> [(&'static str, String); 11] {
    use shared::store::room_fields as f;
    [
        (f::MODE, settings.mode.as_str().to_string()),
        (f::WAITLIST, flag(settings.waitlist)),
        (f::CAPACITY, settings.capacity.to_string()),
        (f::BATCH_SIZE, settings.batch_size.to_string()),
        (f::TICK_MS, settings.tick_ms.to_string()),
        (f::ACTIVE_TTL_SECS, settings.active_ttl_secs.to_string()),
        (f::ENABLED, flag(settings.enabled())),
        (
            f::OPENS_AT_MS,
            settings
                .opens_at
                .map(|at| at.timestamp_millis().to_string())
                .unwrap_or_default(),
        ),
        (f::PREQUEUE_SECS, settings.prequeue_secs.to_string()),
        (f::SEED, seed.map(draw::seed_hex).unwrap_or_default()),
        (
            f::SEED_SHA256,
            seed.map(draw::seed_sha256).unwrap_or_default(),
        ),
    ]
}

/// The `mode` a script replied.
fn mode_of(reply: &Reply, script: &str) -> Result<RoomMode, StoreError> {
    let text = reply.text(script, "mode")?;
    RoomMode::parse(&text)
        .ok_or_else(|| StoreError::UnexpectedReply(format!("{script}: mode {text}")))
}

fn settings_from(
    reply: &Reply,
    script: &str,
    opening: &Opening,
) -> Result<RoomSettings, StoreError> {
    Ok(RoomSettings {
        capacity: reply.count(script, "capacity")?,
        batch_size: reply.count(script, "batch_size")?,
        tick_ms: reply.count(script, "tick_ms")?,
        active_ttl_secs: reply.count(script, "active_ttl_secs")?,
        mode: mode_of(reply, script)?,
        opens_at: opening.opens_at(),
        prequeue_secs: opening.prequeue_secs,
        waitlist: reply.flag(script, "waitlist")?,
    })
}

impl LineStore {
    /// Writes the room of `concert_id` with `settings` and the opening's `seed` at
    /// `version` (`room_put.lua`): creates the hash (and its epoch) when missing, brings it
    /// to `version` when it holds an older one, and leaves newer settings alone, so
    /// instances never overwrite each other or an operator. Lists the room in the rooms set
    /// the tickers read.
    #[tracing::instrument(skip(self, seed))]
    pub async fn put_room(
        &self,
        concert_id: i64,
        settings: &RoomSettings,
        seed: Option<&Seed>,
        version: u64,
    ) -> Result<RoomPut, StoreError> {
        self.write_room(concert_id, settings, seed, version, false)
            .await
    }

    /// [`LineStore::put_room`] with new defaults (`version` 0) that replace the defaults a room
    /// holds (a gateway reloaded its configuration); a room with an operator's settings
    /// keeps them.
    pub async fn put_room_defaults(
        &self,
        concert_id: i64,
        settings: &RoomSettings,
        seed: Option<&Seed>,
    ) -> Result<RoomPut, StoreError> {
        self.write_room(concert_id, settings, seed, 0, true).await
    }

    async fn write_room(
        &self,
        concert_id: i64,
        settings: &RoomSettings,
        seed: Option<&Seed>,
        version: u64,
        new_defaults: bool,
    ) -> Result<RoomPut, StoreError> {
        let room = self.keys().room(concert_id);
        let rooms = self.keys().rooms();
        let mut args = vec![
            version.to_string(),
            if new_defaults { "1" } else { "0" }.to_string(),
        ];
        for (field, value) in fields(settings, seed) {
            args.push(field.to_string());
            args.push(value);
        }
        let script = &SCRIPTS.room_put;
        let reply: Reply = self
            .redis()
            .run("room_put", |mut c| async move {
                let mut invocation = script.key(&room);
                invocation.arg(&args[..]);
                // The rooms set lives in another slot (Redis Cluster): a second command.
                let reply: Reply = invocation.invoke_async(&mut c).await?;
                redis::cmd("SADD")
                    .arg(&rooms)
                    .arg(concert_id)
                    .query_async::<()>(&mut c)
                    .await?;
                Ok(reply)
            })
            .await?;
        Ok(RoomPut {
            applied: reply.flag("room_put", "applied")?,
            epoch: epoch_of(&reply, "room_put")?,
        })
    }

    /// Concert ids with a room (read by the tickers, never on a request path).
    pub async fn room_ids(&self) -> Result<Vec<i64>, StoreError> {
        let mut cmd = redis::cmd("SMEMBERS");
        cmd.arg(self.keys().rooms());
        self.command("room_list", cmd).await
    }

    /// One call of the admission tick (`promote.lua`); `None` when the room hash does not
    /// exist.
    pub async fn promote(
        &self,
        concert_id: i64,
        instance_id: &str,
    ) -> Result<Option<Tick>, StoreError> {
        let keys = self.keys().line(concert_id);
        let r = self
            .eval("queue_promote", &SCRIPTS.promote, &keys, instance_id)
            .await?;
        const S: &str = "promote";
        let ran = r.int(S, "ran")?;
        if ran < 0 {
            return Ok(None);
        }
        Ok(Some(Tick {
            ran: ran == 1,
            admitted: r.count(S, "admitted")?,
            dropped: r.count(S, "dropped")?,
            waiting: r.count(S, "waiting")?,
            active: r.count(S, "active")?,
            head_seq: r.int(S, "head_seq")?,
            admitted_last_minute: r.count(S, "admitted_1m")?,
            tick_ms: r.count(S, "tick_ms")?,
            capacity: r.count(S, "capacity")?,
            batch_size: r.count(S, "batch_size")?,
            active_ttl_secs: r.count(S, "active_ttl_secs")?,
            mode: mode_of(&r, S)?,
            now_ms: r.int(S, "now_ms")?,
            log_span_ms: r.count(S, "log_span_ms")?,
            epoch: epoch_of(&r, S)?,
            inventory: Inventory::from_reply(&r, S)?,
            sold_out: r.flag(S, "sold_out")?,
            waitlist: r.flag(S, "waitlist")?,
            opening: Opening::from_reply(&r, S)?,
        }))
    }

    /// The room's settings and live figures (`stats.lua`).
    #[tracing::instrument(skip(self))]
    pub async fn room_stats(&self, concert_id: i64) -> Result<RoomStats, StoreError> {
        let keys = self.keys().line(concert_id);
        let r = self
            .eval("room_stats", &SCRIPTS.stats, &keys, Vec::<i64>::new())
            .await?;
        const S: &str = "stats";
        let opening = Opening::from_reply(&r, S)?;
        Ok(RoomStats {
            exists: r.flag(S, "exists")?,
            settings: settings_from(&r, S, &opening)?,
            inventory: Inventory::from_reply(&r, S)?,
            opening,
            version: r.count(S, "version")?,
            epoch: epoch_of(&r, S)?,
            waiting: r.count(S, "waiting")?,
            active: r.count(S, "active")?,
            admitted_last_minute: r.count(S, "admitted_1m")?,
            head_seq: r.int(S, "head_seq")?,
            last_seq: r.int(S, "last_seq")?,
            oldest_wait_ms: r.count(S, "oldest_wait_ms")?,
            last_tick_ms: r.int(S, "last_tick_ms")?,
            last_tick_by: r.text(S, "last_tick_by")?,
            now_ms: r.int(S, "now_ms")?,
        })
    }

    /// Adds admissions' ETA samples to the room's list, keeping the last `keep`.
    pub async fn push_eta_samples(
        &self,
        concert_id: i64,
        samples: &[String],
        keep: usize,
    ) -> Result<(), StoreError> {
        let key = self.keys().eta(concert_id);
        let mut pipe = redis::pipe();
        pipe.lpush(&key, samples)
            .ignore()
            .ltrim(&key, 0, keep as isize - 1)
            .ignore();
        self.pipeline("eta_push", pipe).await
    }

    /// The room's ETA samples, newest first.
    pub async fn eta_samples(&self, concert_id: i64) -> Result<Vec<String>, StoreError> {
        let mut cmd = redis::cmd("LRANGE");
        cmd.arg(self.keys().eta(concert_id)).arg(0).arg(-1);
        self.command("eta_read", cmd).await
    }
}
