//! Booking's one error type: one variant per contract code it can return, rendered as
//! problem+json by [`shared::Problem`]. Database errors are classified here — constraint
//! violations by name, SQLSTATEs that mean "not now" as 503 ([`sqlstate`]) — so domain code
//! can use `?` freely.

use axum::response::{IntoResponse, Response};
use shared::store::{RedisCallError, StoreError};
use shared::{Code, Problem};

use crate::payments::refusal::Refusal;

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
    #[error("the ticket was dropped (paid, left or expired); join the queue again")]
    TicketGone,
    #[error("the show has started: its seats can no longer be held")]
    ScheduleClosed,
    #[error(
        "the line this ticket was in was lost (the queue store restarted); join the queue again"
    )]
    QueueReset,
    #[error("{0}")]
    IdentityRequired(String),
    #[error("no such payment")]
    PaymentNotFound,
    /// Anything else that does not exist (a venue, an order): 404 `NOT_FOUND`.
    #[error("{0}")]
    NotFound(String),
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
    /// Some seats of an order are held or sold (nothing was held).
    #[error("seats {0:?} are held or sold; nothing was held")]
    SeatsTaken(Vec<i32>),
    #[error("only {0} seats like these are left")]
    NotEnoughSeats(i64),
    #[error("at most {limit} tickets per buyer for this concert; you hold or own {owned}")]
    TicketLimit { limit: i32, owned: i64 },
    #[error("no such ticket")]
    TicketNotFound,
    #[error("the ticket is cancelled")]
    TicketCancelled,
    #[error("the ticket was already checked in")]
    AlreadyCheckedIn(Option<chrono::DateTime<chrono::Utc>>),
    #[error("tickets of this show could be cancelled until {0}")]
    CancelClosed(chrono::DateTime<chrono::Utc>),
    #[error("not a valid ticket code: {0}")]
    InvalidTicket(String),
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
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error("{0} is unavailable")]
    Unavailable(&'static str, String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What SQLSTATEs mean here.
pub mod sqlstate {
    /// The database cannot do the work now and nothing was written: query canceled (the
    /// statement timeout), operator intervention (shutting down, starting up), connection
    /// exceptions, insufficient resources. The client retries later (503).
    pub fn unavailable(code: &str) -> bool {
        code == "57014"
            || code.starts_with("57P")
            || code.starts_with("08")
            || code.starts_with("53")
    }

    /// Deadlock detected or serialization failure: this transaction lost a race and was
    /// rolled back; the same work may succeed at once.
    pub fn lost_race(code: &str) -> bool {
        code == "40P01" || code == "40001"
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &e {
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) => {
                ApiError::Unavailable("the database", e.to_string())
            }
            E::Database(db) => {
                let code = db.code().unwrap_or_default();
                match db.constraint() {
                    Some("balance_max") => {
                        ApiError::InvalidAmount("the balance would exceed its maximum".into())
                    }
                    Some("balance_non_negative") => ApiError::InsufficientBalance {
                        balance: 0,
                        amount: 0,
                    },
                    Some("reservations_one_confirmed_per_seat") => ApiError::SeatUnavailable,
                    _ if sqlstate::unavailable(&code) || sqlstate::lost_race(&code) => {
                        ApiError::Unavailable("the database", e.to_string())
                    }
                    _ => ApiError::Internal(e.into()),
                }
            }
            _ => ApiError::Internal(e.into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Redis(e) => ApiError::Unavailable("Redis", e.to_string()),
            StoreError::UnexpectedReply(reply) => ApiError::Internal(anyhow::anyhow!(reply)),
        }
    }
}

impl From<RedisCallError> for ApiError {
    fn from(e: RedisCallError) -> Self {
        ApiError::Unavailable("Redis", e.to_string())
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::KeyReused => ApiError::IdempotencyKeyReused,
            Refusal::NotFound => ApiError::ReservationNotFound,
            Refusal::NotOwner { reservation } => ApiError::Forbidden(format!(
                "reservation {reservation} belongs to another buyer"
            )),
            Refusal::WrongConcert { token, resource } => ApiError::WrongConcert { token, resource },
            Refusal::Expired => ApiError::ReservationExpired,
            Refusal::NotHeld { status } => ApiError::ReservationNotHeld(status),
            Refusal::InsufficientBalance { balance, amount } => {
                ApiError::InsufficientBalance { balance, amount }
            }
            Refusal::PartOfOrder { order } => ApiError::Invalid(format!(
                "these reservations are part of order {order}: an order's seats are paid \
                 together (pay with order_id, or name all its reservations)"
            )),
        }
    }
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Self {
        let detail = e.to_string();
        let code = match e {
            ApiError::Invalid(_) => Code::InvalidRequest,
            ApiError::InvalidAmount(_) => Code::InvalidAmount,
            ApiError::InvalidToken(_) => Code::InvalidToken,
            ApiError::NotAdmitted => Code::NotAdmitted,
            ApiError::TicketGone => Code::TicketGone,
            ApiError::ScheduleClosed => Code::ScheduleClosed,
            ApiError::QueueReset => {
                return Problem::new(Code::TicketGone, detail).with("reason", "queue_reset")
            }
            ApiError::IdentityRequired(_) => Code::IdentityRequired,
            ApiError::PaymentNotFound | ApiError::NotFound(_) => Code::NotFound,
            ApiError::WrongConcert { .. } => Code::WrongConcert,
            ApiError::Forbidden(_) => Code::Forbidden,
            ApiError::ConcertNotFound => Code::ConcertNotFound,
            ApiError::ScheduleNotFound => Code::ScheduleNotFound,
            ApiError::SeatNotFound => Code::SeatNotFound,
            ApiError::ReservationNotFound => Code::ReservationNotFound,
            ApiError::SeatUnavailable => Code::SeatUnavailable,
            ApiError::SeatsTaken(seat_nos) => {
                return Problem::new(Code::SeatUnavailable, detail).with("seat_nos", seat_nos)
            }
            ApiError::NotEnoughSeats(available) => {
                return Problem::new(Code::NotEnoughSeats, detail).with("available", available)
            }
            ApiError::TicketNotFound => Code::TicketNotFound,
            ApiError::TicketCancelled => Code::TicketCancelled,
            ApiError::InvalidTicket(_) => Code::InvalidTicket,
            ApiError::AlreadyCheckedIn(at) => {
                let problem = Problem::new(Code::AlreadyCheckedIn, detail);
                return match at {
                    Some(at) => problem.with(
                        "checked_in_at",
                        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    ),
                    None => problem,
                };
            }
            ApiError::CancelClosed(until) => {
                return Problem::new(Code::CancelClosed, detail).with(
                    "cancel_until",
                    until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                )
            }
            ApiError::TicketLimit { limit, owned } => {
                return Problem::new(Code::TicketLimit, detail)
                    .with("limit", limit)
                    .with("owned", owned)
            }
            ApiError::HoldLimit(_) => Code::HoldLimit,
            ApiError::ReservationExpired => Code::ReservationExpired,
            ApiError::ReservationNotHeld(_) => Code::ReservationNotHeld,
            ApiError::InsufficientBalance { .. } => Code::InsufficientBalance,
            ApiError::IdempotencyKeyReused => Code::IdempotencyKeyReused,
            ApiError::Problem(p) => return p,
            ApiError::Unavailable(what, cause) => return Problem::unavailable(what, cause),
            ApiError::Internal(e) => return Problem::internal(format!("{e:#}")),
        };
        Problem::new(code, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_now_sqlstates_are_unavailable_and_others_are_not() {
        for code in ["57014", "57P01", "57P03", "08006", "53300"] {
            assert!(sqlstate::unavailable(code), "{code}");
        }
        for code in ["23505", "40P01", "TB402", "42601"] {
            assert!(!sqlstate::unavailable(code), "{code}");
        }
        assert!(sqlstate::lost_race("40P01") && sqlstate::lost_race("40001"));
    }

    #[test]
    fn every_refusal_maps_to_its_code() {
        let cases = [
            (Refusal::KeyReused, Code::IdempotencyKeyReused),
            (Refusal::NotFound, Code::ReservationNotFound),
            (
                Refusal::NotOwner {
                    reservation: "r".into(),
                },
                Code::Forbidden,
            ),
            (
                Refusal::WrongConcert {
                    token: 1,
                    resource: 2,
                },
                Code::WrongConcert,
            ),
            (Refusal::Expired, Code::ReservationExpired),
            (
                Refusal::NotHeld {
                    status: "CONFIRMED".into(),
                },
                Code::ReservationNotHeld,
            ),
            (
                Refusal::InsufficientBalance {
                    balance: 1,
                    amount: 2,
                },
                Code::InsufficientBalance,
            ),
        ];
        for (refusal, code) in cases {
            assert_eq!(Problem::from(ApiError::from(refusal)).code, code);
        }
    }
}
