//! Building and running the service. [`spawn`] is what `main` and the tests call: it binds
//! the configured address (port 0 in tests), applies migrations, starts the hold sweeper
//! and serves until the returned app is stopped or the process gets SIGTERM/SIGINT, then
//! finishes in-flight requests (graceful shutdown).

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::serve::ListenerExt;
use axum::Router;
use secrecy::ExposeSecret;
use shared::config::{BookingSettings, DatabaseSettings};
use shared::redis::RedisPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// The whole HTTP surface. Every route here is in the OpenAPI document ([`crate::docs`]).
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(crate::concerts::router())
        .merge(crate::seats::router())
        .merge(crate::holds::router())
        .merge(crate::payments::router())
        .merge(crate::points::router())
        .merge(crate::admin::router())
        .merge(crate::health::router())
        .merge(shared::docs::router(crate::docs::openapi()))
        .with_state(state);
    shared::http::finish(api, "booking")
}

/// A lazily connecting pool: the service starts even while PostgreSQL is down and answers
/// 503 until it is back. Every connection gets a server-side statement timeout. Idle
/// connections are not pinged on every checkout (an extra round trip per request): a
/// connection that died meanwhile fails its query with an I/O error, which is a 503 for
/// that one request, and the pool drops it.
pub fn pg_pool(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(settings.url.expose_secret())
        .context("database.url is not a valid PostgreSQL URL")?
        .options([(
            "statement_timeout",
            settings.statement_timeout_ms.to_string(),
        )]);
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .test_before_acquire(false)
        .connect_lazy_with(options))
}

/// Applies the embedded migrations, retrying while the database is unreachable.
pub async fn migrate(pool: &PgPool, patience: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        match crate::MIGRATOR.run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if started.elapsed() < patience => {
                tracing::warn!(error = %e, "migrations could not run yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e).context("applying migrations"),
        }
    }
}

/// A running service.
pub struct RunningApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub cancel: CancellationToken,
    handle: JoinHandle<()>,
}

impl RunningApp {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight requests, stops the sweeper.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.handle.await;
    }

    /// Resolves when the server has stopped (signal or cancel).
    pub async fn wait(self) {
        let _ = self.handle.await;
    }
}

/// Starts the service. `db` replaces the pool built from settings (tests).
pub async fn spawn(settings: BookingSettings, db: Option<PgPool>) -> anyhow::Result<RunningApp> {
    let db = match db {
        Some(db) => db,
        None => pg_pool(&settings.database)?,
    };
    migrate(&db, Duration::from_secs(60)).await?;
    let redis = RedisPool::new(&settings.redis, "booking").context("redis.url is not valid")?;
    let listener = tokio::net::TcpListener::bind(settings.http.addr)
        .await
        .with_context(|| format!("binding {}", settings.http.addr))?;
    let addr = listener.local_addr()?;
    let state = AppState::new(settings, db, redis);
    let cancel = CancellationToken::new();

    tokio::spawn(crate::holds::run_sweeper(state.clone(), cancel.clone()));
    let app = router(state.clone());
    let shutdown = shared::http::shutdown_signal(cancel.clone());
    let handle = tokio::spawn(async move {
        // Small request/response exchanges: send each write at once (no Nagle delay).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "server stopped with an error");
        }
    });
    tracing::info!(%addr, "booking listening");
    Ok(RunningApp {
        addr,
        state,
        cancel,
        handle,
    })
}

/// `main`: serve until SIGTERM/SIGINT.
pub async fn run(settings: BookingSettings) -> anyhow::Result<()> {
    shared::metrics::handle();
    let app = spawn(settings, None).await?;
    app.wait().await;
    tracing::info!("booking stopped");
    Ok(())
}
