//! Forwarding buyer calls to the booking service (booking and points routes). Their
//! OpenAPI description is booking's own ([`shared::contract::paths`]).
//!
//! Booking routes need a token that verifies AND whose ticket is active in Redis right now
//! (one status script call): a waiting token gets 403 `NOT_ADMITTED` with its position, a
//! dropped one 410 `TICKET_GONE`. A token for concert A cannot list concert B's schedules
//! (403 `WRONG_CONCERT`); for ids the gateway cannot map to a concert (schedules,
//! reservations) booking checks the token's concert itself — the token is forwarded.
//! The per-user routes (points, history, reservations) need no admission but are bound to
//! the caller's identity; a buyer's own charge needs `points.self_charge`; `GET
//! /v1/payments/{id}` tells booking who asks (`X-User-Id`). A payment whose ticket is gone
//! still reaches booking when it carries an `Idempotency-Key`: a retry of a payment that
//! went through gets its saved 201 there (a new key gets 410). `GET /v1/concerts/{id}` is
//! public.
//!
//! The path goes on only when it is plain: segments of letters, digits, `-` and `_` (every
//! id is a number or a UUID), a query of the same plus `=`, `&`, `.`, `:`, `%`, `+`.
//! Anything else (a `\`, a dot segment, an empty segment) is 400 and never reaches booking:
//! the HTTP client would read `\` as `/` and resolve `..`, turning a public route into any
//! booking path, sent with the gateway's internal token.
//!
//! The request goes on with its method, path, query, body and the headers booking uses
//! (`Accept-Encoding`, `Authorization`, `Content-Type`, `Idempotency-Key`, `X-Request-Id`),
//! and the client adds `X-Internal-Token`, which proves to booking that the call comes from
//! a gateway; booking's status, `Content-Type`, `Content-Encoding`, `Vary`, `Retry-After`
//! and body come back unchanged. Booking unreachable or too
//! slow → 503 with `Retry-After`. Ending the admission after a payment is booking's alone
//! ([`shared::admission`]); the gateway learns of it from the room's `ended` set.

pub mod client;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use shared::http::{bearer, Path, CALLER, MAX_BODY_BYTES, REQUEST_ID};
use shared::token::TokenError;

use crate::error::ApiError;
use crate::rooms::Observed;
use crate::state::AppState;
use crate::tokens::{self, Peer};

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Request headers passed on to booking.
fn forwarded_request_headers() -> [HeaderName; 5] {
    [
        header::ACCEPT_ENCODING,
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        HeaderName::from_static(IDEMPOTENCY_KEY),
        REQUEST_ID.clone(),
    ]
}

/// Response headers passed back to the buyer (booking gzips a large seat list for a client
/// that takes it; the gateway passes the bytes through).
const FORWARDED_RESPONSE_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::CONTENT_ENCODING,
    header::VARY,
    header::RETRY_AFTER,
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/concerts", get(open))
        .route("/v1/concerts/{concert_id}", get(open))
        .route("/v1/concerts/{concert_id}/schedules", get(schedules))
        .route("/v1/schedules/{schedule_id}/seats", get(admitted))
        .route("/v1/schedules/{schedule_id}/sections", get(admitted))
        .route("/v1/orders/{order_id}", get(admitted).delete(admitted))
        .route("/v1/reservations", post(hold))
        .route(
            "/v1/reservations/{reservation_id}",
            get(admitted).delete(admitted),
        )
        .route("/v1/payments", post(payments))
        .route("/v1/payments/{payment_id}", get(payment))
        .route("/v1/users/{user_id}/points", get(per_user))
        .route("/v1/users/{user_id}/points/charge", post(charge))
        .route("/v1/users/{user_id}/points/history", get(per_user))
        .route("/v1/users/{user_id}/reservations", get(per_user))
        .route("/v1/users/{user_id}/tickets", get(per_user))
        .route("/v1/tickets/keys", get(open))
        .route("/v1/tickets/{ticket_id}/cancel", post(payment))
}

/// `GET /v1/concerts`, `GET /v1/concerts/{id}` and `GET /v1/tickets/keys`: public, no
/// admission check.
async fn open(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    proxy(&state, request).await
}

/// The per-user routes (points, history, reservations): no admission; with a verified
/// identity the path's user must be the caller.
async fn per_user(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path(user_id): Path<i64>,
    request: Request,
) -> Result<Response, ApiError> {
    tracing::Span::current().record("user_id", user_id);
    state
        .identity
        .bind(request.headers(), peer, Some(user_id))?;
    proxy(&state, request).await
}

/// A buyer's own charge: only with `points.self_charge` (development); in production
/// points come from the operator side (booking's `/admin/users/{id}/points/charge`).
async fn charge(
    state: State<AppState>,
    peer: Peer,
    user: Path<i64>,
    request: Request,
) -> Result<Response, ApiError> {
    if !state.settings.self_charge() {
        return Err(ApiError::SelfChargeDisabled);
    }
    per_user(state, peer, user, request).await
}

