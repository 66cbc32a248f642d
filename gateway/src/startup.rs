//! Building and running the gateway: the same code path serves production (`main.rs`) and
//! the tests, which start real instances on port 0 (zero2prod's `spawn_app`).
//!
//! [`build`] binds the listener and assembles the state and router; [`App::run`] serves
//! until the given [`CancellationToken`] is cancelled, with the admission ticker running
//! alongside and stopped by the same token (graceful shutdown: in-flight requests finish).
//! [`spawn`] does both on a background task and hands back a [`RunningApp`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use axum::Router;
use rand::Rng;
use shared::config::GatewaySettings;
use shared::keys::Keys;
use shared::redis::RedisPool;
use shared::token::TokenKeys;
use shared::{Code, Problem};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::forward::client::BookingClient;
use crate::queue::Queue;
use crate::rooms::Rooms;
use crate::state::AppState;
use crate::tokens::identity::Identity;
use crate::tokens::limit::JoinLimiter;
use crate::{admin, admission, forward, health, tokens};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid redis settings: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("cannot build the booking client: {0}")]
    Booking(#[from] reqwest::Error),
    #[error("invalid redis.key_prefix: it must not contain braces")]
    KeyPrefix,
}

/// A built gateway, bound to its address but not serving yet.
pub struct App {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
    router: Router,
}

/// Binds `settings.http.addr` and builds the app.
pub async fn build(settings: GatewaySettings) -> Result<App, StartupError> {
    let addr = settings.http.addr;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    build_with_listener(settings, listener)
}

/// Builds the app on a listener the caller already bound.
pub fn build_with_listener(
    settings: GatewaySettings,
    listener: TcpListener,
) -> Result<App, StartupError> {
    let addr = listener.local_addr().map_err(|source| StartupError::Bind {
        addr: settings.http.addr,
        source,
    })?;
    let state = state(settings)?;
    let router = router(state.clone());
    Ok(App {
        listener,
        addr,
        state,
        router,
    })
}

fn state(settings: GatewaySettings) -> Result<AppState, StartupError> {
    let prefix = &settings.redis.key_prefix;
    if prefix.contains('{') || prefix.contains('}') {
        return Err(StartupError::KeyPrefix);
    }
    let instance_id: Arc<str> = match &settings.instance_id {
        Some(id) if !id.trim().is_empty() => id.trim().into(),
        _ => format!("gw-{:08x}", rand::rng().random::<u32>()).into(),
    };
    // Install the process-wide metrics recorder before anything records.
    shared::metrics::handle();
    let redis = RedisPool::new(&settings.redis, "gateway")?;
    let queue = Queue::new(redis, Keys::new(prefix.clone()), settings.queue.clone());
    let booking = BookingClient::new(&settings.booking)?;
    let rooms = Arc::new(Rooms::new(queue.clone(), booking.clone()));
    Ok(AppState {
        tokens: Arc::new(TokenKeys::new(&settings.jwt)),
        identity: Identity::new(&settings.identity),
        limiter: JoinLimiter::new(&settings.rate_limit).map(Arc::new),
        settings: Arc::new(settings),
        instance_id,
        queue,
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
        .merge(health::router())
        .merge(shared::docs::router(crate::docs::openapi()))
        .with_state(state)
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            deadline(timeout, request, next)
        }));
    shared::http::finish(routes, "gateway")
}

/// Whole-request deadline (`http.request_timeout_ms`): a request that cannot finish in
/// time gets a 503 with `Retry-After` rather than holding the connection.
async fn deadline(timeout: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            Code::ServiceUnavailable,
            "the request timed out; retry shortly",
        )
        .into_response(),
    }
}

impl App {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn instance_id(&self) -> &str {
        &self.state.instance_id
    }

    /// Serves until `cancel` is cancelled, then lets in-flight requests finish and stops
    /// the admission ticker.
    pub async fn run(self, cancel: CancellationToken) -> std::io::Result<()> {
        let ticker = admission::spawn(
            self.state.queue.clone(),
            self.state.rooms.clone(),
            self.state.instance_id.clone(),
            cancel.clone(),
        );
        tracing::info!(addr = %self.addr, instance_id = %self.state.instance_id, "gateway listening");
        let shutdown = cancel.clone();
        // Small request/response exchanges: send each write at once (no Nagle delay).
        let listener = self.listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let served = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
        cancel.cancel();
        let _ = ticker.await;
        served
    }
}

/// A gateway serving on a background task.
pub struct RunningApp {
    pub addr: SocketAddr,
    pub instance_id: String,
    pub cancel: CancellationToken,
    pub handle: JoinHandle<std::io::Result<()>>,
}

impl RunningApp {
    /// `http://<addr>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and the ticker, and waits for both.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        let _ = self.handle.await;
    }
}

/// Builds the app on `settings.http.addr` (port 0 picks a free port) and serves it on a
/// background task.
pub async fn spawn(settings: GatewaySettings) -> Result<RunningApp, StartupError> {
    let app = build(settings).await?;
    let cancel = CancellationToken::new();
    let addr = app.addr();
    let instance_id = app.instance_id().to_owned();
    let handle = tokio::spawn(app.run(cancel.clone()));
    Ok(RunningApp {
        addr,
        instance_id,
        cancel,
        handle,
    })
}
