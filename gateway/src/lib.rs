//! The waiting-room gateway: the public edge of the ticket sale (SPEC §3–4).
//!
//! Stateless: every instance keeps its state in Redis, so any number run behind a load
//! balancer and all of them enforce one line per concert and one admission rate.
//!
//! - [`queue`]: the line in Redis — join, status, leave and the admission tick, each ONE
//!   Lua script call (`queue/lua/*.lua`).
//! - [`admission`]: the per-room ticker every instance runs, and the ETA / polling advice.
//! - [`tokens`]: the buyer's queue API and the token issue / re-issue rules.
//! - [`forward`]: booking and points calls proxied to the booking service, only for
//!   admitted tokens where the SPEC says so.
//! - [`admin`]: the operators' rooms API.
//! - [`rooms`]: which concerts have a room (asked of booking once) and each room's live
//!   figures as of its last tick.
//! - [`docs`]: the OpenAPI document (`/openapi.json`, offline `/docs`).
//! - [`startup`]: builds the router and state, runs the server and ticker until shutdown.

pub mod admin;
pub mod admission;
pub mod docs;
pub mod error;
pub mod forward;
pub mod health;
pub mod queue;
pub mod rooms;
pub mod startup;
pub mod state;
pub mod tokens;

pub use startup::{build, spawn, App, RunningApp};
