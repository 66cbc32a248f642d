//! Waiting rooms as operators see them (`GET`/`PUT /admin/rooms/{concert_id}` on the
//! gateway), and booking's durable copy of their settings (`/internal/rooms/{concert_id}`,
//! called by the gateways only), which outlives a Redis restart.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a room does with joins and admissions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomMode {
    /// Joins are placed; buyers are admitted per capacity and rate.
    #[default]
    Open,
    /// A pause: joins are placed, nobody is admitted; active buyers keep their slots.
    QueueAll,
    /// New joins are refused (409 `QUEUE_CLOSED`); the line keeps its places and moves.
    Closed,
}

impl RoomMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomMode::Open => "open",
            RoomMode::QueueAll => "queue_all",
            RoomMode::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [RoomMode::Open, RoomMode::QueueAll, RoomMode::Closed]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// A room's settings and live figures.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoomView {
    pub concert_id: i64,
    pub mode: RoomMode,
    pub capacity: u64,
    pub batch_size: u64,
    pub tick_ms: u64,
    /// `batch_size` per `tick_ms`, in buyers per minute (rounded).
    pub rate_per_minute: u64,
    pub active_ttl_secs: u64,
    /// `mode` is not `closed` (the older switch, kept as an alias).
    pub enabled: bool,
    pub waiting: u64,
    pub active: u64,
    pub admitted_last_minute: u64,
    /// How long the head of the line has waited, to the second.
    pub oldest_wait_secs: u64,
    /// Ticket number at the head of the line (next ticket number when the line is empty).
    pub head_seq: i64,
    /// Last ticket number handed out.
    pub last_seq: i64,
    /// The instance (`instance_id`) that ran the last admission tick.
    pub last_tick_by: Option<String>,
    /// When the last admission tick ran, RFC 3339 UTC.
    pub last_tick_at: Option<String>,
}

/// A room's settings, complete: what a room is created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(from = "StoredSettings")]
pub struct RoomSettings {
    pub capacity: u64,
    pub batch_size: u64,
    pub tick_ms: u64,
    pub active_ttl_secs: u64,
    pub mode: RoomMode,
}

/// Settings as stored by any version: before modes existed, `enabled: false` meant closed.
#[derive(Deserialize)]
struct StoredSettings {
    capacity: u64,
    batch_size: u64,
    tick_ms: u64,
    active_ttl_secs: u64,
    #[serde(default)]
    mode: Option<RoomMode>,
    #[serde(default)]
    enabled: Option<bool>,
}

impl From<StoredSettings> for RoomSettings {
    fn from(s: StoredSettings) -> Self {
        Self {
            capacity: s.capacity,
            batch_size: s.batch_size,
            tick_ms: s.tick_ms,
            active_ttl_secs: s.active_ttl_secs,
            mode: s.mode.unwrap_or(match s.enabled {
                Some(false) => RoomMode::Closed,
                _ => RoomMode::Open,
            }),
        }
    }
}

impl RoomSettings {
    /// Whether new joins are accepted (`mode` is not `closed`).
    pub fn enabled(&self) -> bool {
        self.mode != RoomMode::Closed
    }

    /// `batch_size` per `tick_ms`, in buyers per minute (rounded).
    pub fn rate_per_minute(&self) -> u64 {
        (self.batch_size * 60_000 + self.tick_ms / 2) / self.tick_ms.max(1)
    }

