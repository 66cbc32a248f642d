//! Where a polled ticket stands: from this instance's memory when the ticket is clearly
//! still waiting (see [`crate::admission::positions`]), otherwise one status script call.
//! Only `GET /v1/queue/status` uses this; booking routes always ask Redis.

use shared::token::{QueueClaims, TicketStatus};

use crate::error::ApiError;
use crate::state::AppState;
use shared::store::{Place, Ticket};

/// The ticket of a verified token as it stands now; 410 `TICKET_GONE` when dropped.
pub async fn current_ticket(state: &AppState, claims: &QueueClaims) -> Result<Ticket, ApiError> {
    if claims.st == TicketStatus::Waiting {
        if let Some(rank) = state.rooms.waiting_rank(claims.cid, claims.seq) {
            metrics::counter!("queue_status_total", "source" => "memory").increment(1);
            return Ok(Ticket {
                seq: claims.seq,
                place: Place::Waiting { rank },
                now_ms: 0,
            });
        }
    }
    metrics::counter!("queue_status_total", "source" => "redis").increment(1);
    state
        .store
        .status(claims.cid, claims.user_id(), claims.seq)
        .await?
        .ok_or(ApiError::TicketGone)
}
