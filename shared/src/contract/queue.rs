//! The waiting line as buyers see it: joining, and a ticket's state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A ticket's place: `prequeue` (joined before the opening: the draw at `opens_at` gives it
/// its place), `waiting` in line, `active` (admitted to book), or `sold_out`: every seat is
/// sold. In a room with `waitlist` (the default) the line is kept: `position` is the place
/// kept (1 = next), and when seats come back (a cancellation, a hold that ran out) admission
/// resumes in line order and the status turns `waiting` again. Without the waitlist the
/// line was released: `position` 0, stop waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Prequeue,
    Waiting,
    Active,
    SoldOut,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Prequeue => "prequeue",
            TicketStatus::Waiting => "waiting",
            TicketStatus::Active => "active",
            TicketStatus::SoldOut => "sold_out",
        }
    }
}

/// `POST /v1/queue/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub concert_id: i64,
    /// Required with `identity.mode = none`; with a verified identity (`jwt`, `header`)
    /// it may be omitted, and if given it must be the identity's (else 403
    /// `IDENTITY_MISMATCH`).
    #[serde(default)]
    pub user_id: Option<i64>,
}

/// The body of `POST /v1/queue/tokens` and `GET /v1/queue/status`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketView {
    /// The queue token (JWT) to present from now on.
    pub token: String,
    pub status: TicketStatus,
    pub concert_id: i64,
    pub user_id: i64,
    /// 1 for the head of the line (also while `sold_out` in a waitlisted room), 0 when
    /// active or released by the sell-out; null in the pre-queue (the draw at `opens_at`
    /// gives the place).
    #[schema(required = true)]
    pub position: Option<u64>,
    /// The estimated wait until admission; in the pre-queue, the time until the opening.
    pub eta_seconds: u64,
    /// When to ask again.
    pub poll_after_ms: u64,
    /// Until when the admission holds (active only), RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Seats of the concert that can still be held and bought, at most a second old (null
    /// until booking has published the concert's inventory).
    pub seats_left: Option<u64>,
    /// Seats held right now (not buyable, but they may come back when a hold runs out).
    pub held: Option<u64>,
    /// The scheduled opening (pre-queue tickets only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<DateTime<Utc>>,
}
