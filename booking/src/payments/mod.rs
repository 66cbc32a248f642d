//! Payments: all-or-nothing in one transaction, idempotent by `Idempotency-Key`.
//!
//! One statement: the transaction below is the `pay_reservations` function
//! (`migrations/0002_pay_function.sql`), so a payment is one database round trip and one
//! commit. Refusals come back as `TB...` SQLSTATEs ([`refusal`]) and roll everything back.
//! Under load, payments that arrive together commit together ([`batch`]: group commit,
//! each payment still all-or-nothing on its own).
//!
//! Transaction, in lock order users -> seats -> reservations:
//! 1. lock the buyer's row (one payment per buyer at a time, so calls with the same key
//!    run one after the other);
//! 2. a key already used returns the saved response (same request, charges nothing) or
//!    422 (another request);
//! 3. read and check the reservations: they exist, are the buyer's, for the token's
//!    concert, HELD and not past their deadline;
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
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::docs::ProblemDetails;
use shared::http::{Json, ADMISSION_ENDED};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Buyer;
use crate::error::{ApiError, ApiResult};
use crate::idempotency::{self, IdempotencyKey};
use crate::state::AppState;

pub mod batch;

use batch::{Paid, PayCall, PayFailure};

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
) -> ApiResult<(StatusCode, HeaderMap, Json<serde_json::Value>)> {
    let result = pay_inner(&state, buyer, &headers, request).await;
    let outcome = match &result {
        Ok((_, paid)) if paid.row.o_replayed => "replayed",
        Ok(_) => "paid",
        Err(ApiError::InsufficientBalance { .. }) => "insufficient_balance",
        Err(ApiError::ReservationExpired) => "expired",
        Err(ApiError::ReservationNotHeld(_)) => "not_held",
        Err(_) => "rejected",
    };
    metrics::counter!("booking_payments_total", "outcome" => outcome).increment(1);
    let (status, paid) = result?;
    let mut headers = HeaderMap::new();
    if paid.admission_ended {
        headers.insert(ADMISSION_ENDED.clone(), HeaderValue::from_static("1"));
    }
    Ok((status, headers, Json(paid.row.o_body)))
}

async fn pay_inner(
    state: &AppState,
    buyer: Buyer,
    headers: &HeaderMap,
    request: PaymentRequest,
) -> ApiResult<(StatusCode, Paid)> {
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

    let call = PayCall {
        user_id: buyer.user_id,
        concert_id: buyer.concert_id,
        seq: buyer.seq,
        reservation_ids: ids,
        key: key.as_str().to_owned(),
        request_hash: fingerprint,
        payment_id: Uuid::now_v7(),
    };
    // `admission_ended` is only ever true for a new payment (never for a replay).
    let paid = state
        .payments
        .pay(call)
        .await
        .map_err(|e| refusal(e, buyer))?;
    let row = &paid.row;
    let status = StatusCode::from_u16(row.o_status as u16).map_err(|_| {
        ApiError::Internal(anyhow::anyhow!("stored payment status {}", row.o_status))
    })?;
    if !row.o_replayed {
        let amount = row.o_amount.unwrap_or_default();
        metrics::counter!("booking_payment_points_total").increment(amount as u64);
    }
    Ok((status, paid))
}

/// Maps the `TB...` SQLSTATEs `pay_reservations` raises to problem codes; database errors
/// go through the usual mapping.
fn refusal(e: PayFailure, buyer: Buyer) -> ApiError {
    let (code, detail) = match e {
        PayFailure::Refused { code, detail } => (code, detail),
        PayFailure::Db(e) => return e.into(),
        PayFailure::DatabaseUnavailable(cause) => {
            return ApiError::Unavailable("the database", cause)
        }
        PayFailure::Unavailable => {
            return ApiError::Unavailable("the payment queue", "full or shutting down".into())
        }
    };
    match code.as_str() {
        "TB422" => ApiError::IdempotencyKeyReused,
        "TB404" => ApiError::ReservationNotFound,
        "TB403" => ApiError::Forbidden(format!("reservation {detail} belongs to another buyer")),
        "TB4WC" => ApiError::WrongConcert {
            token: buyer.concert_id,
            resource: detail.parse().unwrap_or_default(),
        },
        "TB409" => ApiError::ReservationExpired,
        "TB4NH" => ApiError::ReservationNotHeld(detail),
        "TB402" => {
            let mut parts = detail.split(' ').map(|n| n.parse().unwrap_or_default());
            ApiError::InsufficientBalance {
                balance: parts.next().unwrap_or_default(),
                amount: parts.next().unwrap_or_default(),
            }
        }
        _ => ApiError::Internal(anyhow::anyhow!("unknown payment refusal {code}: {detail}")),
    }
}
