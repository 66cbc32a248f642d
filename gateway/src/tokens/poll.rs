//! Where a polled ticket stands: from this instance's memory when the ticket is clearly
//! still waiting (see [`crate::admission::positions`]), otherwise one status script call.
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
