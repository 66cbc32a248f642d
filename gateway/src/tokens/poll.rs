//! Where a polled ticket stands: from this instance's memory when the ticket is clearly
//! still waiting (see [`crate::admission::positions`]), otherwise one status script call.
//! Only `GET /v1/queue/status` uses this; booking routes always ask Redis.

use shared::token::{QueueClaims, TicketStatus};

use crate::error::ApiError;
use crate::state::AppState;
use shared::store::{Lookup, Place, Ticket};

/// The ticket of a verified token as it stands now; 410 `TICKET_GONE` when dropped (with
/// `reason: queue_reset` when its line no longer exists).
pub async fn current_ticket(state: &AppState, claims: &QueueClaims) -> Result<Ticket, ApiError> {
    if claims.st == TicketStatus::Waiting {
        if let Some(rank) = state.rooms.waiting_rank(claims.cid, claims.seq, claims.ep) {
            metrics::counter!("queue_status_total", "source" => "memory").increment(1);
            return Ok(Ticket {
                seq: claims.seq,
                place: Place::Waiting { rank },
                now_ms: 0,
                epoch: claims.ep,
            });
        }
    }
    metrics::counter!("queue_status_total", "source" => "redis").increment(1);
    match state
        .store
        .status(claims.cid, claims.user_id(), claims.seq, claims.ep)
        .await?
    {
        Lookup::Found(ticket) => Ok(ticket),
        Lookup::Gone => Err(ApiError::TicketGone),
        Lookup::Reset => Err(ApiError::QueueReset),
    }
}
