//! Tickets: every paid seat is one. A buyer lists theirs with a signed code each
//! ([`signing`]: EdDSA JWS, verifiable offline with `GET /v1/tickets/keys`); a door checks a
//! code in once (`POST /admin/checkins`); a buyer cancels a ticket until the schedule's
//! `cancel_until` for a fee; an operator cancels a show and every ticket of it is refunded
//! in full in the background ([`refunds`]).
//!
//! Exactly once, by construction:
//! - a check-in is one conditional `UPDATE` (`checked_in_at IS NULL` and the ticket valid):
//!   of any number of doors scanning one code at once, one row update wins, the others see
//!   it checked in (409 `ALREADY_CHECKED_IN` with the first time);
//! - a cancellation is one transaction (buyer locked, seat AVAILABLE, ticket CANCELLED
//!   only while valid and not checked in, refund credited and recorded, the answer saved
//!   under its `Idempotency-Key`): a replay gets the saved answer, a check-in and a
//!   cancellation racing for one ticket cannot both win (both update its row
//!   conditionally);
//! - a show's refunds only touch tickets still CONFIRMED, in transactions that lock their
//!   buyers first, so a refund is made once however often the worker restarts.
//!
//! After a cancellation the seat's `sold` marker in Redis is removed, so the seat can be
//! held again at once (and the waiting line learns of it from the published inventory).

pub mod refunds;
pub mod signing;
pub mod store;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use shared::contract::tickets::{
    Cancelled, Checkin, CheckinRequest, Jwks, OwnedTicket, PaidTicketStatus, ScheduleAdmin,
    TicketClaims, TicketList,
};
use shared::http::{Json, Path, CALLER};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::idempotency::{self, Begin, IdempotencyKey};
use crate::state::AppState;

/// The buyer routes (they answer the gateway only).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/{user_id}/tickets", get(list))
        .route("/v1/tickets/keys", get(keys))
        .route("/v1/tickets/{ticket_id}/cancel", post(cancel))
}

/// The doors' and operators' routes.
pub fn admin_router() -> Router<AppState> {
    Router::new()
        .route("/admin/checkins", post(check_in))
        .route("/admin/schedules/{schedule_id}", get(show_schedule))
        .route("/admin/schedules/{schedule_id}/cancel", post(cancel_show))
}

/// Most tickets one list returns.
const LIST_LIMIT: i64 = 200;

impl store::TicketRow {
    /// The ticket as its buyer sees it, code signed now (Ed25519 is deterministic: the same
    /// ticket always has the same code under the same key).
    fn view(self, state: &AppState) -> OwnedTicket {
        let claims = TicketClaims {
            tid: self.ticket_id,
            sch: self.schedule_id,
            seat: self.seat_no,
            sub: self.user_id.to_string(),
            iat: self.paid_at.timestamp(),
        };
        let refund_if_cancelled = (self.status == PaidTicketStatus::Valid
            && !self.show_cancelled
            && chrono::Utc::now() < self.cancel_until)
            .then(|| self.price - fee(state, self.price));
        OwnedTicket {
            ticket_id: self.ticket_id,
            concert_id: self.concert_id,
            title: self.title,
            schedule_id: self.schedule_id,
            starts_at: self.starts_at,
            seat_no: self.seat_no,
            section: self.section,
            row: self.row,
            number: self.number,
            grade: self.grade,
            price: self.price,
            status: self.status,
            code: state.ticket_keys.sign(&claims),
            cancel_until: self.cancel_until,
            refund_if_cancelled,
        }
    }
}

/// A buyer cancellation's fee: floor(price × `orders.cancel_fee_percent` / 100).
fn fee(state: &AppState, price: i64) -> i64 {
    price * i64::from(state.settings.orders.cancel_fee_percent) / 100
}

/// `GET /v1/users/{user_id}/tickets`: no admission (the gateway binds the path's user to
/// the caller, like points).
#[tracing::instrument(skip(state))]
async fn list(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<TicketList>> {
    let user_id = crate::points::valid_user_id(user_id)?;
    let mut conn = state.db.acquire().await?;
    let rows = store::of_user(&mut conn, user_id, LIST_LIMIT).await?;
    Ok(Json(TicketList {
        user_id,
        tickets: rows.into_iter().map(|r| r.view(&state)).collect(),
    }))
}

/// `GET /v1/tickets/keys`: the JWKS a door verifies codes with.
async fn keys(State(state): State<AppState>) -> Json<Jwks> {
    Json(state.ticket_keys.jwks())
}

/// Who asks, as the gateway says (`X-User-Id`).
fn caller(headers: &HeaderMap) -> ApiResult<i64> {
    headers
        .get(&CALLER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::IdentityRequired("X-User-Id (set by the gateway) is required".into())
        })
}

