//! HTTP plumbing both services share: extractors whose rejections are problem+json, and
//! the outer middleware stack.
//!
//! Stack, outermost first: set `X-Request-Id` (kept when the client sent one) → trace span
//! carrying the request id → propagate the id to the response → refuse bodies over 64 KiB
//! (413 problem) → the service's routes. Unknown routes and methods answer 404/405
//! problems, so every response an API client sees has one shape.

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, HeaderName, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::{Code, InternalCause, Problem};

/// SPEC §2: bodies over 64 KiB get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Set by booking on a new payment's 201 once it ended the buyer's admission in Redis, so
/// the gateway need not end it again. Internal: the gateway does not pass it on.
pub static ADMISSION_ENDED: HeaderName = HeaderName::from_static("x-admission-ended");

/// `axum::Json` whose rejections become problem+json (400 / 413 / 415). Every request
/// body of the API is a JSON object: a positional array (which serde's derived structs
/// would otherwise accept, `[1, 42]` for `{"concert_id": 1, "user_id": 42}`) is refused
/// like any other wrong shape, in the same single parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let axum::Json(ObjectOnly(value)) =
            axum::Json::<ObjectOnly<T>>::from_request(request, state).await?;
        Ok(Json(value))
    }
}

/// Deserializes `T` from a JSON object only (never from an array).
struct ObjectOnly<T>(T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Object<T>(std::marker::PhantomData<T>);

        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
            type Value = T;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(Object(std::marker::PhantomData))
            .map(ObjectOnly)
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` whose rejections become 400 problems.
#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct Path<T>(pub T);

/// `axum::extract::Query` whose rejections become 400 problems.
#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct Query<T>(pub T);

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Problem::new(
                Code::UnsupportedMediaType,
                "expected `Content-Type: application/json`",
            ),
            JsonRejection::JsonDataError(e) => Problem::invalid(e.body_text()),
            JsonRejection::JsonSyntaxError(e) => Problem::invalid(e.body_text()),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
                Code::PayloadTooLarge,
                format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
            ),
            other => Problem::invalid(other.body_text()),
        }
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        Problem::invalid(rejection.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        Problem::invalid(rejection.body_text())
    }
}

/// Reads a bearer token from `Authorization`, if there is one.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
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
/// labels its request metrics.
pub fn finish(router: Router, service: &'static str) -> Router {
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

/// Resolves on SIGINT or SIGTERM, or when `token` is cancelled.
pub async fn shutdown_signal(token: tokio_util::sync::CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
        _ = token.cancelled() => {},
    }
    token.cancel();
}
