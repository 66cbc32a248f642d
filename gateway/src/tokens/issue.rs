//! Which token a buyer gets, and the body that goes with it.
//!
//! Rules: the token a buyer presents is handed back unchanged while it still
//! says the truth — same concert, user, ticket number and status — and a waiting token
//! still has at least half of its lifetime left. Otherwise a fresh token is minted:
//! - waiting: `exp = now + jwt.waiting_ttl_secs`;
//! - active: `exp` = the admission's expiry (rounded up to the second), so the token
//!   cannot outlive the admission it proves. Redis is checked on every use anyway, so a
//!   paid or given-up admission stops working at once.

use chrono::{DateTime, SecondsFormat, Utc};
use shared::contract::queue::TicketView;
use shared::store::{Inventory, Place, RoomSettings, Ticket};
use shared::token::{QueueClaims, TicketStatus, TokenKeys};

use crate::admission::eta;
use crate::rooms::Figures;

/// A token the buyer presented, already verified.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub token: &'a str,
    pub claims: &'a QueueClaims,
}

pub fn status_of(place: &Place) -> TicketStatus {
    match place {
        Place::Active { .. } => TicketStatus::Active,
        Place::Waiting { .. } => TicketStatus::Waiting,
        Place::Prequeue { .. } => TicketStatus::Prequeue,
    }
}

/// Whether `presented` can be handed back for this ticket as it is.
pub fn still_true(
    presented: &Presented<'_>,
    concert_id: i64,
    user_id: i64,
    ticket: &Ticket,
    waiting_ttl_secs: u64,
    now_secs: i64,
) -> bool {
    let c = presented.claims;
    let status = status_of(&ticket.place);
    let same = c.cid == concert_id
        && c.user_id() == user_id
        && c.seq == ticket.seq
        && c.st == status
        && c.ep == ticket.epoch;
    let fresh_enough = match status {
        TicketStatus::Active | TicketStatus::SoldOut => true,
        TicketStatus::Waiting | TicketStatus::Prequeue => {
            c.exp - now_secs >= (waiting_ttl_secs / 2) as i64
        }
    };
    same && fresh_enough
}

/// Mints a token for `ticket`.
pub fn mint(
    keys: &TokenKeys,
    concert_id: i64,
    user_id: i64,
    ticket: &Ticket,
    waiting_ttl_secs: u64,
    now_secs: i64,
) -> String {
    let (status, exp) = match ticket.place {
        Place::Active { expires_at_ms } => (
            TicketStatus::Active,
            (expires_at_ms.saturating_add(999) / 1000).max(now_secs + 1),
        ),
        Place::Waiting { .. } => (
            TicketStatus::Waiting,
            now_secs.saturating_add(waiting_ttl_secs as i64),
        ),
        // Good until a while after the opening, when its status call swaps it for the
        // drawn ticket's token.
        Place::Prequeue { opens_at_ms } => (
            TicketStatus::Prequeue,
            (opens_at_ms / 1000)
                .max(now_secs)
                .saturating_add(waiting_ttl_secs as i64),
        ),
    };
    keys.mint(
        &QueueClaims::new(user_id, concert_id, ticket.seq, status, now_secs, exp)
            .in_epoch(ticket.epoch),
    )
}

/// Everything needed to describe a ticket to its buyer.
pub struct ViewInput<'a> {
    pub keys: &'a TokenKeys,
    pub defaults: &'a RoomSettings,
    pub waiting_ttl_secs: u64,
    pub figures: Option<Figures>,
    pub presented: Option<Presented<'a>>,
    pub concert_id: i64,
    pub user_id: i64,
    pub ticket: Ticket,
    pub now_secs: i64,
}

