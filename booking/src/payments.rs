//! Payments: all-or-nothing in one transaction, idempotent by `Idempotency-Key`.
//!
//! Transaction, in lock order users -> seats -> reservations:
//! 1. claim the idempotency key (a replay returns the saved response, charges nothing);
//! 2. lock the buyer's row (one payment per buyer at a time);
//! 3. read and check the reservations: they exist, are the buyer's, for the token's
//!    concert, HELD and not past their deadline;
//! 4. check the balance (402, nothing changed);
//! 5. seats HELD by these reservations -> SOLD (every one, or the hold was lost: 409);
//! 6. reservations -> CONFIRMED with the payment id (the partial unique index makes a
//!    second confirmed reservation of a seat impossible);
//! 7. debit (the CHECK keeps the balance >= 0), payment row, USE history row, save response.
//!
//! After commit: release the seat keys in Redis and end the buyer's admission so the slot
//! goes to the next in line. Those two are best effort (keys and admissions expire anyway).

use std::collections::HashSet;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::docs::ProblemDetails;
use shared::http::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Buyer;
use crate::error::{ApiError, ApiResult};
use crate::holds::{lock_user, release_key};
use crate::idempotency::{self, Begin, IdempotencyKey};
use crate::state::AppState;

/// Most reservations one payment may cover.
pub const MAX_RESERVATIONS_PER_PAYMENT: usize = 20;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/payments", post(pay))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// 1 to 20 distinct reservations of the buyer, all `HELD`.
    #[schema(min_items = 1, max_items = 20)]
    pub reservation_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    pub payment_id: Uuid,
    /// Sorted.
    pub reservation_ids: Vec<Uuid>,
    /// Points charged: the sum of the seats' prices.
    pub amount: i64,
    /// The buyer's balance after the payment.
    pub balance: i64,
    pub paid_at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
struct Held {
    id: Uuid,
    user_id: i64,
    concert_id: i64,
    schedule_id: i64,
    seat_no: i32,
    price: i64,
    status: String,
    live: bool,
}

