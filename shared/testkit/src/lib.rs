//! The test kit: one harness for every test of the workspace, and the load tools.
//!
//! - [`Stack`]: booking (the real service on a test database, or a [`stub`]) and any number
//!   of gateways, started in-process on port 0, on one Redis key prefix of their own, with
//!   switchable TCP proxies ([`proxy`]) in front of Redis and booking for fault tests; its
//!   helpers speak the API the way a client does.
//! - [`buyer`]: THE buyer loop — charge, join, wait for admission, pick a seat, hold, pay,
//!   retrying 503s — used by the system tests' sales ([`sale`]) and by `sale-driver`.
//! - [`nginx`]: `deploy/nginx.conf` for real in front of in-process services.
//! - [`http`], [`redis`], [`tokens`]: response helpers (every check of a problem answer
//!   goes through the `assert_problem*` family), polling with a deadline, Redis cleanup and
//!   invariants, forged tokens. [`metrics`]: a service's `/metrics` page. [`docs`]: the
//!   OpenAPI checks both services' document tests run.
//! - `src/bin`: `sale-driver` (the fault drill's sale) and `queue-memory` (Redis bytes per
//!   waiting buyer).
//!
//! Tests come in three kinds, all run by `scripts/test`: unit tests inside each crate
//! (`cargo test --lib`), integration tests of one service (`gateway/tests/api`,
//! `booking/tests/api`: the service against real Redis / PostgreSQL, booking stubbed for
//! the gateway), and system tests of the whole stack (`shared/testkit/tests/system`).

pub mod browser;
pub mod buyer;
pub mod docs;
pub mod http;
pub mod metrics;
pub mod nginx;
pub mod proxy;
pub mod redis;
pub mod sale;
pub mod sse;
pub mod stack;
pub mod stub;
pub mod tokens;
pub mod tools;

pub use http::{
    assert_json_includes, assert_problem, assert_problem_body, assert_problem_event,
    assert_problem_raw, eventually, json_of, poll_until,
};
pub use stack::{Backend, Options, Stack, Ticket};

/// What most tests use, in one import.
pub mod prelude {
    pub use crate::http::{
        assert_json_includes, assert_problem, assert_problem_body, assert_problem_event,
        assert_problem_raw, eventually, json_of, poll_until,
    };
    pub use crate::redis::{delete_prefix, fifo_snapshot};
    pub use crate::stack::{
        booking_settings, gateway_settings, set_address_limit, set_queue, set_user_limit, Backend,
        Options, Stack, Ticket,
    };
    pub use crate::stub::KNOWN_CONCERTS;
    pub use crate::tokens::{alg_none, b64, claims, tampered};
    pub use crate::{pool, redis_url, ADMIN};
}

/// The operator token of the development settings.
pub const ADMIN: &str = shared::config::dev::ADMIN_TOKEN;

/// The Redis the tests use: `REDIS_URL`, else the local default.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A pool on a `#[sqlx::test]` database, big enough for the concurrency tests.
pub async fn pool(
    opts: sqlx::postgres::PgPoolOptions,
    connect: sqlx::postgres::PgConnectOptions,
) -> sqlx::PgPool {
    opts.max_connections(10)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(connect)
        .await
        .expect("connect to the test database")
}
