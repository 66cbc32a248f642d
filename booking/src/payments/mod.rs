//! Payments: all-or-nothing in one transaction, idempotent by `Idempotency-Key`.
//!
//! A payment names reservations or an order (`order_id`: all of its seats). An order's
//! seats are paid together: reservation ids naming only some of an order's held seats are
//! refused (400).
//!
//! One statement: the transaction below is the `pay_reservations` function
//! (`booking/sql/functions/pay_reservations.sql`; the calls are in [`store`]), so a payment
//! is one database round trip and one commit.
//! Refusals come back as their own SQLSTATEs ([`refusal`]) and roll everything back.
//! Under load, payments that arrive together commit together ([`batch`]: group commit,
//! each payment still all-or-nothing on its own).
//!
//! Transaction, in lock order users -> seats -> reservations:
//! 1. lock the buyer's row (one payment per buyer at a time, so calls with the same key
//!    run one after the other);
//! 2. a key already used returns the saved response (same request, charges nothing) or
//!    422 (another request);
//! 3. read and check the reservations: they exist, are the buyer's, for the token's
//!    concert, HELD and not past their deadline, and leave no held seat of their orders out;
//! 4. check the balance (402, nothing changed);
//! 5. seats HELD by these reservations -> SOLD (every one, or the hold was lost: 409);
//! 6. reservations -> CONFIRMED with the payment id (the partial unique index makes a
//!    second confirmed reservation of a seat impossible);
//! 7. debit (the CHECK keeps the balance >= 0), payment row, USE history row, and the
//!    response saved under the key.
//!
//! After commit: release the seat keys in Redis and end the buyer's admission so the slot
//! goes to the next in line ([`batch`] does it for the whole group in one pipelined
//! call). Those two are best effort (keys and admissions expire anyway).

use std::collections::HashSet;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use shared::contract::payments::{PaymentDetail, PaymentRequest, MAX_RESERVATIONS_PER_PAYMENT};
use shared::http::{Json, Path, CALLER};
use uuid::Uuid;

use crate::auth::{Buyer, PayingBuyer};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::{self, IdempotencyKey};
use crate::state::AppState;

pub mod batch;
pub mod refusal;
pub mod store;

use batch::{Paid, PayCall, PayFailure};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/payments", post(pay))
        .route("/v1/payments/{payment_id}", get(show))
}

/// One of the caller's payments: the gateway says who asks (`X-User-Id`); anyone else's
/// payment is 404, like one that does not exist.
#[tracing::instrument(skip(state, headers))]
async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(payment_id): Path<Uuid>,
) -> ApiResult<Json<PaymentDetail>> {
    let caller: i64 = headers
        .get(&CALLER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::IdentityRequired("X-User-Id (set by the gateway) is required".into())
        })?;
    let mut conn = state.db.acquire().await?;
    let payment = store::payment(&mut conn, payment_id)
        .await?
        .filter(|p| p.user_id == caller)
        .ok_or(ApiError::PaymentNotFound)?;
    let seats = store::paid_seats(&mut conn, payment_id).await?;
    Ok(Json(PaymentDetail {
        payment_id,
        user_id: payment.user_id,
        concert_id: payment.concert_id,
        amount: payment.amount,
        paid_at: payment.paid_at,
        seats,
    }))
}

#[tracing::instrument(skip(state, headers, request))]
async fn pay(
    State(state): State<AppState>,
    buyer: PayingBuyer,
    headers: HeaderMap,
    Json(request): Json<PaymentRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let result = pay_inner(&state, buyer, &headers, request).await;
    let outcome = match &result {
        Ok((_, paid)) if paid.row.replayed => "replayed",
        Ok(_) => "paid",
        Err(ApiError::InsufficientBalance { .. }) => "insufficient_balance",
        Err(ApiError::ReservationExpired) => "expired",
        Err(ApiError::ReservationNotHeld(_)) => "not_held",
        Err(_) => "rejected",
    };
    metrics::counter!("booking_payments_total", "outcome" => outcome).increment(1);
    let (status, paid) = result?;
    Ok((status, Json(paid.row.body)))
}

async fn pay_inner(
    state: &AppState,
    PayingBuyer { buyer, expired }: PayingBuyer,
    headers: &HeaderMap,
    request: PaymentRequest,
) -> ApiResult<(StatusCode, Paid)> {
    let key = IdempotencyKey::from_headers(headers)?;
    let mut ids = match (request.reservation_ids, request.order_id) {
        (Some(ids), None) => ids,
        (None, Some(order_id)) => {
            let mut conn = state.db.acquire().await?;
            let ids = store::order_reservations(&mut conn, order_id).await?;
            if ids.is_empty() {
                return Err(ApiError::ReservationNotFound);
            }
            ids
        }
        _ => {
            return Err(ApiError::Invalid(
                "give exactly one of reservation_ids and order_id".into(),
            ))
        }
    };
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

    // The admission must still be live in Redis; once it ended (paid, expired, the token
    // with it, or the line was lost), a retry of a payment that went through still gets its
    // saved answer.
    if expired {
        return replay(state, buyer, &key, &fingerprint).await;
    }
    match buyer.require_admitted(state).await {
        Ok(()) => {}
        Err(ApiError::TicketGone | ApiError::QueueReset) => {
            return replay(state, buyer, &key, &fingerprint).await
        }
        Err(e) => return Err(e),
    }
    let call = PayCall {
        user_id: buyer.user_id,
        concert_id: buyer.concert_id,
        seq: buyer.seq,
        reservation_ids: ids,
        key: key.as_str().to_owned(),
        request_hash: fingerprint,
        payment_id: Uuid::now_v7(),
    };
    let paid = state.payments.pay(call).await.map_err(|e| match e {
        PayFailure::Refused(refusal) => ApiError::from(refusal),
        PayFailure::Db(e) => e.into(),
        PayFailure::DatabaseUnavailable(cause) => ApiError::Unavailable("the database", cause),
        PayFailure::Unavailable => {
            ApiError::Unavailable("the payment queue", "full or shutting down".into())
        }
    })?;
    let row = &paid.row;
    let status = StatusCode::from_u16(row.status as u16)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("stored payment status {}", row.status)))?;
    if !row.replayed {
        let amount = row.amount.unwrap_or_default();
        metrics::counter!("booking_payment_points_total").increment(amount as u64);
    }
    Ok((status, paid))
}

/// A payment whose ticket is gone: the saved answer of the same key and request, or 410.
async fn replay(
    state: &AppState,
    buyer: Buyer,
    key: &IdempotencyKey,
    fingerprint: &str,
) -> ApiResult<(StatusCode, Paid)> {
    let mut conn = state.db.acquire().await?;
    let (status, body) = idempotency::saved(&mut conn, buyer.user_id, "payment", key, fingerprint)
        .await?
        .ok_or(ApiError::TicketGone)?;
    Ok((status, Paid::replay(status, body)))
}
