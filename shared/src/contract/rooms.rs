//! Waiting rooms as operators see them (`GET`/`PUT /admin/rooms/{concert_id}` on the
//! gateway), and booking's durable copy of their settings (`/internal/rooms/{concert_id}`,
//! called by the gateways only), which outlives a Redis restart.

use std::ops::RangeInclusive;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
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
    /// The scheduled opening (null: none).
    #[schema(required = true)]
    pub opens_at: Option<DateTime<Utc>>,
    /// When the pre-queue opens (`opens_at - prequeue_secs`).
    #[schema(required = true)]
    pub prequeue_opens_at: Option<DateTime<Utc>>,
    pub prequeue_secs: u64,
    /// The opening's draw: its commitment, state and size.
    pub draw: DrawSummary,
    /// Seats still buyable and held right now, as booking last published them (null until
    /// it has), and whether every seat is sold.
    #[schema(required = true)]
    pub seats_left: Option<u64>,
    #[schema(required = true)]
    pub held: Option<u64>,
    pub sold_out: bool,
    /// How good the estimates of the wait were, over this room's recent admissions.
    pub eta_accuracy: EtaAccuracy,
}

/// Where a room's opening draw stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DrawState {
    /// No opening is scheduled.
    #[default]
    None,
    /// The opening is scheduled; buyers join the pre-queue inside its window.
    Scheduled,
    /// The opening has passed; the pre-queue's order is being written.
    Drawing,
    /// Done: the seed is revealed and the order is published.
    Drawn,
}

/// A room's opening draw (commit-reveal): `seed_sha256` is published as soon as the opening
/// is scheduled, `seed` at the draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DrawSummary {
    pub state: DrawState,
    /// hex(SHA-256(the 32 seed bytes)); null when no opening was ever scheduled.
    #[schema(required = true)]
    pub seed_sha256: Option<String>,
    /// The 32 seed bytes as 64 lowercase hex characters; null until the draw.
    #[schema(required = true)]
    pub seed: Option<String>,
    /// Buyers in the pre-queue (before the draw) or in the draw (after it).
    pub entries: u64,
    /// Entries the draw has placed in line so far.
    pub placed: u64,
    #[schema(required = true)]
    pub drawn_at: Option<DateTime<Utc>>,
}

/// The estimates of the wait given to buyers against the waits they had: for each buyer
/// admitted lately (up to the last 10,000), the ETA of the answer that gave them their
/// place versus the time from that answer to their admission.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EtaAccuracy {
    /// Admissions measured.
    pub samples: u64,
    /// Median and 90th percentile of |estimate - actual wait|, seconds.
    #[schema(required = true)]
    pub median_abs_error_secs: Option<f64>,
    #[schema(required = true)]
    pub p90_abs_error_secs: Option<f64>,
    /// Median of (estimate - actual wait) / actual wait, percent (negative: the wait was
    /// longer than promised); buyers who waited under 5 s are left out of the ratios.
    #[schema(required = true)]
    pub median_error_pct: Option<f64>,
    /// Median and 90th percentile of |estimate - actual wait| / actual wait, percent.
    #[schema(required = true)]
    pub median_abs_error_pct: Option<f64>,
    #[schema(required = true)]
    pub p90_abs_error_pct: Option<f64>,
}

/// `GET /v1/rooms/{concert_id}`: what anyone may know about a room (no token needed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublicRoom {
    pub concert_id: i64,
    pub mode: RoomMode,
    #[schema(required = true)]
    pub opens_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub prequeue_opens_at: Option<DateTime<Utc>>,
    /// hex(SHA-256(seed)), published as soon as the opening is scheduled.
    #[schema(required = true)]
    pub seed_sha256: Option<String>,
    /// The draw's seed, 64 lowercase hex characters: null until the draw.
    #[schema(required = true)]
    pub seed: Option<String>,
    pub draw_state: DrawState,
    /// Buyers waiting: in line, and in the pre-queue before the draw.
    pub waiting: u64,
    /// Seats still buyable and held right now (null until booking has published them).
    #[schema(required = true)]
    pub seats_left: Option<u64>,
    #[schema(required = true)]
    pub held: Option<u64>,
    pub sold_out: bool,
}

/// `GET /v1/rooms/{concert_id}/draw`: one page of the drawn order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DrawPage {
    pub concert_id: i64,
    pub seed: String,
    pub seed_sha256: String,
    pub drawn_at: DateTime<Utc>,
    /// Entries in the whole draw.
    pub total: u64,
    /// 0-based place of this page's first entry.
    pub offset: u64,
    /// Entry ids in drawn order: hex(SHA-256(UTF-8 of "entry:<concert_id>:<user_id>")).
    pub entries: Vec<String>,
    /// `offset` of the next page; null on the last one.
    #[schema(required = true)]
    pub next_offset: Option<u64>,
}

