//! Building and running the gateway: the same code path serves production (`main.rs`) and
//! the tests, which start real instances on port 0 (zero2prod's `spawn_app`).
//!
//! [`build`] binds the listener and assembles the state and router; [`App::serve`] serves
//! them with the shared skeleton ([`shared::service::serve`]) and starts the admission
//! ticker and the configuration follower ([`crate::reload`]), which stop with the server
//! and are joined on shutdown. [`spawn`] does both.

use std::sync::Arc;
use std::time::Duration;

use crate::line::LineStore;
use axum::Router;
use rand::Rng;
use shared::service::{self, probes, Running, Tasks};
use shared::token::TokenKeys;
use tokio::net::TcpListener;

use crate::forward::client::BookingClient;
use crate::push::lean::LeanPaths;
use crate::rooms::{RoomLimits, Rooms};
use crate::settings::GatewaySettings;
use crate::state::AppState;
use crate::tokens::identity::Identity;
use crate::tokens::limit::JoinLimits;
use crate::{admin, admission, forward, opening, tokens};

/// A gateway serving on a background task.
pub type RunningApp = Running<AppState>;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid redis settings: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("cannot build the booking client: {0}")]
    Booking(#[from] crate::forward::client::BookingError),
    #[error(transparent)]
    Identity(#[from] crate::tokens::identity::JwksError),
}

/// A built gateway, bound to its address but not serving yet.
pub struct App {
    listener: TcpListener,
    state: AppState,
    router: Router,
}

/// Binds `settings.http.addr` and builds the app.
pub async fn build(settings: GatewaySettings) -> Result<App, StartupError> {
    let addr = settings.http.addr;
    let listener = service::bind(&settings.http)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    let state = state(settings)?;
    Ok(App {
        router: router(state.clone()),
        listener,
        state,
    })
}

fn state(settings: GatewaySettings) -> Result<AppState, StartupError> {
    let instance_id: Arc<str> = match &settings.instance_id {
        Some(id) if !id.trim().is_empty() => id.trim().into(),
        _ => format!("gw-{:08x}", rand::rng().random::<u32>()).into(),
    };
    // Install the process-wide metrics recorder before anything records.
    shared::metrics::handle();
    let store = LineStore::new(&settings.redis, "gateway")?;
    let booking = BookingClient::new(&settings.booking)?;
    let rooms = Arc::new(Rooms::new(
        store.clone(),
        booking.clone(),
        settings.queue.room(),
        RoomLimits {
            unknown_concerts: settings.limits.unknown_concerts,
            left_per_room: settings.limits.left_per_room,
        },
    ));
    let tokens = Arc::new(TokenKeys::new(&settings.jwt));
    let push = Arc::new(crate::push::Hub::new(
        settings.sse.max_streams,
        tokens.clone(),
        settings.jwt.waiting_ttl_secs,
    ));
    let page = Arc::new(crate::page::Page::new(
        settings.identity.mode.as_str(),
        settings.self_charge(),
    ));
    Ok(AppState {
        tokens,
        push,
        page,
        identity: Identity::new(&settings.identity)?,
        limits: Arc::new(JoinLimits::new(&settings.rate_limit, &settings.limits)),
        settings: Arc::new(settings),
        instance_id,
        store,
        rooms,
        booking,
    })
}

/// All routes with the common middleware stack.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_millis(state.settings.http.request_timeout_ms.max(1));
    let routes = Router::new()
        .merge(tokens::router())
        .merge(forward::router())
        .merge(admin::router(state.clone()))
        .merge(opening::router())
        .merge(crate::push::router())
        .merge(crate::page::router())
        .merge(probes::router())
        .merge(shared::docs::router(crate::docs::openapi()))
        .with_state(state);
    service::layers::finish(routes, "gateway", timeout)
}

impl App {
    pub fn addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the returned handle's token is cancelled (or [`Running::shutdown`]),
    /// with the admission ticker alongside.
    pub fn serve(self) -> std::io::Result<RunningApp> {
        let mut tasks = Tasks::default();
        tasks.spawn(
            "admission ticker",
            admission::run(
                self.state.store.clone(),
                self.state.rooms.clone(),
                self.state.push.clone(),
                self.state.instance_id.clone(),
                tasks.token(),
            ),
        );
        tasks.spawn(
            "config reload",
            crate::reload::run(
                self.state.rooms.clone(),
                crate::reload::RoomConfig::of(&self.state.settings),
                self.state.settings.source_file.clone(),
                tasks.token(),
            ),
        );
        let http = self.state.settings.http.clone();
        // Stopping the server ends the push streams too (they would hold the graceful
        // shutdown open): one token for both.
        let stop = self.state.push.closing();
        service::serve(
            "gateway",
            self.listener,
            self.router,
            &http,
            // Push streams are served outside hyper's per-connection buffers.
            Some(Arc::new(LeanPaths(vec![crate::push::PATH]))),
            self.state,
            tasks,
            stop,
        )
    }
}

/// Builds the app on `settings.http.addr` (port 0 picks a free port) and serves it on a
/// background task.
pub async fn spawn(settings: GatewaySettings) -> Result<RunningApp, StartupError> {
    let app = build(settings).await?;
    let addr = app.addr().map_err(|source| StartupError::Bind {
        addr: ([0, 0, 0, 0], 0).into(),
        source,
    })?;
    app.serve()
        .map_err(|source| StartupError::Bind { addr, source })
}
