//! Concerts and schedules as buyers see them.
//!
//! Available-seat counts are computed from the seat rows at read time (a hold past its
//! deadline counts as available), so there is no counter that can drift from the seats.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::docs::ProblemDetails;
use shared::http::{Json, Path};
use sqlx::PgConnection;
use utoipa::ToSchema;

use crate::auth::Buyer;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, ScheduleInfo};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/concerts/{concert_id}", get(concert))
        .route("/v1/concerts/{concert_id}/schedules", get(schedules))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct ScheduleSummary {
    pub schedule_id: i64,
    pub starts_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConcertView {
    pub concert_id: i64,
    pub title: String,
    pub schedules: Vec<ScheduleSummary>,
}

/// Public (no token): what the gateway asks to know a concert exists.
#[utoipa::path(
    get,
    path = "/v1/concerts/{concert_id}",
    operation_id = "get_concert",
    tag = "concerts",
    summary = "A concert and all its schedules (public)",
    params(("concert_id" = i64, Path, description = "Concert id")),
    responses(
        (status = 200, description = "The concert.", body = ConcertView),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 404, description = "`CONCERT_NOT_FOUND`: no such concert.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
#[tracing::instrument(skip(state))]
async fn concert(
    State(state): State<AppState>,
    Path(concert_id): Path<i64>,
) -> ApiResult<Json<ConcertView>> {
    let title: Option<String> = sqlx::query_scalar("SELECT title FROM concerts WHERE id = $1")
        .bind(concert_id)
        .fetch_optional(&state.db)
        .await?;
    let title = title.ok_or(ApiError::ConcertNotFound)?;
    let schedules = sqlx::query_as(
        "SELECT id AS schedule_id, starts_at FROM schedules WHERE concert_id = $1 ORDER BY starts_at, id",
    )
    .bind(concert_id)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(ConcertView {
        concert_id,
        title,
        schedules,
    }))
}

/// A bookable schedule (date) of a concert.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct ScheduleView {
    pub schedule_id: i64,
    pub starts_at: DateTime<Utc>,
    pub total_seats: i32,
    /// Seats neither sold nor under a live hold.
    pub available_seats: i64,
}

#[utoipa::path(
    get,
    path = "/v1/concerts/{concert_id}/schedules",
    operation_id = "list_schedules",
    tag = "concerts",
    summary = "Bookable schedules of a concert",
    description = "Only schedules still open for booking and in the future, with live seat counts.",
    params(("concert_id" = i64, Path, description = "Concert id; must be the token's concert")),
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "Bookable schedules, earliest first.", body = Vec<ScheduleView>),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::InvalidToken),
        (status = 403, description = "`NOT_ADMITTED`: the token is still waiting. \
         `WRONG_CONCERT`: the token is for another concert.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "`CONCERT_NOT_FOUND`: no such concert.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
#[tracing::instrument(skip(state))]
async fn schedules(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(concert_id): Path<i64>,
) -> ApiResult<Json<Vec<ScheduleView>>> {
    buyer.require_concert(concert_id)?;
    let mut conn = state.db.acquire().await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM concerts WHERE id = $1")
        .bind(concert_id)
        .fetch_optional(&mut *conn)
        .await?;
    exists.ok_or(ApiError::ConcertNotFound)?;
    let rows = sqlx::query_as(
        "SELECT s.id AS schedule_id, s.starts_at, s.total_seats,
                (SELECT count(*) FROM seats t WHERE t.schedule_id = s.id
                   AND (t.status = 'AVAILABLE' OR (t.status = 'HELD' AND t.held_until <= now())))
                  AS available_seats
         FROM schedules s
         WHERE s.concert_id = $1 AND s.bookable AND s.starts_at > now()
         ORDER BY s.starts_at, s.id",
    )
    .bind(concert_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Json(rows))
}

/// A schedule's immutable facts, from the in-process cache or PostgreSQL on a miss.
pub async fn schedule_info(state: &AppState, schedule_id: i64) -> ApiResult<Option<ScheduleInfo>> {
    if let Some(info) = state
        .schedules
        .read()
        .ok()
        .and_then(|m| m.get(&schedule_id).copied())
    {
        return Ok(Some(info));
    }
    let mut conn = state.db.acquire().await?;
    let info = load_schedule_info(&mut conn, schedule_id).await?;
    if let (Some(info), Ok(mut map)) = (info, state.schedules.write()) {
        map.insert(schedule_id, info);
    }
    Ok(info)
}

async fn load_schedule_info(
    conn: &mut PgConnection,
    schedule_id: i64,
) -> ApiResult<Option<ScheduleInfo>> {
    let row: Option<(i64, i32)> =
        sqlx::query_as("SELECT concert_id, total_seats FROM schedules WHERE id = $1")
            .bind(schedule_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(concert_id, total_seats)| ScheduleInfo {
        concert_id,
        total_seats,
    }))
}
