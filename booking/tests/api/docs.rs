//! Booking's OpenAPI document and docs page (the checks are the test kit's, the same as the
//! gateway's): OpenAPI 3.1, every route the router serves and no route it does not, only
//! real codes with their real statuses, and a `/docs` page that loads nothing from outside
//! the service.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::docs::{self, Expect};
use testkit::prelude::*;

/// Every (method, path) that `booking::startup::router` serves, from the modules'
/// `router()` functions, the probes and `shared::docs::router`. A new route goes here too.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/concerts"),
    ("get", "/v1/concerts/{concert_id}"),
    ("get", "/v1/concerts/{concert_id}/schedules"),
    ("get", "/v1/schedules/{schedule_id}/seats"),
    ("post", "/v1/reservations"),
    ("get", "/v1/reservations/{reservation_id}"),
    ("delete", "/v1/reservations/{reservation_id}"),
    ("post", "/v1/payments"),
    ("get", "/v1/payments/{payment_id}"),
    ("get", "/v1/users/{user_id}/reservations"),
    ("post", "/admin/users/{user_id}/points/charge"),
    ("get", "/v1/users/{user_id}/points"),
    ("post", "/v1/users/{user_id}/points/charge"),
    ("get", "/v1/users/{user_id}/points/history"),
    ("post", "/admin/concerts"),
    ("get", "/admin/concerts/{concert_id}"),
    ("get", "/internal/rooms/{concert_id}"),
    ("patch", "/internal/rooms/{concert_id}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/docs"),
];

/// Codes the contract names for a route: its documented errors must include them.
const CODES: &[(&str, &str, &[&str])] = &[
    (
        "get",
        "/v1/concerts/{concert_id}/schedules",
        &["INVALID_TOKEN", "NOT_ADMITTED", "WRONG_CONCERT"],
    ),
    (
        "post",
        "/v1/reservations",
        &[
            "SEAT_UNAVAILABLE",
            "SEAT_NOT_FOUND",
            "HOLD_LIMIT",
            "WRONG_CONCERT",
            "NOT_ADMITTED",
            "INVALID_TOKEN",
            "INVALID_REQUEST",
            "PAYLOAD_TOO_LARGE",
        ],
    ),
    (
        "post",
        "/v1/payments",
        &[
            "INSUFFICIENT_BALANCE",
            "RESERVATION_EXPIRED",
            "RESERVATION_NOT_HELD",
            "RESERVATION_NOT_FOUND",
            "FORBIDDEN",
            "NOT_ADMITTED",
            "INVALID_TOKEN",
            "IDEMPOTENCY_KEY_REUSED",
        ],
    ),
    (
        "post",
        "/v1/users/{user_id}/points/charge",
        &[
            "INVALID_AMOUNT",
            "INVALID_REQUEST",
            "IDEMPOTENCY_KEY_REUSED",
        ],
    ),
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
];

const EXPECT: Expect = Expect {
    service: "booking",
    routes: ROUTES,
    codes: CODES,
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
