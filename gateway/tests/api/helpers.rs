//! Test harness: real Redis under a unique key prefix per test, gateway instances started
//! in-process on port 0, and a stub booking service.
//!
//! The stub answers `GET /v1/concerts/{id}` (200 for the ids it knows, 404 problem
//! otherwise), `/healthz`, and `POST /v1/payments` (201, ending the buyer's admission the way
//! booking does, through `shared::redis::end_admission`). Every other call is echoed back as
//! JSON so tests can see exactly what the gateway forwarded. A few ids trigger canned
//! errors: schedule 409 answers a problem, schedule 503 answers 503 with `Retry-After: 7`.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gateway::RunningApp;
use reqwest::Method;
use serde_json::{json, Value};
use shared::config::GatewaySettings;
use shared::keys::Keys;
use shared::token::{now_secs, QueueClaims, TicketStatus, TokenKeys};
use tokio_util::sync::CancellationToken;

pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const ADMIN: &str = shared::config::DEV_ADMIN_TOKEN;
/// Concerts the stub booking service knows unless a test says otherwise.
pub const KNOWN_CONCERTS: [i64; 3] = [1, 2, 3];

// ---------------------------------------------------------------------------------------
// Stub booking service
// ---------------------------------------------------------------------------------------

#[derive(Clone)]
struct StubState {
    concerts: Arc<Mutex<HashSet<i64>>>,
    lookups: Arc<AtomicUsize>,
    tokens: Arc<TokenKeys>,
    redis: shared::redis::RedisPool,
    keys: Keys,
}

pub struct StubBooking {
    pub addr: SocketAddr,
    pub lookups: Arc<AtomicUsize>,
    /// Concert ids the stub knows (a test may add its own).
    pub concerts: Arc<Mutex<HashSet<i64>>>,
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl StubBooking {
    pub async fn start(settings: &GatewaySettings) -> Self {
        let concerts = Arc::new(Mutex::new(KNOWN_CONCERTS.into_iter().collect()));
        let lookups = Arc::new(AtomicUsize::new(0));
        let state = StubState {
            concerts: concerts.clone(),
            lookups: lookups.clone(),
            tokens: Arc::new(TokenKeys::new(&settings.jwt)),
            redis: shared::redis::RedisPool::new(&settings.redis, "stub").unwrap(),
            keys: Keys::new(settings.redis.key_prefix.clone()),
        };
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/v1/concerts/{id}", get(stub_concert))
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

async fn stub_concert(State(s): State<StubState>, Path(id): Path<i64>) -> Response {
    s.lookups.fetch_add(1, Ordering::SeqCst);
    if s.concerts.lock().unwrap().contains(&id) {
        Json(json!({"concert_id": id, "title": format!("Concert {id}"), "schedules": []}))
            .into_response()
    } else {
        problem(StatusCode::NOT_FOUND, "CONCERT_NOT_FOUND", None)
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
    let script = shared::redis::end_admission_script();
    shared::redis::end_admission(
        &s.redis,
        &s.keys,
        &script,
        claims.cid,
        claims.user_id(),
        claims.seq,
    )
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
        "application/problem+json".parse().unwrap(),
    );
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, secs.into());
    }
    response
}

struct Json<T>(T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

// ---------------------------------------------------------------------------------------
// Gateways under test
// ---------------------------------------------------------------------------------------

pub struct TestApp {
    pub gateways: Vec<RunningApp>,
    pub booking: Option<StubBooking>,
    pub client: reqwest::Client,
    pub settings: GatewaySettings,
    pub keys: Keys,
    pub tokens: TokenKeys,
    pub redis: redis::aio::MultiplexedConnection,
    cleaned: bool,
}

/// Settings for a test: its own key prefix, fast ticks, port 0, the stub's URL.
pub fn test_settings() -> GatewaySettings {
    let mut s = GatewaySettings::defaults();
    s.http.addr = "127.0.0.1:0".parse().unwrap();
    s.redis.url = REDIS_URL.into();
    s.redis.key_prefix = format!("t-{}:", uuid::Uuid::new_v4().simple());
    s.redis.timeout_ms = 1000;
    s.redis.connections = 2;
    s.queue.capacity = 100;
    s.queue.batch_size = 10;
    s.queue.tick_ms = 50;
    s.queue.active_ttl_secs = 60;
    s.booking.timeout_ms = 2000;
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_apps(1, |_| {}).await
}

/// `n` gateway instances sharing one Redis prefix and one stub booking service.
pub async fn spawn_apps(n: usize, adjust: impl FnOnce(&mut GatewaySettings)) -> TestApp {
    let mut settings = test_settings();
    adjust(&mut settings);
    let booking = StubBooking::start(&settings).await;
    if settings.booking.url == GatewaySettings::defaults().booking.url {
        settings.booking.url = booking.url();
    }
    let mut gateways = Vec::new();
    for i in 0..n {
        let mut s = settings.clone();
        s.instance_id = Some(format!("gw-test-{i}"));
        gateways.push(gateway::spawn(s).await.expect("gateway starts"));
    }
    let redis = redis::Client::open(REDIS_URL)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("the tests need Redis at 127.0.0.1:6379");
    TestApp {
        gateways,
        booking: Some(booking),
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .unwrap(),
        keys: Keys::new(settings.redis.key_prefix.clone()),
        tokens: TokenKeys::new(&settings.jwt),
        settings,
        redis,
        cleaned: false,
    }
}

/// A joined buyer as the API described it.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub status: StatusCode,
    pub body: Value,
    pub token: String,
}

impl Ticket {
    pub fn claims(&self, app: &TestApp) -> QueueClaims {
        app.tokens.verify(&self.token).expect("a valid token")
    }
    pub fn state(&self) -> &str {
        self.body["status"].as_str().unwrap_or_default()
    }
    pub fn position(&self) -> u64 {
        self.body["position"].as_u64().unwrap()
    }
}

impl TestApp {
    pub fn url(&self, instance: usize) -> String {
        self.gateways[instance % self.gateways.len()].url()
    }

