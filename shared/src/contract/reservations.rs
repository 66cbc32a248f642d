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

/// One of a buyer's reservations, with its concert and date (`GET
/// /v1/users/{user_id}/reservations`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct MyReservation {
    pub reservation_id: Uuid,
    pub concert_id: i64,
    pub schedule_id: i64,
    /// When the show starts.
    pub starts_at: DateTime<Utc>,
    pub seat_no: i32,
    pub price: i64,
    /// A `HELD` reservation past `held_until` shows `EXPIRED`.
    pub status: ReservationStatus,
    pub held_until: DateTime<Utc>,
    /// Set once `CONFIRMED`, else null.
    #[schema(required = true)]
    pub payment_id: Option<Uuid>,
}

/// One page of a buyer's holds and purchases, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReservationPage {
    pub user_id: i64,
    pub items: Vec<MyReservation>,
    /// Pass as `before` for the next (older) page; null on the last page.
    #[schema(required = true)]
    pub next_before: Option<Uuid>,
}

/// `?limit=&before=` of a buyer's reservations.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReservationQuery {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Cursor: only reservations older than this one (the previous page's `next_before`).
    pub before: Option<Uuid>,
}
