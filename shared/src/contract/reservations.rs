//! Seat holds (reservations).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /v1/reservations`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    pub schedule_id: i64,
    /// 1..N within the schedule.
    pub seat_no: i64,
}

pub use super::status::ReservationStatus;

/// A seat hold and what became of it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct ReservationView {
    pub reservation_id: Uuid,
    pub schedule_id: i64,
    pub seat_no: i32,
    /// Points.
    pub price: i64,
    /// A `HELD` reservation past `held_until` shows `EXPIRED`.
    pub status: ReservationStatus,
    /// When the hold ends unless paid.
    pub held_until: DateTime<Utc>,
    /// Set once `CONFIRMED`, else null.
    #[schema(required = true)]
    pub payment_id: Option<Uuid>,
}
