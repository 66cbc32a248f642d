//! The buyer's queue API: join / re-issue, status, leave.
//!
//! - `POST /v1/queue/tokens` — one join script call. A presented token must verify (else
//!   401 whatever it is for); the join then returns the buyer's existing place or a new
//!   ticket, so "no token", "token for another concert or user" and "token whose ticket is
//!   gone" all come out right without extra reads. 201 when a ticket was created, else 200.
//! - `GET /v1/queue/status` — one status script call for the token's ticket; 410 when gone.
//! - `DELETE /v1/queue/tokens` — one leave script call; 204 whether or not anything was left.
//!
//! [`admitted`] is the check every booking route runs: a verified token whose ticket is
//! active in Redis right now.

pub mod identity;
pub mod issue;
pub mod limit;
pub mod poll;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use crate::line::{JoinOutcome, Left};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use shared::admission::{self, Refusal, TicketRef};
use shared::contract::queue::{JoinRequest, TicketView};
use shared::http::{bearer, Json};
use shared::store::seats::SeatKey;
use shared::store::{Place, StoreError, Ticket};
use shared::token::{now_secs, QueueClaims, TicketStatus};

use crate::error::ApiError;
use crate::rooms::Observed;
use crate::state::AppState;
use issue::{Presented, ViewInput};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/queue/tokens", post(join).delete(leave))
        .route("/v1/queue/status", get(status))
}

/// The TCP peer's address (behind a load balancer: the load balancer's).
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// Records the buyer on the request's trace span.
fn record_span(concert_id: i64, user_id: i64) {
    let span = tracing::Span::current();
    span.record("concert_id", concert_id);
    span.record("user_id", user_id);
}

/// The bearer token, verified; 401 `INVALID_TOKEN` when missing or not valid.
pub fn verified<'h>(
    state: &AppState,
    headers: &'h HeaderMap,
) -> Result<(&'h str, QueueClaims), ApiError> {
    let token = bearer(headers).ok_or_else(|| {
        ApiError::InvalidToken("`Authorization: Bearer <queue token>` is required".into())
    })?;
    let claims = state.tokens.verify(token)?;
    record_span(claims.cid, claims.user_id());
    Ok((token, claims))
}

/// The claims of a token whose ticket is admitted right now ([`shared::admission::check`],
/// the rule booking re-checks): 403 `NOT_ADMITTED` with the position while it waits, 410
/// `TICKET_GONE` when it was dropped.
pub async fn admitted(state: &AppState, headers: &HeaderMap) -> Result<QueueClaims, ApiError> {
    Ok(admitted_at_seat(state, headers, None).await?.0)
}

/// [`admitted`] for a hold of seat `seat_no` of schedule `schedule_id` (when the body named
/// one): also says, from the same Redis call, what that seat's key in the token's concert
/// holds, if anything (a hold, and whose; or `sold`).
pub async fn admitted_at_seat(
    state: &AppState,
    headers: &HeaderMap,
    seat: Option<(i64, i32)>,
) -> Result<(QueueClaims, Option<SeatKey>), ApiError> {
    let (_, claims) = verified(state, headers)?;
    match admission::check(&state.store, TicketRef::from(&claims), seat).await? {
        Ok(seat_key) => Ok((claims, seat_key)),
        Err(Refusal::Waiting { position }) => Err(ApiError::NotAdmitted { position }),
        Err(Refusal::Prequeue { opens_at_ms }) => Err(ApiError::InPrequeue {
            opens_at: chrono::DateTime::from_timestamp_millis(opens_at_ms),
        }),
        Err(Refusal::Gone) => Err(ApiError::TicketGone),
        Err(Refusal::Reset) => Err(ApiError::QueueReset),
        Err(Refusal::SoldOut) => Err(ApiError::SoldOutGone),
    }
}

fn describe(
    state: &AppState,
    presented: Option<Presented<'_>>,
    concert_id: i64,
    user_id: i64,
    ticket: Ticket,
) -> TicketView {
    issue::view(ViewInput {
        keys: &state.tokens,
        defaults: &state.rooms.defaults(),
        waiting_ttl_secs: state.settings.jwt.waiting_ttl_secs,
        figures: state.rooms.figures(concert_id),
        presented,
        concert_id,
        user_id,
        ticket,
        now_secs: now_secs(),
    })
}