/// `GET /v1/payments/{id}` and `POST /v1/tickets/{id}/cancel`: the caller's own payment or
/// ticket. The caller is the identity or, in mode `none`, the user of the queue token sent
/// as Bearer (an expired one too: a receipt is looked at, and a ticket cancelled, after
/// the admission ended); booking answers 404 for anyone else's.
async fn payment(
    State(state): State<AppState>,
    Peer(peer): Peer,
    request: Request,
) -> Result<Response, ApiError> {
    let caller = match state.identity.caller(request.headers(), peer)? {
        Some(caller) => caller,
        None => {
            let token = bearer(request.headers()).ok_or_else(|| {
                ApiError::IdentityRequired(
                    "a queue token (Bearer) or an identity is required".into(),
                )
            })?;
            state.tokens.verify_ignoring_expiry(token)?.user_id()
        }
    };
    let (mut parts, body) = request.into_parts();
    parts
        .headers
        .insert(CALLER.clone(), HeaderValue::from(caller));
    let body = read_body(body).await?;
    forward(&state, &parts, body, std::slice::from_ref(&CALLER)).await
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
/// seat's key is looked up. While someone else holds the seat, or it is marked sold,
/// booking's first gate would refuse the hold, so the gateway answers that 409
/// `SEAT_UNAVAILABLE` itself: in a storm on a few seats, or on a sold-out schedule, almost
/// every attempt stops here, one hop and no booking call. Anything else (a free seat, the
/// buyer's own hold being retried, an odd body) goes on to booking, which decides.
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
    let (claims, seat_key) = tokens::admitted_at_seat(&state, &parts.headers, seat).await?;
    if seat_key.is_some_and(|key| !key.held_by(claims.user_id())) {
        metrics::counter!("gateway_holds_refused_total", "reason" => "seat_held").increment(1);
        return Err(ApiError::SeatUnavailable);
    }
    forward(&state, &parts, body, &[]).await
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
    let retry = request.headers().contains_key(IDEMPOTENCY_KEY);
    let claims = match tokens::admitted(&state, request.headers()).await {
        Ok(claims) => claims,
        // The admission ended (paid, expired, the line lost): a retry with the key of a
        // payment that went through still gets its answer, so booking decides (the saved
        // 201, or 410). The same once the token itself ran out with the admission.
        Err(ApiError::TicketGone | ApiError::QueueReset) if retry => {
            return proxy(&state, request).await;
        }
        Err(e @ ApiError::InvalidToken(_)) => {
            let genuine_but_expired = bearer(request.headers()).is_some_and(|token| {
                matches!(state.tokens.verify(token), Err(TokenError::Expired))
                    && state.tokens.verify_ignoring_expiry(token).is_ok()
            });
            if retry && genuine_but_expired {
                return proxy(&state, request).await;
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let response = proxy(&state, request).await?;
    if response.status() == StatusCode::CREATED {
        // Booking ended the admission; this instance's polls know it at once.
        state.rooms.observe(Observed::Paid {
            concert_id: claims.cid,
            seq: claims.seq,
        });
    }
    Ok(response)
}

/// Sends the request to booking and turns its reply into ours.
async fn proxy(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let body = read_body(body).await?;
    forward(state, &parts, body, &[]).await
}

/// The whole request body (booking's bodies are small; the limit is the service's).
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)
}

/// Sends a request already read to booking (with the headers booking uses, and `extra`
/// ones the gateway set itself) and turns its reply into ours.
async fn forward(
    state: &AppState,
    parts: &Parts,
    body: Bytes,
    extra: &[HeaderName],
) -> Result<Response, ApiError> {
    let path_and_query = plain_path(&parts.uri)?;
    let reply = state
        .booking
        .send(
            parts.method.clone(),
            path_and_query,
            pick(
                &parts.headers,
                forwarded_request_headers().iter().chain(extra),
            ),
            body,
        )
        .await?;
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = reply.status;
    *response.headers_mut() = pick(&reply.headers, FORWARDED_RESPONSE_HEADERS.iter());
    Ok(response)
}

/// The request's path and query when they are plain (see the module docs).
fn plain_path(uri: &axum::http::Uri) -> Result<&str, ApiError> {
    let plain_segment = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let path = uri.path();
    let path_ok = path
        .strip_prefix('/')
        .is_some_and(|rest| rest.split('/').all(plain_segment));
    let query_ok = uri.query().is_none_or(|q| {
        q.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=&.:%+".contains(&b))
    });
    if !path_ok || !query_ok {
        return Err(ApiError::Invalid(
            "the path or query has characters no route takes".into(),
        ));
    }
    Ok(uri.path_and_query().map_or(path, |pq| pq.as_str()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_are_forwarded() {
        for ok in [
            "/v1/concerts/1",
            "/v1/users/6/points/history?limit=20&before=2026-12-01T10:00:00.000Z",
            "/v1/reservations/0193a0d4-7b2e-7c3f-8a1b-123456789abc",
        ] {
            assert_eq!(plain_path(&ok.parse().unwrap()).unwrap(), ok);
        }
        for bad in [
            "/v1/concerts/..\\users\\6\\points",
            "/v1/concerts/%2e%2e\\users\\6\\points",
            "/v1/concerts/../users/6/points",
            "/v1/concerts/./1",
            "/v1/concerts//1",
            "/v1/concerts/1?x=\\..",
        ] {
            let uri: axum::http::Uri = match bad.parse() {
                Ok(uri) => uri,
                Err(_) => continue,
            };
            assert!(plain_path(&uri).is_err(), "{bad} must not be forwarded");
        }
    }
}
