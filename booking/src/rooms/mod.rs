//! The durable copy of the waiting rooms' settings, for the gateways only (the internal
//! token guards these routes like the buyer routes).
//!
//! A gateway writes an operator's change here before it writes the room in Redis, and reads
//! it back whenever it (re)creates a room hash — on first sight of a concert, and after
//! Redis lost its data — so a closed room stays closed and a throttled room throttled
//! whatever happens to Redis. `version` counts the changes; the gateways never write an
//! older version over a newer one.

pub mod store;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use shared::contract::rooms::{RoomChange, StoredRoom};
use shared::http::{Json, Path};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/internal/rooms/{concert_id}", get(show).patch(change))
}

#[utoipa::path(
    get, path = "/internal/rooms/{concert_id}", operation_id = "stored_room", tag = "internal",
    summary = "A room's durable settings (gateways only)",
    description = "`settings` is null until an operator first changes the room: the gateways' \
                   defaults apply until then.",
    params(("concert_id" = i64, Path, minimum = 1, description = "Concert id")),
    security(("internal_token" = [])),
    responses(
        (status = 200, description = "The stored room.", body = StoredRoom),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::InternalUnauthorized),
        (status = 404, response = shared::docs::ConcertNotFound),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn show(
    State(state): State<AppState>,
    Path(concert_id): Path<i64>,
) -> ApiResult<Json<StoredRoom>> {
    let concert_id = shared::http::concert_id(concert_id).map_err(ApiError::Invalid)?;
    store::find(&state.db, concert_id)
        .await?
        .map(Json)
        .ok_or(ApiError::ConcertNotFound)
}

#[utoipa::path(
    patch, path = "/internal/rooms/{concert_id}", operation_id = "change_stored_room",
    tag = "internal",
    summary = "Record an operator's change of a room (gateways only)",
    description = "Applies `patch` to the stored settings, or to `defaults` when there are none \
                   yet, and counts the change in `version`. The gateway validated the patch.",
    params(("concert_id" = i64, Path, minimum = 1, description = "Concert id")),
    security(("internal_token" = [])),
    request_body = RoomChange,
    responses(
        (status = 200, description = "The room as now stored.", body = StoredRoom),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::InternalUnauthorized),
        (status = 404, response = shared::docs::ConcertNotFound),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn change(
    State(state): State<AppState>,
    Path(concert_id): Path<i64>,
    Json(change): Json<RoomChange>,
) -> ApiResult<Json<StoredRoom>> {
    let concert_id = shared::http::concert_id(concert_id).map_err(ApiError::Invalid)?;
    change
        .patch
        .validate()
        .map_err(|errors| ApiError::Invalid(errors.join("; ")))?;
    let mut tx = state.db.begin().await?;
    let stored = store::change(&mut tx, concert_id, &change)
        .await?
        .ok_or(ApiError::ConcertNotFound)?;
    tx.commit().await?;
    Ok(Json(stored))
}
