//! The probes and metrics both services serve (`shared::service::probes`), described once
//! and merged into each document.

use crate::contract::ops::{Liveness, Readiness};
use crate::docs::responses::NotReady;

/// The probes and metrics both services serve (`shared::service::probes`), merged into
/// each document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(healthz, readyz, metrics),
    tags((name = "operations", description = "Probes and metrics."))
)]
pub struct OpsApi;

#[utoipa::path(
    get, path = "/healthz", operation_id = "healthz", tag = "operations",
    summary = "Liveness: the process is up",
    responses((status = 200, description = "Always `{\"status\": \"ok\"}`.", body = Liveness))
)]
pub fn healthz() {}

#[utoipa::path(
    get, path = "/readyz", operation_id = "readyz", tag = "operations",
    summary = "Readiness: every dependency answers",
    description = "The gateway checks Redis and booking; booking checks PostgreSQL and Redis, \
                   concurrently. A load balancer stops sending buyers to an instance that could \
                   only answer 503.",
    responses(
        (status = 200, description = "Every dependency answers.", body = Readiness),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: a dependency does not answer \
         (`checks` says which).",
         body = NotReady, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub fn readyz() {}

#[utoipa::path(
    get, path = "/metrics", operation_id = "metrics", tag = "operations",
    summary = "Prometheus metrics",
    description = "Requests and latency by route and status, pool usage, Redis call latency, \
                   and each service's own figures (the README lists them).",
    responses(
        (status = 200, description = "Prometheus text exposition format.", body = String,
         content_type = "text/plain; version=0.0.4"),
    )
)]
pub fn metrics() {}
