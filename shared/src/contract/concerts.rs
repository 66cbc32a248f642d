//! Concerts and their schedules (dates).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A schedule of a concert.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct ScheduleSummary {
    pub schedule_id: i64,
    pub starts_at: DateTime<Utc>,
}

/// A concert and all its schedules (`GET /v1/concerts/{concert_id}`, public).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConcertView {
    pub concert_id: i64,
    pub title: String,
    pub schedules: Vec<ScheduleSummary>,
}

/// A bookable schedule with live seat counts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct ScheduleView {
    pub schedule_id: i64,
    pub starts_at: DateTime<Utc>,
    pub total_seats: i32,
    /// Seats neither sold nor under a live hold.
    pub available_seats: i64,
}
