//! Concerts and schedules as buyers see them.
//!
//! Available-seat counts are computed from the seat rows at read time (a hold past its
//! deadline counts as available), so there is no counter that can drift from the seats.

pub mod store;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use shared::contract::concerts::{ConcertView, ScheduleView};
use shared::http::{Json, Path};

use crate::auth::Buyer;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, ScheduleInfo};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/concerts", get(list))
        .route("/v1/concerts/{concert_id}", get(concert))
        .route("/v1/concerts/{concert_id}/schedules", get(schedules))
}

/// Public (no token): the concerts on sale, for the buyer's page.
#[tracing::instrument(skip(state))]
async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<ConcertView>>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(store::on_sale(&mut conn).await?))
}

/// Public (no token): what the gateway asks to know a concert exists.
#[tracing::instrument(skip(state))]
async fn concert(
    State(state): State<AppState>,
    Path(concert_id): Path<i64>,
) -> ApiResult<Json<ConcertView>> {
    let mut conn = state.db.acquire().await?;
    let title = store::title(&mut conn, concert_id)
        .await?
        .ok_or(ApiError::ConcertNotFound)?;
    let schedules = store::all_schedules(&mut conn, concert_id).await?;
    Ok(Json(ConcertView {
        concert_id,
        title,
        schedules,
    }))
}

#[tracing::instrument(skip(state))]
async fn schedules(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(concert_id): Path<i64>,
) -> ApiResult<Json<Vec<ScheduleView>>> {
    buyer.require_concert(concert_id)?;
    let mut conn = state.db.acquire().await?;
    store::title(&mut conn, concert_id)
        .await?
        .ok_or(ApiError::ConcertNotFound)?;
    Ok(Json(
        store::bookable_schedules(&mut conn, concert_id).await?,
    ))
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
    let info = store::schedule_info(&mut conn, schedule_id).await?;
    if let (Some(info), Ok(mut map)) = (info, state.schedules.write()) {
        map.insert(schedule_id, info);
    }
    Ok(info)
}
