//! The waiting-room gateway: the public edge of the ticket sale.
//!
//! Stateless: every instance keeps its state in Redis (the queue store,
//! [`shared::store`]), so any number run behind a load balancer and all of them enforce
//! one line per concert and one admission rate.
//!
//! - [`tokens`]: the buyer's queue API (join, status, leave) and the token issue /
//!   re-issue rules, identity and the join limit.
//! - [`admission`]: the per-room ticker every instance runs, the ETA / polling advice, and
//!   the one function that tells a ticket's place from a room's snapshot ([`admission::place`]).
//! - [`line`]: the gateway's own calls on the lines in Redis (join, leave, the room hash
//!   and the admission tick, the draw), on top of the shared store.
//! - [`forward`]: booking and points calls proxied to the booking service, only for
//!   admitted tokens where the contract says so.
//! - [`admin`]: the operators' rooms API.
//! - [`opening`]: a room's public state and its opening's auditable draw.
//! - [`push`]: live status over Server-Sent Events, served from this gateway's memory.
//! - [`page`]: the buyer's web page (`gateway/web/`, compiled in) at `/` and
//!   `/concerts/{concert_id}`.
//! - [`reload`]: room defaults and per-concert sections of the configuration, applied at
//!   start and whenever the file changes (or on SIGHUP).
//! - [`rooms`]: which concerts have a room (asked of booking once) and each room's
//!   snapshot (figures of its last tick, departures), written only by [`rooms::Rooms::observe`].
//! - [`bounded`]: maps keyed by what clients send, bounded whatever is sent.
//! - [`docs`]: the OpenAPI document (`/openapi.json`, offline `/docs`): booking's public
//!   routes merged from [`shared::contract::paths`], plus the gateway's own.
//! - [`startup`]: builds the state and router and serves them ([`shared::service`]).

pub mod admin;
pub mod admission;
pub mod bounded;
pub mod docs;
pub mod error;
pub mod forward;
pub mod line;
pub mod opening;
pub mod page;
pub mod push;
pub mod reload;
pub mod rooms;
pub mod settings;
pub mod startup;
pub mod state;
pub mod tokens;

pub use settings::GatewaySettings;
pub use startup::{build, spawn, App, RunningApp};
