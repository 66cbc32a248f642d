//! Operator API for rooms (SPEC §4): `GET /admin/rooms/{concert_id}` shows a room's
//! settings and live figures, `PUT` changes any of `capacity`, `batch_size`, `tick_ms`,
//! `active_ttl_secs`, `enabled`.
//!
//! The admin token is checked by a route layer before any extractor runs, so a caller
//! without it learns nothing (not even whether its body would parse). Changes are written
//! to the room hash in Redis; every instance's next promote call reads them, so they apply
//! everywhere within one tick, with no restart. A room is created (with the instance
//! defaults) the first time an operator or a buyer touches a concert booking knows.

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use shared::http::{Json, Path};

use crate::error::ApiError;
use crate::queue::{RoomPatch, RoomStats};
use crate::state::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/admin/rooms/{concert_id}", get(show).put(change))
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

async fn require_admin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match shared::auth::require_admin(request.headers(), &state.settings.admin.token) {
        Ok(()) => next.run(request).await,
        Err(problem) => problem.into_response(),
    }
}

/// A room as operators see it.
#[derive(Debug, Serialize)]
pub struct RoomView {
    pub concert_id: i64,
    pub capacity: u64,
    pub batch_size: u64,
    pub tick_ms: u64,
    pub active_ttl_secs: u64,
    pub enabled: bool,
    pub waiting: u64,
    pub active: u64,
    pub admitted_last_minute: u64,
    /// How long the head of the line has waited, to the second.
    pub oldest_wait_secs: u64,
    /// Ticket number at the head of the line (next ticket number when the line is empty).
    pub head_seq: i64,
    /// Last ticket number handed out.
    pub last_seq: i64,
    pub last_tick_by: Option<String>,
    pub last_tick_at: Option<String>,
}

impl RoomView {
    fn new(concert_id: i64, s: RoomStats) -> Self {
        Self {
            concert_id,
            capacity: s.capacity,
            batch_size: s.batch_size,
            tick_ms: s.tick_ms,
            active_ttl_secs: s.active_ttl_secs,
            enabled: s.enabled,
            waiting: s.waiting,
            active: s.active,
            admitted_last_minute: s.admitted_last_minute,
            oldest_wait_secs: s.oldest_wait_ms / 1000,
            head_seq: s.head_seq,
            last_seq: s.last_seq,
            last_tick_by: Some(s.last_tick_by).filter(|s| !s.is_empty()),
            last_tick_at: (s.last_tick_ms > 0)
                .then(|| DateTime::<Utc>::from_timestamp_millis(s.last_tick_ms))
                .flatten()
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }
}

fn positive(concert_id: i64) -> Result<i64, ApiError> {
    if concert_id > 0 {
        Ok(concert_id)
    } else {
        Err(ApiError::Invalid(
            "concert_id must be a positive integer".into(),
        ))
    }
}

async fn show(
    State(state): State<AppState>,
    Path(concert_id): Path<i64>,
) -> Result<Json<RoomView>, ApiError> {
    let concert_id = positive(concert_id)?;
    state.rooms.ensure(concert_id).await?;
    let stats = state.queue.stats(concert_id).await?;
    Ok(Json(RoomView::new(concert_id, stats)))
}

async fn change(
    State(state): State<AppState>,
    Path(concert_id): Path<i64>,
    Json(patch): Json<RoomPatch>,
) -> Result<Json<RoomView>, ApiError> {
    let concert_id = positive(concert_id)?;
    patch
        .validate()
        .map_err(|errors| ApiError::Invalid(errors.join("; ")))?;
    state.rooms.ensure(concert_id).await?;
    state.queue.update_room(concert_id, &patch).await?;
    tracing::info!(concert_id, ?patch, "room settings changed");
    let stats = state.queue.stats(concert_id).await?;
    Ok(Json(RoomView::new(concert_id, stats)))
}
