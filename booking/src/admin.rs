//! Operator API: create a concert with its schedules and seats; read its sales figures.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::docs::ProblemDetails;
use shared::http::{Json, Path};
use utoipa::ToSchema;

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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConcert {
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(min_items = 1, max_items = 100)]
    pub schedules: Vec<NewSchedule>,
}

#[derive(Debug, Deserialize, ToSchema)]
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

#[derive(Debug, Serialize, ToSchema)]
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

#[utoipa::path(
    post,
    path = "/admin/concerts",
    operation_id = "create_concert",
    tag = "admin",
    summary = "Create a concert with its schedules and seats",
    security(("admin_token" = [])),
    request_body = NewConcert,
    responses(
        (status = 201, description = "Created; schedule ids in request order.", body = Created),
        (status = 400, description = "`INVALID_REQUEST`: malformed body, bad title, schedule \
         count or seat count. `INVALID_AMOUNT`: a price outside 1 to 10,000,000.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, response = shared::docs::AdminUnauthorized),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
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

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct ScheduleSales {
    pub schedule_id: i64,
    pub starts_at: DateTime<Utc>,
    pub total_seats: i32,
    pub available_seats: i64,
    pub held_seats: i64,
    pub sold_seats: i64,
    pub revenue: i64,
}

#[derive(Debug, Serialize, ToSchema)]
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

#[utoipa::path(
    get,
    path = "/admin/concerts/{concert_id}",
    operation_id = "get_concert_sales",
    tag = "admin",
    summary = "A concert with its sales figures",
    params(("concert_id" = i64, Path, description = "Concert id")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Seats, holds, sales and revenue, per schedule and in total.",
         body = ConcertSales),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::AdminUnauthorized),
        (status = 404, description = "`CONCERT_NOT_FOUND`: no such concert.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
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
