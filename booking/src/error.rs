//! The booking service's error type: one variant per SPEC code it can return, rendered as
//! problem+json by [`shared::Problem`]. Database errors are classified here — constraint
//! violations by name, unreachable database as 503 — so domain code can use `?` freely.

use axum::response::{IntoResponse, Response};
use shared::redis::RedisCallError;
use shared::{Code, Problem};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    InvalidAmount(String),
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("the token is not active yet")]
    NotAdmitted,
    #[error("the token is for concert {token}, not {resource}")]
    WrongConcert { token: i64, resource: i64 },
    #[error("{0}")]
    Forbidden(String),
    #[error("concert not found")]
    ConcertNotFound,
    #[error("schedule not found")]
    ScheduleNotFound,
    #[error("seat not found")]
    SeatNotFound,
    #[error("reservation not found")]
    ReservationNotFound,
    #[error("the seat is held or sold")]
    SeatUnavailable,
    #[error("you already hold {0} seats, the most allowed")]
    HoldLimit(u32),
    #[error("the reservation's hold has expired")]
    ReservationExpired,
    #[error("the reservation is {0}, not HELD")]
    ReservationNotHeld(String),
    #[error("balance {balance} is less than the amount {amount}")]
    InsufficientBalance { balance: i64, amount: i64 },
    #[error("this Idempotency-Key was used with another request")]
    IdempotencyKeyReused,
    /// A problem produced elsewhere (extractor rejection, admin check), passed through.
    #[error("{0}")]
    Rejected(Problem),
    #[error("{0} is unavailable")]
    Unavailable(&'static str, String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &e {
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) => {
                ApiError::Unavailable("the database", e.to_string())
            }
            E::Database(db) => match (db.code().as_deref(), db.constraint()) {
                (_, Some("balance_max")) => {
                    ApiError::InvalidAmount("the balance would exceed its maximum".into())
                }
                (_, Some("balance_non_negative")) => ApiError::InsufficientBalance {
                    balance: 0,
                    amount: 0,
                },
                (_, Some("reservations_one_confirmed_per_seat")) => ApiError::SeatUnavailable,
                // Deadlock / serialization failure: nothing was written; the client retries.
                (Some("40P01") | Some("40001"), _) => {
                    ApiError::Unavailable("the database", e.to_string())
                }
                // admin_shutdown, cannot_connect_now, query_canceled (statement timeout)
                (Some("57P01") | Some("57P03") | Some("57014"), _) => {
                    ApiError::Unavailable("the database", e.to_string())
                }
                _ => ApiError::Internal(e.into()),
            },
            _ => ApiError::Internal(e.into()),
        }
    }
}

impl From<RedisCallError> for ApiError {
    fn from(e: RedisCallError) -> Self {
        ApiError::Unavailable("Redis", e.to_string())
    }
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Self {
        let detail = e.to_string();
        match e {
            ApiError::Invalid(_) => Problem::new(Code::InvalidRequest, detail),
            ApiError::InvalidAmount(_) => Problem::new(Code::InvalidAmount, detail),
            ApiError::InvalidToken(_) => Problem::new(Code::InvalidToken, detail),
            ApiError::NotAdmitted => Problem::new(Code::NotAdmitted, detail),
            ApiError::WrongConcert { .. } => Problem::new(Code::WrongConcert, detail),
            ApiError::Forbidden(_) => Problem::new(Code::Forbidden, detail),
            ApiError::ConcertNotFound => Problem::new(Code::ConcertNotFound, detail),
            ApiError::ScheduleNotFound => Problem::new(Code::ScheduleNotFound, detail),
            ApiError::SeatNotFound => Problem::new(Code::SeatNotFound, detail),
            ApiError::ReservationNotFound => Problem::new(Code::ReservationNotFound, detail),
            ApiError::SeatUnavailable => Problem::new(Code::SeatUnavailable, detail),
            ApiError::HoldLimit(_) => Problem::new(Code::HoldLimit, detail),
            ApiError::ReservationExpired => Problem::new(Code::ReservationExpired, detail),
            ApiError::ReservationNotHeld(_) => Problem::new(Code::ReservationNotHeld, detail),
            ApiError::InsufficientBalance { .. } => Problem::new(Code::InsufficientBalance, detail),
            ApiError::IdempotencyKeyReused => Problem::new(Code::IdempotencyKeyReused, detail),
            ApiError::Rejected(p) => p,
            ApiError::Unavailable(what, cause) => Problem::unavailable(what, cause),
            ApiError::Internal(e) => Problem::internal(format!("{e:#}")),
        }
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError::Rejected(p)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
