//! The admission rule, one for both services: is the ticket a queue token carries admitted
//! right now, and how an admission ends.
//!
//! The gateway runs [`check`] before it forwards a booking call; booking runs it again
//! before a hold or a new payment. The second check is not redundant: it is what keeps a
//! forwarding bug (a path the gateway should not have passed on) from becoming a way around
//! the line. Both answer from the same single status script call, and both map a
//! [`Refusal`] to their own problem codes; neither decides admission any other way.
//!
//! Ending an admission has one owner per cause, and one script for all of them
//! (`end_admission.lua`, whose body `leave.lua` shares through `lua/lib/end_admission.lua`):
//! - a payment: booking, after the payment committed ([`end`], pipelined with the seats'
//!   "sold" markers); when Redis cannot be reached booking retries in the background until
//!   it goes through (the admission would expire at its TTL anyway), and never asks the
//!   gateway to do it;
//! - a buyer giving up the slot: the gateway's leave (`leave.lua`);
//! - expiry: the admission tick (`promote.lua`).
//!
//! Every end is recorded in the room's `ended` set, which each gateway reads on every tick,
//! so the gateways learn of an end from Redis and never from a header or a side channel.

use crate::store::seats::SeatKey;
use crate::store::{Lookup, Place, Store, StoreError};
use crate::token::QueueClaims;

/// The ticket a queue token carries: whose, in which concert's line, its number and the
/// room epoch it was issued in (0: not checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketRef {
    pub concert_id: i64,
    pub user_id: i64,
    pub seq: i64,
    pub epoch: u64,
}

impl From<&QueueClaims> for TicketRef {
    fn from(claims: &QueueClaims) -> Self {
        TicketRef {
            concert_id: claims.cid,
            user_id: claims.user_id(),
            seq: claims.seq,
            epoch: claims.ep,
        }
    }
}

/// Why a ticket is not admitted right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Still in line, at `position` (1 = next).
    Waiting { position: u64 },
    /// In the pre-queue of the opening at `opens_at_ms`.
    Prequeue { opens_at_ms: i64 },
    /// Dropped: paid, left, expired, or replaced by a newer ticket.
    Gone,
    /// The line it was in no longer exists (Redis lost its data).
    Reset,
    /// Released by the sell-out.
    SoldOut,
}

/// The rule itself, on a status lookup: admitted while the ticket's own admission is live.
pub fn rule(lookup: Lookup) -> Result<(), Refusal> {
    match lookup {
        Lookup::Found(ticket) => match ticket.place {
            Place::Active { .. } => Ok(()),
            Place::Waiting { rank } => Err(Refusal::Waiting { position: rank + 1 }),
            Place::Prequeue { opens_at_ms } => Err(Refusal::Prequeue { opens_at_ms }),
        },
        Lookup::Gone => Err(Refusal::Gone),
        Lookup::Reset => Err(Refusal::Reset),
        Lookup::SoldOut(_) | Lookup::GoneSoldOut => Err(Refusal::SoldOut),
    }
}

/// Whether `ticket` is admitted right now (one status script call). With `seat` — a
/// `(schedule id, seat number)` of the ticket's concert — the same call also reads what
/// that seat's key holds (a hold, and whose; or `sold`), so a hold on a seat someone else
/// has can be refused without another round trip.
pub async fn check(
    store: &Store,
    ticket: TicketRef,
    seat: Option<(i64, i32)>,
) -> Result<Result<Option<SeatKey>, Refusal>, StoreError> {
    let (lookup, seat_key) = store
        .status_at_seat(
            ticket.concert_id,
            ticket.user_id,
            ticket.seq,
            ticket.epoch,
            seat,
        )
        .await?;
    Ok(rule(lookup).map(|()| seat_key))
}

/// Ends the admission of `ticket` (only that ticket's: an older token cannot end a newer
/// admission of the same user); true when one was ended.
pub async fn end(store: &Store, ticket: TicketRef) -> Result<bool, StoreError> {
    store
        .end_admission(ticket.concert_id, ticket.user_id, ticket.seq)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Ticket;

    fn found(place: Place) -> Lookup {
        Lookup::Found(Ticket {
            seq: 5,
            place,
            now_ms: 0,
            epoch: 1,
            inventory: None,
        })
    }

    #[test]
    fn only_a_live_admission_is_admitted() {
        assert_eq!(rule(found(Place::Active { expires_at_ms: 9 })), Ok(()));
        assert_eq!(
            rule(found(Place::Waiting { rank: 0 })),
            Err(Refusal::Waiting { position: 1 })
        );
        assert_eq!(
            rule(found(Place::Prequeue { opens_at_ms: 7 })),
            Err(Refusal::Prequeue { opens_at_ms: 7 })
        );
        assert_eq!(rule(Lookup::Gone), Err(Refusal::Gone));
        assert_eq!(rule(Lookup::Reset), Err(Refusal::Reset));
        assert_eq!(rule(Lookup::SoldOut(None)), Err(Refusal::SoldOut));
        assert_eq!(rule(Lookup::GoneSoldOut), Err(Refusal::SoldOut));
    }
}
