//! Documentation of the forwarded routes (OpenAPI only; nothing here runs).
//!
//! The gateway passes booking's bodies through unchanged, so the schemas below mirror
//! booking's (`booking/src/{concerts,seats,holds,payments,points}.rs`; the gateway does not
//! depend on booking). A change to a booking body shows up in both documents.
//!
//! Routes served by one generic handler (`admitted` serves four, `points` three) are
//! described by the doc-only functions at the end, one per route; handlers that serve one
//! route carry their `#[utoipa::path]` themselves (`forward/mod.rs`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::docs::ProblemDetails;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::docs::Forbidden;

/// A schedule of a concert.
#[derive(Serialize, ToSchema)]
pub struct ScheduleSummary {
    pub schedule_id: i64,
    pub starts_at: DateTime<Utc>,
}

/// A concert and all its schedules.
#[derive(Serialize, ToSchema)]
pub struct ConcertView {
    pub concert_id: i64,
    pub title: String,
    pub schedules: Vec<ScheduleSummary>,
}

/// A bookable schedule with live seat counts.
#[derive(Serialize, ToSchema)]
pub struct ScheduleView {
    pub schedule_id: i64,
    pub starts_at: DateTime<Utc>,
    pub total_seats: i32,
    /// Seats neither sold nor under a live hold.
    pub available_seats: i64,
}

/// A seat as buyers see it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SeatStatus {
    Available,
    Held,
    Sold,
}

#[derive(Serialize, ToSchema)]
pub struct SeatView {
    /// 1..N within the schedule.
    pub seat_no: i32,
    /// Points.
    pub price: i64,
    /// A hold past its deadline shows `AVAILABLE`.
    pub status: SeatStatus,
}

#[derive(Serialize, ToSchema)]
pub struct SeatMap {
    pub schedule_id: i64,
    pub seats: Vec<SeatView>,
}

#[derive(Serialize, ToSchema)]
pub struct HoldRequest {
    pub schedule_id: i64,
    /// 1..N within the schedule.
    pub seat_no: i64,
}

/// A reservation's state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    /// Holding the seat until `held_until`.
    Held,
    /// Paid; `payment_id` is set.
    Confirmed,
    /// The hold ran out unpaid.
    Expired,
    /// The buyer let the seat go.
    Released,
}

