//! A stub booking service for the gateway's integration tests.
//!
//! It answers `GET /v1/concerts/{id}` (200 for the ids it knows, 404 problem otherwise),
//! the rooms' durable settings (`GET`/`PATCH /internal/rooms/{id}`, kept in memory, as
//! booking keeps them in PostgreSQL), `/healthz`, and `POST /v1/payments` (201, ending the
//! buyer's admission the way booking does, through the same store call). Every other call is echoed back as JSON so tests can
//! see exactly what the gateway forwarded. A few ids trigger canned errors: schedule 409
//! answers a problem, schedule 503 answers 503 with `Retry-After: 7`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gateway::GatewaySettings;
use serde_json::{json, Value};
use shared::contract::rooms::{RoomChange, StoredRoom};
use shared::store::Store;
use shared::token::TokenKeys;
use tokio_util::sync::CancellationToken;

/// Concerts the stub knows unless a test says otherwise.
pub const KNOWN_CONCERTS: [i64; 3] = [1, 2, 3];

#[derive(Clone)]
struct StubState {
    concerts: Arc<Mutex<HashSet<i64>>>,
    rooms: Arc<Mutex<HashMap<i64, StoredRoom>>>,
    lookups: Arc<AtomicUsize>,
    tokens: Arc<TokenKeys>,
    store: Store,
}

pub struct StubBooking {
    pub addr: SocketAddr,
    /// Concert and room lookups answered.
    pub lookups: Arc<AtomicUsize>,
    /// The rooms' durable settings (what booking would hold in PostgreSQL).
    pub rooms: Arc<Mutex<HashMap<i64, StoredRoom>>>,
    /// Concert ids the stub knows (a test may add its own).
    pub concerts: Arc<Mutex<HashSet<i64>>>,
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl StubBooking {
    pub async fn start(settings: &GatewaySettings) -> Self {
        let concerts = Arc::new(Mutex::new(KNOWN_CONCERTS.into_iter().collect()));
        let lookups = Arc::new(AtomicUsize::new(0));
        let rooms = Arc::new(Mutex::new(HashMap::new()));
        let state = StubState {
            concerts: concerts.clone(),
            rooms: rooms.clone(),
            lookups: lookups.clone(),
            tokens: Arc::new(TokenKeys::new(&settings.jwt)),
            store: Store::new(&settings.redis, "stub").unwrap(),
        };
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/v1/concerts", get(stub_concerts))
            .route("/v1/concerts/{id}", get(stub_concert))
            .route(
                "/internal/rooms/{id}",
                get(stub_room).patch(stub_room_change),
            )
            .route("/v1/payments", post(stub_payment))
            .fallback(stub_echo)
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let handle = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
                .unwrap();
        });
        Self {
            addr,
            lookups,
            rooms,
            concerts,
            cancel,
            handle,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.handle.await;
    }
}

async fn stub_concerts(State(s): State<StubState>) -> Response {
    let mut ids: Vec<i64> = s.concerts.lock().unwrap().iter().copied().collect();
    ids.sort_unstable();
    let list: Vec<Value> = ids
        .into_iter()
        .map(|id| json!({"concert_id": id, "title": format!("Concert {id}"), "schedules": []}))
        .collect();
    Json(list).into_response()
}

async fn stub_concert(State(s): State<StubState>, Path(id): Path<i64>) -> Response {
    s.lookups.fetch_add(1, Ordering::SeqCst);
    if s.concerts.lock().unwrap().contains(&id) {
        Json(json!({"concert_id": id, "title": format!("Concert {id}"), "schedules": []}))
            .into_response()
    } else {
        problem(StatusCode::NOT_FOUND, "CONCERT_NOT_FOUND", None)
    }
}

async fn stub_room(State(s): State<StubState>, Path(id): Path<i64>) -> Response {
    s.lookups.fetch_add(1, Ordering::SeqCst);
    if !s.concerts.lock().unwrap().contains(&id) {
        return problem(StatusCode::NOT_FOUND, "CONCERT_NOT_FOUND", None);
    }
    let stored = s.rooms.lock().unwrap().get(&id).cloned();
    Json(stored.unwrap_or(StoredRoom {
        concert_id: id,
        settings: None,
        version: 0,
        seed: None,
    }))
    .into_response()
}

async fn stub_room_change(
    State(s): State<StubState>,
    Path(id): Path<i64>,
    Json(change): Json<RoomChange>,
) -> Response {
    if !s.concerts.lock().unwrap().contains(&id) {
        return problem(StatusCode::NOT_FOUND, "CONCERT_NOT_FOUND", None);
    }
    let mut rooms = s.rooms.lock().unwrap();
    let room = rooms.entry(id).or_insert(StoredRoom {
        concert_id: id,
        settings: None,
        version: 0,
        seed: None,
    });
    match room
        .settings
        .unwrap_or(change.defaults)
        .patched(&change.patch, chrono::Utc::now())
    {
        Ok(settings) => {
            room.settings = Some(settings);
            room.version += 1;
            if settings.opens_at.is_some() && room.seed.is_none() {
                room.seed = Some(shared::draw::seed_hex(&shared::draw::new_seed()));
            }
            Json(room.clone()).into_response()
        }
        Err(_) => problem(StatusCode::BAD_REQUEST, "INVALID_REQUEST", None),
    }
}

/// Like booking: a paid buyer's admission ends (the same shared script booking calls).
async fn stub_payment(State(s): State<StubState>, request: Request) -> Response {
    let token = shared::http::bearer(request.headers())
        .unwrap_or_default()
        .to_owned();
    let Ok(claims) = s.tokens.verify(&token) else {
        return problem(StatusCode::UNAUTHORIZED, "INVALID_TOKEN", None);
    };
    s.store
        .end_admission(claims.cid, claims.user_id(), claims.seq)
        .await
        .unwrap();
    (
        StatusCode::CREATED,
        Json(json!({"payment_id": "p-1", "user_id": claims.user_id()})),
    )
        .into_response()
}

async fn stub_echo(request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let path = parts.uri.path().to_owned();
    if path == "/v1/schedules/409/seats" {
        return problem(StatusCode::CONFLICT, "SEAT_UNAVAILABLE", None);
    }
    if path == "/v1/schedules/503/seats" {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            Some(7),
        );
    }
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Json(json!({
        "method": parts.method.as_str(),
        "path": path,
        "query": parts.uri.query(),
        "authorization": header("authorization"),
        "content_type": header("content-type"),
        "idempotency_key": header("idempotency-key"),
        "request_id": header("x-request-id"),
        "cookie": header("cookie"),
        "x_other": header("x-other"),
        "body": String::from_utf8_lossy(&body),
    }))
    .into_response()
}

fn problem(status: StatusCode, code: &str, retry_after: Option<u64>) -> Response {
    let body =
        json!({"type": "about:blank", "title": code, "status": status.as_u16(), "code": code});
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        crate::http::PROBLEM_JSON.parse().unwrap(),
    );
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, secs.into());
    }
    response
}
