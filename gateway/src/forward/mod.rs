//! Forwarding buyer calls to the booking service (SPEC §3 Booking and Points).
//!
//! Booking routes need a token that verifies AND whose ticket is active in Redis right now
//! (one status script call): a waiting token gets 403 `NOT_ADMITTED` with its position, a
//! dropped one 410 `TICKET_GONE`. A token for concert A cannot list concert B's schedules
//! (403 `WRONG_CONCERT`); for ids the gateway cannot map to a concert (schedules,
//! reservations) booking checks the token's concert itself — the token is forwarded.
//! Points routes and `GET /v1/concerts/{id}` need no admission.
//!
//! The request goes on with its method, path, query, body and the headers booking uses
//! (`Authorization`, `Content-Type`, `Idempotency-Key`, `X-Request-Id`); booking's status,
//! `Content-Type`, `Retry-After` and body come back unchanged. Booking unreachable or too
//! slow → 503 with `Retry-After`. After booking confirms a payment (201) without
//! `x-admission-ended` (its Redis call failed) the gateway ends the admission itself, so
//! the token stops working at once either way.

pub mod client;
pub mod docs;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use shared::http::{Path, ADMISSION_ENDED, MAX_BODY_BYTES, REQUEST_ID};

use crate::error::ApiError;
use crate::state::AppState;
use crate::tokens;

/// Request headers passed on to booking.
fn forwarded_request_headers() -> [HeaderName; 4] {
    [
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        HeaderName::from_static("idempotency-key"),
        REQUEST_ID.clone(),
    ]
}

/// Response headers passed back to the buyer.
const FORWARDED_RESPONSE_HEADERS: [HeaderName; 2] = [header::CONTENT_TYPE, header::RETRY_AFTER];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/concerts/{concert_id}", get(open))
        .route("/v1/concerts/{concert_id}/schedules", get(schedules))
        .route("/v1/schedules/{schedule_id}/seats", get(admitted))
        .route("/v1/reservations", post(hold))
        .route(
            "/v1/reservations/{reservation_id}",
            get(admitted).delete(admitted),
        )
        .route("/v1/payments", post(payments))
        .route("/v1/users/{user_id}/points", get(points))
        .route("/v1/users/{user_id}/points/charge", post(points))
        .route("/v1/users/{user_id}/points/history", get(points))
}

/// Routes with no admission check.
#[utoipa::path(
    get,
    path = "/v1/concerts/{concert_id}",
    operation_id = "get_concert",
    tag = "concerts",
    summary = "A concert and all its schedules (public)",
    description = "No queue token needed.",
    params(("concert_id" = i64, Path, description = "Concert id")),
    responses(
        (status = 200, description = "The concert.", body = docs::ConcertView),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 404, description = "`CONCERT_NOT_FOUND`: no such concert.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
async fn open(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    proxy(&state, request).await
}

/// Points routes: no admission; the path's user must be the caller in `identity.mode = jwt`.
async fn points(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
    request: Request,
) -> Result<Response, ApiError> {
    tracing::Span::current().record("user_id", user_id);
    state.identity.check(request.headers(), user_id)?;
    proxy(&state, request).await
}

/// Booking routes: an admitted token is required.
async fn admitted(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    tokens::admitted(&state, request.headers()).await?;
    proxy(&state, request).await
}

/// The seat a hold request names, read the way booking reads it (`application/json`, no
/// unknown fields); a request that is not a well-formed hold goes to booking, which
/// answers it (400, 415, ...).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldTarget {
    schedule_id: i64,
    seat_no: i64,
}

/// `POST /v1/reservations`: an admitted token is required and, in the same Redis call, the
/// seat's hold key is looked up. While someone holds the seat, booking's first gate would
/// refuse the hold, so the gateway answers that 409 `SEAT_UNAVAILABLE` itself: in a storm
/// on a few seats almost every attempt stops here, one hop and no booking call. Anything
/// else (a free or sold seat, an odd body) goes on to booking, which decides.
async fn hold(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let body = read_body(body).await?;
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim() == "application/json");
    let seat = json
        .then(|| serde_json::from_slice::<HoldTarget>(&body).ok())
        .flatten()
        .filter(|t| t.schedule_id > 0 && t.seat_no > 0 && t.seat_no <= i64::from(i32::MAX))
        .map(|t| (t.schedule_id, t.seat_no as i32));
    let (_, seat_held) = tokens::admitted_at_seat(&state, &parts.headers, seat).await?;
    if seat_held {
        metrics::counter!("gateway_holds_refused_total", "reason" => "seat_held").increment(1);
        return Err(ApiError::SeatUnavailable);
    }
    Ok(forward(&state, &parts, body).await?.0)
}