/// `POST /v1/tickets/{ticket_id}/cancel` (owner only, `Idempotency-Key`).
#[tracing::instrument(skip(state, headers))]
async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(ticket_id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let user_id = caller(&headers)?;
    let key = IdempotencyKey::from_headers(&headers)?;
    let fingerprint = idempotency::fingerprint(&ticket_id);
    let mut tx = state.db.begin().await?;
    if let Begin::Replay(status, body) =
        idempotency::begin(&mut tx, user_id, "cancel", &key, &fingerprint).await?
    {
        return Ok((status, Json(body)));
    }
    crate::holds::store::lock_user(&mut tx, user_id).await?;
    let ticket = store::find(&mut tx, ticket_id)
        .await?
        .filter(|t| t.user_id == user_id)
        .ok_or(ApiError::TicketNotFound)?;
    match ticket.status {
        PaidTicketStatus::Cancelled => return Err(ApiError::TicketCancelled),
        PaidTicketStatus::CheckedIn => return Err(ApiError::AlreadyCheckedIn(None)),
        PaidTicketStatus::Valid => {}
    }
    if ticket.show_cancelled || chrono::Utc::now() >= ticket.cancel_until {
        return Err(ApiError::CancelClosed(ticket.cancel_until));
    }
    let fee = fee(&state, ticket.price);
    let refund = ticket.price - fee;
    if !store::cancel(&mut tx, &ticket, refund, fee).await? {
        // A door checked it in meanwhile.
        return Err(ApiError::AlreadyCheckedIn(None));
    }
    let balance = store::refund(&mut tx, user_id, refund, &format!("refund:{ticket_id}")).await?;
    let body = serde_json::to_value(Cancelled {
        ticket_id,
        refund,
        fee,
        balance,
    })
    .map_err(anyhow::Error::from)?;
    idempotency::save(&mut tx, user_id, "cancel", &key, StatusCode::OK, &body).await?;
    tx.commit().await?;
    metrics::counter!("booking_tickets_cancelled_total", "by" => "buyer").increment(1);
    // The seat sells again at once: its `sold` marker goes (best effort; it expires).
    if let Err(e) = state
        .store
        .unmark_sold(ticket.concert_id, ticket.schedule_id, &[ticket.seat_no])
        .await
    {
        tracing::warn!(error = %e, %ticket_id, "could not clear the seat's sold marker");
    }
    Ok((StatusCode::OK, Json(body)))
}

/// The doors: the door token (`door.token`) or the admin token.
pub struct Door;

impl FromRequestParts<AppState> for Door {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(door) = &state.settings.door.token {
            if shared::auth::require_admin(&parts.headers, door).is_ok() {
                return Ok(Door);
            }
        }
        shared::auth::require_admin(&parts.headers, &state.settings.admin.token)?;
        Ok(Door)
    }
}

