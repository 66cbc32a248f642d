//! Booking's operator API: concerts and their sales.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const DEFAULT_SEATS: i32 = 50;
pub const MAX_SEATS: i32 = 10_000;
pub const MAX_PRICE: i64 = 10_000_000;
pub const MAX_SCHEDULES: usize = 100;
pub const MAX_TITLE_CHARS: usize = 200;

/// `POST /admin/concerts`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConcert {
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(min_items = 1, max_items = 100)]
    pub schedules: Vec<NewSchedule>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub starts_at: DateTime<Utc>,
    /// Seats numbered 1..N.
    #[serde(default = "default_seats")]
    #[schema(minimum = 1, maximum = 10_000, default = 50)]
    pub seats: i32,
    /// Points per seat.
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub price: i64,
}

fn default_seats() -> i32 {
    DEFAULT_SEATS
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Created {
    pub concert_id: i64,
    /// In request order.
    pub schedule_ids: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct ScheduleSales {
    pub schedule_id: i64,
    pub starts_at: DateTime<Utc>,
    pub total_seats: i32,
    pub available_seats: i64,
    pub held_seats: i64,
    pub sold_seats: i64,
    pub revenue: i64,
}

/// `GET /admin/concerts/{concert_id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConcertSales {
    pub concert_id: i64,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub schedules: Vec<ScheduleSales>,
    pub total_seats: i64,
    pub sold_seats: i64,
    pub held_seats: i64,
    pub revenue: i64,
    pub payments: i64,
}
