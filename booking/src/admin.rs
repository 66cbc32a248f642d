//! Operator API: create a concert with its schedules and seats; read its sales figures.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::http::{Json, Path};

use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const DEFAULT_SEATS: i32 = 50;
pub const MAX_SEATS: i32 = 10_000;
pub const MAX_PRICE: i64 = 10_000_000;
pub const MAX_SCHEDULES: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/concerts", post(create))
        .route("/admin/concerts/{concert_id}", get(show))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConcert {
    pub title: String,
    pub schedules: Vec<NewSchedule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub starts_at: DateTime<Utc>,
    #[serde(default = "default_seats")]
    pub seats: i32,
    pub price: i64,
}

fn default_seats() -> i32 {
    DEFAULT_SEATS
}

#[derive(Debug, Serialize)]
pub struct Created {
    pub concert_id: i64,
    pub schedule_ids: Vec<i64>,
}

impl NewConcert {
    fn validate(&self) -> ApiResult<()> {
        let title_len = self.title.trim().chars().count();
        if title_len == 0 || self.title.chars().count() > 200 {
            return Err(ApiError::Invalid(
                "title must be 1 to 200 characters".into(),
            ));
        }
        if self.schedules.is_empty() || self.schedules.len() > MAX_SCHEDULES {
            return Err(ApiError::Invalid(format!(
                "schedules must hold 1 to {MAX_SCHEDULES} entries"
            )));
        }
        for s in &self.schedules {
            if !(1..=MAX_SEATS).contains(&s.seats) {
                return Err(ApiError::Invalid(format!("seats must be 1 to {MAX_SEATS}")));
            }
            if !(1..=MAX_PRICE).contains(&s.price) {
                return Err(ApiError::InvalidAmount(format!(
                    "price must be 1 to {MAX_PRICE}"
                )));
            }
        }
        Ok(())
    }
}

#[tracing::instrument(skip(state, _admin))]
async fn create(
    State(state): State<AppState>,
    _admin: Admin,
    Json(concert): Json<NewConcert>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    concert.validate()?;
    let mut tx = state.db.begin().await?;
    let concert_id: i64 =
        sqlx::query_scalar("INSERT INTO concerts (title) VALUES ($1) RETURNING id")
            .bind(concert.title.trim())
            .fetch_one(&mut *tx)
            .await?;
    let mut schedule_ids = Vec::with_capacity(concert.schedules.len());
    for s in &concert.schedules {
        let schedule_id: i64 = sqlx::query_scalar(
            "INSERT INTO schedules (concert_id, starts_at, total_seats) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(concert_id)
        .bind(s.starts_at)
        .bind(s.seats)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO seats (schedule_id, seat_no, price)
             SELECT $1, n, $3 FROM generate_series(1, $2) AS n",
        )
        .bind(schedule_id)
        .bind(s.seats)
        .bind(s.price)
        .execute(&mut *tx)
        .await?;
        schedule_ids.push(schedule_id);
    }
    tx.commit().await?;
    tracing::info!(
        concert_id,
        schedules = schedule_ids.len(),
        "concert created"
    );
    Ok((
        StatusCode::CREATED,
        Json(Created {
            concert_id,
            schedule_ids,
        }),
    ))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ScheduleSales {
    pub schedule_id: i64,
    pub starts_at: DateTime<Utc>,
    pub total_seats: i32,
    pub available_seats: i64,
    pub held_seats: i64,
    pub sold_seats: i64,
    pub revenue: i64,
}

#[derive(Debug, Serialize)]
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

#[tracing::instrument(skip(state, _admin))]
async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(concert_id): Path<i64>,
) -> ApiResult<Json<ConcertSales>> {
    let mut conn = state.db.acquire().await?;
    let concert: Option<(String, DateTime<Utc>)> =
        sqlx::query_as("SELECT title, created_at FROM concerts WHERE id = $1")
            .bind(concert_id)
            .fetch_optional(&mut *conn)
            .await?;
    let (title, created_at) = concert.ok_or(ApiError::ConcertNotFound)?;
    let schedules: Vec<ScheduleSales> = sqlx::query_as(
        "SELECT s.id AS schedule_id, s.starts_at, s.total_seats,
                count(*) FILTER (WHERE t.status = 'AVAILABLE'
                                  OR (t.status = 'HELD' AND t.held_until <= now())) AS available_seats,
                count(*) FILTER (WHERE t.status = 'HELD' AND t.held_until > now()) AS held_seats,
                count(*) FILTER (WHERE t.status = 'SOLD') AS sold_seats,
                COALESCE(sum(t.price) FILTER (WHERE t.status = 'SOLD'), 0)::BIGINT AS revenue
         FROM schedules s JOIN seats t ON t.schedule_id = s.id
         WHERE s.concert_id = $1
         GROUP BY s.id ORDER BY s.starts_at, s.id",
    )
    .bind(concert_id)
    .fetch_all(&mut *conn)
    .await?;
    let payments: i64 = sqlx::query_scalar("SELECT count(*) FROM payments WHERE concert_id = $1")
        .bind(concert_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Json(ConcertSales {
        concert_id,
        title,
        created_at,
        total_seats: schedules.iter().map(|s| i64::from(s.total_seats)).sum(),
        sold_seats: schedules.iter().map(|s| s.sold_seats).sum(),
        held_seats: schedules.iter().map(|s| s.held_seats).sum(),
        revenue: schedules.iter().map(|s| s.revenue).sum(),
        payments,
        schedules,
    }))
}
