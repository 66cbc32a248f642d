//! Tickets (paid seats), their signed codes, the door's check-in, cancellations and a show
//! cancelled by its operator.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use super::status::PaidTicketStatus;

/// A buyer's ticket (`GET /v1/users/{user_id}/tickets`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OwnedTicket {
    /// The paid reservation's id.
    pub ticket_id: Uuid,
    pub concert_id: i64,
    pub title: String,
    pub schedule_id: i64,
    pub starts_at: DateTime<Utc>,
    pub seat_no: i32,
    pub section: String,
    pub row: String,
    pub number: i32,
    pub grade: String,
    /// Points paid.
    pub price: i64,
    pub status: PaidTicketStatus,
    /// The door's code: a JWS compact serialisation signed with EdDSA (Ed25519), header
    /// `kid`, claims `tid` (ticket id), `sch` (schedule), `seat` (seat_no), `sub` (user id),
    /// `iat`. Verifiable offline with `GET /v1/tickets/keys`.
    pub code: String,
    /// Until when the buyer may cancel it.
    pub cancel_until: DateTime<Utc>,
    /// Points a cancellation now would give back (price minus the fee); null once it can't.
    #[schema(required = true)]
    pub refund_if_cancelled: Option<i64>,
}

/// `GET /v1/users/{user_id}/tickets`: newest purchase first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketList {
    pub user_id: i64,
    pub tickets: Vec<OwnedTicket>,
}

/// The claims of a ticket's code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TicketClaims {
    /// Ticket id.
    pub tid: Uuid,
    /// Schedule id.
    pub sch: i64,
    /// Seat number.
    pub seat: i32,
    /// The buyer's user id, as a string.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
}

/// One public key of `GET /v1/tickets/keys` (RFC 8037 OKP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    pub kid: String,
    /// `EdDSA`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// `GET /v1/tickets/keys`: every key a valid code may be signed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// `POST /admin/checkins`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinRequest {
    /// The ticket's code as scanned.
    pub code: String,
}

/// A first check-in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Checkin {
    pub ticket_id: Uuid,
    pub seat_no: i32,
    pub section: String,
    pub row: String,
    pub number: i32,
    pub checked_in_at: DateTime<Utc>,
}

/// `POST /v1/tickets/{ticket_id}/cancel`'s answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Cancelled {
    pub ticket_id: Uuid,
    /// Points given back.
    pub refund: i64,
    /// Points kept: floor(price × `orders.cancel_fee_percent` / 100).
    pub fee: i64,
    /// The buyer's balance after the refund.
    pub balance: i64,
}

/// `GET /admin/schedules/{schedule_id}`: a schedule's sales and, once cancelled, its
/// refunds' progress.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct ScheduleAdmin {
    pub schedule_id: i64,
    pub concert_id: i64,
    pub starts_at: DateTime<Utc>,
    pub total_seats: i32,
    pub cancel_until: DateTime<Utc>,
    /// Whether the operator cancelled the show (it sells nothing from then on).
    pub cancelled: bool,
    #[schema(required = true)]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Tickets refunded because the show was cancelled.
    pub refunded: i64,
    /// Tickets still to refund (0 once the background refunds are done).
    pub to_refund: i64,
    /// Tickets valid or checked in.
    pub tickets: i64,
}
