//! The wire contract: every public request and response body, status enum and problem
//! code, defined once and spoken by both services (a contract is not a service).
//!
//! Booking's handlers take and return these types; the gateway passes booking's bodies
//! through unchanged and builds its own (queue, rooms) from here too, so a field added to a
//! type here shows up in both services and both OpenAPI documents at once. [`paths`] holds
//! the OpenAPI description of booking's public routes ([`paths::BookingApi`]): booking's
//! document and the gateway's both merge it instead of describing those routes twice.
//!
//! One module per resource; the status enums derive `sqlx::Type` (as `TEXT`) when the
//! `sqlx` feature is on, so booking reads them straight from its rows.

pub mod admin;
pub mod code;
pub mod concerts;
pub mod ops;
pub mod paths;
pub mod payments;
pub mod points;
pub mod queue;
pub mod reservations;
pub mod rooms;
pub mod seats;

pub use code::Code;
