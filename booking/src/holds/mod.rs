//! Seat holds (reservations).
//!
//! A show that has started takes no holds (409 `SCHEDULE_CLOSED`). Then two gates, fastest
//! first:
//! 1. Redis: the seat's key, `SET NX PX <ttl>` with `<reservation id>:<user id>`
//!    ([`shared::store::seats`]): of many buyers racing for one seat, one wins; the losers
//!    get 409 without touching PostgreSQL, and so does every attempt on a sold seat (its
//!    key is a `sold` marker after the payment).
//! 2. A conditional `UPDATE seats ... WHERE` the seat is available now, in PostgreSQL, the
//!    source of truth: if Redis lost its keys (flush, restart, failover), the database
//!    still refuses a seat that is held or sold. When the database refuses, the Redis key is
//!    released with a compare-and-delete so it never blocks the seat.
//!
//! A buyer who repeats a hold of a seat they already hold (the answer of the first one was
//! lost: a timeout, a dropped connection) gets that hold back, 200 with the same
//! reservation, instead of 409: the key names them as its holder, and PostgreSQL confirms.
//! While the first attempt is still being written the retry gets 503 + `Retry-After`.
//!
//! A hold past `held_until` counts as AVAILABLE immediately (the queries ask
//! `seat_status_now`); the [`sweeper`] only tidies rows up (seat reset, reservation
//! EXPIRED). Lock order: users → seats → reservations (as in payments and the sweeper).

pub mod store;
pub mod sweeper;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use shared::contract::reservations::{
    HoldRequest, ReservationPage, ReservationQuery, ReservationStatus, ReservationView,
};
use shared::http::{Json, Path, Query};
use tracing::Instrument;
use uuid::Uuid;

use shared::store::seats::SeatLock;

use crate::auth::Buyer;
use crate::concerts::schedule_info;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/reservations", post(hold))
        .route(
            "/v1/reservations/{reservation_id}",
            get(show).delete(release),
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
) -> ApiResult<(StatusCode, Json<ReservationView>)> {
    let result = to_completion(async move { hold_seat(&state, buyer, request).await }).await;
    hold_outcome(match &result {
        Ok(Held::New(_)) => "held",
        Ok(Held::Again(_)) => "repeated",
        Err(ApiError::SeatUnavailable) => "unavailable",
        Err(ApiError::HoldLimit(_)) => "limit",
        Err(ApiError::SeatNotFound) => "not_found",
        Err(ApiError::ScheduleClosed) => "closed",
        Err(_) => "error",
    });
    result.map(|held| match held {
        Held::New(view) => (StatusCode::CREATED, Json(view)),
        Held::Again(view) => (StatusCode::OK, Json(view)),
    })
}

/// A hold made now, or the buyer's own hold of the seat given back.
enum Held {
    New(ReservationView),
    Again(ReservationView),
}

/// Runs `work` on its own task, so it finishes even if the client hangs up. The Redis gate
/// and the PostgreSQL write of a hold (and the commit and key release of a release) must
/// finish together: a gateway whose connection drops must not cancel them half-way and
/// leave a seat lock with no live reservation behind it for the hold's TTL.
async fn to_completion<T: Send + 'static>(
    work: impl std::future::Future<Output = ApiResult<T>> + Send + 'static,
) -> ApiResult<T> {
    tokio::spawn(work.instrument(tracing::Span::current()))
        .await
        .unwrap_or_else(|e| Err(ApiError::Internal(anyhow::anyhow!("hold task failed: {e}"))))
}

async fn hold_seat(state: &AppState, buyer: Buyer, request: HoldRequest) -> ApiResult<Held> {
    let info = schedule_info(state, request.schedule_id)
        .await?
        .ok_or(ApiError::SeatNotFound)?;
    buyer.require_concert(info.concert_id)?;
    if request.seat_no < 1 || request.seat_no > i64::from(info.total_seats) {
        return Err(ApiError::SeatNotFound);
    }
    if info.starts_at <= chrono::Utc::now() {
        return Err(ApiError::ScheduleClosed);
    }
    buyer.require_admitted(state).await?;
    let seat = Seat {
        user_id: buyer.user_id,
        concert_id: info.concert_id,
        schedule_id: request.schedule_id,
        seat_no: request.seat_no as i32,
        reservation_id: Uuid::now_v7(),
    };
    let ttl_secs = state.settings.holds.ttl_secs;

    // Gate 1: Redis. A loser stops here; the holder's retry gets its hold back.
    match state
        .store
        .lock_seat(
            seat.concert_id,
            seat.schedule_id,
            seat.seat_no,
            (seat.reservation_id, seat.user_id),
            ttl_secs,
        )
        .await?
    {
        SeatLock::Won => {}
        SeatLock::Taken(key) if key.held_by(seat.user_id) => {
            return own_hold(state, &seat).await.map(Held::Again)
        }
        SeatLock::Taken(_) => return Err(ApiError::SeatUnavailable),
    }

    // Gate 2: PostgreSQL, the source of truth.
    let result = hold_in_db(state, &seat, ttl_secs).await;
    if !matches!(result, Ok(Held::New(_))) {
        unlock(state, &seat).await;
    }
    result
}