/// `?offset=&limit=` of the draw.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DrawQuery {
    /// 0-based place to start at (default 0).
    pub offset: Option<u64>,
    /// Page size, 1 to 10,000 (default 1,000).
    #[param(minimum = 1, maximum = 10_000)]
    pub limit: Option<u64>,
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
    /// The sale's opening, if it is scheduled: joins before `opens_at - prequeue_secs` are
    /// refused, joins after it wait in the pre-queue, whose order is drawn at `opens_at`.
    #[schema(required = true)]
    pub opens_at: Option<DateTime<Utc>>,
    /// How long before `opens_at` the pre-queue opens.
    pub prequeue_secs: u64,
}

/// `prequeue_secs` when nobody set it.
pub const DEFAULT_PREQUEUE_SECS: u64 = 900;

fn default_prequeue_secs() -> u64 {
    DEFAULT_PREQUEUE_SECS
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
    #[serde(default)]
    opens_at: Option<DateTime<Utc>>,
    #[serde(default = "default_prequeue_secs")]
    prequeue_secs: u64,
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
            opens_at: s.opens_at,
            prequeue_secs: s.prequeue_secs,
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

    /// When the pre-queue opens (`opens_at - prequeue_secs`), if an opening is scheduled.
    pub fn prequeue_opens_at(&self) -> Option<DateTime<Utc>> {
        self.opens_at
            .map(|at| at - chrono::Duration::seconds(self.prequeue_secs as i64))
    }

    /// These settings with `patch` applied at time `now` (a valid patch, see
    /// [`RoomPatch::validate`]); `Err` says what cannot be done: a derived value out of
    /// range, or a change of the opening that the clock no longer allows.
    ///
    /// The opening: `opens_at` may be set or moved while it is in the future (a new time
    /// must be in the future too); once it has passed the draw is history and the opening
    /// can no longer be changed; it may be removed only before the pre-queue opens (after
    /// that the pre-queue has buyers in it: move the opening instead).
    ///
    /// `rate_per_minute` sets `batch_size` and `tick_ms` together: with `batch_size` given,
    /// `tick_ms = 60,000 × batch_size / rate`; otherwise the tick (`tick_ms` given, or the
    /// current one) is kept as nearly as possible: `batch_size` is the smallest that reaches
    /// the rate in that tick, and `tick_ms = 60,000 × batch_size / rate` (rounded to the
    /// ms), so the rate is exact.
    pub fn patched(mut self, patch: &RoomPatch, now: DateTime<Utc>) -> Result<Self, String> {
        let RoomPatch {
            capacity,
            batch_size,
            tick_ms,
            rate_per_minute,
            active_ttl_secs,
            mode,
            enabled,
            opens_at,
            prequeue_secs,
        } = *patch;
        if opens_at.is_some() || prequeue_secs.is_some() {
            self.patch_opening(opens_at, prequeue_secs, now)?;
        }
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

    fn patch_opening(
        &mut self,
        opens_at: Option<Option<DateTime<Utc>>>,
        prequeue_secs: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let unchanged = opens_at.is_none_or(|at| at == self.opens_at)
            && prequeue_secs.is_none_or(|secs| secs == self.prequeue_secs);
        if unchanged {
            // Restating the opening as it is (a configuration section applied again) is
            // not a change, whatever the clock says.
            return Ok(());
        }
        if let Some(current) = self.opens_at {
            if current <= now {
                return Err(format!(
                    "the opening at {} has passed and its draw is final: the opening can no \
                     longer be changed",
                    current.to_rfc3339()
                ));
            }
        }
        match opens_at {
            Some(Some(at)) if at <= now => {
                return Err(format!("opens_at {} is not in the future", at.to_rfc3339()))
            }
            Some(None) if self.prequeue_opens_at().is_some_and(|p| p <= now) => {
                return Err("the pre-queue is open and holds buyers: move the opening \
                            (opens_at) instead of removing it"
                    .into());
            }
            _ => {}
        }
        if let Some(at) = opens_at {
            self.opens_at = at;
        }
        self.prequeue_secs = prequeue_secs.unwrap_or(self.prequeue_secs);
        Ok(())
    }
}

/// Booking's durable copy of a room's settings. `settings` is null until an operator first
/// changes the room (the gateways' defaults apply until then); `version` counts the changes,
/// so a gateway never writes older settings over newer ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoredRoom {
    pub concert_id: i64,
    pub settings: Option<RoomSettings>,
    pub version: u64,
    /// The draw's secret seed (64 lowercase hex characters), drawn once when an opening is
    /// first scheduled and kept for good, so every gateway, and a gateway restarted, draws
    /// the same order. Only its SHA-256 is public before the draw.
    #[serde(default)]
    #[schema(required = true)]
    pub seed: Option<String>,
}

