//! Where a ticket stands, from this instance's snapshot of its room: the ONE function
//! ([`decide`]) that status polls and push streams both use. Redis (the status script)
//! stays the authority; the snapshot answers what it can without a round trip, and says
//! [`Known::Ask`] where it cannot.
//!
//! The snapshot is what the ticker last observed ([`crate::rooms::Observed`]): the promote
//! reply ([`Tick`]: head of the line, counts, epoch, sold-out flag, the opening's draw) and
//! the room's `left` and `ended` sets as read with it ([`super::positions`]). From it:
//! - a waiting ticket behind the head is at `rank = seq - head_seq - (tickets between the
//!   head and it that left)`, the same count the status script's `ZRANK` gives, as of the
//!   snapshot (at most [`MAX_AGE`] old). It is `settled` when it is at least one margin
//!   behind the head — the most buyers the ticks could have admitted since the snapshot
//!   (`batch_size` per tick boundary crossed, never less than [`MIN_MARGIN`]) — so the
//!   answer cannot have turned into an admission meanwhile. A poll is answered from memory
//!   only when settled (nearer the head Redis answers); a stream is pushed the rank either
//!   way, because the pass after the admitting tick looks the ticket up in Redis;
//! - an admitted ticket is active until its token's expiry unless the `ended` set lists it
//!   (paid, given up), `settled` while that expiry is more than a second away;
//! - a ticket of another epoch is `Reset`, one that left or whose admission ended is
//!   `Gone`, a waiting ticket of a room that sold out and released its line `SoldOut` (a
//!   waitlisted room keeps it: the ticket keeps its rank);
//! - tickets the head has passed, pre-queue entries once the draw is written, and admitted
//!   tickets the ended set cannot vouch for are [`Known::Ask`]; while a draw is being
//!   written waiting tickets are [`Known::Unchanged`] (their places are still settling).
//!
//! Documented staleness: a memory answer reflects Redis as of the snapshot, at most
//! [`MAX_AGE`] old; a leave or payment through another instance shows within one read of
//! the room's sets (one tick, at most 250 ms).

use std::time::Duration;

use crate::line::Tick;
use shared::contract::rooms::DrawState;
use shared::token::TicketStatus;

use super::positions::{EndedTickets, LeftTickets};

/// Oldest snapshot a ticket's place may be told from.
pub const MAX_AGE: Duration = Duration::from_secs(1);
/// Tickets this close to the head are never `settled`.
pub const MIN_MARGIN: u64 = 64;

/// The ticket a token carries, as [`decide`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub status: TicketStatus,
    pub seq: i64,
    /// The room epoch the token was issued in (0: not checked).
    pub epoch: u64,
    /// For an admitted token: its admission's expiry (the token's `exp`), ms.
    pub expires_at_ms: i64,
}

/// One room as this instance last observed it.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    pub concert_id: i64,
    pub tick: &'a Tick,
    /// How long ago the tick was read.
    pub age: Duration,
    pub left: &'a LeftTickets,
    pub ended: &'a EndedTickets,
}

/// What the snapshot tells about a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// In line with `rank` buyers ahead; `settled`: it cannot have been admitted since.
    Waiting { rank: u64, settled: bool },
    /// Admitted until `expires_at_ms`; `settled`: more than a second of it is left.
    Active { expires_at_ms: i64, settled: bool },
    /// Left the line, or its admission ended or expired.
    Gone,
    /// Its line no longer exists (another epoch).
    Reset,
    /// Waiting in a room that sold out.
    SoldOut,
    /// Only Redis can tell (the head passed it, the draw placed it, the snapshot is stale).
    Ask,
    /// Nothing new can be told yet (the draw is still being written).
    Unchanged,
}

/// The margin behind the head within which a waiting answer may already be out of date:
/// tick boundaries since the snapshot (`floor(age / tick_ms) + 1`), each admitting up to
/// `batch_size`.
fn margin(tick: &Tick, age: Duration) -> u64 {
    let ticks_since = age.as_millis() as u64 / tick.tick_ms.max(1) + 1;
    tick.batch_size.saturating_mul(ticks_since).max(MIN_MARGIN)
}

