//! The public face of a room and its opening, no token needed:
//!
//! - `GET /v1/rooms/{concert_id}` — mode, the scheduled opening, the draw's commitment
//!   (`seed_sha256`, published as soon as the opening is scheduled) and, after the draw, its
//!   seed; how many wait; seats left and held; sold out.
//! - `GET /v1/rooms/{concert_id}/draw?offset=&limit=` — after the draw, the drawn order as
//!   entry ids, page by page, with the seed: anyone can recompute the order from these two
//!   answers (`scripts/verify-draw`) and every buyer can find their own entry id
//!   ([`shared::draw`]).
//!
//! The room answer comes from this instance's memory (the ticker's figures, at most a
//! second old), so a crowd reloading the sale's page costs no Redis call; Redis answers only
//! when this instance has no fresh figures.

use std::time::Duration;

use crate::line::Opening;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use shared::contract::rooms::{DrawPage, DrawQuery, DrawState, PublicRoom, RoomMode};
use shared::draw;
use shared::http::{Json, Path, Query};
use shared::store::Inventory;

use crate::error::ApiError;
use crate::state::AppState;

/// Oldest figures the room answer is given from.
const FRESH: Duration = Duration::from_secs(1);
const DEFAULT_PAGE: u64 = 1_000;
const MAX_PAGE: u64 = 10_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/rooms/{concert_id}", get(room))
        .route("/v1/rooms/{concert_id}/draw", get(draw_page))
}

/// What the room answer is made of, from memory or from Redis.
struct Known {
    mode: RoomMode,
    waiting: u64,
    inventory: Option<Inventory>,
    sold_out: bool,
    opening: Opening,
}

async fn known(state: &AppState, concert_id: i64) -> Result<Known, ApiError> {
    if concert_id <= 0 {
        return Err(ApiError::Invalid(
            "concert_id must be a positive integer".into(),
        ));
    }
    state.rooms.ensure(concert_id).await?;
    if let Some(f) = state
        .rooms
        .figures(concert_id)
        .filter(|f| f.seen.elapsed() <= FRESH)
    {
        return Ok(Known {
            mode: f.tick.mode,
            waiting: f.tick.waiting,
            inventory: f.tick.inventory,
            sold_out: f.tick.sold_out,
            opening: f.tick.opening,
        });
    }
    let mut stats = state.store.room_stats(concert_id).await?;
    if !stats.exists {
        state.rooms.recreate(concert_id).await?;
        stats = state.store.room_stats(concert_id).await?;
    }
    Ok(Known {
        mode: stats.settings.mode,
        waiting: stats.waiting,
        inventory: stats.inventory,
        sold_out: stats.inventory.is_some_and(|i| i.sold_out()),
        opening: stats.opening,
    })
}

/// Pre-queue entries not in line yet.
fn unplaced(o: &Opening) -> u64 {
    match o.state {
        DrawState::Scheduled | DrawState::Drawing => o.entries.saturating_sub(o.placed),
        DrawState::None | DrawState::Drawn => 0,
    }
}

#[utoipa::path(
    get, path = "/v1/rooms/{concert_id}", operation_id = "public_room", tag = "rooms",
    summary = "A room's public state: mode, opening, the draw's commitment, seats left",
    description = "No token needed. `seed_sha256` is published as soon as an opening is \
                   scheduled (`opens_at`); `seed` stays null until the draw at `opens_at`, \
                   then the drawn order is at `/v1/rooms/{concert_id}/draw`. `waiting` counts \
                   buyers in line and in the pre-queue. At most a second old.",
    params(("concert_id" = i64, Path, minimum = 1, description = "Concert id")),
    responses(
        (status = 200, description = "The room.", body = PublicRoom),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 404, response = shared::docs::ConcertNotFound),
    )
)]
async fn room(
    State(state): State<AppState>,
    Path(concert_id): Path<i64>,
) -> Result<Json<PublicRoom>, ApiError> {
    let k = known(&state, concert_id).await?;
    let summary = crate::admin::draw_summary(&k.opening);
    Ok(Json(PublicRoom {
        concert_id,
        mode: k.mode,
        opens_at: k.opening.opens_at(),
        prequeue_opens_at: k.opening.prequeue_opens_at(),
        seed_sha256: summary.seed_sha256,
        seed: summary.seed,
        draw_state: k.opening.state,
        waiting: k.waiting + unplaced(&k.opening),
        seats_left: k.inventory.map(|i| i.seats_left()),
        held: k.inventory.map(|i| i.held),
        sold_out: k.sold_out,
    }))
}

#[utoipa::path(
    get, path = "/v1/rooms/{concert_id}/draw", operation_id = "public_draw", tag = "rooms",
    summary = "The opening's drawn order, page by page (after the draw)",
    description = "No token needed. `entries` are entry ids in drawn order: \
                   hex(SHA-256(\"entry:<concert_id>:<user_id>\")). The order is the entry ids \
                   sorted by hex(HMAC-SHA256(key = the 32 seed bytes, message = the entry id)), \
                   and hex(SHA-256(seed)) is the `seed_sha256` published before the opening, so \
                   anyone can check the draw (`scripts/verify-draw`). 409 `QUEUE_NOT_OPEN` with \
                   `Retry-After` before the draw is written; 404 `NO_DRAW` when the room has \
                   no opening.",
    params(
        ("concert_id" = i64, Path, minimum = 1, description = "Concert id"),
        DrawQuery,
    ),
    responses(
        (status = 200, description = "One page of the draw.", body = DrawPage),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 404, description = "`CONCERT_NOT_FOUND`: booking does not know the concert. \
         `NO_DRAW`: the room has no opening.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`QUEUE_NOT_OPEN`: the opening has not come, or its draw \
         is still being written; retry after `Retry-After`.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
    )
)]
async fn draw_page(
    State(state): State<AppState>,
    Path(concert_id): Path<i64>,
    Query(query): Query<DrawQuery>,
) -> Result<Json<DrawPage>, ApiError> {
    let offset = query.offset.unwrap_or(0);
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::Invalid(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let k = known(&state, concert_id).await?;
    let o = k.opening;
    let Some(opens_at) = o.opens_at() else {
        return Err(ApiError::NoDraw(concert_id));
    };
    let (Some(seed), Some(drawn_at), DrawState::Drawn) = (o.seed, o.drawn_at(), o.state) else {
        let until_ms = (opens_at - Utc::now()).num_milliseconds();
        return Err(ApiError::DrawPending {
            concert_id,
            opens_at,
            retry_after_secs: (until_ms.max(0) as u64).div_ceil(1000).max(1),
        });
    };
    let (users, total) = state.store.drawn_page(concert_id, offset, limit).await?;
    let next = offset + users.len() as u64;
    Ok(Json(DrawPage {
        concert_id,
        seed: draw::seed_hex(&seed),
        seed_sha256: draw::seed_sha256(&seed),
        drawn_at,
        total,
        offset,
        entries: users
            .iter()
            .map(|&user| draw::entry_id(concert_id, user))
            .collect(),
        next_offset: (next < total).then_some(next),
    }))
}