    pub async fn request(
        &self,
        instance: usize,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url(instance)));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("the gateway answers")
    }

    pub async fn post_token(
        &self,
        instance: usize,
        concert_id: i64,
        user_id: i64,
        token: Option<&str>,
    ) -> reqwest::Response {
        self.request(
            instance,
            Method::POST,
            "/v1/queue/tokens",
            token,
            Some(json!({"concert_id": concert_id, "user_id": user_id})),
        )
        .await
    }

    /// Joins and expects 200/201.
    pub async fn join(&self, instance: usize, concert_id: i64, user_id: i64) -> Ticket {
        self.join_with(instance, concert_id, user_id, None).await
    }

    pub async fn join_with(
        &self,
        instance: usize,
        concert_id: i64,
        user_id: i64,
        token: Option<&str>,
    ) -> Ticket {
        let response = self.post_token(instance, concert_id, user_id, token).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::CREATED,
            "join answered {status}: {body}"
        );
        Ticket {
            status,
            token: body["token"].as_str().unwrap().to_owned(),
            body,
        }
    }

    pub async fn status(&self, instance: usize, token: &str) -> (StatusCode, Value) {
        let response = self
            .request(instance, Method::GET, "/v1/queue/status", Some(token), None)
            .await;
        json_of(response).await
    }

    pub async fn leave(&self, instance: usize, token: &str) -> StatusCode {
        self.request(
            instance,
            Method::DELETE,
            "/v1/queue/tokens",
            Some(token),
            None,
        )
        .await
        .status()
    }

    pub async fn admin(
        &self,
        method: Method,
        concert_id: i64,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/admin/rooms/{concert_id}", self.url(0)))
            .bearer_auth(ADMIN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        json_of(request.send().await.unwrap()).await
    }

    /// Changes a room through the admin API and expects 200.
    pub async fn configure(&self, concert_id: i64, body: Value) -> Value {
        let (status, room) = self.admin(Method::PUT, concert_id, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{room}");
        room
    }

    /// Polls the status of `token` until it is active.
    pub async fn wait_active(&self, token: &str, within: Duration) -> Value {
        poll_until(within, "the ticket to become active", || async {
            let (status, body) = self.status(0, token).await;
            (status == StatusCode::OK && body["status"] == "active").then_some(body)
        })
        .await
    }

    /// Non-expired admissions of a concert, read straight from Redis on its clock.
    pub async fn live_active(&self, concert_id: i64) -> u64 {
        redis::Script::new(
            "local t = redis.call('TIME')
             local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
             return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')",
        )
        .key(self.keys.active(concert_id))
        .invoke_async(&mut self.redis.clone())
        .await
        .unwrap()
    }

    pub async fn waiting_len(&self, concert_id: i64) -> u64 {
        redis::cmd("ZCARD")
            .arg(self.keys.waiting(concert_id))
            .query_async(&mut self.redis.clone())
            .await
            .unwrap()
    }

    /// A token minted with the gateway's key (for forged / expired cases).
    pub fn mint(&self, claims: &QueueClaims) -> String {
        self.tokens.mint(claims)
    }

    /// Stops the gateways and the stub, then deletes every key of the test's prefix.
    pub async fn cleanup(mut self) {
        for gateway in self.gateways.drain(..) {
            gateway.shutdown().await;
        }
        if let Some(booking) = self.booking.take() {
            booking.stop().await;
        }
        delete_prefix(&self.settings.redis.key_prefix);
        self.cleaned = true;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if !self.cleaned {
            // A failed test: stop what runs and still remove the keys.
            for gateway in &self.gateways {
                gateway.cancel.cancel();
            }
            delete_prefix(&self.settings.redis.key_prefix);
        }
    }
}

/// Deletes every key under `prefix` (SCAN is fine in tests, never on request paths).
pub fn delete_prefix(prefix: &str) {
    let prefix = prefix.to_owned();
    // A plain thread: this runs from async code and from Drop alike.
    std::thread::spawn(move || {
        let client = redis::Client::open(REDIS_URL).unwrap();
        let mut conn = client.get_connection().unwrap();
        let keys: Vec<String> = redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter(&mut conn)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for chunk in keys.chunks(500) {
            redis::cmd("DEL").arg(chunk).exec(&mut conn).unwrap();
        }
    })
    .join()
    .unwrap();
}

pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Polls `check` until it yields a value, failing the test after `within`.
pub async fn poll_until<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Claims for hand-made tokens.
pub fn claims(
    user_id: i64,
    concert_id: i64,
    seq: i64,
    st: TicketStatus,
    exp_in: i64,
) -> QueueClaims {
    let now = now_secs();
    QueueClaims::new(user_id, concert_id, seq, st, now, now + exp_in)
}

/// URL-safe base64 without padding, enough to forge tokens.
pub fn b64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..=chunk.len() {
            out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

pub fn problem_code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

/// Asserts a problem+json response with `status` and `code`.
pub async fn assert_problem(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(problem_code(&body), code, "{body}");
    body
}
