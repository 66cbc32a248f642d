//! The gateway's one error type. Each variant maps to one contract code and HTTP status in
//! [`IntoResponse`]; handlers return `Result<_, ApiError>` and never build responses for
//! errors themselves.
//!
//! Dependency failures are never 500s: Redis errors and timeouts become 503
//! `SERVICE_UNAVAILABLE` with `Retry-After` (the pool bounds every call), and so does a
//! booking service that cannot be reached.

use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use shared::token::TokenError;
use shared::{Code, Problem};

use crate::forward::client::BookingError;
use crate::rooms::RoomError;
use shared::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Invalid(String),
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("{0}")]
    IdentityRequired(String),
    #[error("{0}")]
    IdentityInvalid(String),
    #[error("the request is for user {claimed}, the caller is user {caller}")]
    IdentityMismatch { claimed: i64, caller: i64 },
    #[error("buyers cannot add points themselves here; points come from the operator side")]
    SelfChargeDisabled,
    #[error("concert {0} not found")]
    ConcertNotFound(i64),
    #[error("the queue of concert {0} is closed")]
    QueueClosed(i64),
    #[error("not admitted yet, position {position}")]
    NotAdmitted { position: u64 },
    #[error("in the pre-queue: the place is drawn at the opening")]
    InPrequeue { opens_at: Option<DateTime<Utc>> },
    #[error("the pre-queue of concert {concert_id} opens at {prequeue_opens_at}")]
    QueueNotOpen {
        concert_id: i64,
        opens_at: DateTime<Utc>,
        prequeue_opens_at: DateTime<Utc>,
        retry_after_secs: u64,
    },
    #[error("concert {0} has no opening draw")]
    NoDraw(i64),
    #[error("the opening draw of concert {concert_id} is not published yet")]
    DrawPending {
        concert_id: i64,
        opens_at: DateTime<Utc>,
        retry_after_secs: u64,
    },
    #[error("the ticket is gone")]
    TicketGone,
    #[error("the line this ticket was in no longer exists (the queue store was reset)")]
    QueueReset,
    #[error("the ticket was released when the concert sold out")]
    SoldOutGone,
    #[error("every seat of concert {0} is sold")]
    SoldOut(i64),
    #[error("the token is for concert {token}, not {resource}")]
    WrongConcert { token: i64, resource: i64 },
    /// Someone holds the seat right now (the hold key exists): what booking would answer.
    #[error("the seat is held or sold")]
    SeatUnavailable,
    #[error("too many joins from this address")]
    RateLimited { retry_after_secs: u64 },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Booking(#[from] BookingError),
    /// A problem built elsewhere (shared extractors, admin auth).
    #[error(transparent)]
    Problem(#[from] Problem),
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        ApiError::InvalidToken(e.to_string())
    }
}

impl From<RoomError> for ApiError {
    fn from(e: RoomError) -> Self {
        match e {
            RoomError::NotFound(id) => ApiError::ConcertNotFound(id),
            RoomError::Booking(BookingError::Refused(detail)) => ApiError::Invalid(detail),
            RoomError::Booking(e) => ApiError::Booking(e),
            RoomError::Store(e) => ApiError::Store(e),
        }
    }
}

impl ApiError {
    pub fn to_problem(&self) -> Problem {
        match self {
            ApiError::Invalid(msg) => Problem::invalid(msg.clone()),
            ApiError::InvalidToken(msg) => Problem::new(Code::InvalidToken, msg.clone()),
            ApiError::IdentityRequired(msg) => Problem::new(Code::IdentityRequired, msg.clone()),
            ApiError::IdentityInvalid(msg) => Problem::new(Code::IdentityInvalid, msg.clone()),
            ApiError::IdentityMismatch { .. } => {
                Problem::new(Code::IdentityMismatch, self.to_string())
            }
            ApiError::SelfChargeDisabled => {
                Problem::new(Code::SelfChargeDisabled, self.to_string())
            }
            ApiError::ConcertNotFound(_) => Problem::new(Code::ConcertNotFound, self.to_string()),
            ApiError::QueueClosed(_) => Problem::new(Code::QueueClosed, self.to_string()),
            ApiError::NotAdmitted { position } => Problem::new(
                Code::NotAdmitted,
                "this token is still waiting in line; poll /v1/queue/status",
            )
            .with("position", *position),
            ApiError::InPrequeue { opens_at } => Problem::new(
                Code::NotAdmitted,
                "this token is in the pre-queue: its place is drawn at the opening; poll \
                 /v1/queue/status",
            )
            .with("ticket_status", "prequeue")
            .with("opens_at", opens_at.map(rfc3339)),
            ApiError::QueueNotOpen {
                opens_at,
                prequeue_opens_at,
                retry_after_secs,
                ..
            } => Problem::new(Code::QueueNotOpen, self.to_string())
                .with("opens_at", rfc3339(*opens_at))
                .with("prequeue_opens_at", rfc3339(*prequeue_opens_at))
                .with_retry_after(*retry_after_secs),
            ApiError::NoDraw(_) => Problem::new(Code::NoDraw, self.to_string()),
            ApiError::DrawPending {
                opens_at,
                retry_after_secs,
                ..
            } => Problem::new(Code::QueueNotOpen, self.to_string())
                .with("opens_at", rfc3339(*opens_at))
                .with_retry_after(*retry_after_secs),
            ApiError::TicketGone => Problem::new(
                Code::TicketGone,
                "the ticket was dropped (expired, left or paid); join the queue again",
            ),
            ApiError::QueueReset => Problem::new(
                Code::TicketGone,
                "the line this ticket was in was lost (the queue store restarted); join the \
                 queue again",
            )
            .with("reason", "queue_reset"),
            ApiError::SoldOutGone => Problem::new(
                Code::TicketGone,
                "every seat was sold; the line was released",
            )
            .with("reason", "sold_out"),
            ApiError::SoldOut(_) => Problem::new(Code::SoldOut, self.to_string()),
            ApiError::WrongConcert { .. } => Problem::new(Code::WrongConcert, self.to_string()),
            ApiError::SeatUnavailable => Problem::new(Code::SeatUnavailable, self.to_string()),
            ApiError::RateLimited { retry_after_secs } => {
                Problem::new(Code::RateLimited, self.to_string())
                    .with_retry_after(*retry_after_secs)
            }
            ApiError::PayloadTooLarge => Problem::new(
                Code::PayloadTooLarge,
                format!(
                    "request bodies are limited to {} bytes",
                    shared::http::MAX_BODY_BYTES
                ),
            ),
            ApiError::Store(StoreError::UnexpectedReply(reply)) => Problem::internal(reply),
            ApiError::Store(StoreError::Redis(e)) => Problem::unavailable("the queue store", e),
            ApiError::Booking(e) => Problem::unavailable("the booking service", e),
            ApiError::Problem(p) => p.clone(),
        }
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.to_problem().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, StatusCode};
    use shared::store::RedisCallError;
    use std::time::Duration;

    #[test]
    fn redis_failures_are_503_with_retry_after() {
        let e = ApiError::Store(StoreError::Redis(RedisCallError::Timeout(
            Duration::from_millis(5),
        )));
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }

    #[test]
    fn not_admitted_carries_the_position() {
        let p = ApiError::NotAdmitted { position: 7 }.to_problem();
        assert_eq!(p.code, Code::NotAdmitted);
        assert_eq!(p.body()["position"], 7);
    }
}
