//! Seat holds (reservations).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Most seats one order (one hold request) may take.
pub const MAX_SEATS_PER_ORDER: usize = 10;

/// `POST /v1/reservations`: exactly one of `seat_no` (one seat), `seat_nos` (these seats,
/// all or nothing) and `best_available` (the service picks).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    pub schedule_id: i64,
    /// One seat, 1..N within the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_no: Option<i64>,
    /// 1 to 10 distinct seats, held together or not at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 10)]
    pub seat_nos: Option<Vec<i64>>,
    /// Let the service pick `count` seats, side by side in one row when it can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_available: Option<BestAvailable>,
}

/// `best_available` of a hold.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BestAvailable {
    /// 1 to 10.
    #[schema(minimum = 1, maximum = 10)]
    pub count: i64,
    /// Only seats of this grade.
    #[serde(default)]
    pub grade: Option<String>,
    /// Only seats of this section.
    #[serde(default)]
    pub section: Option<String>,
}

/// What a hold request asks for, once its form is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldTarget {
    /// Named seats, distinct and in range of `i32`: one (`seat_no`) or several.
    Seats { seat_nos: Vec<i32>, single: bool },
    /// `count` seats picked by the service.
    Best {
        count: usize,
        grade: Option<String>,
        section: Option<String>,
    },
}

impl HoldRequest {
    /// The request's one form, or why it is not a valid hold (for a 400).
    pub fn target(&self) -> Result<HoldTarget, String> {
        let seat = |n: i64| i32::try_from(n).ok().filter(|n| *n >= 1);
        match (&self.seat_no, &self.seat_nos, &self.best_available) {
            (Some(n), None, None) => Ok(HoldTarget::Seats {
                // Out of range: no such seat (404), as before.
                seat_nos: vec![seat(*n).unwrap_or(0)],
                single: true,
            }),
            (None, Some(list), None) => {
                if list.is_empty() || list.len() > MAX_SEATS_PER_ORDER {
                    return Err(format!(
                        "seat_nos must hold 1 to {MAX_SEATS_PER_ORDER} seat numbers"
                    ));
                }
                let mut seat_nos: Vec<i32> = list.iter().map(|n| seat(*n).unwrap_or(0)).collect();
                seat_nos.sort_unstable();
                if seat_nos.windows(2).any(|w| w[0] == w[1]) {
                    return Err("seat_nos must not repeat".into());
                }
                Ok(HoldTarget::Seats {
                    seat_nos,
                    single: false,
                })
            }
            (None, None, Some(best)) => {
                let count = usize::try_from(best.count)
                    .ok()
                    .filter(|c| (1..=MAX_SEATS_PER_ORDER).contains(c))
                    .ok_or_else(|| {
                        format!("best_available.count must be 1 to {MAX_SEATS_PER_ORDER}")
                    })?;
                let name = |v: &Option<String>, what: &str| match v {
                    Some(s) if s.is_empty() || s.chars().count() > 40 => {
                        Err(format!("best_available.{what} must be 1 to 40 characters"))
                    }
                    other => Ok(other.clone()),
                };
                Ok(HoldTarget::Best {
                    count,
                    grade: name(&best.grade, "grade")?,
                    section: name(&best.section, "section")?,
                })
            }
            _ => Err("give exactly one of seat_no, seat_nos and best_available".into()),
        }
    }
}

/// One seat of an order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct OrderSeat {
    pub reservation_id: Uuid,
    pub schedule_id: i64,
    pub seat_no: i32,
    pub section: String,
    pub row: String,
    /// 1.. within its row.
    pub number: i32,
    pub grade: String,
    /// Points.
    pub price: i64,
    /// A `HELD` reservation past `held_until` shows `EXPIRED`.
    pub status: ReservationStatus,
    pub held_until: DateTime<Utc>,
}

/// An order: the seats one hold request took, sharing one deadline (`POST
/// /v1/reservations`, `GET /v1/orders/{order_id}`). The one-seat form of a hold also
/// carries that seat's reservation at the top level (`reservation_id`, `seat_no`, ...), as
/// before orders existed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub order_id: Uuid,
    /// When every seat of the order is released unless paid.
    pub held_until: DateTime<Utc>,
    /// Points: the sum of the seats' prices.
    pub amount: i64,
    /// By seat number.
    pub reservations: Vec<OrderSeat>,
    /// One-seat form only: that seat's reservation, as a hold answered before orders.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub single: Option<SingleHold>,
}

/// The top-level fields of a one-seat hold's answer (`held_until` is the order's).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SingleHold {
    pub reservation_id: Uuid,
    pub schedule_id: i64,
    pub seat_no: i32,
    pub price: i64,
    pub status: ReservationStatus,
    #[schema(required = true)]
    pub payment_id: Option<Uuid>,
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
