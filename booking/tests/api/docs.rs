//! Booking's OpenAPI document and docs page (the checks are the test kit's, the same as the
//! gateway's): OpenAPI 3.1, every route the router serves and no route it does not, only
//! real codes with their real statuses, and a `/docs` page that loads nothing from outside
//! the service.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::docs::{self, Expect};
use testkit::prelude::*;

/// Every (method, path) that `booking::startup::router` serves beyond the buyer's booking
/// routes and every service's probes and documents (`docs::BOOKING_ROUTES`,
/// `docs::SERVICE_ROUTES`), from the modules' `router()` functions. A new route goes here
/// too.
const ROUTES: docs::Routes = &[
    ("post", "/admin/users/{user_id}/points/charge"),
    ("post", "/admin/concerts"),
    ("get", "/admin/concerts/{concert_id}"),
    ("post", "/admin/venues"),
    ("get", "/admin/venues"),
    ("get", "/admin/venues/{venue_id}"),
    ("post", "/admin/checkins"),
    ("get", "/admin/schedules/{schedule_id}"),
    ("post", "/admin/schedules/{schedule_id}/cancel"),
    ("get", "/internal/rooms/{concert_id}"),
    ("patch", "/internal/rooms/{concert_id}"),
];

/// Codes the contract names for a route beyond `docs::BOOKING_CODES`: booking checks the
/// token and the body of a gated route itself.
const CODES: docs::Codes = &[
    (
        "get",
        "/v1/concerts/{concert_id}/schedules",
        &["INVALID_TOKEN", "NOT_ADMITTED"],
    ),
    (
        "post",
        "/v1/reservations",
        &[
            "NOT_ADMITTED",
            "INVALID_TOKEN",
            "INVALID_REQUEST",
            "PAYLOAD_TOO_LARGE",
        ],
    ),
    ("post", "/v1/payments", &["NOT_ADMITTED", "INVALID_TOKEN"]),
    (
        "post",
        "/admin/concerts",
        &["UNAUTHORIZED", "INVALID_REQUEST"],
    ),
    (
        "get",
        "/admin/concerts/{concert_id}",
        &["UNAUTHORIZED", "CONCERT_NOT_FOUND"],
    ),
    (
        "post",
        "/admin/venues",
        &["UNAUTHORIZED", "INVALID_REQUEST"],
    ),
    (
        "get",
        "/admin/venues/{venue_id}",
        &["UNAUTHORIZED", "NOT_FOUND"],
    ),
];

const EXPECT: Expect = Expect {
    service: "booking",
    routes: &[docs::BOOKING_ROUTES, ROUTES, docs::SERVICE_ROUTES],
    codes: &[docs::BOOKING_CODES, CODES],
};

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn openapi_document_is_3_1_and_lists_every_route(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    let doc = docs::fetch(&app.client, &app.booking_url(), "booking").await;
    docs::check_routes(&doc, &EXPECT);
    docs::check_served(&app.booking_url(), &doc).await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn error_responses_name_real_codes_with_their_status(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let doc = docs::fetch(&app.client, &app.booking_url(), "booking").await;
    docs::check_errors(&doc, &EXPECT);
    docs::check_not_admitted(&doc, &EXPECT);
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn docs_page_is_served_from_the_binary(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    docs::check_docs_page(&app.client, &app.booking_url()).await;
    app.stop().await;
}
