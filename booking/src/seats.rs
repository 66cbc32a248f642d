//! Seat map of one schedule. A hold past its deadline is shown AVAILABLE at once, whether
//! or not the sweeper has reset the row yet.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use shared::http::{Json, Path};

use crate::auth::Buyer;
use crate::concerts::schedule_info;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/schedules/{schedule_id}/seats", get(seats))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct SeatView {
    pub seat_no: i32,
    pub price: i64,
    pub status: String,
}

#[derive(Debug, Serialize)]
pub struct SeatMap {
    pub schedule_id: i64,
    pub seats: Vec<SeatView>,
}

#[tracing::instrument(skip(state))]
async fn seats(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(schedule_id): Path<i64>,
) -> ApiResult<Json<SeatMap>> {
    let info = schedule_info(&state, schedule_id)
        .await?
        .ok_or(ApiError::ScheduleNotFound)?;
    buyer.require_concert(info.concert_id)?;
    let seats = sqlx::query_as(
        "SELECT seat_no, price,
                CASE WHEN status = 'HELD' AND held_until <= now() THEN 'AVAILABLE' ELSE status END AS status
         FROM seats WHERE schedule_id = $1 ORDER BY seat_no",
    )
    .bind(schedule_id)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(SeatMap { schedule_id, seats }))
}
