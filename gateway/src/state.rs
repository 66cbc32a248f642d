//! Shared application state: built once at start, cloned per request (every field is a
//! cheap handle). Handlers that need one part ask for it through [`FromRef`].

use std::sync::Arc;

use axum::extract::FromRef;
use shared::config::GatewaySettings;
use shared::token::TokenKeys;

use crate::forward::client::BookingClient;
use crate::queue::Queue;
use crate::rooms::Rooms;
use crate::tokens::identity::Identity;
use crate::tokens::limit::JoinLimiter;

#[derive(Clone, Debug)]
pub struct AppState {
    pub settings: Arc<GatewaySettings>,
    pub instance_id: Arc<str>,
    pub queue: Queue,
    pub rooms: Arc<Rooms>,
    pub tokens: Arc<TokenKeys>,
    pub booking: BookingClient,
    pub identity: Identity,
    pub limiter: Option<Arc<JoinLimiter>>,
}

impl FromRef<AppState> for Queue {
    fn from_ref(state: &AppState) -> Self {
        state.queue.clone()
    }
}

impl FromRef<AppState> for BookingClient {
    fn from_ref(state: &AppState) -> Self {
        state.booking.clone()
    }
}

impl FromRef<AppState> for Arc<TokenKeys> {
    fn from_ref(state: &AppState) -> Self {
        state.tokens.clone()
    }
}
