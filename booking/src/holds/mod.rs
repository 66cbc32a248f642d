//! Seat holds: orders of one or several seats (`POST /v1/reservations`), their
//! reservations, release (`DELETE /v1/orders/{id}`, or any one of its reservations).
//!
//! An order is named seats (`seat_no`, `seat_nos`) or `best_available` ([`pick`]); its
//! seats share one `held_until`, expire together, are released together and paid together.
//! A show that has started takes no holds (409 `SCHEDULE_CLOSED`). Then two gates
//! ([`order`]):
//! 1. Redis: the seats' keys, all or none in one script call (`<reservation id>:<user id>`
//!    each, [`shared::store::seats`]): of many buyers racing for a seat, one wins; the
//!    losers get 409 without touching PostgreSQL, and so does every attempt on a sold seat
//!    (its key is a `sold` marker after the payment).
//! 2. PostgreSQL, the source of truth, in one transaction: the buyer's row locked (their
//!    holds and payments run one at a time, whatever the gateway), the ticket limit
//!    (`max_tickets_per_user` of the concert: held + bought) and the hold limit checked,
//!    the seats' rows locked and taken only if every one is available now, the
//!    reservations written. If Redis lost its keys (flush, restart, failover) the database
//!    still refuses a seat that is held or sold; when it refuses, the order's keys are
//!    released with a compare-and-delete so they never block the seats. So an order is held
//!    whole or not at all, in Redis and in PostgreSQL; a process that dies between the two
//!    leaves keys that expire with the hold's TTL and no reservation.
//!
//! A buyer who repeats a hold of seats they already hold as one order (the answer of the
//! first one was lost: a timeout, a dropped connection) gets that order back, 200, instead
//! of 409: the keys name them as holder, and PostgreSQL confirms. While the first attempt
//! is still being written the retry gets 503 + `Retry-After`.
//!
//! A hold past `held_until` counts as AVAILABLE immediately (the queries ask
//! `seat_status_now`); the [`sweeper`] only tidies rows up (seat reset, reservation
//! EXPIRED). Lock order: users → seats → reservations (as in payments and the sweeper).

pub mod order;
pub mod pick;
pub mod store;
pub mod sweeper;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use shared::contract::reservations::{
    HoldRequest, OrderView, ReservationPage, ReservationQuery, ReservationView,
};
use shared::http::{Json, Path, Query};
use tracing::Instrument;
use uuid::Uuid;

use shared::store::seats::HeldSeat;

use crate::auth::Buyer;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/reservations", post(hold))
        .route(
            "/v1/reservations/{reservation_id}",
            get(show).delete(release),
        )
        .route(
            "/v1/orders/{order_id}",
            get(show_order).delete(release_order),
        )
        .route("/v1/users/{user_id}/reservations", get(of_user))
}

/// A buyer's holds and purchases, newest first, a page at a time (no admission needed:
/// the gateway binds the path's user to the caller).
#[tracing::instrument(skip(state))]
async fn of_user(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
    Query(query): Query<ReservationQuery>,
) -> ApiResult<Json<ReservationPage>> {
    let user_id = crate::points::valid_user_id(user_id)?;
    let limit = crate::points::page_limit(query.limit)?;
    let mut conn = state.db.acquire().await?;
    let items = store::of_user(&mut conn, user_id, query.before, limit).await?;
    let next_before = (items.len() as i64 == limit)
        .then(|| items.last().map(|r| r.reservation_id))
        .flatten();
    Ok(Json(ReservationPage {
        user_id,
        items,
        next_before,
    }))
}

fn hold_outcome(outcome: &'static str) {
    metrics::counter!("booking_holds_total", "outcome" => outcome).increment(1);
}

