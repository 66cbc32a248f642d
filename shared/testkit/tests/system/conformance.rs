//! One contract: the gateway's OpenAPI document describes every public booking route, and
//! describes it exactly as booking's own document does (both merge the shared contract's
//! description; neither mirrors the other).

use std::collections::BTreeSet;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::docs;
use testkit::prelude::*;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn the_gateway_document_covers_every_public_booking_route_as_booking_describes_it(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let stack = Stack::full(pool(opts, c).await, 1).await;
    let booking = docs::fetch(&stack.client, &stack.booking_url(), "booking").await;
    let gateway = docs::fetch(&stack.client, &stack.url(0), "gateway").await;
    let public: BTreeSet<(String, String)> = docs::documented_routes(&booking)
        .into_iter()
        .filter(|(_, path)| path.starts_with("/v1/"))
        .collect();
    assert!(public.len() >= 10, "booking's public routes: {public:?}");
    let served = docs::documented_routes(&gateway);
    let missing: Vec<_> = public.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "public booking routes the gateway does not document: {missing:?}"
    );
    for (method, path) in &public {
        assert_eq!(
            gateway["paths"][path][method], booking["paths"][path][method],
            "{method} {path} is described differently by the two documents"
        );
    }
    // The bodies those routes refer to are the same schemas.
    for (name, schema) in booking["components"]["schemas"].as_object().unwrap() {
        if let Some(other) = gateway["components"]["schemas"].get(name) {
            assert_eq!(other, schema, "schema {name} differs");
        }
    }
    stack.stop().await;
}
