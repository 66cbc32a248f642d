//! Seat holds (reservations).
//!
//! Two gates, fastest first:
//! 1. Redis `SET <seat key> <reservation id> NX PX <ttl>`: of many buyers racing for one
//!    seat, one wins; the losers get 409 without touching PostgreSQL.
//! 2. A conditional `UPDATE seats ... WHERE status = 'AVAILABLE' OR hold expired` in
//!    PostgreSQL, the source of truth: if Redis lost its keys (flush, restart, failover),
//!    the database still refuses a seat that is held or sold. When the database refuses,
//!    the Redis key is released with a compare-and-delete so it never blocks the seat.
//!
//! A hold past `held_until` counts as AVAILABLE immediately (listing and holding compare
//! with `now()`); the sweeper only tidies rows up (seat reset, reservation EXPIRED).
//! Transaction lock order: users -> seats -> reservations (as in payments and the sweeper).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use redis::Script;
use serde::{Deserialize, Serialize};
use shared::docs::ProblemDetails;
use shared::http::{Json, Path};
use shared::redis::RedisPool;
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Buyer;
use crate::concerts::schedule_info;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/reservations", post(hold)).route(
        "/v1/reservations/{reservation_id}",
        get(show).delete(release),
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    pub schedule_id: i64,
    /// 1..N within the schedule.
    pub seat_no: i64,
}

/// A seat hold and what became of it.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct ReservationView {
    pub reservation_id: Uuid,
    pub schedule_id: i64,
    pub seat_no: i32,
    /// Points.
    pub price: i64,
    /// A `HELD` reservation past `held_until` shows `EXPIRED`.
    #[schema(value_type = crate::docs::ReservationStatus)]
    pub status: String,
    /// When the hold ends unless paid.
    pub held_until: DateTime<Utc>,
    /// Set once `CONFIRMED`, else null.
    #[schema(required = true)]
    pub payment_id: Option<Uuid>,
}

fn hold_outcome(outcome: &'static str) {
    metrics::counter!("booking_holds_total", "outcome" => outcome).increment(1);
}

#[utoipa::path(
    post,
    path = "/v1/reservations",
    operation_id = "hold_seat",
    tag = "reservations",
    summary = "Hold a seat",
    description = "Holds the seat for `holds.ttl_secs` (5 minutes by default); unpaid, it becomes \
                   available again by itself.",
    security(("queue_token" = [])),
    request_body = HoldRequest,
    responses(
        (status = 201, description = "The seat is held.", body = ReservationView),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::InvalidToken),
        (status = 403, description = "`NOT_ADMITTED`: the token is still waiting. \
         `WRONG_CONCERT`: the schedule belongs to another concert than the token's.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "`SEAT_NOT_FOUND`: no such schedule, or no such seat in it.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`SEAT_UNAVAILABLE`: the seat is held or sold. \
         `HOLD_LIMIT`: the buyer already holds `holds.max_per_user` seats (4 by default).",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
#[tracing::instrument(skip(state))]
async fn hold(
    State(state): State<AppState>,
    buyer: Buyer,
    Json(request): Json<HoldRequest>,
) -> ApiResult<(StatusCode, Json<ReservationView>)> {
    let result = to_completion(async move { hold_seat(&state, buyer, request).await }).await;
    hold_outcome(match &result {
        Ok(_) => "held",
        Err(ApiError::SeatUnavailable) => "unavailable",
        Err(ApiError::HoldLimit(_)) => "limit",
        Err(ApiError::SeatNotFound) => "not_found",
        Err(_) => "error",
    });
    result.map(|view| (StatusCode::CREATED, Json(view)))
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

async fn hold_seat(
    state: &AppState,
    buyer: Buyer,
    request: HoldRequest,
) -> ApiResult<ReservationView> {
    let info = schedule_info(state, request.schedule_id)
        .await?
        .ok_or(ApiError::SeatNotFound)?;
    buyer.require_concert(info.concert_id)?;
    if request.seat_no < 1 || request.seat_no > i64::from(info.total_seats) {
        return Err(ApiError::SeatNotFound);
    }
    let seat_no = request.seat_no as i32;
    let ttl_secs = state.settings.holds.ttl_secs;
    let reservation_id = Uuid::now_v7();
    let key = state
        .keys
        .hold(info.concert_id, request.schedule_id, seat_no);

    // Gate 1: Redis. A loser stops here.
    let won = {
        let key = key.clone();
        let value = reservation_id.to_string();
        state
            .redis
            .run("hold_set_nx", |mut c| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&value)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_secs * 1000)
                    .query_async::<Option<String>>(&mut c)
                    .await
            })
            .await?
            .is_some()
    };
    if !won {
        return Err(ApiError::SeatUnavailable);
    }

    // Gate 2: PostgreSQL, the source of truth.
    let result = hold_in_db(
        state,
        buyer,
        info.concert_id,
        request.schedule_id,
        seat_no,
        reservation_id,
        ttl_secs,
    )
    .await;
    if result.is_err() {
        release_key(state, &key, reservation_id).await;
    }
    result
}

