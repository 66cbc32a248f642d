//! Prometheus metrics: one process-wide recorder, rendered at `/metrics`, and the HTTP
//! middleware that counts requests and their latency by matched route and status.
//!
//! No label value is copied from a request: the route is the router's pattern (every path
//! no route matches is `unmatched`), the method one of the standard ones (anything else is
//! `OTHER`), the status a number. So the series are bounded by the code, whatever is sent.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often pending histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the global recorder on first use (several in-process apps share it in tests).
///
/// The recorder keeps every histogram sample until it is folded into the buckets, which
/// rendering does, and so does [`PrometheusHandle::run_upkeep`]: with nobody scraping
/// `/metrics`, memory would grow with every request. A thread runs the upkeep every few
/// seconds, so it is bounded by what arrives between two upkeeps.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let handle = match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder is installed already: render from a detached one.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        };
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            });
        handle
    })
}

/// The Prometheus text of every metric (served at `GET /metrics`).
pub fn render() -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        handle().render(),
    )
        .into_response()
}

/// Counts every request by service, matched route, method and status, with its latency.
pub async fn track(service: &'static str, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [
        ("service", service.to_string()),
        ("route", route),
        ("method", method.to_string()),
        ("status", status),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The method as a label: the standard methods by name, anything else `OTHER`.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_are_one_label() {
        let made_up = axum::http::Method::from_bytes(b"XYZZY").unwrap();
        assert_eq!(method_label(&made_up), "OTHER");
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
    }
}
