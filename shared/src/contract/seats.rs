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
    pub section: String,
    pub row: String,
    /// 1.. within its row.
    pub number: i32,
    pub grade: String,
}

/// `?section=` of a seat map.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeatQuery {
    /// Only the seats of this section.
    pub section: Option<String>,
}

/// `GET /v1/schedules/{schedule_id}/sections`: the schedule's sections in venue order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SectionMap {
    pub schedule_id: i64,
    /// Most seats one buyer may hold and own for this concert together.
    pub max_tickets_per_user: i32,
    pub sections: Vec<SectionView>,
    /// When the counts were taken (they are at most a second old).
    pub as_of: chrono::DateTime<chrono::Utc>,
}

/// One section: its grade and price, seats in total and available now, and its rows (the
/// layout a seat map is drawn from).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SectionView {
    pub section: String,
    pub grade: String,
    /// Points per seat.
    pub price: i64,
    pub total: i64,
    pub available: i64,
    pub rows: Vec<SectionRow>,
}

/// A row of a section.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SectionRow {
    pub row: String,
    pub seats: i64,
}

/// `GET /v1/schedules/{schedule_id}/seats`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SeatMap {
    pub schedule_id: i64,
    pub seats: Vec<SeatView>,
}
