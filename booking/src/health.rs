//! Probes: `/healthz` says the process is up; `/readyz` says PostgreSQL and Redis answer.

use axum::extract::State;
use axum::http::StatusCode;
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