/// Where `held` stands according to `snapshot` (see the module docs).
pub fn decide(snapshot: &Snapshot<'_>, held: Held) -> Known {
    let Snapshot {
        concert_id,
        tick,
        age,
        left,
        ended,
    } = *snapshot;
    if held.epoch != 0 && held.epoch != tick.epoch {
        return Known::Reset;
    }
    if age > MAX_AGE {
        return Known::Ask;
    }
    match held.status {
        TicketStatus::Waiting => {
            // A waitlisted room keeps its line: the ticket keeps its place.
            if tick.sold_out && !tick.waitlist {
                return Known::SoldOut;
            }
            if left.known_left(concert_id, held.seq) {
                return Known::Gone;
            }
            if !matches!(tick.opening.state, DrawState::None | DrawState::Drawn) {
                return Known::Unchanged;
            }
            // Behind the head: admitted, most likely.
            let Ok(behind) = u64::try_from(held.seq - tick.head_seq) else {
                return Known::Ask;
            };
            let Some(ahead_left) = left.left_between(concert_id, tick.head_seq, held.seq) else {
                return Known::Ask;
            };
            let rank = behind.saturating_sub(ahead_left);
            if rank >= tick.waiting {
                // Newer than the snapshot (or the line looks empty: Redis lost it?).
                return Known::Ask;
            }
            Known::Waiting {
                rank,
                settled: rank >= margin(tick, age),
            }
        }
        TicketStatus::Active => {
            let now_ms = tick.now_ms + age.as_millis() as i64;
            if held.expires_at_ms <= now_ms || ended.known_ended(concert_id, held.seq) {
                return Known::Gone;
            }
            if !ended.known_live(concert_id, held.seq) {
                return Known::Ask;
            }
            Known::Active {
                expires_at_ms: held.expires_at_ms,
                settled: now_ms + 1000 < held.expires_at_ms,
            }
        }
        TicketStatus::Prequeue => {
            if tick.opening.state == DrawState::Drawn {
                Known::Ask
            } else {
                Known::Unchanged
            }
        }
        TicketStatus::SoldOut => Known::Unchanged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(head_seq: i64, waiting: u64, batch_size: u64, tick_ms: u64) -> Tick {
        Tick {
            ran: false,
            admitted: 0,
            dropped: 0,
            waiting,
            active: 0,
            head_seq,
            admitted_last_minute: 0,
            tick_ms,
            capacity: 10,
            batch_size,
            active_ttl_secs: 60,
            mode: shared::store::RoomMode::Open,
            now_ms: 1_000_000,
            log_span_ms: 0,
            epoch: 1,
            inventory: None,
            sold_out: false,
            waitlist: true,
            opening: Default::default(),
        }
    }

    fn waiting(seq: i64) -> Held {
        Held {
            status: TicketStatus::Waiting,
            seq,
            epoch: 1,
            expires_at_ms: 0,
        }
    }

    fn synced(left: &[(i64, i64)], head_seq: i64) -> (LeftTickets, EndedTickets) {
        let (l, e) = (LeftTickets::new(100), EndedTickets::new(100));
        l.merge(1, left, head_seq);
        e.merge(1, &[], 1_000_000, 60_000);
        (l, e)
    }

    fn snapshot<'a>(
        tick: &'a Tick,
        left: &'a LeftTickets,
        ended: &'a EndedTickets,
        age: Duration,
    ) -> Snapshot<'a> {
        Snapshot {
            concert_id: 1,
            tick,
            age,
            left,
            ended,
        }
    }

    #[test]
    fn far_back_tickets_are_settled_and_leavers_ahead_are_subtracted() {
        let t = tick(1_000, 10_000, 100, 1_000);
        let (left, ended) = synced(&[(1_200, 5), (1_300, 6)], 1_000);
        let s = snapshot(&t, &left, &ended, Duration::from_millis(100));
        assert_eq!(
            decide(&s, waiting(1_500)),
            Known::Waiting {
                rank: 498,
                settled: true
            }
        );
        assert_eq!(
            decide(&s, waiting(1_050)),
            Known::Waiting {
                rank: 50,
                settled: false
            },
            "a tick of 100 could admit it before the snapshot refreshes"
        );
        assert_eq!(decide(&s, waiting(1_200)), Known::Gone);
        assert_eq!(decide(&s, waiting(999)), Known::Ask, "behind the head");
        assert_eq!(
            decide(&s, waiting(11_001)),
            Known::Waiting {
                rank: 9_999,
                settled: true
            },
            "the last of 10,000 waiting (two left ahead of it)"
        );
        assert_eq!(
            decide(&s, waiting(11_002)),
            Known::Ask,
            "newer than the tick"
        );
        let stale = Snapshot {
            age: Duration::from_secs(2),
            ..s
        };
        assert_eq!(decide(&stale, waiting(5_000)), Known::Ask);
        let other_epoch = Held {
            epoch: 2,
            ..waiting(5_000)
        };
        assert_eq!(decide(&s, other_epoch), Known::Reset);
    }

    #[test]
    fn short_ticks_widen_the_margin() {
        let t = tick(1_000, 10_000, 100, 10);
        let (left, ended) = synced(&[], 1_000);
        let s = snapshot(&t, &left, &ended, Duration::from_millis(100));
        assert!(matches!(
            decide(&s, waiting(2_099)),
            Known::Waiting { settled: false, .. }
        ));
        assert!(matches!(
            decide(&s, waiting(2_100)),
            Known::Waiting { settled: true, .. }
        ));
    }

    #[test]
    fn admitted_tickets_are_live_until_expiry_unless_ended() {
        let t = tick(1_000, 10, 1, 1_000);
        let (left, ended) = synced(&[], 1_000);
        ended.merge(1, &[(7, 999_000)], 1_000_000, 60_000);
        let s = snapshot(&t, &left, &ended, Duration::ZERO);
        let active = |seq, expires_at_ms| Held {
            status: TicketStatus::Active,
            seq,
            epoch: 1,
            expires_at_ms,
        };
        assert_eq!(
            decide(&s, active(5, 1_060_000)),
            Known::Active {
                expires_at_ms: 1_060_000,
                settled: true
            }
        );
        assert_eq!(
            decide(&s, active(5, 1_000_500)),
            Known::Active {
                expires_at_ms: 1_000_500,
                settled: false
            }
        );
        assert_eq!(decide(&s, active(7, 1_060_000)), Known::Gone, "paid");
        assert_eq!(decide(&s, active(5, 999_999)), Known::Gone, "expired");
        let never_read = EndedTickets::new(10);
        let unread = Snapshot {
            ended: &never_read,
            ..s
        };
        assert_eq!(decide(&unread, active(5, 1_060_000)), Known::Ask);
    }
}
