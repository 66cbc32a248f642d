//! The contract's status enums, in one place: serialized in SCREAMING_SNAKE_CASE, each with
//! a schema, `as_str`, and (feature `sqlx`) read straight from a TEXT column.

/// Declares the status enums (see the module docs).
macro_rules! status_enums {
    ($(
        $(#[doc = $doc:tt])*
        pub enum $name:ident { $($(#[doc = $vdoc:tt])* $variant:ident = $wire:literal,)* }
    )*) => {$(
        $(#[doc = $doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize,
            utoipa::ToSchema,
        )]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[cfg_attr(
            feature = "sqlx",
            derive(sqlx::Type),
            sqlx(type_name = "text", rename_all = "SCREAMING_SNAKE_CASE")
        )]
        pub enum $name {
            $($(#[doc = $vdoc])* $variant,)*
        }

        impl $name {
            /// The wire (and database) form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }
        }
    )*};
}

status_enums! {
    /// A seat as buyers see it. A hold past its deadline is `AVAILABLE` at once.
    pub enum SeatStatus { Available = "AVAILABLE", Held = "HELD", Sold = "SOLD", }

    /// A reservation's state.
    pub enum ReservationStatus {
        /// Holding the seat until `held_until`.
        Held = "HELD",
        /// Paid; `payment_id` is set.
        Confirmed = "CONFIRMED",
        /// The hold ran out unpaid.
        Expired = "EXPIRED",
        /// The buyer let the seat go.
        Released = "RELEASED",
        /// A paid seat given back (by its buyer, or with its show): refunded.
        Cancelled = "CANCELLED",
    }

    /// A ticket's state (a paid seat; not a queue ticket's `TicketStatus`).
    pub enum PaidTicketStatus {
        /// Good for the door.
        Valid = "VALID",
        /// Scanned at the door (once).
        CheckedIn = "CHECKED_IN",
        /// Given back and refunded.
        Cancelled = "CANCELLED",
    }

    /// A point-history entry's kind.
    pub enum PointKind { Charge = "CHARGE", Use = "USE", Refund = "REFUND", }
}
