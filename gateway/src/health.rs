//! Probes. `/healthz`: the process serves requests (always 200). `/readyz`: Redis answers a
//! PING and booking's `/healthz` answers, checked concurrently; 503 otherwise, so a load
//! balancer stops sending buyers to an instance that could only answer 503 anyway.

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
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Response {
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
