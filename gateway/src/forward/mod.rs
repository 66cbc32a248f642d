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
//! slow → 503 with `Retry-After`. After booking confirms a payment (201) the gateway also
//! ends the admission itself, so the token stops working even if booking could not reach
//! Redis.

pub mod client;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use shared::http::{Path, MAX_BODY_BYTES, REQUEST_ID};

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
        .route("/v1/reservations", post(admitted))
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
async fn open(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    proxy(&state, request).await
}

/// Points routes: no admission; the path's user must be the caller in `identity.mode = jwt`.
async fn points(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
    request: Request,
) -> Result<Response, ApiError> {
    state.identity.check(request.headers(), user_id)?;
    proxy(&state, request).await
}

/// Booking routes: an admitted token is required.
async fn admitted(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    tokens::admitted(&state, request.headers()).await?;
    proxy(&state, request).await
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
    let response = proxy(&state, request).await?;
    if response.status() == StatusCode::CREATED {
        // Booking ends the admission too; doing it here as well means the token stops
        // working at once even if booking's own Redis call failed.
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
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
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
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = reply.status;
    *response.headers_mut() = pick(&reply.headers, FORWARDED_RESPONSE_HEADERS.iter());
    Ok(response)
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
