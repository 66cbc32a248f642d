//! Rooms: the per-concert settings hash, the set of known rooms, the admission tick and the
//! figures operators read.
//!
//! A room's settings live in its hash (`capacity`, `batch_size`, `tick_ms`,
//! `active_ttl_secs`, `enabled`), next to the tick bookkeeping the promote script keeps
//! there (`last_tick_ms`, `last_tick_by`, `admitted_1m`). A room hash is always created
//! with every setting; the scripts read them on every call (there are no defaults inside
//! the scripts), so an operator's change applies on every instance at its next call.

use crate::contract::rooms::RoomPatch;

use super::{Reply, Store, StoreError};

/// A room's settings, complete (what a room is created with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomSettings {
    pub capacity: u64,
    pub batch_size: u64,
    pub tick_ms: u64,
    pub active_ttl_secs: u64,
    pub enabled: bool,
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
    pub enabled: bool,
    /// Redis server time, ms.
    pub now_ms: i64,
    /// Age of the oldest entry of the one-minute admission log, ms.
    pub log_span_ms: u64,
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
}

fn flag(on: bool) -> String {
    if on { "1" } else { "0" }.to_string()
}

/// The room-hash fields a change writes: only what it sets.
pub fn patch_fields(patch: &RoomPatch) -> Vec<(&'static str, String)> {
    let numbers = [
        ("capacity", patch.capacity),
        ("batch_size", patch.batch_size),
        ("tick_ms", patch.tick_ms),
        ("active_ttl_secs", patch.active_ttl_secs),
    ];
    let mut fields: Vec<(&'static str, String)> = numbers
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v.to_string())))
        .collect();
    if let Some(enabled) = patch.enabled {
        fields.push(("enabled", flag(enabled)));
    }
    fields
}

impl RoomSettings {
    fn fields(&self) -> [(&'static str, String); 5] {
        [
            ("capacity", self.capacity.to_string()),
            ("batch_size", self.batch_size.to_string()),
            ("tick_ms", self.tick_ms.to_string()),
            ("active_ttl_secs", self.active_ttl_secs.to_string()),
            ("enabled", flag(self.enabled)),
        ]
    }

    fn from_reply(reply: &Reply, script: &str) -> Result<Self, StoreError> {
        Ok(Self {
            capacity: reply.count(script, "capacity")?,
            batch_size: reply.count(script, "batch_size")?,
            tick_ms: reply.count(script, "tick_ms")?,
            active_ttl_secs: reply.count(script, "active_ttl_secs")?,
            enabled: reply.flag(script, "enabled")?,
        })
    }
}

impl Store {
    /// Creates the room of `concert_id` with `settings` (a setting already in the hash is
    /// kept: `HSETNX` per field, so instances never overwrite each other or an operator)
    /// and lists it in the rooms set the tickers read.
    #[tracing::instrument(skip(self))]
    pub async fn create_room(
        &self,
        concert_id: i64,
        settings: &RoomSettings,
    ) -> Result<(), StoreError> {
        let room = self.keys.room(concert_id);
        let rooms = self.keys.rooms();
        let fields = settings.fields();
        self.redis
            .run("room_create", |mut c| async move {
                let mut pipe = redis::pipe();
                for (field, value) in &fields {
                    pipe.hset_nx(&room, field, value).ignore();
                }
                pipe.sadd(&rooms, concert_id).ignore();
                pipe.query_async::<()>(&mut c).await
            })
            .await?;
        Ok(())
    }

    /// Applies an operator's change to the room hash (one `HSET`: all fields change
    /// together).
    #[tracing::instrument(skip(self))]
    pub async fn update_room(&self, concert_id: i64, patch: &RoomPatch) -> Result<(), StoreError> {
        let fields = patch_fields(patch);
        if fields.is_empty() {
            return Ok(());
        }
        let room = self.keys.room(concert_id);
        self.redis
            .run("room_update", |mut c| async move {
                redis::cmd("HSET")
                    .arg(&room)
                    .arg(&fields[..])
                    .query_async::<()>(&mut c)
                    .await
            })
            .await?;
        Ok(())
    }

    /// Concert ids with a room (read by the tickers, never on a request path).
    pub async fn room_ids(&self) -> Result<Vec<i64>, StoreError> {
        let rooms = self.keys.rooms();
        Ok(self
            .redis
            .run("room_list", |mut c| async move {
                redis::cmd("SMEMBERS")
                    .arg(&rooms)
                    .query_async::<Vec<i64>>(&mut c)
                    .await
            })
            .await?)
    }

    /// One call of the admission tick (`promote.lua`); `None` when the room hash does not
    /// exist.
    pub async fn promote(
        &self,
        concert_id: i64,
        instance_id: &str,
    ) -> Result<Option<Tick>, StoreError> {
        let keys = self.keys.line(concert_id);
        let r = self
            .eval("queue_promote", &self.scripts.promote, &keys, instance_id)
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
            enabled: r.flag(S, "enabled")?,
            now_ms: r.int(S, "now_ms")?,
            log_span_ms: r.count(S, "log_span_ms")?,
        }))
    }

    /// The room's settings and live figures (`stats.lua`).
    #[tracing::instrument(skip(self))]
    pub async fn room_stats(&self, concert_id: i64) -> Result<RoomStats, StoreError> {
        let keys = self.keys.line(concert_id);
        let r = self
            .eval("room_stats", &self.scripts.stats, &keys, Vec::<i64>::new())
            .await?;
        const S: &str = "stats";
        Ok(RoomStats {
            exists: r.flag(S, "exists")?,
            settings: RoomSettings::from_reply(&r, S)?,
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_fields_hold_only_what_was_given() {
        let patch = RoomPatch {
            batch_size: Some(7),
            enabled: Some(false),
            ..Default::default()
        };
        assert_eq!(
            patch_fields(&patch),
            vec![
                ("batch_size", "7".to_string()),
                ("enabled", "0".to_string())
            ]
        );
    }
}
