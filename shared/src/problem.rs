//! RFC 9457 `application/problem+json` rendering of the contract's [`Code`]s.
//!
//! Each service keeps its own error enum and converts it into a [`Problem`]; a problem
//! built elsewhere (an extractor's rejection, the admin check) passes through either
//! service's error enum unchanged as its `Problem` variant.

use std::fmt;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

pub use crate::contract::Code;

/// Attached to 500 responses so the trace layer logs the cause once; never sent to clients.
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

/// An RFC 9457 problem. Build with [`Problem::new`], add `retry_after` / extra members.
#[derive(Debug, Clone)]
pub struct Problem {
    pub code: Code,
    pub detail: String,
    pub retry_after_secs: Option<u64>,
    /// Extra members merged into the body (e.g. `position` for `NOT_ADMITTED`).
    pub extra: serde_json::Map<String, serde_json::Value>,
    cause: Option<String>,
}

impl Problem {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            retry_after_secs: match code {
                Code::ServiceUnavailable => Some(1),
                Code::RateLimited => Some(1),
                _ => None,
            },
            extra: serde_json::Map::new(),
            cause: None,
        }
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(Code::InvalidRequest, detail)
    }

    /// A 500 whose cause is logged (by the trace layer) but not shown.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut p = Self::new(Code::Internal, "the server failed to handle this request");
        p.cause = Some(cause.to_string());
        p
    }

    /// A 503 with `Retry-After`, e.g. when Redis or PostgreSQL is unreachable.
    pub fn unavailable(what: &str, cause: impl fmt::Display) -> Self {
        tracing::warn!(dependency = what, error = %cause, "dependency unavailable");
        Self::new(
            Code::ServiceUnavailable,
            format!("{what} is unavailable; retry shortly"),
        )
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert(
            "type".into(),
            format!("urn:ticketing:problem:{}", self.code.as_str()).into(),
        );
        body.insert("title".into(), self.code.title().into());
        body.insert("status".into(), self.code.status().as_u16().into());
        body.insert("detail".into(), self.detail.clone().into());
        body.insert("code".into(), self.code.as_str().into());
        for (k, v) in &self.extra {
            body.insert(k.clone(), v.clone());
        }
        serde_json::Value::Object(body)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (self.code.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(InternalCause(cause));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn unavailable_carries_retry_after_and_problem_content_type() {
        let response = Problem::new(Code::ServiceUnavailable, "down").into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