/// A seat hold and what became of it.
#[derive(Serialize, ToSchema)]
pub struct ReservationView {
    pub reservation_id: Uuid,
    pub schedule_id: i64,
    pub seat_no: i32,
    /// Points.
    pub price: i64,
    /// A `HELD` reservation past `held_until` shows `EXPIRED`.
    pub status: ReservationStatus,
    /// When the hold ends unless paid.
    pub held_until: DateTime<Utc>,
    /// Set once `CONFIRMED`, else null.
    #[schema(required = true)]
    pub payment_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentRequest {
    /// 1 to 20 distinct reservations of the buyer, all `HELD`.
    #[schema(min_items = 1, max_items = 20)]
    pub reservation_ids: Vec<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentView {
    pub payment_id: Uuid,
    /// Sorted.
    pub reservation_ids: Vec<Uuid>,
    /// Points charged: the sum of the seats' prices.
    pub amount: i64,
    /// The buyer's balance after the payment.
    pub balance: i64,
    pub paid_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Balance {
    pub user_id: i64,
    pub balance: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ChargeRequest {
    /// An integer number of points from 1 to 10,000,000.
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub amount: i64,
}

/// A point-history entry's kind.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PointKind {
    Charge,
    Use,
    Refund,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    pub kind: PointKind,
    pub amount: i64,
    pub balance_after: i64,
    pub at: DateTime<Utc>,
    pub reference: String,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryPage {
    pub user_id: i64,
    pub items: Vec<HistoryEntry>,
    /// Pass as `before` for the next (older) page; null on the last page.
    #[schema(required = true)]
    pub next_before: Option<i64>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Cursor: only entries with an id below this one (the previous page's `next_before`).
    #[param(minimum = 1)]
    pub before: Option<i64>,
}

// ---------------------------------------------------------------------------------------
// Routes served by a shared handler: one doc-only function per route.
// ---------------------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/v1/schedules/{schedule_id}/seats",
    operation_id = "get_seat_map",
    tag = "seats",
    summary = "Seat map of a schedule (admitted buyers)",
    description = "Forwarded to booking once Redis confirms the token's admission.",
    params(("schedule_id" = i64, Path, description = "Schedule id; its concert must be the token's")),
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "Every seat of the schedule, by seat number.", body = SeatMap),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::InvalidToken),
        (status = 403, description = "`NOT_ADMITTED`: the token is still waiting (`position` \
         says where). `WRONG_CONCERT`: the schedule belongs to another concert than the token's.",
         body = Forbidden, content_type = "application/problem+json"),
        (status = 404, description = "`SCHEDULE_NOT_FOUND`: no such schedule.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 410, response = crate::docs::TicketGone),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
pub fn seat_map() {}

#[utoipa::path(
    post,
    path = "/v1/reservations",
    operation_id = "hold_seat",
    tag = "reservations",
    summary = "Hold a seat (admitted buyers)",
    description = "Holds the seat for `holds.ttl_secs` (5 minutes by default); unpaid, it becomes \
                   available again by itself. While someone holds the seat the gateway answers \
                   409 `SEAT_UNAVAILABLE` itself, without calling booking.",
    security(("queue_token" = [])),
    request_body = HoldRequest,
    responses(
        (status = 201, description = "The seat is held.", body = ReservationView),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::InvalidToken),
        (status = 403, description = "`NOT_ADMITTED`: the token is still waiting (`position` \
         says where). `WRONG_CONCERT`: the schedule belongs to another concert than the token's.",
         body = Forbidden, content_type = "application/problem+json"),
        (status = 404, description = "`SEAT_NOT_FOUND`: no such schedule, or no such seat in it.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`SEAT_UNAVAILABLE`: the seat is held or sold. \
         `HOLD_LIMIT`: the buyer already holds `holds.max_per_user` seats (4 by default).",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 410, response = crate::docs::TicketGone),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
pub fn hold_seat() {}

#[utoipa::path(
    get,
    path = "/v1/reservations/{reservation_id}",
    operation_id = "get_reservation",
    tag = "reservations",
    summary = "One of the buyer's reservations (admitted buyers)",
    params(("reservation_id" = Uuid, Path, description = "Reservation id")),
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "The reservation.", body = ReservationView),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::InvalidToken),
        (status = 403, description = "`NOT_ADMITTED`: the token is still waiting (`position` \
         says where). `FORBIDDEN`: the reservation belongs to another buyer. \
         `WRONG_CONCERT`: it is for another concert than the token's.",
         body = Forbidden, content_type = "application/problem+json"),
        (status = 404, description = "`RESERVATION_NOT_FOUND`: no such reservation.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 410, response = crate::docs::TicketGone),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
pub fn get_reservation() {}

#[utoipa::path(
    delete,
    path = "/v1/reservations/{reservation_id}",
    operation_id = "release_reservation",
    tag = "reservations",
    summary = "Release a hold now (admitted buyers)",
    params(("reservation_id" = Uuid, Path, description = "Reservation id")),
    security(("queue_token" = [])),
    responses(
        (status = 204, description = "Released, or already expired or released."),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::InvalidToken),
        (status = 403, description = "`NOT_ADMITTED`: the token is still waiting (`position` \
         says where). `FORBIDDEN`: the reservation belongs to another buyer. \
         `WRONG_CONCERT`: it is for another concert than the token's.",
         body = Forbidden, content_type = "application/problem+json"),
        (status = 404, description = "`RESERVATION_NOT_FOUND`: no such reservation.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`RESERVATION_NOT_HELD`: the reservation is already paid \
         (CONFIRMED).",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 410, response = crate::docs::TicketGone),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
pub fn release_reservation() {}

#[utoipa::path(
    get,
    path = "/v1/users/{user_id}/points",
    operation_id = "get_balance",
    tag = "points",
    summary = "A user's points balance",
    description = "No queue token needed. A user never seen has 0. With `identity.mode = jwt` \
                   the request must carry `X-User-Token` for this user.",
    params(("user_id" = i64, Path, minimum = 1, description = "User id")),
    responses(
        (status = 200, description = "The balance.", body = Balance),
        (status = 400, description = "`INVALID_REQUEST`: `user_id` is not a positive integer.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, response = crate::docs::IdentityUnverified),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
pub fn get_balance() {}

#[utoipa::path(
    post,
    path = "/v1/users/{user_id}/points/charge",
    operation_id = "charge_points",
    tag = "points",
    summary = "Add points to a balance",
    description = "No queue token needed. The same `Idempotency-Key` with the same amount returns \
                   the first result again and charges once.",
    params(
        ("user_id" = i64, Path, minimum = 1, description = "User id"),
        ("Idempotency-Key" = String, Header,
         description = "1-255 visible ASCII characters, unique per charge"),
    ),
    request_body = ChargeRequest,
    responses(
        (status = 200, description = "Charged (or the replay of an earlier identical request).",
         body = Balance),
        (status = 400, description = "`INVALID_REQUEST`: malformed body, bad `user_id`, missing \
         or invalid `Idempotency-Key`. `INVALID_AMOUNT`: `amount` is not an integer from 1 to \
         10,000,000, or the balance would exceed its maximum.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, response = crate::docs::IdentityUnverified),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
        (status = 422, response = shared::docs::IdempotencyKeyReused),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
pub fn charge_points() {}

#[utoipa::path(
    get,
    path = "/v1/users/{user_id}/points/history",
    operation_id = "list_point_history",
    tag = "points",
    summary = "A user's point history, newest first",
    description = "No queue token needed.",
    params(("user_id" = i64, Path, minimum = 1, description = "User id"), HistoryQuery),
    responses(
        (status = 200, description = "One page of history.", body = HistoryPage),
        (status = 400, description = "`INVALID_REQUEST`: bad `user_id`, `limit` or `before`, or \
         an unknown query parameter.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, response = crate::docs::IdentityUnverified),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
pub fn list_point_history() {}
