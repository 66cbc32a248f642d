//! Gateway integration tests: one binary, one module per topic. The harness is the test
//! kit's (`testkit::Stack`): real Redis with a key prefix per test, gateways in-process,
//! the stub booking service.

mod admin;
mod admission;
mod bounds;
mod docs;
mod forward;
mod health;
mod identity;
mod load_balancer;
mod metrics;
mod modes;
mod opening;
mod page;
mod places;
mod props;
mod push;
mod queue_tokens;
mod resilience;
mod status_memory;