#[tracing::instrument(skip(state))]
async fn hold(
    State(state): State<AppState>,
    buyer: Buyer,
    Json(request): Json<HoldRequest>,
) -> ApiResult<(StatusCode, Json<OrderView>)> {
    let result = to_completion(async move { order::take(&state, buyer, request).await }).await;
    hold_outcome(match &result {
        Ok(Held::New(_)) => "held",
        Ok(Held::Again(_)) => "repeated",
        Err(ApiError::SeatUnavailable | ApiError::SeatsTaken(_)) => "unavailable",
        Err(ApiError::NotEnoughSeats(_)) => "not_enough",
        Err(ApiError::HoldLimit(_)) => "limit",
        Err(ApiError::TicketLimit { .. }) => "ticket_limit",
        Err(ApiError::SeatNotFound) => "not_found",
        Err(ApiError::ScheduleClosed) => "closed",
        Err(_) => "error",
    });
    result.map(|held| match held {
        Held::New(view) => (StatusCode::CREATED, Json(view)),
        Held::Again(view) => (StatusCode::OK, Json(view)),
    })
}

/// An order made now, or the buyer's own order of the same seats given back.
pub enum Held {
    New(OrderView),
    Again(OrderView),
}

/// Runs `work` on its own task, so it finishes even if the client hangs up. The Redis gate
/// and the PostgreSQL write of a hold (and the commit and key release of a release) must
/// finish together: a gateway whose connection drops must not cancel them half-way and
/// leave seat locks with no live reservation behind them for the hold's TTL.
async fn to_completion<T: Send + 'static>(
    work: impl std::future::Future<Output = ApiResult<T>> + Send + 'static,
) -> ApiResult<T> {
    tokio::spawn(work.instrument(tracing::Span::current()))
        .await
        .unwrap_or_else(|e| Err(ApiError::Internal(anyhow::anyhow!("hold task failed: {e}"))))
}

/// Compare-and-delete of an order's seat keys; a failure is only logged (the keys expire
/// anyway).
pub(crate) async fn unlock(
    state: &AppState,
    concert_id: i64,
    schedule_id: i64,
    user_id: i64,
    seats: &[HeldSeat],
) {
    if let Err(e) = state
        .store
        .unlock_seats(concert_id, schedule_id, seats, user_id)
        .await
    {
        tracing::warn!(error = %e, schedule_id, "could not release seat keys; they will expire");
    }
}

impl store::Owned {
    fn check_owner(&self, buyer: Buyer) -> ApiResult<()> {
        check_owner(self.user_id, self.concert_id, buyer)
    }
}

fn check_owner(user_id: i64, concert_id: i64, buyer: Buyer) -> ApiResult<()> {
    if user_id != buyer.user_id {
        return Err(ApiError::Forbidden(
            "this reservation belongs to another buyer".into(),
        ));
    }
    buyer.require_concert(concert_id)
}

#[tracing::instrument(skip(state))]
async fn show(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(reservation_id): Path<Uuid>,
) -> ApiResult<Json<ReservationView>> {
    let mut conn = state.db.acquire().await?;
    let found = store::find(&mut conn, reservation_id)
        .await?
        .ok_or(ApiError::ReservationNotFound)?;
    found.check_owner(buyer)?;
    Ok(Json(found.view))
}

/// Releases a live hold at once — with the other seats of its order, if it has any (an
/// order is held whole or not at all). Releasing an expired or already released hold is a
/// no-op (204); a confirmed reservation cannot be released (409).
#[tracing::instrument(skip(state))]
async fn release(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(reservation_id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    to_completion(async move {
        let order_id = {
            let mut conn = state.db.acquire().await?;
            let found = store::find(&mut conn, reservation_id)
                .await?
                .ok_or(ApiError::ReservationNotFound)?;
            found.check_owner(buyer)?;
            found.order_id
        };
        order::release(&state, buyer, order_id).await
    })
    .await
}

/// `GET /v1/orders/{order_id}`: the buyer's order as it is now.
#[tracing::instrument(skip(state))]
async fn show_order(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(order_id): Path<Uuid>,
) -> ApiResult<Json<OrderView>> {
    let mut conn = state.db.acquire().await?;
    let rows = store::order(&mut conn, order_id).await?;
    let first = rows.first().ok_or(ApiError::ReservationNotFound)?;
    check_owner(first.user_id, first.concert_id, buyer)?;
    Ok(Json(order::view(order_id, rows, false)))
}

/// `DELETE /v1/orders/{order_id}`: every seat of the order released at once.
#[tracing::instrument(skip(state))]
async fn release_order(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(order_id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    to_completion(async move { order::release(&state, buyer, order_id).await }).await
}
