//! Seat maps.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use super::status::SeatStatus;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct SeatView {
    /// 1..N within the schedule.
    pub seat_no: i32,
    /// Points.
    pub price: i64,
    pub status: SeatStatus,
}

/// `GET /v1/schedules/{schedule_id}/seats`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SeatMap {
    pub schedule_id: i64,
    pub seats: Vec<SeatView>,
}
