//! Push updates: `GET /v1/queue/events`, a Server-Sent Events stream of a ticket's status.
//!
//! The token comes in `Authorization: Bearer` or, for the browser's `EventSource` (which
//! cannot set headers), as `?token=`. A token that does not verify is a 401 problem, not a
//! stream. Past `sse.max_streams` streams on this gateway the answer is 503 with
//! `Retry-After`, and the client polls `GET /v1/queue/status` instead.
//!
//! Events:
//! - `status` — the same JSON body as `GET /v1/queue/status`: at once, then whenever it
//!   changes (an admission carries the new active token; a position at most 5 s old);
//! - `gone` — the ticket was dropped (a `TICKET_GONE` problem, with `reason` when known);
//!   the stream then ends. A `status` of `sold_out` ends it too;
//! - `unavailable` — this gateway lost Redis (a 503 problem); the stream ends with a retry
//!   hint, and the client reconnects (or polls);
//! - comments every `sse.heartbeat_secs` (15 s) keep proxies from closing a quiet stream.
//!
//! Every stream's first event is the ticket's full current state, so a client that
//! reconnects (with `Last-Event-ID`, as `EventSource` does) loses nothing. On shutdown every
//! stream ends with a `retry` hint and the browser reconnects through the load balancer
//! to another instance. Streams are served from this gateway's memory ([`hub`]).

pub mod hub;
pub mod lean;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::stream::{self, Stream};
use serde::Deserialize;
use shared::http::{bearer, Query};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::state::AppState;
pub use hub::{Hub, Push};

/// How soon a client told to go away should reconnect.
const RECONNECT_MS: u64 = 1_000;
/// How soon a client of a gateway that lost Redis should come back.
const UNAVAILABLE_RETRY_MS: u64 = 5_000;

/// The stream's path. Connections that open with a `GET` of it are served on the lean
/// connection path ([`lean`]): the same router, without hyper's per-connection buffers.
pub const PATH: &str = "/v1/queue/events";

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(events))
}

/// `?token=` for `EventSource`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The queue token, when it cannot be sent as `Authorization: Bearer`.
    pub token: Option<String>,
}

#[utoipa::path(
    get, path = "/v1/queue/events", operation_id = "queue_events", tag = "queue",
    summary = "Live status of a ticket (Server-Sent Events)",
    description = "`text/event-stream`. Events: `status` (the body of `GET /v1/queue/status`: at \
                   once, then on every change — an admission carries the new active token, a \
                   position is at most 5 s old), `gone` (a `TICKET_GONE` problem, then the \
                   stream ends; a `sold_out` status ends it too), `unavailable` (the gateway \
                   lost its queue store: a 503 problem, reconnect after the `retry` hint), \
                   heartbeat comments every 15 s. The token is `Authorization: Bearer` or \
                   `?token=` (for `EventSource`). A reconnect (`Last-Event-ID`) starts with \
                   the full current state, so nothing is lost. 503 with `Retry-After` when this \
                   gateway holds its most streams: poll `GET /v1/queue/status` instead.",
    params(EventsQuery),
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "The event stream.", content_type = "text/event-stream",
         body = String),
        (status = 400, response = shared::docs::InvalidRequest),
    )
)]
async fn events(
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = bearer(&headers)
        .map(str::to_owned)
        .or(query.token)
        .ok_or_else(|| {
            ApiError::InvalidToken(
                "`Authorization: Bearer <queue token>` or `?token=` is required".into(),
            )
        })?;
    let claims = state.tokens.verify(&token)?;
    let hub = state.push.clone();
    if hub.reserve().is_none() {
        return Err(ApiError::Problem(
            shared::Problem::new(
                shared::Code::ServiceUnavailable,
                "this gateway holds its most live streams: poll /v1/queue/status instead",
            )
            .with_retry_after(5),
        ));
    }
    let first = match crate::tokens::status_view(&state, &token, &claims).await {
        Ok(view) => view,
        Err(e @ (ApiError::TicketGone | ApiError::QueueReset | ApiError::SoldOutGone)) => {
            // A dropped ticket: one `gone` event and the end.
            hub.release();
            return Ok(respond(
                stream::iter([Ok(event(&Push::gone(e), 0))]),
                &state,
            ));
        }
        Err(e) => {
            hub.release();
            return Err(e);
        }
    };
    let first = Push::Status(Arc::new(first));
    if first.ends() {
        hub.release();
        return Ok(respond(stream::iter([Ok(event(&first, 0))]), &state));
    }
    let Push::Status(view) = &first else {
        unreachable!("the first update is a status");
    };
    let (registration, rx) = hub.register(&token, claims, view);
    state.rooms.watch(registration.concert_id());
    Ok(respond(
        updates(first, rx, registration, hub.closing()),
        &state,
    ))
}

fn respond<S>(events: S, state: &AppState) -> Response
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    let heartbeat = Duration::from_secs(state.settings.sse.heartbeat_secs.max(1));
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(heartbeat))
        .into_response();
    // Proxies (nginx) must pass events on as they come.
    response
        .headers_mut()
        .insert("X-Accel-Buffering", HeaderValue::from_static("no"));
    response
        .headers_mut()
        .insert("Cache-Control", HeaderValue::from_static("no-store"));
    response
}

/// One SSE event for `push`; `id` numbers the stream's events.
fn event(push: &Push, id: u64) -> Event {
    let base = Event::default().id(id.to_string());
    match push {
        Push::Status(view) => base
            .event("status")
            .json_data(view.as_ref())
            .unwrap_or_else(|_| Event::default().comment("unserializable status")),
        Push::Gone(problem) => base.event("gone").data(problem.to_string()),
        Push::Unavailable(problem) => base
            .event("unavailable")
            .data(problem.to_string())
            .retry(Duration::from_millis(UNAVAILABLE_RETRY_MS)),
        Push::Nothing => Event::default().comment(""),
    }
}

/// The stream's events: `first`, then every update the hub sends, until one ends it, the
/// client goes away (dropping the stream drops `registration`), or the gateway shuts down.
fn updates(
    first: Push,
    rx: watch::Receiver<Push>,
    registration: hub::Registration,
    closing: CancellationToken,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    struct State {
        first: Option<Push>,
        rx: watch::Receiver<Push>,
        _registration: hub::Registration,
        closing: CancellationToken,
        next_id: u64,
        done: bool,
    }
    let state = State {
        first: Some(first),
        rx,
        _registration: registration,
        closing,
        next_id: 1,
        done: false,
    };
    stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        let push = match s.first.take() {
            Some(first) => first,
            None => {
                tokio::select! {
                    changed = s.rx.changed() => {
                        if changed.is_err() {
                            return None;
                        }
                        s.rx.borrow_and_update().clone()
                    }
                    _ = s.closing.cancelled() => {
                        s.done = true;
                        let bye = Event::default()
                            .comment("the gateway is shutting down: reconnect")
                            .retry(Duration::from_millis(RECONNECT_MS));
                        return Some((Ok(bye), s));
                    }
                }
            }
        };
        s.done = push.ends();
        let id = s.next_id;
        s.next_id += 1;
        Some((Ok(event(&push, id)), s))
    })
}
