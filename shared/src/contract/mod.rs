//! The wire contract: every public request and response body, status enum and problem
//! code, defined once and spoken by both services (a contract is not a service).
//!
//! Booking's handlers take and return these types; the gateway passes booking's bodies
//! through unchanged and builds its own (queue, rooms) from here too, so a field added to a
//! type here shows up in both services and both OpenAPI documents at once. [`paths`] holds
//! the OpenAPI description of booking's public routes ([`paths::BookingApi`]): booking's
//! document and the gateway's both merge it instead of describing those routes twice.
//!
//! One module per resource; the status enums derive `sqlx::Type` (as `TEXT`) when the
//! `sqlx` feature is on, so booking reads them straight from its rows.

pub mod admin;
pub mod code;
pub mod concerts;
pub mod ops;
pub mod paths;
pub mod payments;
pub mod points;
pub mod queue;
pub mod reservations;
pub mod rooms;
pub mod seats;
pub mod status;
pub mod tickets;

pub use code::Code;

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::status::{PaidTicketStatus, PointKind, ReservationStatus, SeatStatus};

    fn enum_values(schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>) -> Vec<String> {
        serde_json::to_value(schema).unwrap()["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn status_enums_speak_their_wire_form_everywhere() {
        let seats = [SeatStatus::Available, SeatStatus::Held, SeatStatus::Sold];
        for s in seats {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(
            enum_values(SeatStatus::schema()),
            ["AVAILABLE", "HELD", "SOLD"]
        );
        assert_eq!(
            enum_values(ReservationStatus::schema()),
            ["HELD", "CONFIRMED", "EXPIRED", "RELEASED", "CANCELLED"]
        );
        for r in [
            ReservationStatus::Held,
            ReservationStatus::Confirmed,
            ReservationStatus::Expired,
            ReservationStatus::Released,
            ReservationStatus::Cancelled,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert_eq!(
            enum_values(PaidTicketStatus::schema()),
            ["VALID", "CHECKED_IN", "CANCELLED"]
        );
        for t in [
            PaidTicketStatus::Valid,
            PaidTicketStatus::CheckedIn,
            PaidTicketStatus::Cancelled,
        ] {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(
            enum_values(PointKind::schema()),
            ["CHARGE", "USE", "REFUND"]
        );
        assert_eq!(serde_json::to_value(PointKind::Use).unwrap(), "USE");
    }
}
