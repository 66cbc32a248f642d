//! The gateway's OpenAPI document and docs page (the checks are the test kit's, the same
//! as booking's): OpenAPI 3.1, every route the router serves (the forwarded booking and
//! points routes, described by booking's contract, included) and no route it does not,
//! only real codes with their real statuses, and a `/docs` page that loads nothing from
//! outside the service.

use testkit::docs::{self, Expect};
use testkit::prelude::*;

/// Every (method, path) that `gateway::startup::router` serves beyond the booking routes it
/// forwards (described by booking's contract) and every service's probes and documents
/// (`docs::BOOKING_ROUTES`, `docs::SERVICE_ROUTES`), from the modules' `router()`
/// functions. A new route goes here too.
const ROUTES: docs::Routes = &[
    ("post", "/v1/queue/tokens"),
    ("delete", "/v1/queue/tokens"),
    ("get", "/v1/queue/status"),
    ("get", "/v1/queue/events"),
    ("get", "/admin/rooms/{concert_id}"),
    ("put", "/admin/rooms/{concert_id}"),
    ("get", "/"),
    ("get", "/concerts/{concert_id}"),
    ("get", "/assets/{version}/{file}"),
    ("get", "/v1/rooms/{concert_id}"),
    ("get", "/v1/rooms/{concert_id}/draw"),
];

/// Codes the contract names for a route beyond `docs::BOOKING_CODES`.
const CODES: docs::Codes = &[
    (
        "post",
        "/v1/queue/tokens",
        &[
            "INVALID_REQUEST",
            "INVALID_TOKEN",
            "CONCERT_NOT_FOUND",
            "QUEUE_CLOSED",
            "QUEUE_NOT_OPEN",
            "SOLD_OUT",
            "RATE_LIMITED",
            "PAYLOAD_TOO_LARGE",
            "SERVICE_UNAVAILABLE",
        ],
    ),
    (
        "get",
        "/v1/queue/status",
        &["INVALID_TOKEN", "TICKET_GONE", "SERVICE_UNAVAILABLE"],
    ),
    ("delete", "/v1/queue/tokens", &["INVALID_TOKEN"]),
    (
        "get",
        "/v1/queue/events",
        &["INVALID_TOKEN", "SERVICE_UNAVAILABLE"],
    ),
    (
        "get",
        "/v1/schedules/{schedule_id}/seats",
        &["SCHEDULE_NOT_FOUND"],
    ),
    (
        "get",
        "/v1/reservations/{reservation_id}",
        &["RESERVATION_NOT_FOUND"],
    ),
    (
        "delete",
        "/v1/reservations/{reservation_id}",
        &["RESERVATION_NOT_FOUND", "RESERVATION_NOT_HELD"],
    ),
    (
        "get",
        "/admin/rooms/{concert_id}",
        &["UNAUTHORIZED", "CONCERT_NOT_FOUND"],
    ),
    ("get", "/v1/rooms/{concert_id}", &["CONCERT_NOT_FOUND"]),
    (
        "get",
        "/v1/rooms/{concert_id}/draw",
        &["CONCERT_NOT_FOUND", "NO_DRAW", "QUEUE_NOT_OPEN"],
    ),
    (
        "put",
        "/admin/rooms/{concert_id}",
        &["UNAUTHORIZED", "INVALID_REQUEST", "CONCERT_NOT_FOUND"],
    ),
];

const EXPECT: Expect = Expect {
    service: "gateway",
    routes: &[docs::BOOKING_ROUTES, ROUTES, docs::SERVICE_ROUTES],
    codes: &[docs::BOOKING_CODES, CODES],
};

#[tokio::test]
async fn openapi_document_is_3_1_and_lists_every_route() {
    let app = Stack::gateways(1).await;
    let doc = docs::fetch(&app.client, &app.url(0), "gateway").await;
    docs::check_routes(&doc, &EXPECT);
    app.stop().await;
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let app = Stack::gateways(1).await;
    let doc = docs::fetch(&app.client, &app.url(0), "gateway").await;
    docs::check_served(&app.url(0), &doc).await;
    app.stop().await;
}

#[tokio::test]
async fn error_responses_name_real_codes_with_their_status() {
    let app = Stack::gateways(1).await;
    let doc = docs::fetch(&app.client, &app.url(0), "gateway").await;
    docs::check_errors(&doc, &EXPECT);
    docs::check_not_admitted(&doc, &EXPECT);
    app.stop().await;
}

#[tokio::test]
async fn docs_page_is_served_from_the_binary() {
    let app = Stack::gateways(1).await;
    docs::check_docs_page(&app.client, &app.url(0)).await;
    app.stop().await;
}