    /// These settings with `patch` applied (a valid patch, see [`RoomPatch::validate`]);
    /// `Err` names the derived value that is out of range.
    ///
    /// `rate_per_minute` sets `batch_size` and `tick_ms` together: with `batch_size` given,
    /// `tick_ms = 60,000 × batch_size / rate`; otherwise the tick (`tick_ms` given, or the
    /// current one) is kept as nearly as possible: `batch_size` is the smallest that reaches
    /// the rate in that tick, and `tick_ms = 60,000 × batch_size / rate` (rounded to the
    /// ms), so the rate is exact.
    pub fn patched(mut self, patch: &RoomPatch) -> Result<Self, String> {
        let RoomPatch {
            capacity,
            batch_size,
            tick_ms,
            rate_per_minute,
            active_ttl_secs,
            mode,
            enabled,
        } = *patch;
        self.capacity = capacity.unwrap_or(self.capacity);
        self.active_ttl_secs = active_ttl_secs.unwrap_or(self.active_ttl_secs);
        if let Some(mode) =
            mode.or(enabled.map(|on| if on { RoomMode::Open } else { RoomMode::Closed }))
        {
            self.mode = mode;
        }
        match rate_per_minute {
            None => {
                self.batch_size = batch_size.unwrap_or(self.batch_size);
                self.tick_ms = tick_ms.unwrap_or(self.tick_ms);
            }
            Some(rate) => {
                let batch = batch_size.unwrap_or_else(|| {
                    let tick = tick_ms.unwrap_or(self.tick_ms);
                    (rate * tick).div_ceil(60_000).max(1)
                });
                let tick = (60_000 * batch + rate / 2) / rate;
                if !RoomPatch::BATCH_SIZE.contains(&batch) || !RoomPatch::TICK_MS.contains(&tick) {
                    return Err(format!(
                        "rate_per_minute {rate} needs batch_size {batch} per tick_ms {tick}, out \
                         of range (batch_size 1-100,000, tick_ms 10-60,000)"
                    ));
                }
                self.batch_size = batch;
                self.tick_ms = tick;
            }
        }
        Ok(self)
    }
}

/// Booking's durable copy of a room's settings. `settings` is null until an operator first
/// changes the room (the gateways' defaults apply until then); `version` counts the changes,
/// so a gateway never writes older settings over newer ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoredRoom {
    pub concert_id: i64,
    pub settings: Option<RoomSettings>,
    pub version: u64,
}

/// `PATCH /internal/rooms/{concert_id}`: an operator's change, and the settings to apply it
/// to when booking holds none yet (the gateway's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomChange {
    pub defaults: RoomSettings,
    pub patch: RoomPatch,
}

/// A partial change of a room's settings; absent fields stay as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomPatch {
    /// `open` (admit per capacity and rate), `queue_all` (a pause: joins placed, nobody
    /// admitted, active buyers keep their slots) or `closed` (new joins 409 `QUEUE_CLOSED`,
    /// places kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<RoomMode>,
    /// Most active buyers at once, 1 to 1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
    /// Most buyers admitted per tick, 1 to 100,000.
    #[schema(minimum = 1, maximum = 100_000)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u64>,
    /// 10 to 60,000.
    #[schema(minimum = 10, maximum = 60_000)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_ms: Option<u64>,
    /// Buyers admitted per minute, 1 to 6,000,000: sets `batch_size` and `tick_ms` together
    /// (with one of them at most; see the README).
    #[schema(minimum = 1, maximum = 6_000_000)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_minute: Option<u64>,
    /// How long an admission lasts, 1 to 86,400.
    #[schema(minimum = 1, maximum = 86_400)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_ttl_secs: Option<u64>,
    /// The older switch: `false` = mode `closed`, `true` = mode `open`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

impl RoomPatch {
    pub const CAPACITY: RangeInclusive<u64> = 1..=1_000_000;
    pub const BATCH_SIZE: RangeInclusive<u64> = 1..=100_000;
    pub const TICK_MS: RangeInclusive<u64> = 10..=60_000;
    pub const RATE_PER_MINUTE: RangeInclusive<u64> = 1..=6_000_000;
    pub const ACTIVE_TTL_SECS: RangeInclusive<u64> = 1..=86_400;