async fn hold_in_db(
    state: &AppState,
    buyer: Buyer,
    concert_id: i64,
    schedule_id: i64,
    seat_no: i32,
    reservation_id: Uuid,
    ttl_secs: u64,
) -> ApiResult<ReservationView> {
    let mut tx = state.db.begin().await?;
    lock_user(&mut tx, buyer.user_id).await?;
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM reservations
         WHERE user_id = $1 AND status = 'HELD' AND held_until > now()",
    )
    .bind(buyer.user_id)
    .fetch_one(&mut *tx)
    .await?;
    let max = state.settings.holds.max_per_user;
    if held >= i64::from(max) {
        return Err(ApiError::HoldLimit(max));
    }
    let seat: Option<(i64, DateTime<Utc>, Option<Uuid>)> = sqlx::query_as(
        "UPDATE seats s
            SET status = 'HELD', reservation_id = $3,
                held_until = now() + make_interval(secs => $4)
           FROM (SELECT reservation_id AS previous FROM seats
                  WHERE schedule_id = $1 AND seat_no = $2 FOR UPDATE) p
          WHERE s.schedule_id = $1 AND s.seat_no = $2
            AND (s.status = 'AVAILABLE' OR (s.status = 'HELD' AND s.held_until <= now()))
         RETURNING s.price, s.held_until, p.previous",
    )
    .bind(schedule_id)
    .bind(seat_no)
    .bind(reservation_id)
    .bind(ttl_secs as f64)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((price, held_until, previous)) = seat else {
        return Err(ApiError::SeatUnavailable);
    };
    if let Some(previous) = previous {
        sqlx::query("UPDATE reservations SET status = 'EXPIRED' WHERE id = $1 AND status = 'HELD'")
            .bind(previous)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO reservations (id, user_id, concert_id, schedule_id, seat_no, price, status, held_until)
         VALUES ($1, $2, $3, $4, $5, $6, 'HELD', $7)",
    )
    .bind(reservation_id)
    .bind(buyer.user_id)
    .bind(concert_id)
    .bind(schedule_id)
    .bind(seat_no)
    .bind(price)
    .bind(held_until)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ReservationView {
        reservation_id,
        schedule_id,
        seat_no,
        price,
        status: "HELD".into(),
        held_until,
        payment_id: None,
    })
}