#[utoipa::path(
    post, path = "/v1/queue/tokens", operation_id = "join_queue", tag = "queue",
    summary = "Join a concert's line, or get a fresh token for your place",
    description = "No token, a token for another concert, or a token whose ticket is gone: the \
                   buyer is placed (the SAME place when they are already in line: one place per \
                   user per concert). A valid token for this concert and user returns the current \
                   state, with a fresh token when the status changed. A buyer who joins an empty \
                   line with free capacity is active at once. With a verified identity \
                   (`identity.mode` `jwt`: `X-User-Token`; `header`: `X-User-Id` from a trusted \
                   proxy) `user_id` may be omitted and, if given, must be the identity's. With \
                   an opening scheduled (`opens_at`), a join inside the pre-queue window gets \
                   `status: \"prequeue\"` (one entry per user, no position); at `opens_at` the \
                   pre-queue is drawn into a uniformly random order ahead of everyone who joins \
                   later (see `GET /v1/rooms/{concert_id}`).",
    security((), ("queue_token" = [])),
    request_body = JoinRequest,
    responses(
        (status = 200, description = "The buyer's existing place.", body = TicketView),
        (status = 201, description = "A new place in line (or admitted at once).",
         body = TicketView),
        (status = 400, description = "`INVALID_REQUEST`: malformed body, an unknown field, or \
         ids that are not positive integers.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "`INVALID_TOKEN`: the presented token is malformed, \
         tampered, signed with another key, `alg: none` or expired. `IDENTITY_REQUIRED`: the \
         identity is missing. `IDENTITY_INVALID`: it is not valid (signature, expiry, issuer, \
         audience, `kid`).",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, response = shared::docs::IdentityMismatch),
        (status = 404, response = shared::docs::ConcertNotFound),
        (status = 409, description = "`QUEUE_CLOSED`: the room is closed to new joins. \
         `SOLD_OUT`: every seat of the concert is sold and its room has no waitlist (a \
         waitlisted room places the buyer at the back: 201 `status: \"sold_out\"` with the \
         place). `QUEUE_NOT_OPEN`: an opening is \
         scheduled and its pre-queue has not opened yet: the body carries `opens_at` and \
         `prequeue_opens_at`, `Retry-After` says when to come back.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
        (status = 429, response = shared::docs::RateLimited),
    )
)]
async fn join(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Json(body): Json<JoinRequest>,
) -> Result<Response, ApiError> {
    let limited = |retry_after_secs| ApiError::RateLimited { retry_after_secs };
    let client = state.limits.client(peer, &headers);
    state.limits.check_address(client).map_err(limited)?;
    let JoinRequest {
        concert_id,
        user_id,
    } = body;
    if concert_id <= 0 || user_id.is_some_and(|u| u <= 0) {
        return Err(ApiError::Invalid(
            "concert_id and user_id must be positive integers".into(),
        ));
    }
    let user_id = state.identity.bind(&headers, peer, user_id)?;
    record_span(concert_id, user_id);
    state.limits.check_user(user_id).map_err(limited)?;
    // A presented token must be genuine, whatever concert or user it is for.
    let presented = match bearer(&headers) {
        Some(token) => Some((token, state.tokens.verify(token)?)),
        None => None,
    };
    state.rooms.ensure(concert_id).await?;

    let mut outcome = state.store.join(concert_id, user_id).await?;
    if outcome == JoinOutcome::NoRoom {
        // The room hash vanished from Redis (flush, restart without persistence).
        state.rooms.recreate(concert_id).await?;
        outcome = state.store.join(concert_id, user_id).await?;
    }
    if outcome == JoinOutcome::Unfrozen {
        // The first joins after the opening freeze the pre-queue (the draw's numbers are
        // reserved ahead of them), then join behind it.
        state
            .store
            .draw_begin(concert_id, &state.instance_id, 0, false)
            .await?;
        outcome = state.store.join(concert_id, user_id).await?;
    }
    let (ticket, created) = match outcome {
        JoinOutcome::Placed { ticket, created } => (ticket, created),
        JoinOutcome::Closed => {
            count_join(concert_id, "closed");
            return Err(ApiError::QueueClosed(concert_id));
        }
        JoinOutcome::SoldOut => {
            count_join(concert_id, "sold_out");
            return Err(ApiError::SoldOut(concert_id));
        }
        JoinOutcome::NotOpen {
            opens_at_ms,
            prequeue_ms,
        } => {
            count_join(concert_id, "not_open");
            return Err(not_open(concert_id, opens_at_ms, prequeue_ms));
        }
        JoinOutcome::NoRoom | JoinOutcome::Unfrozen => {
            return Err(ApiError::Store(StoreError::UnexpectedReply(format!(
                "join: {outcome:?} right after the room was mended"
            ))))
        }
    };
    count_join(
        concert_id,
        match (created, ticket.place) {
            (false, _) => "existing",
            (true, Place::Active { .. }) => "admitted",
            (true, Place::Waiting { .. }) => "waiting",
            (true, Place::Prequeue { .. }) => "prequeue",
        },
    );
    let presented = presented
        .as_ref()
        .map(|(token, claims)| Presented { token, claims });
    let view = describe(&state, presented, concert_id, user_id, ticket);
    if created && matches!(ticket.place, Place::Waiting { .. }) {
        state
            .rooms
            .eta()
            .given(concert_id, ticket.seq, view.eta_seconds);
    }
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(view)).into_response())
}

