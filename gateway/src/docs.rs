//! The gateway's OpenAPI 3.1 document, generated from the `#[utoipa::path]` annotations on
//! the handlers (and, for the forwarded routes one generic handler serves, on the doc-only
//! functions in [`crate::forward::docs`]), served at `/openapi.json` with the offline
//! `/docs` page (see [`shared::docs`]).
//!
//! When a route is added to a module's `router()`, its handler needs a `#[utoipa::path]`
//! and an entry in `paths(...)` below; the docs test in `tests/api/docs.rs` lists every
//! route the router serves and fails until both are there.

use serde::Serialize;
use shared::docs::{Conventions, ProblemDetails};
use shared::Code;
use utoipa::{OpenApi, ToResponse, ToSchema};

/// The gateway API document. Use [`openapi`] to get it.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ticketing: waiting-room gateway",
        description = "The buyers' single entry point. Buyers join a concert's waiting line and \
                       get a signed queue token; the gateway admits them in ticket order at the \
                       rate operators set, and forwards booking calls to the booking service \
                       only for admitted (active) tokens. Points routes need no admission.\n\n\
                       Conventions: JSON everywhere; timestamps are RFC 3339 UTC; money is an \
                       integer number of points. Errors are RFC 9457 problem details \
                       (`application/problem+json`) with a stable `code`. Every response \
                       carries `X-Request-Id` (the client's own when it sent one). 429 and 503 \
                       carry `Retry-After`. Unknown JSON fields are rejected with 400 \
                       `INVALID_REQUEST`; bodies over 64 KiB get 413. Unknown routes answer 404 \
                       `NOT_FOUND` and known routes with another method 405 \
                       `METHOD_NOT_ALLOWED`."
    ),
    paths(
        crate::tokens::join,
        crate::tokens::status,
        crate::tokens::leave,
        crate::forward::open,
        crate::forward::schedules,
        crate::forward::docs::seat_map,
        crate::forward::docs::hold_seat,
        crate::forward::docs::get_reservation,
        crate::forward::docs::release_reservation,
        crate::forward::payments,
        crate::forward::docs::get_balance,
        crate::forward::docs::charge_points,
        crate::forward::docs::list_point_history,
        crate::admin::show,
        crate::admin::change,
        crate::health::healthz,
        crate::health::readyz,
        crate::health::metrics,
    ),
    components(responses(TicketGone, RateLimited, IdentityUnverified)),
    modifiers(&Conventions),
    tags(
        (name = "queue", description = "The waiting line: join, status, leave."),
        (name = "concerts", description = "Concerts and their bookable schedules (forwarded to booking)."),
        (name = "seats", description = "Seat maps (forwarded to booking)."),
        (name = "reservations", description = "Seat holds: 5 minutes unless paid (forwarded to booking)."),
        (name = "payments", description = "Paying held seats from the points balance (forwarded to booking)."),
        (name = "points", description = "Balances, charges and history; no queue token needed (forwarded to booking)."),
        (name = "admin", description = "Operator routes (admin token): waiting rooms."),
        (name = "operations", description = "Probes and metrics."),
        (name = "docs", description = "This document and the interactive docs page."),
    )
)]
pub struct ApiDoc;

/// The document as served (what [`crate::startup::router`] mounts).
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// A 403 problem. `NOT_ADMITTED` (the token is still waiting) carries the buyer's current
/// `position` in line; the other 403 codes do not.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:ticketing:problem:NOT_ADMITTED",
    "title": "Not admitted yet",
    "status": 403,
    "detail": "this token is still waiting in line; poll /v1/queue/status",
    "code": "NOT_ADMITTED",
    "position": 1234
}))]
pub struct Forbidden {
    /// `urn:ticketing:problem:<CODE>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: Code,
    /// `NOT_ADMITTED` only: the place in line, 1 for the head.
    #[schema(minimum = 1)]
    pub position: Option<u64>,
}

/// `TICKET_GONE`: the token's ticket was dropped (its admission expired, the buyer left or
/// paid); join the line again with `POST /v1/queue/tokens`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct TicketGone(pub ProblemDetails);

/// `RATE_LIMITED`: too many joins from this client address
/// (`rate_limit.joins_per_sec`). Retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))
)]
pub struct RateLimited(pub ProblemDetails);

/// `UNAUTHORIZED`: with `identity.mode = jwt`, the `X-User-Token` header is missing, not
/// valid, or names another user than the request.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct IdentityUnverified(pub ProblemDetails);

// Documentation only: the probes write these bodies with `json!`.

/// The process is up.
#[derive(Serialize, ToSchema)]
pub struct Liveness {
    #[schema(example = "ok")]
    pub status: String,
}

/// Each dependency `ok` or `unavailable`.
#[derive(Serialize, ToSchema)]
pub struct ReadinessChecks {
    #[schema(example = "ok")]
    pub redis: String,
    #[schema(example = "ok")]
    pub booking: String,
}

/// Redis answers a PING and booking's `/healthz` answers.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ok")]
    pub status: String,
    pub checks: ReadinessChecks,
}

/// A `SERVICE_UNAVAILABLE` problem from `/readyz`, with the checks that failed.
#[derive(Serialize, ToSchema)]
pub struct NotReady {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: Code,
    pub checks: ReadinessChecks,
}