/// Builds the response body, re-using the presented token when it is still true.
pub fn view(input: ViewInput<'_>) -> TicketView {
    let ViewInput {
        keys,
        defaults,
        waiting_ttl_secs,
        figures,
        presented,
        concert_id,
        user_id,
        ticket,
        now_secs,
    } = input;
    let token = match presented {
        Some(p) if still_true(&p, concert_id, user_id, &ticket, waiting_ttl_secs, now_secs) => {
            p.token.to_owned()
        }
        _ => mint(
            keys,
            concert_id,
            user_id,
            &ticket,
            waiting_ttl_secs,
            now_secs,
        ),
    };
    let mut opens_at = None;
    let (position, eta_seconds, poll_after_ms, expires_at) = match ticket.place {
        Place::Active { expires_at_ms } => (
            Some(0),
            0,
            eta::poll_after_active_ms(expires_at_ms - ticket.now_ms),
            DateTime::<Utc>::from_timestamp_millis(expires_at_ms)
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        ),
        Place::Waiting { rank } => {
            let position = rank + 1;
            let (rate, tick_ms) = match figures {
                Some(f) => (eta::admission_rate(&f.tick), f.tick.tick_ms),
                None => (
                    defaults.batch_size as f64 * 1000.0 / defaults.tick_ms.max(1) as f64,
                    defaults.tick_ms,
                ),
            };
            let eta_seconds = eta::eta_seconds(position, rate, tick_ms);
            (
                Some(position),
                eta_seconds,
                eta::poll_after_waiting_ms(eta_seconds),
                None,
            )
        }
        Place::Prequeue { opens_at_ms } => {
            opens_at = DateTime::<Utc>::from_timestamp_millis(opens_at_ms);
            let until_open_ms = opens_at_ms - ticket.now_ms;
            (
                None,
                (until_open_ms.max(0) as u64).div_ceil(1000),
                eta::poll_after_prequeue_ms(until_open_ms),
                None,
            )
        }
    };
    // Waiting in a sold-out room that keeps its line: told `sold_out`, with its place. (A
    // room without the waitlist releases its line at its next tick: until then it waits.)
    let waitlisted = figures.map_or(defaults.waitlist, |f| f.tick.waitlist);
    let sold_out = waitlisted && ticket.inventory.is_some_and(|i| i.sold_out());
    let status = match status_of(&ticket.place) {
        TicketStatus::Waiting if sold_out => TicketStatus::SoldOut,
        status => status,
    };
    let (eta_seconds, poll_after_ms) = if status == TicketStatus::SoldOut {
        (0, WAITLIST_POLL_MS)
    } else {
        (eta_seconds, poll_after_ms)
    };
    TicketView {
        token,
        status,
        concert_id,
        user_id,
        position,
        eta_seconds,
        poll_after_ms,
        expires_at,
        seats_left: ticket.inventory.map(|i| i.seats_left()),
        held: ticket.inventory.map(|i| i.held),
        opens_at,
    }
}

/// How often a buyer waiting through a sell-out asks again: seats come back a few at a
/// time, and the push stream tells at once anyway.
pub const WAITLIST_POLL_MS: u64 = 5000;

/// The answer to a ticket released by the sell-out: stop waiting (the presented token
/// stays as it is; it will be 410 `reason: sold_out` after `active_ttl_secs`).
pub fn sold_out_view(
    token: &str,
    concert_id: i64,
    user_id: i64,
    inventory: Option<Inventory>,
) -> TicketView {
    TicketView {
        token: token.to_owned(),
        status: TicketStatus::SoldOut,
        concert_id,
        user_id,
        position: Some(0),
        eta_seconds: 0,
        poll_after_ms: eta::MAX_POLL_MS,
        expires_at: None,
        seats_left: Some(inventory.map_or(0, |i| i.seats_left())),
        held: inventory.map(|i| i.held),
        opens_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use shared::config::JwtSettings;

    fn keys() -> TokenKeys {
        TokenKeys::new(&JwtSettings {
            secret: SecretString::from("unit-test-secret-unit-test-secret".to_string()),
            kid: "k1".into(),
            previous_secret: None,
            previous_kid: None,
            waiting_ttl_secs: 3600,
        })
    }

    fn waiting(seq: i64) -> Ticket {
        Ticket {
            seq,
            place: Place::Waiting { rank: 4 },
            now_ms: 0,
            epoch: 0,
            inventory: None,
        }
    }

    #[test]
    fn presented_token_is_kept_only_while_it_says_the_truth() {
        let now = 1_000_000;
        let token = "presented";
        let claims = QueueClaims::new(42, 7, 3, TicketStatus::Waiting, now, now + 3600);
        let p = Presented {
            token,
            claims: &claims,
        };
        assert!(still_true(&p, 7, 42, &waiting(3), 3600, now));
        assert!(
            !still_true(&p, 8, 42, &waiting(3), 3600, now),
            "other concert"
        );
        assert!(!still_true(&p, 7, 43, &waiting(3), 3600, now), "other user");
        assert!(
            !still_true(&p, 7, 42, &waiting(4), 3600, now),
            "other ticket"
        );
        let active = Ticket {
            place: Place::Active {
                expires_at_ms: (now + 60) * 1000,
            },
            ..waiting(3)
        };
        assert!(!still_true(&p, 7, 42, &active, 3600, now), "status changed");
        assert!(
            !still_true(&p, 7, 42, &waiting(3), 3600, now + 1801),
            "less than half its life left"
        );
    }

    #[test]
    fn active_token_expires_with_the_admission() {
        let keys = keys();
        let now = shared::token::now_secs();
        let ticket = Ticket {
            seq: 9,
            place: Place::Active {
                expires_at_ms: now * 1000 + 90_500,
            },
            now_ms: now * 1000,
            epoch: 77,
            inventory: None,
        };
        let claims = keys.verify(&mint(&keys, 1, 2, &ticket, 3600, now)).unwrap();
        assert_eq!(claims.st, TicketStatus::Active);
        assert_eq!(claims.exp, now + 91);
        assert_eq!((claims.cid, claims.user_id(), claims.seq), (1, 2, 9));
        assert_eq!(claims.ep, 77, "the room epoch travels in the token");
    }
}
