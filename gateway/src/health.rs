//! Probes. `/healthz`: the process serves requests (always 200). `/readyz`: Redis answers a
//! PING and booking's `/healthz` answers, checked concurrently; 503 otherwise, so a load
//! balancer stops sending buyers to an instance that could only answer 503 anyway.
//! `/metrics`: the Redis pool's usage as of now, then every metric in Prometheus text.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use shared::http::Json;
use shared::{Code, Problem};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    summary = "Liveness: the process is up",
    responses((status = 200, description = "Always `{\"status\": \"ok\"}`.",
               body = crate::docs::Liveness))
)]
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    summary = "Readiness: Redis and booking answer",
    responses(
        (status = 200, description = "Both answer.", body = crate::docs::Readiness),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: Redis or booking does not answer \
         (`checks` says which).",
         body = crate::docs::NotReady, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let (redis, booking) = tokio::join!(state.queue.redis().ping(), state.booking.healthy());
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let checks = json!({"redis": word(redis.is_ok()), "booking": word(booking)});
    if redis.is_ok() && booking {
        (
            StatusCode::OK,
            Json(json!({"status": "ok", "checks": checks})),
        )
            .into_response()
    } else {
        Problem::new(Code::ServiceUnavailable, "a dependency is unavailable")
            .with("checks", checks)
            .into_response()
    }
}

/// `GET /metrics`: the Redis pool's usage as of now, then every metric.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    description = "Per room: `queue_waiting`, `queue_active`, `queue_admitted_total`, \
                   `queue_promotion_ticks_total{instance}`, `queue_joins_total{result}`; requests \
                   and latency by route and status; Redis pool usage \
                   (`redis_pool_connections{state}`) and call latency.",
    responses(
        (status = 200, description = "Prometheus text exposition format.", body = String,
         content_type = "text/plain; version=0.0.4"),
    )
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    state.queue.redis().record_usage();
    shared::metrics::render().await
}
