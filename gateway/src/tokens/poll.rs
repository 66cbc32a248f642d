//! Where a polled ticket stands: from this instance's snapshot of the room when it can
//! tell for sure ([`crate::admission::place`], the same function the push streams use:
//! a waiting ticket at least a margin behind the head, an admission the ended list vouches
//! for), otherwise one status script call. Only `GET /v1/queue/status` uses this; booking
//! routes always ask Redis ([`shared::admission`]).

use shared::store::{Inventory, Lookup, Place, Ticket};
use shared::token::QueueClaims;

use crate::admission::place::Known;

use crate::error::ApiError;
use crate::state::AppState;

/// What a poll finds.
pub enum Polled {
    Ticket(Ticket),
    /// Released by the sell-out: stop waiting.
    SoldOut(Option<Inventory>),
}

/// The ticket of a verified token as it stands now; 410 `TICKET_GONE` when dropped (with
/// `reason: queue_reset` when its line no longer exists, `sold_out` when the sell-out
/// released it long enough ago).
pub async fn current_ticket(state: &AppState, claims: &QueueClaims) -> Result<Polled, ApiError> {
    let memory = match state.rooms.place(claims) {
        Some((
            Known::Waiting {
                rank,
                settled: true,
            },
            figures,
        )) => Some((Place::Waiting { rank }, 0, figures.tick.inventory)),
        Some((
            Known::Active {
                expires_at_ms,
                settled: true,
            },
            figures,
        )) => Some((
            Place::Active { expires_at_ms },
            figures.tick.now_ms + figures.seen.elapsed().as_millis() as i64,
            figures.tick.inventory,
        )),
        // Anything else (near the head, gone, sold out, another epoch, a stale snapshot):
        // Redis says it with its reason.
        _ => None,
    };
    if let Some((place, now_ms, inventory)) = memory {
        metrics::counter!("queue_status_total", "source" => "memory").increment(1);
        return Ok(Polled::Ticket(Ticket {
            seq: claims.seq,
            place,
            now_ms,
            epoch: claims.ep,
            inventory,
        }));
    }
    metrics::counter!("queue_status_total", "source" => "redis").increment(1);
    match state
        .store
        .status(claims.cid, claims.user_id(), claims.seq, claims.ep)
        .await?
    {
        Lookup::Found(ticket) => Ok(Polled::Ticket(ticket)),
        Lookup::SoldOut(inventory) => Ok(Polled::SoldOut(inventory)),
        Lookup::Gone => Err(ApiError::TicketGone),
        Lookup::Reset => Err(ApiError::QueueReset),
        Lookup::GoneSoldOut => Err(ApiError::SoldOutGone),
    }
}
