//! Booking's operator API: concerts and their sales.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const DEFAULT_SEATS: i32 = 50;
/// Most seats of a one-price schedule (the old form).
pub const MAX_SEATS: i32 = 10_000;
/// Most seats of a venue (and so of a schedule).
pub const MAX_VENUE_SEATS: i64 = 100_000;
/// Names of venues, sections, rows and grades: 1 to 40 characters.
pub const MAX_NAME_CHARS: usize = 40;
/// Seats in one row, at most.
pub const MAX_ROW_SEATS: i64 = 1_000;
/// The one-price form's section, grade and row length.
pub const GA_SECTION: &str = "GA";
pub const GA_GRADE: &str = "GENERAL";
pub const GA_ROW_SEATS: i32 = 50;
/// Default of a concert's `max_tickets_per_user` when the request has none is the setting
/// `orders.max_tickets_per_user`; at most this.
pub const MAX_TICKETS_PER_USER: i32 = 100;
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
    /// Seats one buyer may hold and own together for this concert (default: the setting
    /// `orders.max_tickets_per_user`, 4).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub max_tickets_per_user: Option<i32>,
}

/// A schedule: either the one-price form (`seats`, `price`: one section `GA`, grade
/// `GENERAL`, one row per 50 seats) or a venue's layout with a price per grade
/// (`venue_id`, `prices`: every grade of the venue priced).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub starts_at: DateTime<Utc>,
    /// One-price form: seats numbered 1..N (50 when neither form is given).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10_000, default = 50)]
    pub seats: Option<i32>,
    /// One-price form: points per seat.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub price: Option<i64>,
    /// Venue form: the venue whose layout the schedule's seats follow.
    #[serde(default)]
    pub venue_id: Option<i64>,
    /// Venue form: points per seat of each grade, e.g. `{"VIP": 150000, "R": 120000}`.
    #[serde(default)]
    pub prices: Option<std::collections::BTreeMap<String, i64>>,
    /// Until when buyers may cancel their tickets (default: `starts_at` minus the setting
    /// `orders.cancel_cutoff_hours`, 24).
    #[serde(default)]
    pub cancel_until: Option<DateTime<Utc>>,
}

/// `POST /admin/venues`: a layout of sections, rows and seats. Seats are numbered
/// `seat_no` 1..N in the order sections, rows and seats are listed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVenue {
    /// 1 to 40 characters.
    pub name: String,
    #[schema(min_items = 1)]
    pub sections: Vec<VenueSection>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueSection {
    /// 1 to 40 characters, unique in the venue.
    pub name: String,
    /// Price grade, e.g. `VIP`, `R`, `S`, `A` (1 to 40 characters).
    pub grade: String,
    #[schema(min_items = 1)]
    pub rows: Vec<VenueRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueRow {
    /// 1 to 40 characters, unique in the section.
    pub label: String,
    /// 1 to 1,000.
    #[schema(minimum = 1, maximum = 1000)]
    pub seats: i64,
}

/// `POST /admin/venues`' answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VenueCreated {
    pub venue_id: i64,
    pub seats: i64,
}

/// `GET /admin/venues/{venue_id}`: the layout as created.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VenueView {
    pub venue_id: i64,
    pub name: String,
    pub seats: i64,
    pub sections: Vec<VenueSection>,
}

/// One venue of `GET /admin/venues`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct VenueSummary {
    pub venue_id: i64,
    pub name: String,
    pub seats: i64,
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
