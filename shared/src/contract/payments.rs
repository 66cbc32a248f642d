//! Payments from the points balance.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Most reservations one payment may cover.
pub const MAX_RESERVATIONS_PER_PAYMENT: usize = 20;

/// `POST /v1/payments` (with an `Idempotency-Key` header): exactly one of
/// `reservation_ids` and `order_id`. An order's seats are paid together: reservation ids
/// that name only some of an order's held seats are refused (400).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// 1 to 20 distinct reservations of the buyer, all `HELD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 20)]
    pub reservation_ids: Option<Vec<Uuid>>,
    /// Every seat of this order (`POST /v1/reservations`' `order_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Uuid>,
}

/// A payment that went through.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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

/// A seat a payment bought.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct PaidSeat {
    pub reservation_id: Uuid,
    pub schedule_id: i64,
    pub starts_at: DateTime<Utc>,
    pub seat_no: i32,
    pub price: i64,
}

/// A payment and what it bought (`GET /v1/payments/{payment_id}`, its buyer only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentDetail {
    pub payment_id: Uuid,
    pub user_id: i64,
    pub concert_id: i64,
    /// Points charged.
    pub amount: i64,
    pub paid_at: DateTime<Utc>,
    /// By reservation id.
    pub seats: Vec<PaidSeat>,
}
