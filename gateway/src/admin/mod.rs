//! Operator API for rooms: `GET /admin/rooms/{concert_id}` shows a room's
//! settings and live figures (with its opening's draw and how good the ETAs were), `PUT`
//! changes any of `mode` (`open`, `queue_all`, `closed`; `enabled` is the older alias),
//! `capacity`, `batch_size`, `tick_ms` or `rate_per_minute`, `active_ttl_secs`, `opens_at`,
//! `prequeue_secs`, `waitlist`.
//!
//! The admin token is checked by a route layer before any extractor runs, so a caller
//! without it learns nothing (not even whether its body would parse). A change is recorded
//! in booking (PostgreSQL) first, so it outlives a Redis restart, then written to the room
//! hash in Redis; every instance's next promote call reads it, so it applies everywhere
//! within one tick, with no restart. A room is created (with the instance defaults, or
//! the settings booking holds) the first time an operator or a buyer touches a concert
//! booking knows, and again whenever its hash is found missing.

use crate::line::{Opening, RoomStats};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use shared::contract::rooms::{DrawSummary, EtaAccuracy, RoomPatch, RoomView};
use shared::draw;
use shared::http::{Json, Path};

use crate::admission::accuracy::{self, Sample};
use crate::error::ApiError;
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

/// The opening's draw as operators (and, through `GET /v1/rooms`, the public) see it.
pub fn draw_summary(o: &Opening) -> DrawSummary {
    DrawSummary {
        state: o.state,
        seed_sha256: o.seed_sha256.map(hex::encode),
        seed: o.seed.as_ref().map(draw::seed_hex),
        entries: o.entries,
        placed: o.placed,
        drawn_at: o.drawn_at(),
    }
}

fn view(concert_id: i64, s: RoomStats, eta_accuracy: EtaAccuracy) -> RoomView {
    RoomView {
        concert_id,
        capacity: s.settings.capacity,
        batch_size: s.settings.batch_size,
        tick_ms: s.settings.tick_ms,
        active_ttl_secs: s.settings.active_ttl_secs,
        mode: s.settings.mode,
        rate_per_minute: s.settings.rate_per_minute(),
        enabled: s.settings.enabled(),
        waitlist: s.settings.waitlist,
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
        opens_at: s.opening.opens_at(),
        prequeue_opens_at: s.opening.prequeue_opens_at(),
        prequeue_secs: s.settings.prequeue_secs,
        draw: draw_summary(&s.opening),
        seats_left: s.inventory.map(|i| i.seats_left()),
        held: s.inventory.map(|i| i.held),
        sold_out: s.inventory.is_some_and(|i| i.sold_out()),
        eta_accuracy,
    }
}

/// The room's figures and its ETA record.
async fn current(state: &AppState, concert_id: i64) -> Result<RoomView, ApiError> {
    let stats = state.store.room_stats(concert_id).await?;
    let samples: Vec<Sample> = state
        .store
        .eta_samples(concert_id)
        .await?
        .iter()
        .filter_map(|s| Sample::decode(s))
        .collect();
    Ok(view(concert_id, stats, accuracy::summarize(&samples)))
}

#[utoipa::path(
    get, path = "/admin/rooms/{concert_id}", operation_id = "get_room", tag = "admin",
    summary = "A waiting room's settings and live figures",
    description = "Creates the room with the configured defaults if the concert exists and has \
                   none yet.",
    params(("concert_id" = i64, Path, minimum = 1, description = "Concert id")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The room.", body = RoomView),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 404, response = shared::docs::ConcertNotFound),
    )
)]
async fn show(
    State(state): State<AppState>,
    Path(concert_id): Path<i64>,
) -> Result<Json<RoomView>, ApiError> {
    tracing::Span::current().record("concert_id", concert_id);
    let concert_id = shared::http::concert_id(concert_id).map_err(ApiError::Invalid)?;
    state.rooms.ensure(concert_id).await?;
    if !state.store.room_stats(concert_id).await?.exists {
        // Redis lost the room since this instance last wrote it.
        state.rooms.recreate(concert_id).await?;
    }
    Ok(Json(current(&state, concert_id).await?))
}

#[utoipa::path(
    put, path = "/admin/rooms/{concert_id}", operation_id = "change_room", tag = "admin",
    summary = "Change a waiting room's settings live",
    description = "Any of `mode`, `capacity` (1-1,000,000), `batch_size` (1-100,000), \
                   `tick_ms` (10-60,000), `rate_per_minute` (1-6,000,000), `active_ttl_secs` \
                   (1-86,400), `enabled`; absent fields stay as they are. Every instance applies \
                   the change at its next admission tick, with no restart. `mode`: `open` admits \
                   per capacity and rate; `queue_all` pauses admission (joins are still placed, \
                   active buyers keep their slots); `closed` refuses new joins (409 \
                   `QUEUE_CLOSED`) while the line keeps its places and moves. `enabled: false` \
                   is `closed`, `true` is `open`. `rate_per_minute` sets `batch_size` and \
                   `tick_ms` together (give at most one of them with it): the tick is kept as \
                   nearly as possible and `tick_ms = 60,000 x batch_size / rate_per_minute`, \
                   so the rate is exact. `opens_at` (RFC 3339, in the future) schedules the \
                   sale's opening: joins before `opens_at - prequeue_secs` get 409 \
                   `QUEUE_NOT_OPEN`, joins after it wait in the pre-queue, drawn into a random \
                   order at `opens_at` (the seed's SHA-256 is published at once; the seed at the \
                   draw). The opening can be moved while it is ahead, removed only before its \
                   pre-queue opens, and not changed once it has passed (400). `waitlist` \
                   (default true): at the sell-out the line is kept (buyers keep their places, \
                   told `sold_out`; joins go to the back) and admission resumes in line order, \
                   one buyer per buyable seat, as seats come back; `false` releases it.",
    params(("concert_id" = i64, Path, minimum = 1, description = "Concert id")),
    security(("admin_token" = [])),
    request_body = RoomPatch,
    responses(
        (status = 200, description = "The room after the change.", body = RoomView),
        (status = 400, description = "`INVALID_REQUEST`: malformed body, an unknown field, or a \
         value out of range.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, response = shared::docs::ConcertNotFound),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
    )
)]
async fn change(
    State(state): State<AppState>,
    Path(concert_id): Path<i64>,
    Json(patch): Json<RoomPatch>,
) -> Result<Json<RoomView>, ApiError> {
    tracing::Span::current().record("concert_id", concert_id);
    let concert_id = shared::http::concert_id(concert_id).map_err(ApiError::Invalid)?;
    patch
        .validate()
        .map_err(|errors| ApiError::Invalid(errors.join("; ")))?;
    state.rooms.change(concert_id, &patch, None).await?;
    tracing::info!(concert_id, ?patch, "room settings changed");
    Ok(Json(current(&state, concert_id).await?))
}