#[utoipa::path(
    get,
    path = "/v1/concerts/{concert_id}/schedules",
    operation_id = "list_schedules",
    tag = "concerts",
    summary = "Bookable schedules of a concert (admitted buyers)",
    description = "Only schedules still open for booking and in the future, with live seat \
                   counts. Forwarded to booking once Redis confirms the token's admission.",
    params(("concert_id" = i64, Path, description = "Concert id; must be the token's concert")),
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "Bookable schedules, earliest first.",
         body = Vec<docs::ScheduleView>),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 401, response = shared::docs::InvalidToken),
        (status = 403, description = "`NOT_ADMITTED`: the token is still waiting (`position` \
         says where). `WRONG_CONCERT`: the token is for another concert.",
         body = crate::docs::Forbidden, content_type = "application/problem+json"),
        (status = 404, description = "`CONCERT_NOT_FOUND`: no such concert.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 410, response = crate::docs::TicketGone),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
async fn schedules(
    State(state): State<AppState>,
    Path(concert_id): Path<i64>,
    request: Request,
) -> Result<Response, ApiError> {
    let claims = tokens::admitted(&state, request.headers()).await?;
    if claims.cid != concert_id {
        return Err(ApiError::WrongConcert {
            token: claims.cid,
            resource: concert_id,
        });
    }
    proxy(&state, request).await
}

#[utoipa::path(
    post,
    path = "/v1/payments",
    operation_id = "pay",
    tag = "payments",
    summary = "Pay for held seats from the points balance (admitted buyers)",
    description = "All or nothing, in one transaction: debit, seats `SOLD`, reservations \
                   `CONFIRMED`, payment and point-history rows. Then the buyer's admission ends \
                   and the slot goes to the next in line. The same `Idempotency-Key` with the \
                   same body returns the first result again and charges once.",
    security(("queue_token" = [])),
    params(("Idempotency-Key" = String, Header,
            description = "1-255 visible ASCII characters, unique per payment attempt")),
    request_body = docs::PaymentRequest,
    responses(
        (status = 201, description = "Paid (or the replay of an earlier identical request).",
         body = docs::PaymentView),
        (status = 400, description = "`INVALID_REQUEST`: malformed body, missing or invalid \
         `Idempotency-Key`, or `reservation_ids` empty, over 20 or repeated.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, response = shared::docs::InvalidToken),
        (status = 402, description = "`INSUFFICIENT_BALANCE`: the balance is below the total; \
         nothing changed.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "`NOT_ADMITTED`: the token is still waiting (`position` \
         says where). `FORBIDDEN`: a reservation belongs to another buyer. \
         `WRONG_CONCERT`: a reservation is for another concert than the token's.",
         body = crate::docs::Forbidden, content_type = "application/problem+json"),
        (status = 404, description = "`RESERVATION_NOT_FOUND`: a reservation does not exist.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`RESERVATION_EXPIRED`: a hold ran out before payment. \
         `RESERVATION_NOT_HELD`: a reservation is already paid or released. \
         `SEAT_UNAVAILABLE`: a seat was sold under another reservation meanwhile.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
        (status = 410, response = crate::docs::TicketGone),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
        (status = 422, response = shared::docs::IdempotencyKeyReused),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
async fn payments(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let claims = tokens::admitted(&state, request.headers()).await?;
    let (response, admission_ended) = proxy_reply(&state, request).await?;
    if response.status() == StatusCode::CREATED && !admission_ended {
        // Booking ends the admission and says so; when it could not (its Redis call
        // failed), the gateway ends it, so the token stops working at once.
        if let Err(e) = state
            .queue
            .end_admission(claims.cid, claims.user_id(), claims.seq)
            .await
        {
            tracing::warn!(error = %e, "could not end the admission after a payment");
        }
    }
    Ok(response)
}

/// Sends the request to booking and turns its reply into ours.
async fn proxy(state: &AppState, request: Request) -> Result<Response, ApiError> {
    Ok(proxy_reply(state, request).await?.0)
}

/// [`proxy`], also telling whether booking's reply carried `x-admission-ended`.
async fn proxy_reply(state: &AppState, request: Request) -> Result<(Response, bool), ApiError> {
    let (parts, body) = request.into_parts();
    let body = read_body(body).await?;
    forward(state, &parts, body).await
}

/// The whole request body (booking's bodies are small; the limit is the service's).
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)
}

/// Sends a request already read to booking and turns its reply into ours, also telling
/// whether the reply carried `x-admission-ended`.
async fn forward(
    state: &AppState,
    parts: &Parts,
    body: Bytes,
) -> Result<(Response, bool), ApiError> {
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or_else(|| parts.uri.path());
    let reply = state
        .booking
        .send(
            parts.method.clone(),
            path_and_query,
            pick(&parts.headers, forwarded_request_headers().iter()),
            body,
        )
        .await?;
    let admission_ended = reply.headers.contains_key(&ADMISSION_ENDED);
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = reply.status;
    *response.headers_mut() = pick(&reply.headers, FORWARDED_RESPONSE_HEADERS.iter());
    Ok((response, admission_ended))
}

fn pick<'a>(from: &HeaderMap, names: impl Iterator<Item = &'a HeaderName>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in names {
        for value in from.get_all(name) {
            headers.append(name.clone(), HeaderValue::clone(value));
        }
    }
    headers
}
