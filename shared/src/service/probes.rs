//! `/healthz`, `/readyz` and `/metrics`, the same in both services. `/healthz` says the
//! process serves requests (always 200). `/readyz` runs the service's [`Probes::check`]
//! and answers `{"status": "ok", "checks": {...}}`, or a 503 `SERVICE_UNAVAILABLE` problem
//! with the same `checks` when a dependency does not answer, so a load balancer stops
//! sending buyers to an instance that could only answer 503 anyway. `/metrics` publishes
//! the pools' usage as of now ([`Probes::record_usage`]), then renders every metric.

use std::collections::BTreeMap;
use std::future::Future;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::contract::ops::{Liveness, Readiness};
use crate::http::Json;
use crate::problem::{Code, Problem};

/// What a service's probes look at (implemented by its state).
pub trait Probes: Clone + Send + Sync + 'static {
    /// Each dependency's name and whether it answers (check them concurrently).
    fn check(&self) -> impl Future<Output = Vec<(&'static str, bool)>> + Send;
    /// Publishes gauges that are read at scrape time (pool usage).
    fn record_usage(&self);
}

pub fn router<S: Probes>() -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>))
        .route("/metrics", get(metrics::<S>))
}

async fn healthz() -> Json<Liveness> {
    Json(Liveness {
        status: "ok".into(),
    })
}

async fn readyz<S: Probes>(State(state): State<S>) -> Response {
    let results = state.check().await;
    let ready = results.iter().all(|(_, ok)| *ok);
    let checks: BTreeMap<String, String> = results
        .into_iter()
        .map(|(name, ok)| {
            (
                name.to_owned(),
                if ok { "ok" } else { "unavailable" }.into(),
            )
        })
        .collect();
    if ready {
        (
            StatusCode::OK,
            Json(Readiness {
                status: "ok".into(),
                checks,
            }),
        )
            .into_response()
    } else {
        Problem::new(Code::ServiceUnavailable, "a dependency is unavailable")
            .with("checks", serde_json::to_value(checks).unwrap_or_default())
            .into_response()
    }
}

async fn metrics<S: Probes>(State(state): State<S>) -> Response {
    state.record_usage();
    crate::metrics::render()
}