/// Locks the buyer's row (creating it with a zero balance on first sight), so one
/// buyer's holds and payments run one at a time.
pub async fn lock_user(conn: &mut PgConnection, user_id: i64) -> ApiResult<i64> {
    let balance: Option<i64> =
        sqlx::query_scalar("SELECT balance FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(balance) = balance {
        return Ok(balance);
    }
    sqlx::query("INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(
        sqlx::query_scalar("SELECT balance FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Compare-and-delete of a hold key; failures are only logged (the key expires anyway).
pub async fn release_key(state: &AppState, key: &str, reservation_id: Uuid) {
    release_key_with(
        &state.redis,
        &state.scripts.release_hold,
        key,
        reservation_id,
    )
    .await;
}

/// [`release_key`] with the pool and script given.
pub async fn release_key_with(redis: &RedisPool, script: &Script, key: &str, reservation_id: Uuid) {
    let key = key.to_string();
    let result = redis
        .run("hold_release", |mut c| async move {
            script
                .key(key)
                .arg(reservation_id.to_string())
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, %reservation_id, "could not release a hold key; it will expire");
    }
}

const VIEW_COLUMNS: &str = "id AS reservation_id, schedule_id, seat_no, price,
    CASE WHEN status = 'HELD' AND held_until <= now() THEN 'EXPIRED' ELSE status END AS status,
    held_until, payment_id";

#[utoipa::path(
    get,
    path = "/v1/reservations/{reservation_id}",
    operation_id = "get_reservation",
    tag = "reservations",
    summary = "One of the buyer's reservations",
    params(("reservation_id" = Uuid, Path, description = "Reservation id")),
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "The reservation.", body = ReservationView),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::InvalidToken),
        (status = 403, description = "`NOT_ADMITTED`: the token is still waiting. \
         `FORBIDDEN`: the reservation belongs to another buyer. \
         `WRONG_CONCERT`: it is for another concert than the token's.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "`RESERVATION_NOT_FOUND`: no such reservation.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
#[tracing::instrument(skip(state))]
async fn show(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(reservation_id): Path<Uuid>,
) -> ApiResult<Json<ReservationView>> {
    let found: Option<OwnedView> = sqlx::query_as(&format!(
        "SELECT user_id, concert_id, {VIEW_COLUMNS} FROM reservations WHERE id = $1"
    ))
    .bind(reservation_id)
    .fetch_optional(&state.db)
    .await?;
    let found = found.ok_or(ApiError::ReservationNotFound)?;
    found.check_owner(buyer)?;
    Ok(Json(found.view))
}

#[derive(sqlx::FromRow)]
struct OwnedView {
    user_id: i64,
    concert_id: i64,
    #[sqlx(flatten)]
    view: ReservationView,
}

impl OwnedView {
    fn check_owner(&self, buyer: Buyer) -> ApiResult<()> {
        if self.user_id != buyer.user_id {
            return Err(ApiError::Forbidden(
                "this reservation belongs to another buyer".into(),
            ));
        }
        buyer.require_concert(self.concert_id)
    }
}

/// Releases a live hold at once. Releasing an expired or already released hold is a
/// no-op (204); a confirmed reservation cannot be released (409).
#[utoipa::path(
    delete,
    path = "/v1/reservations/{reservation_id}",
    operation_id = "release_reservation",
    tag = "reservations",
    summary = "Release a hold now",
    params(("reservation_id" = Uuid, Path, description = "Reservation id")),
    security(("queue_token" = [])),
    responses(
        (status = 204, description = "Released, or already expired or released."),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::InvalidToken),
        (status = 403, description = "`NOT_ADMITTED`: the token is still waiting. \
         `FORBIDDEN`: the reservation belongs to another buyer. \
         `WRONG_CONCERT`: it is for another concert than the token's.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "`RESERVATION_NOT_FOUND`: no such reservation.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`RESERVATION_NOT_HELD`: the reservation is already paid (CONFIRMED).",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
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
    lock_user(&mut tx, buyer.user_id).await?;
    let found: Option<OwnedView> = sqlx::query_as(&format!(
        "SELECT user_id, concert_id, {VIEW_COLUMNS} FROM reservations WHERE id = $1"
    ))
    .bind(reservation_id)
    .fetch_optional(&mut *tx)
    .await?;
    let found = found.ok_or(ApiError::ReservationNotFound)?;
    found.check_owner(buyer)?;
    match found.view.status.as_str() {
        "CONFIRMED" => return Err(ApiError::ReservationNotHeld("CONFIRMED".into())),
        "HELD" => {}
        _ => return Ok(StatusCode::NO_CONTENT),
    }
    sqlx::query(
        "UPDATE seats SET status = 'AVAILABLE', reservation_id = NULL, held_until = NULL
         WHERE reservation_id = $1 AND status = 'HELD'",
    )
    .bind(reservation_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE reservations SET status = 'RELEASED' WHERE id = $1 AND status = 'HELD'")
        .bind(reservation_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let key = state
        .keys
        .hold(found.concert_id, found.view.schedule_id, found.view.seat_no);
    release_key(state, &key, reservation_id).await;
    hold_outcome("released");
    Ok(StatusCode::NO_CONTENT)
}

/// Marks holds past their deadline: seats back to AVAILABLE, reservations EXPIRED.
/// Returns how many reservations it expired.
pub async fn sweep_expired(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    // Seats first, then reservations: the lock order every transaction here follows.
    sqlx::query(
        "UPDATE seats SET status = 'AVAILABLE', reservation_id = NULL, held_until = NULL
         WHERE status = 'HELD' AND held_until <= now()",
    )
    .execute(&mut *conn)
    .await?;
    let expired = sqlx::query(
        "UPDATE reservations SET status = 'EXPIRED' WHERE status = 'HELD' AND held_until <= now()",
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(expired)
}

/// Background loop running [`sweep_expired`] every `holds.sweep_interval_ms` until cancelled.
pub async fn run_sweeper(state: AppState, cancel: CancellationToken) {
    let period = Duration::from_millis(state.settings.holds.sweep_interval_ms.max(50));
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = interval.tick() => {}
        }
        let result = async {
            let mut tx = state.db.begin().await?;
            let n = sweep_expired(&mut tx).await?;
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(n)
        }
        .await;
        match result {
            Ok(0) => {}
            Ok(n) => {
                metrics::counter!("booking_holds_total", "outcome" => "expired").increment(n);
                tracing::debug!(expired = n, "swept expired holds");
            }
            Err(e) => tracing::warn!(error = %e, "hold sweeper failed; will retry"),
        }
    }
}
