//! Booking service: concerts, schedules, seats, 5-minute seat holds, payments from a
//! points balance, point history — on PostgreSQL, with Redis as the fast gate for holds.
//!
//! Each resource is a folder: `mod.rs` has its handlers (parse, call the domain, map the
//! result), `store.rs` all of its SQL. The wire types and status enums are the shared
//! contract's ([`shared::contract`]).
//!
//! - [`concerts`], [`seats`]: what buyers browse (active queue token required): schedules,
//!   sections, seats.
//! - [`venues`]: layouts of sections, rows and price grades that schedules are made from.
//! - [`holds`]: orders of one or several seats (named or best available) with the ticket
//!   limit — a Redis gate for all the order's seats at once, then one PostgreSQL
//!   transaction as the final guard; the sweeper that expires old holds.
//! - [`payments`]: one transaction per payment, idempotent ([`idempotency`]); payments
//!   that arrive together commit together (group commit); refusals typed ([`payments::refusal`]).
//! - [`tickets`]: paid seats with signed codes, the door's check-in, cancellations and
//!   refunds, shows cancelled.
//! - [`points`]: balances, charges and history (no admission needed).
//! - [`admin`]: operator routes; [`audit`]: the invariant auditor.
//! - [`startup`]: builds the router and runs the service (also from tests, on port 0).
//! - [`docs`]: the OpenAPI 3.1 document, served at `/openapi.json` with the `/docs` page.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod concerts;
pub mod docs;
pub mod error;
pub mod holds;
pub mod idempotency;
pub mod inventory;
pub mod payments;
pub mod points;
pub mod rooms;
pub mod seats;
pub mod settings;
pub mod startup;
pub mod state;
pub mod tickets;
pub mod venues;

pub use settings::BookingSettings;

/// The embedded migrations, applied at start (and by `#[sqlx::test]` in tests).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
