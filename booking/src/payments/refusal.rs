//! Why the payment functions refused a payment. `pay_reservations`
//! (`booking/sql/functions/pay_reservations.sql`) raises each refusal as an exception with its own SQLSTATE (class `TB`, ours) and a
//! DETAIL; this module is the one table between those SQLSTATEs and [`Refusal`]. A
//! refusal rolled everything of its payment back.

/// A payment the database refused (nothing changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The `Idempotency-Key` was used before with another request.
    KeyReused,
    /// A reservation does not exist.
    NotFound,
    /// A reservation belongs to another buyer.
    NotOwner { reservation: String },
    /// A reservation is for another concert than the token's.
    WrongConcert { token: i64, resource: i64 },
    /// A hold ran out before the payment.
    Expired,
    /// A reservation is not HELD any more (`status` says what it is).
    NotHeld { status: String },
    /// The balance is below the total.
    InsufficientBalance { balance: i64, amount: i64 },
    /// The reservations are some, not all, of an order's held seats.
    PartOfOrder { order: String },
}

/// The kinds, by SQLSTATE, as `pay_reservations` raises them.
const SQLSTATES: &[(&str, Kind)] = &[
    ("TB422", Kind::KeyReused),
    ("TB404", Kind::NotFound),
    ("TB403", Kind::NotOwner),
    ("TB4WC", Kind::WrongConcert),
    ("TB409", Kind::Expired),
    ("TB4NH", Kind::NotHeld),
    ("TB402", Kind::InsufficientBalance),
    ("TB4PO", Kind::PartOfOrder),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    KeyReused,
    NotFound,
    NotOwner,
    WrongConcert,
    Expired,
    NotHeld,
    InsufficientBalance,
    PartOfOrder,
}

impl Refusal {
    /// Whether `sqlstate` is one of the payment functions' refusals.
    pub fn is_refusal(sqlstate: &str) -> bool {
        SQLSTATES.iter().any(|(code, _)| *code == sqlstate)
    }

    /// The refusal raised with `sqlstate` and `detail`; `token_concert` is the concert of
    /// the paying token (the DETAIL of a wrong-concert refusal names the other one).
    /// `None` for any other SQLSTATE.
    pub fn from_sqlstate(sqlstate: &str, detail: &str, token_concert: i64) -> Option<Self> {
        let (_, kind) = SQLSTATES.iter().find(|(code, _)| *code == sqlstate)?;
        Some(match kind {
            Kind::KeyReused => Refusal::KeyReused,
            Kind::NotFound => Refusal::NotFound,
            Kind::NotOwner => Refusal::NotOwner {
                reservation: detail.to_owned(),
            },
            Kind::WrongConcert => Refusal::WrongConcert {
                token: token_concert,
                resource: detail.parse().unwrap_or_default(),
            },
            Kind::Expired => Refusal::Expired,
            Kind::NotHeld => Refusal::NotHeld {
                status: detail.to_owned(),
            },
            Kind::PartOfOrder => Refusal::PartOfOrder {
                order: detail.to_owned(),
            },
            Kind::InsufficientBalance => {
                // DETAIL: "<balance> <amount>"
                let mut numbers = detail.split(' ').map(|n| n.parse().unwrap_or_default());
                Refusal::InsufficientBalance {
                    balance: numbers.next().unwrap_or_default(),
                    amount: numbers.next().unwrap_or_default(),
                }
            }
        })
    }

    /// The SQLSTATE this refusal is raised with.
    pub fn sqlstate(&self) -> &'static str {
        let kind = match self {
            Refusal::KeyReused => Kind::KeyReused,
            Refusal::NotFound => Kind::NotFound,
            Refusal::NotOwner { .. } => Kind::NotOwner,
            Refusal::WrongConcert { .. } => Kind::WrongConcert,
            Refusal::Expired => Kind::Expired,
            Refusal::NotHeld { .. } => Kind::NotHeld,
            Refusal::InsufficientBalance { .. } => Kind::InsufficientBalance,
            Refusal::PartOfOrder { .. } => Kind::PartOfOrder,
        };
        SQLSTATES
            .iter()
            .find(|(_, k)| *k == kind)
            .map(|(code, _)| *code)
            .unwrap_or("TB000")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_read_into_the_refusal() {
        assert_eq!(
            Refusal::from_sqlstate("TB402", "500 1000", 7),
            Some(Refusal::InsufficientBalance {
                balance: 500,
                amount: 1000
            })
        );
        assert_eq!(
            Refusal::from_sqlstate("TB4WC", "9", 7),
            Some(Refusal::WrongConcert {
                token: 7,
                resource: 9
            })
        );
        assert_eq!(
            Refusal::from_sqlstate("TB4NH", "CONFIRMED", 7),
            Some(Refusal::NotHeld {
                status: "CONFIRMED".into()
            })
        );
        assert_eq!(Refusal::from_sqlstate("23505", "", 7), None);
        assert!(!Refusal::is_refusal("40P01"));
    }

    #[test]
    fn every_refusal_round_trips_through_its_sqlstate() {
        for (code, _) in SQLSTATES {
            let refusal = Refusal::from_sqlstate(code, "1 2", 3).unwrap();
            assert_eq!(refusal.sqlstate(), *code);
            assert!(Refusal::is_refusal(code));
        }
    }
}
