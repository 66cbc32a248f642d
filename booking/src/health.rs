//! Probes: `/healthz` says the process is up; `/readyz` says PostgreSQL and Redis answer.
//! `/metrics` publishes the pools' usage at scrape time, then renders every metric.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use serde_json::{json, Value};
use shared::http::Json;
use utoipa::ToSchema;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(live))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
}

// Documentation only: the handlers write these bodies with `json!`.

/// The process is up.
#[derive(Serialize, ToSchema)]
pub struct Liveness {
    #[schema(example = "ok")]
    pub status: String,
}

/// Each dependency `ok` or `down`.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ok")]
    pub postgres: String,
    #[schema(example = "ok")]
    pub redis: String,
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    summary = "Liveness: the process is up",
    responses((status = 200, description = "Always `{\"status\": \"ok\"}`.", body = Liveness))
)]
async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    summary = "Readiness: PostgreSQL and Redis answer",
    responses(
        (status = 200, description = "Both answer.", body = Readiness),
        (status = 503, description = "One or both are down (which is in the body).",
         body = Readiness),
    )
)]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let db = sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&state.db)
        .await
        .is_ok();
    let redis = state.redis.ping().await.is_ok();
    let status = if db && redis {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(
            json!({"postgres": if db {"ok"} else {"down"}, "redis": if redis {"ok"} else {"down"}}),
        ),
    )
}

/// `GET /metrics`: the pools' usage as of now, then the Prometheus text of every metric.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    description = "Request counts and latency by route and status, hold and payment outcomes, \
                   points paid, PostgreSQL pool usage (`db_pool_connections{state}`), Redis pool \
                   usage and call latency.",
    responses(
        (status = 200, description = "Prometheus text exposition format.", body = String,
         content_type = "text/plain; version=0.0.4"),
    )
)]
async fn metrics(State(state): State<AppState>) -> Response {
    record_db_pool(&state.db);
    state.redis.record_usage();
    shared::metrics::render().await
}

/// `db_pool_connections{state="idle"|"in_use"}` and `db_pool_max_connections`.
fn record_db_pool(db: &sqlx::PgPool) {
    let size = db.size() as f64;
    let idle = db.num_idle() as f64;
    metrics::gauge!("db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("db_pool_connections", "state" => "in_use").set((size - idle).max(0.0));
    metrics::gauge!("db_pool_max_connections").set(db.options().get_max_connections() as f64);
}