/// `POST /admin/checkins`: a code scanned at a door.
#[utoipa::path(
    post, path = "/admin/checkins", operation_id = "check_in", tag = "admin",
    summary = "Check a ticket in at the door (door token or admin token)",
    description = "The code is verified (signature, `kid`) and the ticket checked in exactly \
                   once, however many doors scan it at the same moment: the first gets 200, \
                   every other 409 `ALREADY_CHECKED_IN` with the first `checked_in_at`.",
    security(("admin_token" = [])),
    request_body = CheckinRequest,
    responses(
        (status = 200, description = "Checked in now.", body = Checkin),
        (status = 400, description = "`INVALID_TICKET`: a bad signature, an unknown key or not a \
         code. `INVALID_REQUEST`: malformed body.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "`TICKET_NOT_FOUND`: a genuine code of a ticket that does \
         not exist (any more).",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`ALREADY_CHECKED_IN` (with `checked_in_at`), \
         `TICKET_CANCELLED`.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
    )
)]
#[tracing::instrument(skip(state, _door, request))]
async fn check_in(
    State(state): State<AppState>,
    _door: Door,
    Json(request): Json<CheckinRequest>,
) -> ApiResult<Json<Checkin>> {
    let claims = state.ticket_keys.verify(&request.code).map_err(|e| {
        metrics::counter!("booking_checkins_total", "outcome" => "invalid").increment(1);
        ApiError::InvalidTicket(e.to_string())
    })?;
    let user_id: i64 = claims
        .sub
        .parse()
        .map_err(|_| ApiError::InvalidTicket("the code's `sub` is not a user id".into()))?;
    let mut conn = state.db.acquire().await?;
    if let Some(done) =
        store::check_in(&mut conn, claims.tid, claims.sch, claims.seat, user_id).await?
    {
        metrics::counter!("booking_checkins_total", "outcome" => "in").increment(1);
        return Ok(Json(done));
    }
    let ticket = store::find(&mut conn, claims.tid).await?.filter(|t| {
        t.schedule_id == claims.sch && t.seat_no == claims.seat && t.user_id == user_id
    });
    let outcome = match ticket.map(|t| t.status) {
        None => ApiError::TicketNotFound,
        Some(PaidTicketStatus::Cancelled) => ApiError::TicketCancelled,
        Some(_) => ApiError::AlreadyCheckedIn(store::checked_in_at(&mut conn, claims.tid).await?),
    };
    let label = match outcome {
        ApiError::TicketCancelled => "cancelled",
        ApiError::TicketNotFound => "unknown",
        _ => "again",
    };
    metrics::counter!("booking_checkins_total", "outcome" => label).increment(1);
    Err(outcome)
}

/// `GET /admin/schedules/{schedule_id}`.
#[utoipa::path(
    get, path = "/admin/schedules/{schedule_id}", operation_id = "get_schedule", tag = "admin",
    summary = "A schedule: cut-off, whether it is cancelled, its refunds' progress",
    params(("schedule_id" = i64, Path, description = "Schedule id")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The schedule.", body = ScheduleAdmin),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 404, description = "`SCHEDULE_NOT_FOUND`: no such schedule.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip(state, _admin))]
async fn show_schedule(
    State(state): State<AppState>,
    _admin: crate::auth::Admin,
    Path(schedule_id): Path<i64>,
) -> ApiResult<Json<ScheduleAdmin>> {
    let mut conn = state.db.acquire().await?;
    store::schedule_admin(&mut conn, schedule_id)
        .await?
        .map(Json)
        .ok_or(ApiError::ScheduleNotFound)
}

/// `POST /admin/schedules/{schedule_id}/cancel`: the show stops selling now; its tickets
/// are refunded in full in the background (202; progress in `GET /admin/schedules/{id}`).
#[utoipa::path(
    post, path = "/admin/schedules/{schedule_id}/cancel", operation_id = "cancel_schedule",
    tag = "admin", summary = "Cancel a show: it stops selling now, every ticket is refunded in full",
    description = "Holds are released at once and new holds refused (409 `SCHEDULE_CLOSED`). \
                   The refunds run in the background, exactly once each, resuming after a \
                   restart; `GET /admin/schedules/{schedule_id}` shows `refunded` and \
                   `to_refund`. Cancelling again changes nothing.",
    params(("schedule_id" = i64, Path, description = "Schedule id")),
    security(("admin_token" = [])),
    responses(
        (status = 202, description = "Cancelled; refunds under way.", body = ScheduleAdmin),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 404, description = "`SCHEDULE_NOT_FOUND`: no such schedule.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip(state, _admin))]
async fn cancel_show(
    State(state): State<AppState>,
    _admin: crate::auth::Admin,
    Path(schedule_id): Path<i64>,
) -> ApiResult<(StatusCode, Json<ScheduleAdmin>)> {
    let mut tx = state.db.begin().await?;
    if !store::cancel_show(&mut tx, schedule_id).await? {
        return Err(ApiError::ScheduleNotFound);
    }
    tx.commit().await?;
    tracing::info!(schedule_id, "show cancelled; refunding its tickets");
    state.refunds.notify_one();
    let mut conn = state.db.acquire().await?;
    let view = store::schedule_admin(&mut conn, schedule_id)
        .await?
        .ok_or(ApiError::ScheduleNotFound)?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}
