//! Where a polled ticket stands: from this instance's memory when the ticket is clearly
//! still waiting, or admitted and not known to have ended (see
//! [`crate::admission::positions`]), otherwise one status script call.
//! Only `GET /v1/queue/status` uses this; booking routes always ask Redis.

use shared::store::{Inventory, Lookup, Place, Ticket};
use shared::token::{QueueClaims, TicketStatus};

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
    if claims.st == TicketStatus::Active {
        // The token's `exp` is its admission's expiry rounded up to the second: in the
        // last second before it, Redis answers (the admission may already be over).
        let expires_at_ms = claims.exp.saturating_mul(1000);
        if let Some((now_ms, inventory)) =
            state.rooms.admitted_live(claims.cid, claims.seq, claims.ep)
        {
            if now_ms + 1000 < expires_at_ms {
                metrics::counter!("queue_status_total", "source" => "memory").increment(1);
                return Ok(Polled::Ticket(Ticket {
                    seq: claims.seq,
                    place: Place::Active { expires_at_ms },
                    now_ms,
                    epoch: claims.ep,
                    inventory,
                }));
            }
        }
    }
    if claims.st == TicketStatus::Waiting {
        if let Some((rank, inventory)) = state.rooms.waiting_rank(claims.cid, claims.seq, claims.ep)
        {
            metrics::counter!("queue_status_total", "source" => "memory").increment(1);
            return Ok(Polled::Ticket(Ticket {
                seq: claims.seq,
                place: Place::Waiting { rank },
                now_ms: 0,
                epoch: claims.ep,
                inventory,
            }));
        }
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
