//! Forwarding buyer calls to the booking service (booking and points routes). Their
//! OpenAPI description is booking's own ([`shared::contract::paths`]).
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

/// `GET /v1/concerts/{id}`: public, no admission check.
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

async fn payments(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let claims = tokens::admitted(&state, request.headers()).await?;
    let (response, admission_ended) = proxy_reply(&state, request).await?;
    if response.status() == StatusCode::CREATED && !admission_ended {
        // Booking ends the admission and says so; when it could not (its Redis call
        // failed), the gateway ends it, so the token stops working at once.
        if let Err(e) = state
            .store
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
