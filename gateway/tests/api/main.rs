//! Gateway integration tests: one binary, one module per topic (see `helpers` for the
//! harness: real Redis with a key prefix per test, in-process gateways, stub booking).

mod admin;
mod admission;
mod catalogue;
mod docs;
mod e2e;
mod faults;
mod forward;
mod health;
mod helpers;
mod identity;
mod load_balancer;
mod metrics;
mod props;
mod queue_tokens;
mod resilience;
mod stack;
mod status_memory;
