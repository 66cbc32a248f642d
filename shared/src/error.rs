//! Stable problem codes (SPEC §2–4) and their RFC 9457 `application/problem+json` rendering.
//!
//! Each service keeps its own error enum and converts it into a [`Problem`]; the `code`
//! strings here are part of the public contract and never change meaning.

use std::fmt;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Every machine-readable error code the services return, with its HTTP status.
///
/// Stable and part of the contract: a client may switch on `code`; each code always comes
/// with the same HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    InvalidRequest,
    InvalidAmount,
    InvalidToken,
    Unauthorized,
    InsufficientBalance,
    NotAdmitted,
    WrongConcert,
    Forbidden,
    NotFound,
    ConcertNotFound,
    ScheduleNotFound,
    SeatNotFound,
    ReservationNotFound,
    MethodNotAllowed,
    SeatUnavailable,
    HoldLimit,
    ReservationExpired,
    ReservationNotHeld,
    QueueClosed,
    IdempotencyInProgress,
    TicketGone,
    PayloadTooLarge,
    UnsupportedMediaType,
    IdempotencyKeyReused,
    RateLimited,
    Internal,
    ServiceUnavailable,
}

impl Code {
    /// Every code, in declaration order (the OpenAPI schema and docs tests walk it).
    pub const ALL: [Code; 27] = {
        use Code::*;
        [
            InvalidRequest,
            InvalidAmount,
            InvalidToken,
            Unauthorized,
            InsufficientBalance,
            NotAdmitted,
            WrongConcert,
            Forbidden,
            NotFound,
            ConcertNotFound,
            ScheduleNotFound,
            SeatNotFound,
            ReservationNotFound,
            MethodNotAllowed,
            SeatUnavailable,
            HoldLimit,
            ReservationExpired,
            ReservationNotHeld,
            QueueClosed,
            IdempotencyInProgress,
            TicketGone,
            PayloadTooLarge,
            UnsupportedMediaType,
            IdempotencyKeyReused,
            RateLimited,
            Internal,
            ServiceUnavailable,
        ]
    };

    /// The code with this wire form, e.g. `"SEAT_UNAVAILABLE"`.
    pub fn from_wire(s: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub const fn status(self) -> StatusCode {
        use Code::*;
        match self {
            InvalidRequest | InvalidAmount => StatusCode::BAD_REQUEST,
            InvalidToken | Unauthorized => StatusCode::UNAUTHORIZED,
            InsufficientBalance => StatusCode::PAYMENT_REQUIRED,
            NotAdmitted | WrongConcert | Forbidden => StatusCode::FORBIDDEN,
            NotFound | ConcertNotFound | ScheduleNotFound | SeatNotFound | ReservationNotFound => {
                StatusCode::NOT_FOUND
            }
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            SeatUnavailable
            | HoldLimit
            | ReservationExpired
            | ReservationNotHeld
            | QueueClosed
            | IdempotencyInProgress => StatusCode::CONFLICT,
            TicketGone => StatusCode::GONE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub const fn title(self) -> &'static str {
        use Code::*;
        match self {
            InvalidRequest => "Invalid request",
            InvalidAmount => "Invalid amount",
            InvalidToken => "Invalid token",
            Unauthorized => "Unauthorized",
            InsufficientBalance => "Insufficient balance",
            NotAdmitted => "Not admitted yet",
            WrongConcert => "Token is for another concert",
            Forbidden => "Forbidden",
            NotFound => "Not found",
            ConcertNotFound => "Concert not found",
            ScheduleNotFound => "Schedule not found",
            SeatNotFound => "Seat not found",
            ReservationNotFound => "Reservation not found",
            MethodNotAllowed => "Method not allowed",
            SeatUnavailable => "Seat unavailable",
            HoldLimit => "Hold limit reached",
            ReservationExpired => "Reservation expired",
            ReservationNotHeld => "Reservation not held",
            QueueClosed => "Queue closed",
            IdempotencyInProgress => "Request with this Idempotency-Key is in progress",
            TicketGone => "Ticket gone",
            PayloadTooLarge => "Payload too large",
            UnsupportedMediaType => "Unsupported media type",
            IdempotencyKeyReused => "Idempotency-Key reused with another request",
            RateLimited => "Too many requests",
            Internal => "Internal server error",
            ServiceUnavailable => "Service unavailable",
        }
    }

    /// The wire form, e.g. `SEAT_UNAVAILABLE`.
    pub fn as_str(self) -> &'static str {
        use Code::*;
        match self {
            InvalidRequest => "INVALID_REQUEST",
            InvalidAmount => "INVALID_AMOUNT",
            InvalidToken => "INVALID_TOKEN",
            Unauthorized => "UNAUTHORIZED",
            InsufficientBalance => "INSUFFICIENT_BALANCE",
            NotAdmitted => "NOT_ADMITTED",
            WrongConcert => "WRONG_CONCERT",
            Forbidden => "FORBIDDEN",
            NotFound => "NOT_FOUND",
            ConcertNotFound => "CONCERT_NOT_FOUND",
            ScheduleNotFound => "SCHEDULE_NOT_FOUND",
            SeatNotFound => "SEAT_NOT_FOUND",
            ReservationNotFound => "RESERVATION_NOT_FOUND",
            MethodNotAllowed => "METHOD_NOT_ALLOWED",
            SeatUnavailable => "SEAT_UNAVAILABLE",
            HoldLimit => "HOLD_LIMIT",
            ReservationExpired => "RESERVATION_EXPIRED",
            ReservationNotHeld => "RESERVATION_NOT_HELD",
            QueueClosed => "QUEUE_CLOSED",
            IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
            TicketGone => "TICKET_GONE",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            RateLimited => "RATE_LIMITED",
            Internal => "INTERNAL",
            ServiceUnavailable => "SERVICE_UNAVAILABLE",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

    #[test]
    fn serde_name_matches_wire_name() {
        for code in Code::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::from(code.as_str())
            );
        }
    }

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