/// The buyer's own live hold of the seat, asked for again: given back as it is. While the
/// first attempt is still being written, 503 with `Retry-After`.
async fn own_hold(state: &AppState, seat: &Seat) -> ApiResult<ReservationView> {
    let mut conn = state.db.acquire().await?;
    match store::live_hold_of(&mut conn, seat.user_id, seat.schedule_id, seat.seat_no).await? {
        Some(view) => Ok(view),
        None => Err(ApiError::Problem(
            shared::Problem::new(
                shared::Code::ServiceUnavailable,
                "your earlier hold of this seat is still being made; retry shortly",
            )
            .with_retry_after(1),
        )),
    }
}

/// The seat a hold is for, and the reservation it will be.
struct Seat {
    user_id: i64,
    concert_id: i64,
    schedule_id: i64,
    seat_no: i32,
    reservation_id: Uuid,
}

/// The hold's transaction: buyer locked, hold limit checked, seat taken if available now,
/// the reservation written. A seat this buyer already holds (Redis had lost its key) is
/// their hold given back.
async fn hold_in_db(state: &AppState, seat: &Seat, ttl_secs: u64) -> ApiResult<Held> {
    let mut tx = state.db.begin().await?;
    store::lock_user(&mut tx, seat.user_id).await?;
    if let Some(view) =
        store::live_hold_of(&mut tx, seat.user_id, seat.schedule_id, seat.seat_no).await?
    {
        return Ok(Held::Again(view));
    }
    let max = state.settings.holds.max_per_user;
    if store::live_holds(&mut tx, seat.user_id).await? >= i64::from(max) {
        return Err(ApiError::HoldLimit(max));
    }
    let taken = store::take_seat(
        &mut tx,
        seat.schedule_id,
        seat.seat_no,
        seat.reservation_id,
        ttl_secs,
    )
    .await?
    .ok_or(ApiError::SeatUnavailable)?;
    if let Some(previous) = taken.previous {
        store::expire(&mut tx, previous).await?;
    }
    let hold = store::NewHold {
        id: seat.reservation_id,
        user_id: seat.user_id,
        concert_id: seat.concert_id,
        schedule_id: seat.schedule_id,
        seat_no: seat.seat_no,
        price: taken.price,
        held_until: taken.held_until,
    };
    store::insert(&mut tx, &hold).await?;
    tx.commit().await?;
    Ok(Held::New(ReservationView {
        reservation_id: hold.id,
        schedule_id: hold.schedule_id,
        seat_no: hold.seat_no,
        price: hold.price,
        status: ReservationStatus::Held,
        held_until: hold.held_until,
        payment_id: None,
    }))
}

/// Compare-and-delete of a seat's key; a failure is only logged (the key expires anyway).
async fn unlock(state: &AppState, seat: &Seat) {
    if let Err(e) = state
        .store
        .unlock_seat(
            seat.concert_id,
            seat.schedule_id,
            seat.seat_no,
            (seat.reservation_id, seat.user_id),
        )
        .await
    {
        tracing::warn!(error = %e, reservation_id = %seat.reservation_id,
            "could not release a seat key; it will expire");
    }
}

impl store::Owned {
    fn check_owner(&self, buyer: Buyer) -> ApiResult<()> {
        if self.user_id != buyer.user_id {
            return Err(ApiError::Forbidden(
                "this reservation belongs to another buyer".into(),
            ));
        }
        buyer.require_concert(self.concert_id)
    }
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

/// Releases a live hold at once. Releasing an expired or already released hold is a
/// no-op (204); a confirmed reservation cannot be released (409).
#[tracing::instrument(skip(state))]
async fn release(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(reservation_id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    to_completion(async move { release_hold(&state, buyer, reservation_id).await }).await
}

async fn release_hold(
    state: &AppState,
    buyer: Buyer,
    reservation_id: Uuid,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    store::lock_user(&mut tx, buyer.user_id).await?;
    let found = store::find(&mut tx, reservation_id)
        .await?
        .ok_or(ApiError::ReservationNotFound)?;
    found.check_owner(buyer)?;
    match found.view.status {
        ReservationStatus::Confirmed => {
            return Err(ApiError::ReservationNotHeld(
                ReservationStatus::Confirmed.as_str().into(),
            ))
        }
        ReservationStatus::Held => {}
        ReservationStatus::Expired | ReservationStatus::Released => {
            return Ok(StatusCode::NO_CONTENT)
        }
    }
    store::release(&mut tx, reservation_id).await?;
    tx.commit().await?;
    let seat = Seat {
        user_id: buyer.user_id,
        concert_id: found.concert_id,
        schedule_id: found.view.schedule_id,
        seat_no: found.view.seat_no,
        reservation_id,
    };
    unlock(state, &seat).await;
    hold_outcome("released");
    Ok(StatusCode::NO_CONTENT)
}
