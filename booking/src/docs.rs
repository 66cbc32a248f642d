//! The booking service's OpenAPI 3.1 document, served at `/openapi.json` with the offline
//! `/docs` page ([`shared::docs`]). The public routes are described once, in the shared
//! contract ([`shared::contract::paths::BookingApi`], which the gateway's document merges
//! too); the operator routes here, from the `#[utoipa::path]` annotations on their
//! handlers; the probes from [`shared::docs::OpsApi`] ([`shared::docs::document`] puts
//! them together).
//!
//! When a route is added to a module's `router()`, it needs a description in one of those
//! places; the docs test lists every route the router serves and fails until it has one.

use shared::contract::paths::BookingApi;
use utoipa::OpenApi;

/// Booking's own (operator) routes. Use [`openapi`] for the whole document.
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
        crate::admin::create,
        crate::admin::show,
        crate::admin::charge,
        crate::venues::create,
        crate::venues::list,
        crate::venues::show,
        crate::tickets::check_in,
        crate::tickets::show_schedule,
        crate::tickets::cancel_show,
        crate::rooms::show,
        crate::rooms::change
    ),
    tags(
        (name = "admin", description = "Operator routes (admin token)."),
        (name = "internal", description = "Called by the gateways only (internal token): the \
                                           rooms' durable settings."),
        (name = "docs", description = "This document and the interactive docs page."),
    )
)]
pub struct AdminApi;

/// The document as served: booking's public routes, the operator routes and the probes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    shared::docs::document(AdminApi::openapi(), [BookingApi::openapi()])
}
