//! Rooms in Redis: the per-concert settings hash, the set of known rooms, the admission
//! tick and the figures operators read.
//!
//! A room's settings live in its hash (`capacity`, `batch_size`, `tick_ms`,
//! `active_ttl_secs`, `enabled`), next to the tick bookkeeping the promote script keeps
//! there (`last_tick_ms`, `last_tick_by`, `admitted_1m`). Every instance reads the hash in
//! each script call, so an operator's change applies everywhere at the next tick.

use serde::Deserialize;

use super::{Queue, QueueError};

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
    pub capacity: u64,
    pub batch_size: u64,
    pub tick_ms: u64,
    pub active_ttl_secs: u64,
    pub enabled: bool,
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

/// A partial change of a room's settings (admin `PUT`); absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomPatch {
    pub capacity: Option<u64>,
    pub batch_size: Option<u64>,
    pub tick_ms: Option<u64>,
    pub active_ttl_secs: Option<u64>,
    pub enabled: Option<bool>,
}

impl RoomPatch {
    pub const CAPACITY: std::ops::RangeInclusive<u64> = 1..=1_000_000;
    pub const BATCH_SIZE: std::ops::RangeInclusive<u64> = 1..=100_000;
    pub const TICK_MS: std::ops::RangeInclusive<u64> = 10..=60_000;
    pub const ACTIVE_TTL_SECS: std::ops::RangeInclusive<u64> = 1..=86_400;

    /// Every out-of-range field, as one message per field.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let checks = [
            ("capacity", self.capacity, Self::CAPACITY),
            ("batch_size", self.batch_size, Self::BATCH_SIZE),
            ("tick_ms", self.tick_ms, Self::TICK_MS),
            (
                "active_ttl_secs",
                self.active_ttl_secs,
                Self::ACTIVE_TTL_SECS,
            ),
        ];
        let errors: Vec<String> = checks
            .into_iter()
            .filter_map(|(name, value, range)| {
                value.filter(|v| !range.contains(v)).map(|v| {
                    format!(
                        "{name} must be between {} and {} (got {v})",
                        range.start(),
                        range.end()
                    )
                })
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = Vec::new();
        let numbers = [
            ("capacity", self.capacity),
            ("batch_size", self.batch_size),
            ("tick_ms", self.tick_ms),
            ("active_ttl_secs", self.active_ttl_secs),
        ];
        for (name, value) in numbers {
            if let Some(v) = value {
                fields.push((name, v.to_string()));
            }
        }
        if let Some(enabled) = self.enabled {
            fields.push(("enabled", if enabled { "1" } else { "0" }.to_string()));
        }
        fields
    }
}

fn to_u64(v: i64) -> u64 {
    v.max(0) as u64
}

impl Queue {
    /// Creates the room of `concert_id` with this instance's defaults (fields an operator
    /// already set are kept: `HSETNX` per field) and lists it in the rooms set the tickers
    /// read.
    #[tracing::instrument(skip(self))]
    pub async fn create_room(&self, concert_id: i64) -> Result<(), QueueError> {
        let room = self.keys.room(concert_id);
        let rooms = self.keys.rooms();
        let [capacity, batch, tick, ttl, enabled] = self.default_args();
        self.redis
            .run("room_create", |mut c| async move {
                let mut pipe = redis::pipe();
                for (field, value) in [
                    ("capacity", capacity),
                    ("batch_size", batch),
                    ("tick_ms", tick),
                    ("active_ttl_secs", ttl),
                    ("enabled", enabled),
                ] {
                    pipe.hset_nx(&room, field, value).ignore();
                }
                pipe.sadd(&rooms, concert_id).ignore();
                pipe.query_async::<()>(&mut c).await
            })
            .await?;
        Ok(())
    }

