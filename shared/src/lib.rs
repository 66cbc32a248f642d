//! Code shared by the gateway and the booking service.
//!
//! - [`config`]: layered settings (defaults → TOML file → environment), one typed
//!   struct per service, and the production guard against development secrets.
//! - [`error`]: the stable problem codes of the SPEC and their RFC 9457 rendering.
//! - [`docs`]: OpenAPI conventions both services share, and the `/openapi.json` + offline
//!   `/docs` routes.
//! - [`http`]: extractors that turn every rejection into problem+json, and the common
//!   middleware stack (request id, tracing, body limit, 404/405 fallbacks).
//! - [`token`]: queue-token claims, minting and verification (HS256 pinned, key rotation).
//! - [`keys`]: Redis key naming; every key of one concert carries the `{concert}` hash tag.
//! - [`redis`]: a small reconnecting Redis connection set with a bounded timeout per call,
//!   and the scripts both services run.
//! - [`telemetry`]: tracing subscriber setup (pretty in dev, JSON in prod).
//!
//! This crate depends on neither service; both depend on it.

pub mod auth;
pub mod config;
pub mod docs;
pub mod error;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod redis;
pub mod telemetry;
pub mod token;

pub use error::{Code, Problem};
