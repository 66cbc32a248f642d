//! Shared application state: built once at start, cloned per request (every field is a
//! cheap handle). Handlers that need one part ask for it through [`FromRef`].

use std::sync::Arc;

use crate::line::LineStore;
use axum::extract::FromRef;
use shared::service::probes::Probes;
use shared::token::TokenKeys;

use crate::forward::client::BookingClient;
use crate::rooms::Rooms;
use crate::settings::GatewaySettings;
use crate::tokens::identity::Identity;
use crate::tokens::limit::JoinLimits;

#[derive(Clone, Debug)]
pub struct AppState {
    pub settings: Arc<GatewaySettings>,
    pub instance_id: Arc<str>,
    pub store: LineStore,
    pub rooms: Arc<Rooms>,
    pub tokens: Arc<TokenKeys>,
    pub booking: BookingClient,
    pub identity: Identity,
    pub limits: Arc<JoinLimits>,
    /// The push streams this gateway holds.
    pub push: Arc<crate::push::Hub>,
    /// The buyer's page, built at start.
    pub page: Arc<crate::page::Page>,
}

impl FromRef<AppState> for LineStore {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
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

/// `/readyz`: Redis answers a PING and booking's `/healthz` answers, checked concurrently.
impl Probes for AppState {
    async fn check(&self) -> Vec<(&'static str, bool)> {
        let (redis, booking) = tokio::join!(self.store.redis().ping(), self.booking.healthy());
        vec![("redis", redis.is_ok()), ("booking", booking)]
    }

    fn record_usage(&self) {
        self.store.redis().record_usage();
    }
}
