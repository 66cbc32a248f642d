//! Code shared by the gateway and the booking service; depends on neither.
//!
//! - [`contract`]: the wire contract — every public request/response type, status enum
//!   and problem code — and the OpenAPI description of booking's public routes.
//! - [`admission`]: the admission rule both services check, and how an admission ends.
//! - [`rooms`]: the rules of a waiting room's settings (ranges, the exact rate, the
//!   opening's clock); the settings' wire types are in [`contract`].
//! - [`problem`]: the RFC 9457 problem+json rendering of a code.
//! - [`store`]: the queue store — Redis keys, every Lua script, typed calls (both services).
//! - [`service`]: the service skeleton — serving with connection rules, the middleware
//!   stack, probes, background tasks, shutdown.
//! - [`config`]: the layering of settings, the shared sections, development defaults and
//!   the production guard.
//! - [`http`]: extractors whose rejections are problem+json; the contract's headers.
//! - [`token`]: queue-token claims, minting and verification (HS256 pinned, key rotation).
//! - [`auth`]: the operator token check; [`docs`]: OpenAPI conventions and `/docs`;
//!   [`metrics`]: the Prometheus recorder; [`telemetry`]: tracing setup.

pub mod admission;
pub mod auth;
pub mod config;
pub mod contract;
pub mod docs;
pub mod draw;
pub mod http;
pub mod metrics;
pub mod problem;
pub mod rooms;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod token;

pub use problem::{Code, Problem};