/// `PATCH /internal/rooms/{concert_id}`: an operator's change, and the settings to apply it
/// to when booking holds none yet (the gateway's defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomChange {
    pub defaults: RoomSettings,
    pub patch: RoomPatch,
    /// Set when the change is a configuration-file section (its digest): a section already
    /// applied is not applied again, so an operator's later change through the admin API
    /// stays until the file changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
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
    /// The sale's opening (RFC 3339, in the future), or `null` to remove a scheduled one
    /// before its pre-queue opens. Setting it the first time draws the seed of the opening's
    /// draw, whose SHA-256 is published at once (`GET /v1/rooms/{concert_id}`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub opens_at: Option<Option<DateTime<Utc>>>,
    /// How long before `opens_at` the pre-queue opens, 0 to 604,800 (default 900).
    #[schema(minimum = 0, maximum = 604_800)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prequeue_secs: Option<u64>,
}

/// A field that may be absent (outer `None`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl RoomPatch {
    pub const CAPACITY: RangeInclusive<u64> = 1..=1_000_000;
    pub const BATCH_SIZE: RangeInclusive<u64> = 1..=100_000;
    pub const TICK_MS: RangeInclusive<u64> = 10..=60_000;
    pub const RATE_PER_MINUTE: RangeInclusive<u64> = 1..=6_000_000;
    pub const ACTIVE_TTL_SECS: RangeInclusive<u64> = 1..=86_400;
    pub const PREQUEUE_SECS: RangeInclusive<u64> = 0..=604_800;

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
            ("prequeue_secs", self.prequeue_secs, Self::PREQUEUE_SECS),
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
            opens_at: None,
            prequeue_secs: DEFAULT_PREQUEUE_SECS,
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    fn with_rate(rate: u64, batch: Option<u64>, tick: Option<u64>) -> RoomSettings {
        let patch = RoomPatch {
            rate_per_minute: Some(rate),
            batch_size: batch,
            tick_ms: tick,
            ..Default::default()
        };
        settings().patched(&patch, now()).unwrap()
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
        assert!(settings().patched(&patch, now()).is_err());
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
        assert_eq!(
            settings().patched(&closed, now()).unwrap().mode,
            RoomMode::Closed
        );
        let paused = RoomPatch {
            mode: Some(RoomMode::QueueAll),
            ..Default::default()
        };
        let s = settings().patched(&paused, now()).unwrap();
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

    fn opening(opens_at: Option<Option<&str>>, prequeue_secs: Option<u64>) -> RoomPatch {
        RoomPatch {
            opens_at: opens_at.map(|at| at.map(|a| a.parse().unwrap())),
            prequeue_secs,
            ..Default::default()
        }
    }

    #[test]
    fn an_opening_is_scheduled_moved_and_removed_only_while_the_clock_allows() {
        let at = "2026-12-01T13:00:00Z";
        let s = settings()
            .patched(&opening(Some(Some(at)), Some(600)), now())
            .unwrap();
        assert_eq!(s.opens_at, Some(at.parse().unwrap()));
        assert_eq!(
            s.prequeue_opens_at(),
            Some("2026-12-01T12:50:00Z".parse().unwrap())
        );
        // Not in the future.
        let past = opening(Some(Some("2026-12-01T11:59:59Z")), None);
        assert!(settings().patched(&past, now()).is_err());
        // Removed before the pre-queue opens; not after.
        assert_eq!(
            s.patched(&opening(Some(None), None), now())
                .unwrap()
                .opens_at,
            None
        );
        let later: DateTime<Utc> = "2026-12-01T12:55:00Z".parse().unwrap();
        assert!(s.patched(&opening(Some(None), None), later).is_err());
        // Moved while in the future, even inside the pre-queue window.
        let moved = s
            .patched(&opening(Some(Some("2026-12-01T14:00:00Z")), None), later)
            .unwrap();
        assert_eq!(moved.prequeue_secs, 600);
        // Final once passed; other settings still change.
        let after: DateTime<Utc> = "2026-12-01T13:00:01Z".parse().unwrap();
        assert!(s.patched(&opening(None, Some(60)), after).is_err());
        let capacity = RoomPatch {
            capacity: Some(5),
            ..Default::default()
        };
        assert_eq!(s.patched(&capacity, after).unwrap().capacity, 5);
        // null, absent and a value are three different patches.
        let patch: RoomPatch = serde_json::from_str(r#"{"opens_at": null}"#).unwrap();
        assert_eq!(patch.opens_at, Some(None));
        let patch: RoomPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(patch.opens_at, None);
        // Stored settings from before openings existed.
        let old: RoomSettings = serde_json::from_str(
            r#"{"capacity":1,"batch_size":1,"tick_ms":100,"active_ttl_secs":60,"mode":"open"}"#,
        )
        .unwrap();
        assert_eq!((old.opens_at, old.prequeue_secs), (None, 900));
    }
}