    /// Every out-of-range field and contradiction, one message each.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let checks = [
            ("capacity", self.capacity, Self::CAPACITY),
            ("batch_size", self.batch_size, Self::BATCH_SIZE),
            ("tick_ms", self.tick_ms, Self::TICK_MS),
            (
                "rate_per_minute",
                self.rate_per_minute,
                Self::RATE_PER_MINUTE,
            ),
            (
                "active_ttl_secs",
                self.active_ttl_secs,
                Self::ACTIVE_TTL_SECS,
            ),
        ];
        let mut errors: Vec<String> = checks
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
        if self.rate_per_minute.is_some() && self.batch_size.is_some() && self.tick_ms.is_some() {
            errors.push(
                "rate_per_minute sets batch_size and tick_ms: give it with one of them at most"
                    .into(),
            );
        }
        if let (Some(mode), Some(enabled)) = (self.mode, self.enabled) {
            if enabled == (mode == RoomMode::Closed) {
                errors.push(format!(
                    "enabled {enabled} contradicts mode {} (enabled is an alias: false = closed)",
                    mode.as_str()
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
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

    fn settings() -> RoomSettings {
        RoomSettings {
            capacity: 100,
            batch_size: 10,
            tick_ms: 1_000,
            active_ttl_secs: 600,
            mode: RoomMode::Open,
        }
    }

    fn with_rate(rate: u64, batch: Option<u64>, tick: Option<u64>) -> RoomSettings {
        let patch = RoomPatch {
            rate_per_minute: Some(rate),
            batch_size: batch,
            tick_ms: tick,
            ..Default::default()
        };
        settings().patched(&patch).unwrap()
    }

    #[test]
    fn a_rate_per_minute_sets_batch_and_tick_exactly() {
        // The current tick kept when the rate fits it.
        let s = with_rate(6_000, None, None);
        assert_eq!(
            (s.batch_size, s.tick_ms, s.rate_per_minute()),
            (100, 1_000, 6_000)
        );
        // 100/min in ticks of about 1 s: 2 per 1.2 s.
        let s = with_rate(100, None, None);
        assert_eq!(
            (s.batch_size, s.tick_ms, s.rate_per_minute()),
            (2, 1_200, 100)
        );
        // With the tick given.
        let s = with_rate(600, None, Some(250));
        assert_eq!(
            (s.batch_size, s.tick_ms, s.rate_per_minute()),
            (3, 300, 600)
        );
        // With the batch given: the tick follows.
        let s = with_rate(120, Some(1), None);
        assert_eq!((s.batch_size, s.tick_ms), (1, 500));
        // A rate the ranges cannot reach.
        let patch = RoomPatch {
            rate_per_minute: Some(1),
            batch_size: Some(5),
            ..Default::default()
        };
        assert!(settings().patched(&patch).is_err());
        let over = RoomPatch {
            rate_per_minute: Some(10),
            batch_size: Some(1),
            tick_ms: Some(100),
            ..Default::default()
        };
        assert!(over.validate().is_err(), "over-determined");
    }

    #[test]
    fn modes_and_the_enabled_alias() {
        let closed = RoomPatch {
            enabled: Some(false),
            ..Default::default()
        };
        assert_eq!(settings().patched(&closed).unwrap().mode, RoomMode::Closed);
        let paused = RoomPatch {
            mode: Some(RoomMode::QueueAll),
            ..Default::default()
        };
        let s = settings().patched(&paused).unwrap();
        assert!(s.enabled() && s.mode == RoomMode::QueueAll);
        let contradiction = RoomPatch {
            mode: Some(RoomMode::Closed),
            enabled: Some(true),
            ..Default::default()
        };
        assert!(contradiction.validate().is_err());
        // Settings stored before modes existed.
        let old: RoomSettings = serde_json::from_str(
            r#"{"capacity":1,"batch_size":1,"tick_ms":100,"active_ttl_secs":60,"enabled":false}"#,
        )
        .unwrap();
        assert_eq!(old.mode, RoomMode::Closed);
        let round: RoomSettings =
            serde_json::from_str(&serde_json::to_string(&settings()).unwrap()).unwrap();
        assert_eq!(round, settings());
    }
}
