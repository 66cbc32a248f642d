//! Seat map of one schedule. A hold past its deadline is shown AVAILABLE at once, whether
//! or not the sweeper has reset the row yet.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use shared::docs::ProblemDetails;
use shared::http::{Json, Path};
use utoipa::ToSchema;

use crate::auth::Buyer;
use crate::concerts::schedule_info;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/schedules/{schedule_id}/seats", get(seats))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct SeatView {
    /// 1..N within the schedule.
    pub seat_no: i32,
    /// Points.
    pub price: i64,
    /// A hold past its deadline shows `AVAILABLE`.
    #[schema(value_type = crate::docs::SeatStatus)]
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeatMap {
    pub schedule_id: i64,
    pub seats: Vec<SeatView>,
}

#[utoipa::path(
    get,
    path = "/v1/schedules/{schedule_id}/seats",
    operation_id = "get_seat_map",
    tag = "seats",
    summary = "Seat map of a schedule",
    params(("schedule_id" = i64, Path, description = "Schedule id; its concert must be the token's")),
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "Every seat of the schedule, by seat number.", body = SeatMap),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::InvalidToken),
        (status = 403, description = "`NOT_ADMITTED`: the token is still waiting. \
         `WRONG_CONCERT`: the schedule belongs to another concert than the token's.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "`SCHEDULE_NOT_FOUND`: no such schedule.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
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