/// 409 `QUEUE_NOT_OPEN`: come back when the pre-queue opens.
fn not_open(concert_id: i64, opens_at_ms: i64, prequeue_ms: i64) -> ApiError {
    let at = |ms| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let until_ms = prequeue_ms - chrono::Utc::now().timestamp_millis();
    ApiError::QueueNotOpen {
        concert_id,
        opens_at: at(opens_at_ms),
        prequeue_opens_at: at(prequeue_ms),
        retry_after_secs: (until_ms.max(0) as u64).div_ceil(1000).max(1),
    }
}

fn count_join(concert_id: i64, result: &'static str) {
    metrics::counter!(
        "queue_joins_total",
        "concert_id" => concert_id.to_string(),
        "result" => result
    )
    .increment(1);
    if result == "admitted" {
        // Joined an empty line with free capacity: admitted without a tick.
        metrics::counter!("queue_admitted_total", "concert_id" => concert_id.to_string())
            .increment(1);
    }
}

#[utoipa::path(
    get, path = "/v1/queue/status", operation_id = "queue_status", tag = "queue",
    summary = "Position, estimated wait, or admission of a token",
    description = "Poll again after `poll_after_ms`. A fresh token comes back when the status \
                   changed (e.g. on admission). `seats_left` and `held` say how many seats are \
                   still buyable and how many are held right now (at most a second old). When \
                   every seat is sold, a waiting ticket of a room with `waitlist` (the default) \
                   answers `status: \"sold_out\"` with its `position` kept, and `waiting` \
                   again when seats come back (admission resumes in line order, one buyer per \
                   buyable seat); without the waitlist the line is released: `status: \
                   \"sold_out\"`, position 0 (stop waiting) for `active_ttl_secs`, then 410 \
                   `TICKET_GONE` with `reason: \"sold_out\"`. After the queue store lost its \
                   data, 410 `TICKET_GONE` with `reason: \"queue_reset\"`: join again.",
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "The ticket's state.", body = TicketView),
        (status = 410, response = shared::docs::TicketGone),
    )
)]
async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<TicketView>, ApiError> {
    let (token, claims) = verified(&state, &headers)?;
    Ok(Json(status_view(&state, token, &claims).await?))
}

/// The status of the ticket of a verified token (the status route's answer, and a push
/// stream's first event).
pub async fn status_view(
    state: &AppState,
    token: &str,
    claims: &QueueClaims,
) -> Result<TicketView, ApiError> {
    let user_id = claims.user_id();
    let ticket = match poll::current_ticket(state, claims).await? {
        poll::Polled::Ticket(ticket) => ticket,
        poll::Polled::SoldOut(inventory) => {
            return Ok(issue::sold_out_view(token, claims.cid, user_id, inventory))
        }
    };
    let presented = Presented { token, claims };
    let view = describe(state, Some(presented), claims.cid, user_id, ticket);
    if claims.st == TicketStatus::Prequeue && matches!(ticket.place, Place::Waiting { .. }) {
        // The draw gave this pre-queue entry its place: its first estimate.
        state
            .rooms
            .eta()
            .given(claims.cid, ticket.seq, view.eta_seconds);
    }
    Ok(view)
}

#[utoipa::path(
    delete, path = "/v1/queue/tokens", operation_id = "leave_queue", tag = "queue",
    summary = "Leave the line or give up an active slot",
    description = "The slot goes to the next in line. 204 whether or not anything was left.",
    security(("queue_token" = [])),
    responses(
        (status = 204, description = "Left (or there was nothing to leave)."),
    )
)]
async fn leave(State(state): State<AppState>, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    let (_, claims) = verified(&state, &headers)?;
    let left = state
        .store
        .leave(claims.cid, claims.user_id(), claims.seq)
        .await?;
    let (concert_id, seq) = (claims.cid, claims.seq);
    match left {
        Left::Waiting => state.rooms.observe(Observed::Left { concert_id, seq }),
        Left::Active => state.rooms.observe(Observed::GaveUp { concert_id, seq }),
        Left::Prequeue | Left::Nothing => {}
    }
    Ok(StatusCode::NO_CONTENT)
}
