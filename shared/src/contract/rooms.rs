//! Waiting rooms as operators see them (`GET`/`PUT /admin/rooms/{concert_id}` on the
//! gateway), and booking's durable copy of their settings (`/internal/rooms/{concert_id}`,
//! called by the gateways only), which outlives a Redis restart. Wire types only: the rules
//! of a room's settings (ranges, the rate, the opening's clock) are [`crate::rooms`].

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
    /// The line is kept through a sell-out, for seats that come back.
    pub waitlist: bool,
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
    /// Whether a sold-out concert keeps its line (buyers keep their places, told
    /// `sold_out`, and are admitted in line order when seats come back) instead of
    /// releasing it.
    #[serde(default = "default_waitlist")]
    pub waitlist: bool,
}

fn default_waitlist() -> bool {
    true
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
    #[serde(default = "default_waitlist")]
    waitlist: bool,
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
            waitlist: s.waitlist,
        }
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
    /// Keep the line at the sell-out (buyers keep their places and are admitted in line
    /// order when seats come back), or release it (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waitlist: Option<bool>,
}

/// A field that may be absent (outer `None`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