#[utoipa::path(
    post,
    path = "/v1/payments",
    operation_id = "pay",
    tag = "payments",
    summary = "Pay for held seats from the points balance",
    description = "All or nothing, in one transaction: debit, seats `SOLD`, reservations \
                   `CONFIRMED`, payment and point-history rows. Then the buyer's admission ends. \
                   The same `Idempotency-Key` with the same body returns the first result again \
                   and charges once.",
    security(("queue_token" = [])),
    params(("Idempotency-Key" = String, Header,
            description = "1-255 visible ASCII characters, unique per payment attempt")),
    request_body = PaymentRequest,
    responses(
        (status = 201, description = "Paid (or the replay of an earlier identical request).",
         body = PaymentView),
        (status = 400, description = "`INVALID_REQUEST`: malformed body, missing or invalid \
         `Idempotency-Key`, or `reservation_ids` empty, over 20 or repeated.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, response = shared::docs::InvalidToken),
        (status = 402, description = "`INSUFFICIENT_BALANCE`: the balance is below the total; \
         nothing changed.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "`NOT_ADMITTED`: the token is still waiting. \
         `FORBIDDEN`: a reservation belongs to another buyer. \
         `WRONG_CONCERT`: a reservation is for another concert than the token's.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "`RESERVATION_NOT_FOUND`: a reservation does not exist.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`RESERVATION_EXPIRED`: a hold ran out before payment. \
         `RESERVATION_NOT_HELD`: a reservation is already paid or released. \
         `SEAT_UNAVAILABLE`: a seat was sold under another reservation meanwhile.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
        (status = 422, response = shared::docs::IdempotencyKeyReused),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
#[tracing::instrument(skip(state, headers, request))]
async fn pay(
    State(state): State<AppState>,
    buyer: Buyer,
    headers: HeaderMap,
    Json(request): Json<PaymentRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let result = pay_inner(&state, buyer, &headers, request).await;
    let outcome = match &result {
        Ok((StatusCode::CREATED, _, true)) => "paid",
        Ok(_) => "replayed",
        Err(ApiError::InsufficientBalance { .. }) => "insufficient_balance",
        Err(ApiError::ReservationExpired) => "expired",
        Err(ApiError::ReservationNotHeld(_)) => "not_held",
        Err(_) => "rejected",
    };
    metrics::counter!("booking_payments_total", "outcome" => outcome).increment(1);
    let (status, body, _) = result?;
    Ok((status, Json(body)))
}

async fn pay_inner(
    state: &AppState,
    buyer: Buyer,
    headers: &HeaderMap,
    request: PaymentRequest,
) -> ApiResult<(StatusCode, serde_json::Value, bool)> {
    let key = IdempotencyKey::from_headers(headers)?;
    let mut ids = request.reservation_ids;
    if ids.is_empty() || ids.len() > MAX_RESERVATIONS_PER_PAYMENT {
        return Err(ApiError::Invalid(format!(
            "reservation_ids must hold 1 to {MAX_RESERVATIONS_PER_PAYMENT} ids"
        )));
    }
    if ids.iter().collect::<HashSet<_>>().len() != ids.len() {
        return Err(ApiError::Invalid("reservation_ids must not repeat".into()));
    }
    ids.sort();
    let fingerprint = idempotency::fingerprint(&ids);

    let mut tx = state.db.begin().await?;
    if let Begin::Replay(status, body) =
        idempotency::begin(&mut tx, buyer.user_id, "payment", &key, &fingerprint).await?
    {
        return Ok((status, body, false));
    }
    let balance = lock_user(&mut tx, buyer.user_id).await?;

    let held: Vec<Held> = sqlx::query_as(
        "SELECT id, user_id, concert_id, schedule_id, seat_no, price, status,
                held_until > now() AS live
         FROM reservations WHERE id = ANY($1) ORDER BY id",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    if held.len() != ids.len() {
        return Err(ApiError::ReservationNotFound);
    }
    for r in &held {
        if r.user_id != buyer.user_id {
            return Err(ApiError::Forbidden(format!(
                "reservation {} belongs to another buyer",
                r.id
            )));
        }
        buyer.require_concert(r.concert_id)?;
        match (r.status.as_str(), r.live) {
            ("HELD", true) => {}
            ("HELD", false) | ("EXPIRED", _) => return Err(ApiError::ReservationExpired),
            (other, _) => return Err(ApiError::ReservationNotHeld(other.to_string())),
        }
    }
    let amount: i64 = held.iter().map(|r| r.price).sum();
    if balance < amount {
        return Err(ApiError::InsufficientBalance { balance, amount });
    }

    let payment_id = Uuid::now_v7();
    let sold = sqlx::query(
        "UPDATE seats SET status = 'SOLD', held_until = NULL
         WHERE reservation_id = ANY($1) AND status = 'HELD' AND held_until > now()",
    )
    .bind(&ids)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if sold != ids.len() as u64 {
        return Err(ApiError::ReservationExpired);
    }
    let paid_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO payments (id, user_id, concert_id, amount) VALUES ($1, $2, $3, $4)
         RETURNING paid_at",
    )
    .bind(payment_id)
    .bind(buyer.user_id)
    .bind(buyer.concert_id)
    .bind(amount)
    .fetch_one(&mut *tx)
    .await?;
    let confirmed = sqlx::query(
        "UPDATE reservations SET status = 'CONFIRMED', payment_id = $2
         WHERE id = ANY($1) AND status = 'HELD'",
    )
    .bind(&ids)
    .bind(payment_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if confirmed != ids.len() as u64 {
        return Err(ApiError::ReservationExpired);
    }
    let balance: i64 = sqlx::query_scalar(
        "UPDATE users SET balance = balance - $2, updated_at = now() WHERE id = $1 RETURNING balance",
    )
    .bind(buyer.user_id)
    .bind(amount)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO point_history (user_id, kind, amount, balance_after, reference)
         VALUES ($1, 'USE', $2, $3, $4)",
    )
    .bind(buyer.user_id)
    .bind(amount)
    .bind(balance)
    .bind(format!("payment:{payment_id}"))
    .execute(&mut *tx)
    .await?;
    let view = PaymentView {
        payment_id,
        reservation_ids: ids,
        amount,
        balance,
        paid_at,
    };
    let body = serde_json::to_value(&view).map_err(anyhow::Error::from)?;
    idempotency::save(
        &mut tx,
        buyer.user_id,
        "payment",
        &key,
        StatusCode::CREATED,
        &body,
    )
    .await?;
    tx.commit().await?;

    metrics::counter!("booking_payment_points_total").increment(amount as u64);
    after_payment(state, buyer, &held).await;
    Ok((StatusCode::CREATED, body, true))
}

/// Frees the seat keys and ends the buyer's admission (best effort, see module docs).
async fn after_payment(state: &AppState, buyer: Buyer, held: &[Held]) {
    for r in held {
        let key = state.keys.hold(r.concert_id, r.schedule_id, r.seat_no);
        release_key(state, &key, r.id).await;
    }
    if let Err(e) = shared::redis::end_admission(
        &state.redis,
        &state.keys,
        &state.scripts.end_admission,
        buyer.concert_id,
        buyer.user_id,
        buyer.seq,
    )
    .await
    {
        tracing::warn!(error = %e, "could not end the admission after payment; it will expire");
    }
}
