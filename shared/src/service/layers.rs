//! The middleware stack both services put around their routes.
//!
//! Outermost first: set `X-Request-Id` (kept when the client sent one) → trace span
//! carrying the request id → propagate the id to the response → request metrics → refuse
//! bodies over 64 KiB (413 problem) → the whole-request deadline (503 with `Retry-After`) →
//! the service's routes. Unknown routes and methods answer 404/405 problems, so every
//! response an API client sees has one shape. The deadline covers the time to the
//! response's head; a streamed body (server-sent events) goes on after it.

use std::time::Duration;

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::http::{MAX_BODY_BYTES, REQUEST_ID};
use crate::problem::{Code, InternalCause, Problem};

/// A request that cannot get its response head within `timeout` gets a 503 with
/// `Retry-After` rather than holding the connection.
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

/// Refuses a declared body over the limit before anything reads it.
async fn limit_declared_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Problem::new(
            Code::PayloadTooLarge,
            format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}

async fn not_found() -> Problem {
    Problem::new(Code::NotFound, "no such route")
}

async fn method_not_allowed() -> Problem {
    Problem::new(Code::MethodNotAllowed, "method not allowed on this route")
}

/// Wraps a service's router with the common stack (see the module docs); `service`
/// labels its request metrics, `request_timeout` is the whole-request deadline.
pub fn finish(router: Router, service: &'static str, request_timeout: Duration) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let request_id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            let route = request
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| request.uri().path().to_owned());
            tracing::info_span!(
                "request",
                request_id = %request_id,
                method = %request.method(),
                route = %route,
                user_id = tracing::field::Empty,
                concert_id = tracing::field::Empty,
            )
        })
        .on_request(())
        // 5xx are logged once, by `on_response` below (with the `InternalCause` when there
        // is one); the default `on_failure` would log every 5xx a second time.
        .on_failure(())
        .on_response(
            |response: &Response, latency: Duration, _span: &tracing::Span| {
                if let Some(InternalCause(cause)) = response.extensions().get::<InternalCause>() {
                    tracing::error!(error = %cause, latency_ms = latency.as_millis() as u64, "request failed");
                } else {
                    tracing::debug!(
                        status = response.status().as_u16(),
                        latency_ms = latency.as_millis() as u64,
                        "response"
                    );
                }
            },
        );
    router
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| deadline(request_timeout, request, next),
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(limit_declared_body))
        .layer(axum::middleware::from_fn(move |request, next| {
            crate::metrics::track(service, request, next)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
}
