//! Building and running the service, the same way in `main` and in the tests (port 0):
//! [`spawn`] applies the migrations, binds `http.addr`, starts the payment workers and the
//! hold sweeper and serves with the shared skeleton ([`shared::service::serve`]) until the
//! returned handle is shut down (or the process gets SIGTERM/SIGINT, see `main.rs`); then
//! in-flight requests finish, and the loops stop and are joined.

use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use secrecy::ExposeSecret;
use shared::service::{self, probes, Running, Tasks};
use shared::store::Store;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::payments::batch::PaymentBatcher;
use crate::settings::{BookingSettings, DatabaseSettings};
use crate::state::AppState;

/// Booking serving on a background task.
pub type RunningApp = Running<AppState>;

/// The whole HTTP surface. Every route here is in the OpenAPI document ([`crate::docs`]).
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_millis(state.settings.http.request_timeout_ms.max(1));
    // The buyer routes and the rooms' durable settings answer the gateway only (the
    // internal token, when configured).
    let buyer = Router::new()
        .merge(crate::concerts::router())
        .merge(crate::seats::router())
        .merge(crate::holds::router())
        .merge(crate::payments::router())
        .merge(crate::tickets::router())
        .merge(crate::points::router())
        .merge(crate::rooms::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_internal,
        ));
    let api = Router::new()
        .merge(buyer)
        .merge(crate::admin::router())
        .merge(crate::venues::router())
        .merge(crate::tickets::admin_router())
        .merge(probes::router())
        .merge(shared::docs::router(crate::docs::openapi()))
        .with_state(state);
    service::layers::finish(api, "booking", timeout)
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

/// Starts the service. `db` replaces the pool built from settings (tests).
pub async fn spawn(settings: BookingSettings, db: Option<PgPool>) -> anyhow::Result<RunningApp> {
    shared::metrics::handle();
    let db = match db {
        Some(db) => db,
        None => pg_pool(&settings.database)?,
    };
    migrate(&db, Duration::from_secs(60)).await?;
    let store = Store::new(&settings.redis, "booking").context("redis.url is not valid")?;
    let listener = service::bind(&settings.http)
        .await
        .with_context(|| format!("binding {}", settings.http.addr))?;
    let mut tasks = Tasks::default();
    let payments = PaymentBatcher::start(
        &mut tasks,
        db.clone(),
        store.clone(),
        settings.payments.batch_workers,
        settings.payments.batch_max,
        settings.holds.sold_marker_hours.saturating_mul(3_600_000),
    );
    let state = AppState::new(settings, db, store, payments);
    tasks.spawn(
        "hold sweeper",
        crate::holds::sweeper::run(state.clone(), tasks.token()),
    );
    let inventory = &state.settings.inventory;
    tasks.spawn(
        "inventory publisher",
        crate::inventory::run(
            state.db.clone(),
            state.store.clone(),
            Duration::from_millis(inventory.publish_interval_ms),
            Duration::from_secs(inventory.full_publish_secs),
            tasks.token(),
        ),
    );
    tasks.spawn(
        "show refunds",
        crate::tickets::refunds::run(
            state.db.clone(),
            state.settings.tickets.refund_batch,
            Duration::from_millis(
                state
                    .settings
                    .database
                    .statement_timeout_ms
                    .saturating_mul(2),
            ),
            state.refunds.clone(),
            tasks.token(),
        ),
    );
    let retention = &state.settings.idempotency;
    tasks.spawn(
        "idempotency purge",
        crate::idempotency::run_purge(
            state.db.clone(),
            retention.retention_hours,
            Duration::from_secs(retention.purge_interval_secs),
            tasks.token(),
        ),
    );
    let http = state.settings.http.clone();
    Ok(service::serve(
        "booking",
        listener,
        router(state.clone()),
        &http,
        None,
        state,
        tasks,
        CancellationToken::new(),
    )?)
}
