//! The gateway's OpenAPI 3.1 document, served at `/openapi.json` with the offline `/docs`
//! page ([`shared::docs`]). The forwarded booking routes are not described here: their
//! description is booking's own ([`shared::contract::paths::BookingApi`]), merged in, so
//! both documents say the same thing. The gateway adds its queue and rooms routes (from
//! the `#[utoipa::path]` annotations on their handlers) and the probes.
//!
//! When a route is added to a module's `router()`, its handler needs a `#[utoipa::path]`
//! and an entry in `paths(...)` below; the docs test lists every route the router serves
//! and fails until both are there.

use shared::contract::paths::BookingApi;
use utoipa::OpenApi;

/// The gateway's own routes. Use [`openapi`] for the whole document.
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
        crate::push::events,
        crate::admin::show,
        crate::admin::change,
        crate::opening::room,
        crate::opening::draw_page,
        crate::page::home,
        crate::page::concert,
        crate::page::asset,
    ),
    tags(
        (name = "queue", description = "The waiting line: join, status, leave."),
        (name = "rooms", description = "Public room state and the opening's auditable draw."),
        (name = "page", description = "The buyer's web page (HTML, scripts, stylesheet)."),
        (name = "admin", description = "Operator routes (admin token): waiting rooms."),
        (name = "docs", description = "This document and the interactive docs page."),
    )
)]
pub struct GatewayApi;

/// The document as served: the gateway's routes, booking's public routes and the probes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    shared::docs::document(GatewayApi::openapi(), [BookingApi::openapi()])
}
