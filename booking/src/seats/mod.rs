//! What buyers see of a schedule's seats: its sections (grade, price, seats in total and
//! available, rows), and its seats (all, or one section's). A hold past its deadline is
//! shown AVAILABLE at once, whether or not the sweeper has reset the row yet.
//!
//! Sections are read from memory ([`SectionsCache`]): one query per schedule at most every
//! half second however many buyers ask, so a stadium's sale does not scan its seats per
//! page view; the answer carries `as_of`, at most a second old. A seat list goes out
//! gzipped when the client takes it (60,000 seats are about 5 MB of JSON, a tenth of that
//! gzipped).

pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use shared::contract::seats::{SeatMap, SeatQuery, SectionMap};
use shared::http::{Json, Path, Query};

use crate::auth::Buyer;
use crate::concerts::schedule_info;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/schedules/{schedule_id}/seats", get(seats))
        .route("/v1/schedules/{schedule_id}/sections", get(sections))
}

#[tracing::instrument(skip(state, headers))]
async fn seats(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(schedule_id): Path<i64>,
    Query(query): Query<SeatQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let info = schedule_info(&state, schedule_id)
        .await?
        .ok_or(ApiError::ScheduleNotFound)?;
    buyer.require_concert(info.concert_id)?;
    let mut conn = state.db.acquire().await?;
    let seats = store::seat_map(&mut conn, schedule_id, query.section.as_deref()).await?;
    drop(conn);
    let body = serde_json::to_vec(&SeatMap { schedule_id, seats })
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(shared::http::json_maybe_gzipped(&headers, body))
}

#[tracing::instrument(skip(state))]
async fn sections(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(schedule_id): Path<i64>,
) -> ApiResult<Json<SectionMap>> {
    let info = schedule_info(&state, schedule_id)
        .await?
        .ok_or(ApiError::ScheduleNotFound)?;
    buyer.require_concert(info.concert_id)?;
    let map = state
        .sections
        .get(&state, schedule_id, info.max_tickets_per_user)
        .await?;
    Ok(Json(SectionMap::clone(&map)))
}

/// How long a schedule's sections are answered from memory.
const SECTIONS_FRESH: Duration = Duration::from_millis(500);

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Arc<SectionMap>)>>>;

/// Each schedule's sections, refreshed at most every [`SECTIONS_FRESH`]: the first request
/// after that reads PostgreSQL while the others of the same schedule wait for its answer.
#[derive(Clone, Default)]
pub struct SectionsCache {
    slots: Arc<Mutex<HashMap<i64, Slot>>>,
}

impl SectionsCache {
    async fn get(
        &self,
        state: &AppState,
        schedule_id: i64,
        max_tickets_per_user: i32,
    ) -> ApiResult<Arc<SectionMap>> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(schedule_id).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some((at, map)) = slot.as_ref() {
            if at.elapsed() < SECTIONS_FRESH {
                return Ok(map.clone());
            }
        }
        let mut conn = state.db.acquire().await?;
        let (sections, as_of) = store::sections(&mut conn, schedule_id).await?;
        let map = Arc::new(SectionMap {
            schedule_id,
            max_tickets_per_user,
            sections,
            as_of,
        });
        *slot = Some((Instant::now(), map.clone()));
        Ok(map)
    }
}
