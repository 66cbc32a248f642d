//! Waiting rooms as operators see them (`GET`/`PUT /admin/rooms/{concert_id}` on the
//! gateway), and booking's durable copy of their settings (`/internal/rooms/{concert_id}`,
//! called by the gateways only), which outlives a Redis restart.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A room's settings and live figures.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoomView {
    pub concert_id: i64,
    pub capacity: u64,
    pub batch_size: u64,
    pub tick_ms: u64,
    pub active_ttl_secs: u64,
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
pub struct RoomSettings {
    pub capacity: u64,
    pub batch_size: u64,
    pub tick_ms: u64,
    pub active_ttl_secs: u64,
    pub enabled: bool,
}

impl RoomSettings {
    /// These settings with `patch` applied.
    pub fn patched(mut self, patch: &RoomPatch) -> Self {
        let RoomPatch {
            capacity,
            batch_size,
            tick_ms,
            active_ttl_secs,
            enabled,
        } = *patch;
        self.capacity = capacity.unwrap_or(self.capacity);
        self.batch_size = batch_size.unwrap_or(self.batch_size);
        self.tick_ms = tick_ms.unwrap_or(self.tick_ms);
        self.active_ttl_secs = active_ttl_secs.unwrap_or(self.active_ttl_secs);
        self.enabled = enabled.unwrap_or(self.enabled);
        self
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
    /// Most active buyers at once, 1 to 1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub capacity: Option<u64>,
    /// Most buyers admitted per tick, 1 to 100,000.
    #[schema(minimum = 1, maximum = 100_000)]
    pub batch_size: Option<u64>,
    /// 10 to 60,000.
    #[schema(minimum = 10, maximum = 60_000)]
    pub tick_ms: Option<u64>,
    /// How long an admission lasts, 1 to 86,400.
    #[schema(minimum = 1, maximum = 86_400)]
    pub active_ttl_secs: Option<u64>,
    /// `false` closes the line to new joins (409 `QUEUE_CLOSED`); places are kept.
    pub enabled: Option<bool>,
}

impl RoomPatch {
    pub const CAPACITY: RangeInclusive<u64> = 1..=1_000_000;
    pub const BATCH_SIZE: RangeInclusive<u64> = 1..=100_000;
    pub const TICK_MS: RangeInclusive<u64> = 10..=60_000;
    pub const ACTIVE_TTL_SECS: RangeInclusive<u64> = 1..=86_400;

    /// Every out-of-range field, one message per field.
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
}
