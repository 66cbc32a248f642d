//! The booking service's OpenAPI 3.1 document, generated from the `#[utoipa::path]`
//! annotations on the handlers and served at `/openapi.json` with the offline `/docs` page
//! (see [`shared::docs`]).
//!
//! When a route is added to a module's `router()`, its handler needs a `#[utoipa::path]`
//! and an entry in `paths(...)` below; the docs test in `tests/api/docs.rs` lists every
//! route the router serves and fails until both are there.

use serde::Serialize;
use shared::docs::Conventions;
use utoipa::{OpenApi, ToSchema};

/// The booking API document. Use [`openapi`] to get it.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ticketing: booking service",
        description = "Concerts, schedules, seats, 5-minute seat holds, payments from a points \
                       balance, and point history. Buyers reach it through the gateway, which \
                       forwards booking calls only for admitted (active) queue tokens.\n\n\
                       Conventions: JSON everywhere; timestamps are RFC 3339 UTC; money is an \
                       integer number of points. Errors are RFC 9457 problem details \
                       (`application/problem+json`) with a stable `code`. Every response \
                       carries `X-Request-Id` (the client's own when it sent one). Unknown \
                       JSON fields are rejected with 400 `INVALID_REQUEST`; bodies over 64 KiB \
                       get 413. Unknown routes answer 404 `NOT_FOUND` and known routes with \
                       another method 405 `METHOD_NOT_ALLOWED`."
    ),
    paths(
        crate::concerts::concert,
        crate::concerts::schedules,
        crate::seats::seats,
        crate::holds::hold,
        crate::holds::show,
        crate::holds::release,
        crate::payments::pay,
        crate::points::balance,
        crate::points::charge,
        crate::points::history,
        crate::admin::create,
        crate::admin::show,
        crate::health::live,
        crate::health::ready,
        crate::health::metrics,
    ),
    modifiers(&Conventions),
    tags(
        (name = "concerts", description = "Concerts and their bookable schedules."),
        (name = "seats", description = "Seat maps."),
        (name = "reservations", description = "Seat holds: 5 minutes unless paid."),
        (name = "payments", description = "Paying held seats from the points balance."),
        (name = "points", description = "Balances, charges and history (no queue token needed)."),
        (name = "admin", description = "Operator routes (admin token)."),
        (name = "operations", description = "Probes and metrics."),
        (name = "docs", description = "This document and the interactive docs page."),
    )
)]
pub struct ApiDoc;

/// The document as served (what [`crate::startup::router`] mounts).
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

// Documentation-only enums: the handlers carry these as strings from PostgreSQL.

/// A seat as buyers see it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SeatStatus {
    Available,
    Held,
    Sold,
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

/// A point-history entry's kind.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PointKind {
    Charge,
    Use,
    Refund,
}
