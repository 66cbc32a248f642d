//! Seat map of one schedule. A hold past its deadline is shown AVAILABLE at once, whether
//! or not the sweeper has reset the row yet.

pub mod store;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use shared::contract::seats::SeatMap;
use shared::http::{Json, Path};

use crate::auth::Buyer;
use crate::concerts::schedule_info;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/schedules/{schedule_id}/seats", get(seats))
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
    let mut conn = state.db.acquire().await?;
    let seats = store::seat_map(&mut conn, schedule_id).await?;
    Ok(Json(SeatMap { schedule_id, seats }))
}
