//! Every machine-readable error code the services return, with its HTTP status and title,
//! in one table ([`Code::ALL`] walks it). Stable and part of the contract: a client may
//! switch on `code`, and a code always comes with the same status.

use std::fmt;

use axum::http::StatusCode;
use serde::Serialize;

macro_rules! codes {
    ($($variant:ident = $wire:literal, $status:ident, $title:literal;)*) => {
        /// A problem's `code` (see the module docs).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The wire form, e.g. `SEAT_UNAVAILABLE`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $wire,)* }
            }

            pub const fn status(self) -> StatusCode {
                match self { $(Code::$variant => StatusCode::$status,)* }
            }

            /// Short, human-readable summary; the same for every occurrence.
            pub const fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }
        }
    };
}

codes! {
    InvalidRequest = "INVALID_REQUEST", BAD_REQUEST, "Invalid request";
    InvalidAmount = "INVALID_AMOUNT", BAD_REQUEST, "Invalid amount";
    InvalidTicket = "INVALID_TICKET", BAD_REQUEST, "Invalid ticket";
    InvalidToken = "INVALID_TOKEN", UNAUTHORIZED, "Invalid token";
    Unauthorized = "UNAUTHORIZED", UNAUTHORIZED, "Unauthorized";
    IdentityRequired = "IDENTITY_REQUIRED", UNAUTHORIZED, "Identity required";
    IdentityInvalid = "IDENTITY_INVALID", UNAUTHORIZED, "Identity not valid";
    InsufficientBalance = "INSUFFICIENT_BALANCE", PAYMENT_REQUIRED, "Insufficient balance";
    NotAdmitted = "NOT_ADMITTED", FORBIDDEN, "Not admitted yet";
    WrongConcert = "WRONG_CONCERT", FORBIDDEN, "Token is for another concert";
    Forbidden = "FORBIDDEN", FORBIDDEN, "Forbidden";
    IdentityMismatch = "IDENTITY_MISMATCH", FORBIDDEN, "Identity mismatch";
    SelfChargeDisabled = "SELF_CHARGE_DISABLED", FORBIDDEN, "Self-charge disabled";
    NotFound = "NOT_FOUND", NOT_FOUND, "Not found";
    ConcertNotFound = "CONCERT_NOT_FOUND", NOT_FOUND, "Concert not found";
    ScheduleNotFound = "SCHEDULE_NOT_FOUND", NOT_FOUND, "Schedule not found";
    SeatNotFound = "SEAT_NOT_FOUND", NOT_FOUND, "Seat not found";
    ReservationNotFound = "RESERVATION_NOT_FOUND", NOT_FOUND, "Reservation not found";
    TicketNotFound = "TICKET_NOT_FOUND", NOT_FOUND, "Ticket not found";
    NoDraw = "NO_DRAW", NOT_FOUND, "No opening draw";
    MethodNotAllowed = "METHOD_NOT_ALLOWED", METHOD_NOT_ALLOWED, "Method not allowed";
    SeatUnavailable = "SEAT_UNAVAILABLE", CONFLICT, "Seat unavailable";
    HoldLimit = "HOLD_LIMIT", CONFLICT, "Hold limit reached";
    ReservationExpired = "RESERVATION_EXPIRED", CONFLICT, "Reservation expired";
    ReservationNotHeld = "RESERVATION_NOT_HELD", CONFLICT, "Reservation not held";
    QueueClosed = "QUEUE_CLOSED", CONFLICT, "Queue closed";
    QueueNotOpen = "QUEUE_NOT_OPEN", CONFLICT, "Queue not open yet";
    SoldOut = "SOLD_OUT", CONFLICT, "Sold out";
    ScheduleClosed = "SCHEDULE_CLOSED", CONFLICT, "Schedule closed";
    NotEnoughSeats = "NOT_ENOUGH_SEATS", CONFLICT, "Not enough seats";
    TicketLimit = "TICKET_LIMIT", CONFLICT, "Ticket limit reached";
    CancelClosed = "CANCEL_CLOSED", CONFLICT, "Cancellation closed";
    AlreadyCheckedIn = "ALREADY_CHECKED_IN", CONFLICT, "Already checked in";
    TicketCancelled = "TICKET_CANCELLED", CONFLICT, "Ticket cancelled";
    IdempotencyInProgress = "IDEMPOTENCY_IN_PROGRESS", CONFLICT,
        "Request with this Idempotency-Key is in progress";
    TicketGone = "TICKET_GONE", GONE, "Ticket gone";
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", PAYLOAD_TOO_LARGE, "Payload too large";
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", UNSUPPORTED_MEDIA_TYPE,
        "Unsupported media type";
    IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED", UNPROCESSABLE_ENTITY,
        "Idempotency-Key reused with another request";
    RateLimited = "RATE_LIMITED", TOO_MANY_REQUESTS, "Too many requests";
    Internal = "INTERNAL", INTERNAL_SERVER_ERROR, "Internal server error";
    ServiceUnavailable = "SERVICE_UNAVAILABLE", SERVICE_UNAVAILABLE, "Service unavailable";
}

impl Code {
    /// The code with this wire form, e.g. `"SEAT_UNAVAILABLE"`.
    pub fn from_wire(s: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    #[test]
    fn serde_name_matches_wire_name_and_round_trips() {
        for &code in Code::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::from(code.as_str())
            );
            assert_eq!(Code::from_wire(code.as_str()), Some(code));
        }
    }

    #[test]
    fn schema_lists_every_code() {
        let schema = serde_json::to_value(Code::schema()).unwrap();
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .expect("Code is a string enum")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all);
    }
}