    /// Applies an operator's change to the room hash (one `HSET`, so all fields change
    /// together).
    #[tracing::instrument(skip(self))]
    pub async fn update_room(&self, concert_id: i64, patch: &RoomPatch) -> Result<(), QueueError> {
        let fields = patch.fields();
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
    pub async fn room_ids(&self) -> Result<Vec<i64>, QueueError> {
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

    /// One call of the admission tick (see `lua/promote.lua`); `None` when the room hash
    /// does not exist.
    pub async fn promote(
        &self,
        concert_id: i64,
        instance_id: &str,
    ) -> Result<Option<Tick>, QueueError> {
        let keys = self.keys.queue_keys(concert_id);
        let defaults = self.default_args();
        let script = &self.scripts.promote;
        let r: Vec<i64> = self
            .redis
            .run("queue_promote", |mut c| async move {
                let mut call = script.prepare_invoke();
                call.key(&keys[..]).arg(instance_id).arg(&defaults[..]);
                call.invoke_async(&mut c).await
            })
            .await?;
        if r.len() != 14 {
            return Err(QueueError::UnexpectedReply(format!(
                "promote: {} values",
                r.len()
            )));
        }
        if r[0] < 0 {
            return Ok(None);
        }
        Ok(Some(Tick {
            ran: r[0] == 1,
            admitted: to_u64(r[1]),
            dropped: to_u64(r[2]),
            waiting: to_u64(r[3]),
            active: to_u64(r[4]),
            head_seq: r[5],
            admitted_last_minute: to_u64(r[6]),
            tick_ms: to_u64(r[7]),
            capacity: to_u64(r[8]),
            batch_size: to_u64(r[9]),
            active_ttl_secs: to_u64(r[10]),
            enabled: r[11] == 1,
            now_ms: r[12],
            log_span_ms: to_u64(r[13]),
        }))
    }

    /// The room's settings and live figures (see `lua/stats.lua`).
    #[tracing::instrument(skip(self))]
    pub async fn stats(&self, concert_id: i64) -> Result<RoomStats, QueueError> {
        let keys = self.keys.queue_keys(concert_id);
        let defaults = self.default_args();
        let script = &self.scripts.stats;
        let r: Vec<redis::Value> = self
            .redis
            .run("room_stats", |mut c| async move {
                let mut call = script.prepare_invoke();
                call.key(&keys[..]).arg(&defaults[..]);
                call.invoke_async(&mut c).await
            })
            .await?;
        let int = |i: usize| -> Result<i64, QueueError> {
            match r.get(i) {
                Some(redis::Value::Int(v)) => Ok(*v),
                other => Err(QueueError::UnexpectedReply(format!(
                    "stats[{i}]: {other:?}"
                ))),
            }
        };
        let last_tick_by = match r.get(13) {
            Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
            Some(redis::Value::SimpleString(s)) => s.clone(),
            other => return Err(QueueError::UnexpectedReply(format!("stats[13]: {other:?}"))),
        };
        Ok(RoomStats {
            exists: int(0)? == 1,
            capacity: to_u64(int(1)?),
            batch_size: to_u64(int(2)?),
            tick_ms: to_u64(int(3)?),
            active_ttl_secs: to_u64(int(4)?),
            enabled: int(5)? == 1,
            waiting: to_u64(int(6)?),
            active: to_u64(int(7)?),
            admitted_last_minute: to_u64(int(8)?),
            head_seq: int(9)?,
            last_seq: int(10)?,
            oldest_wait_ms: to_u64(int(11)?),
            last_tick_ms: int(12)?,
            last_tick_by,
            now_ms: int(14)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_validation_names_every_bad_field() {
        let patch = RoomPatch {
            capacity: Some(0),
            tick_ms: Some(5),
            batch_size: Some(10),
            ..Default::default()
        };
        let errors = patch.validate().unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("capacity"));
        assert!(errors[1].starts_with("tick_ms"));
        assert!(RoomPatch::default().validate().is_ok());
    }

    #[test]
    fn patch_fields_hold_only_what_was_given() {
        let patch = RoomPatch {
            batch_size: Some(7),
            enabled: Some(false),
            ..Default::default()
        };
        assert_eq!(
            patch.fields(),
            vec![
                ("batch_size", "7".to_string()),
                ("enabled", "0".to_string())
            ]
        );
    }
}
