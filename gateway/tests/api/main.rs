//! Gateway integration tests: one binary, one module per topic (see `helpers` for the
//! harness: real Redis with a key prefix per test, in-process gateways, stub booking).

mod admin;
mod admission;
mod e2e;
mod forward;
mod health;
mod helpers;
mod identity;
mod queue_tokens;
mod resilience;
