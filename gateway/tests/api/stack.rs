//! The full stack for fault and bad-input tests: the real booking service on the test's own
//! database, any number of gateways in front of it, and switchable TCP proxies in front of
//! Redis and booking so a test can "kill" a dependency (drop every connection and refuse
//! new ones), hang it, or bring it back — without touching the Redis or PostgreSQL the
//! rest of the suite shares.
//!
//! [`Sale`] drives a concurrent sale through the gateways: buyers charge points, join,
//! poll until admitted, pick a seat, hold it and pay, retrying 503s the way a client
//! should. Every response is recorded ([`Call`]) so a test can ask what buyers saw while a
//! dependency was down: how many 503s, whether all carried `Retry-After`, any 500, and the
//! slowest answer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shared::config::{BookingSettings, GatewaySettings};
use shared::keys::Keys;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{delete_prefix, json_of, test_settings, ADMIN, REDIS_URL};

// ---------------------------------------------------------------------------------------
// Switchable proxy
// ---------------------------------------------------------------------------------------

/// How a [`FlakyProxy`] treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Relays to the target.
    Up,
    /// Closes every connection at once and refuses new ones (a killed process).
    Down,
    /// Accepts and never answers (a hung process or a dropped network).
    Blackhole,
}

/// A TCP proxy in front of `target`; switching the mode also cuts every open connection.
pub struct FlakyProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
}

impl FlakyProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, _) = watch::channel(Mode::Up);
        let modes = mode.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut changed = modes.subscribe();
                let current = *changed.borrow_and_update();
                tokio::spawn(async move {
                    let mut client = client;
                    match current {
                        Mode::Down => drop(client),
                        Mode::Blackhole => {
                            let mut sink = [0u8; 1024];
                            loop {
                                tokio::select! {
                                    _ = changed.changed() => break,
                                    n = client.read(&mut sink) => if matches!(n, Ok(0) | Err(_)) { break },
                                }
                            }
                        }
                        Mode::Up => {
                            let Ok(mut upstream) = TcpStream::connect(target).await else {
                                return;
                            };
                            tokio::select! {
                                _ = changed.changed() => {}
                                _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                            }
                        }
                    }
                });
            }
        });
        Self { addr, mode }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

// ---------------------------------------------------------------------------------------
// The stack
// ---------------------------------------------------------------------------------------

/// What a test wants in front of the real services.
#[derive(Default)]
pub struct Options {
    /// Gateways and booking reach Redis through a [`FlakyProxy`].
    pub redis_proxy: bool,
    /// Gateways reach booking through a [`FlakyProxy`].
    pub booking_proxy: bool,
    pub gateways: usize,
}

pub struct Stack {
    pub booking: Option<booking::startup::RunningApp>,
    pub booking_url: String,
    /// `None` once a test killed that instance.
    pub gateways: Vec<Option<gateway::RunningApp>>,
    pub urls: Vec<String>,
    pub redis_proxy: Option<FlakyProxy>,
    pub booking_proxy: Option<FlakyProxy>,
    pub settings: GatewaySettings,
    pub keys: Keys,
    pub db: PgPool,
    pub client: reqwest::Client,
}

impl Stack {
    pub async fn start(
        opts: PgPoolOptions,
        connect: PgConnectOptions,
        options: Options,
        adjust: impl FnOnce(&mut GatewaySettings, &mut BookingSettings),
    ) -> Self {
        let db = opts
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(connect)
            .await
            .unwrap();
        let mut gw = test_settings();
        gw.redis.timeout_ms = 300;
        gw.booking.timeout_ms = 1500;
        gw.booking.connect_timeout_ms = 500;
        let mut bk = BookingSettings::defaults();
        bk.http.addr = "127.0.0.1:0".parse().unwrap();
        bk.redis.timeout_ms = 300;
        bk.holds.sweep_interval_ms = 200;
        adjust(&mut gw, &mut bk);
        bk.redis.key_prefix = gw.redis.key_prefix.clone();
        bk.jwt = gw.jwt.clone();
        let redis_proxy = if options.redis_proxy {
            let proxy = FlakyProxy::start("127.0.0.1:6379".parse().unwrap()).await;
            gw.redis.url = format!("redis://{}", proxy.addr);
            bk.redis.url = gw.redis.url.clone();
            Some(proxy)
        } else {
            None
        };
        let booking = booking::startup::spawn(bk, Some(db.clone())).await.unwrap();
        let booking_proxy = if options.booking_proxy {
            let proxy = FlakyProxy::start(booking.addr).await;
            gw.booking.url = format!("http://{}", proxy.addr);
            Some(proxy)
        } else {
            gw.booking.url = booking.url();
            None
        };
        let mut gateways = Vec::new();
        for i in 0..options.gateways.max(1) {
            let mut s = gw.clone();
            s.instance_id = Some(format!("gw-stack-{i}"));
            gateways.push(Some(gateway::spawn(s).await.expect("gateway starts")));
        }
        Stack {
            booking_url: booking.url(),
            booking: Some(booking),
            urls: gateways.iter().flatten().map(|g| g.url()).collect(),
            gateways,
            redis_proxy,
            booking_proxy,
            keys: Keys::new(gw.redis.key_prefix.clone()),
            settings: gw,
            db,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    /// One request through gateway `instance`, with an `Idempotency-Key` when there is a
    /// body (tests that care about the key send their own requests).
    pub async fn call(
        &self,
        instance: usize,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.urls[instance]));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&body);
        }
        json_of(request.send().await.unwrap()).await
    }

    /// A concert with one schedule of `seats` seats at `price` points; returns its ids.
    pub async fn create_concert(&self, seats: i64, price: i64) -> (i64, i64) {
        let starts = chrono::Utc::now() + chrono::Duration::days(10);
        let response = self
            .client
            .post(format!("{}/admin/concerts", self.booking_url))
            .bearer_auth(ADMIN)
            .json(&json!({"title": "Stack", "schedules": [{"starts_at": starts, "seats": seats, "price": price}]}))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["concert_id"].as_i64().unwrap(),
            body["schedule_ids"][0].as_i64().unwrap(),
        )
    }

    /// Shuts gateway `instance` down (it stops accepting; its ticker stops).
    pub async fn kill_gateway(&mut self, instance: usize) {
        if let Some(gateway) = self.gateways[instance].take() {
            gateway.shutdown().await;
        }
    }

    /// Redis "restarted empty": every key of this test is gone.
    pub fn wipe_redis(&self) {
        delete_prefix(self.keys.prefix());
    }

    pub async fn audit(&self) -> booking::audit::Report {
        let report = booking::audit::run(&self.db).await.unwrap();
        assert!(report.passed(), "the auditor found a breach:\n{report}");
        report
    }

    /// Seats sold per seat number (a seat sold twice would show up as 2).
    pub async fn confirmed_per_seat(&self, schedule_id: i64) -> Vec<(i32, i64)> {
        sqlx::query_as(
            "SELECT seat_no, count(*) FROM reservations
             WHERE schedule_id = $1 AND status = 'CONFIRMED' GROUP BY seat_no ORDER BY seat_no",
        )
        .bind(schedule_id)
        .fetch_all(&self.db)
        .await
        .unwrap()
    }

    pub async fn stop(mut self) {
        for gateway in self.gateways.drain(..).flatten() {
            gateway.shutdown().await;
        }
        if let Some(booking) = self.booking.take() {
            booking.stop().await;
        }
        delete_prefix(self.keys.prefix());
    }
}

// ---------------------------------------------------------------------------------------
// A concurrent sale
// ---------------------------------------------------------------------------------------

/// One answer a buyer got.
#[derive(Debug, Clone)]
pub struct Call {
    pub started: Instant,
    pub latency: Duration,
    /// 0 when the connection itself failed (a killed gateway).
    pub status: u16,
    pub retry_after: bool,
    pub what: &'static str,
    pub code: String,
}

/// What one buyer ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Paid { seat_no: i64 },
    SoldOut,
    GaveUp(String),
}

pub struct Sale {
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub paid: Arc<AtomicUsize>,
    /// The gateway URLs buyers use; a killed instance is removed (the load balancer's
    /// health check).
    pub urls: Arc<RwLock<Vec<String>>>,
    pub admitted_at: Arc<Mutex<Vec<Instant>>>,
    handles: Vec<tokio::task::JoinHandle<Outcome>>,
    stop: Arc<AtomicBool>,
}

pub struct SaleSpec {
    pub concert_id: i64,
    pub schedule_id: i64,
    pub buyers: i64,
    pub first_user: i64,
    pub price: i64,
    pub within: Duration,
}

#[derive(Clone)]
struct Buyer {
    client: reqwest::Client,
    urls: Arc<RwLock<Vec<String>>>,
    calls: Arc<Mutex<Vec<Call>>>,
    admitted_at: Arc<Mutex<Vec<Instant>>>,
    user: i64,
    home: usize,
}

impl Sale {
    pub fn start(stack: &Stack, spec: SaleSpec) -> Sale {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let paid = Arc::new(AtomicUsize::new(0));
        let urls = Arc::new(RwLock::new(stack.urls.clone()));
        let admitted_at = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + spec.within;
        let handles = (0..spec.buyers)
            .map(|i| {
                let buyer = Buyer {
                    client: stack.client.clone(),
                    urls: urls.clone(),
                    calls: calls.clone(),
                    admitted_at: admitted_at.clone(),
                    user: spec.first_user + i,
                    home: i as usize,
                };
                let paid = paid.clone();
                let stop = stop.clone();
                let (concert, schedule, price) = (spec.concert_id, spec.schedule_id, spec.price);
                tokio::spawn(async move {
                    let outcome = buyer.buy(concert, schedule, price, deadline, &stop).await;
                    if matches!(outcome, Outcome::Paid { .. }) {
                        paid.fetch_add(1, Ordering::SeqCst);
                    }
                    outcome
                })
            })
            .collect();
        Sale {
            calls,
            paid,
            urls,
            admitted_at,
            handles,
            stop,
        }
    }

    pub fn paid(&self) -> usize {
        self.paid.load(Ordering::SeqCst)
    }

    /// Waits until `n` buyers have paid (so a fault lands mid-sale).
    pub async fn wait_paid(&self, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.paid() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} buyers paid within {within:?}; calls so far: {}",
                self.paid(),
                summary(&self.calls.lock().unwrap())
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Calls started in `[from, to)`.
    pub fn calls_between(&self, from: Instant, to: Instant) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.started >= from && c.started < to)
            .cloned()
            .collect()
    }

    pub fn all_calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits for every buyer and returns their outcomes.
    pub async fn finish(self) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for handle in self.handles {
            outcomes.push(handle.await.expect("a buyer task panicked"));
        }
        self.stop.store(true, Ordering::SeqCst);
        outcomes
    }
}

/// Status counts of some calls, for failure messages.
pub fn summary(calls: &[Call]) -> String {
    let mut counts = std::collections::BTreeMap::<(u16, &str), usize>::new();
    for c in calls {
        *counts.entry((c.status, c.what)).or_default() += 1;
    }
    format!("{counts:?}")
}

enum Answer {
    Ok(StatusCode, Value),
    /// Connection failed: the gateway is gone.
    Refused,
}

impl Buyer {
    fn url(&self) -> String {
        let urls = self.urls.read().unwrap();
        urls[self.home % urls.len()].clone()
    }

    async fn send(
        &self,
        what: &'static str,
        method: Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = Instant::now();
        let result = request.send().await;
        let (status, retry_after, body) = match result {
            Ok(response) => {
                let status = response.status();
                let retry_after = response.headers().contains_key("retry-after");
                let body = response.json::<Value>().await.unwrap_or(Value::Null);
                (status.as_u16(), retry_after, Some((status, body)))
            }
            Err(_) => (0, false, None),
        };
        let latency = started.elapsed();
        if latency > Duration::from_secs(2) {
            eprintln!(
                "slow {what} {path} on {}: {latency:?} -> {status}",
                self.url()
            );
        }
        self.calls.lock().unwrap().push(Call {
            started,
            latency,
            status,
            retry_after,
            what,
            code: body
                .as_ref()
                .and_then(|(_, b)| b["code"].as_str())
                .unwrap_or_default()
                .to_owned(),
        });
        match body {
            Some((status, body)) => Answer::Ok(status, body),
            None => Answer::Refused,
        }
    }

    async fn pause() {
        let ms = rand::rng().random_range(30..90);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    /// The whole journey; every step retries 503s and refused connections.
    async fn buy(
        &self,
        concert: i64,
        schedule: i64,
        price: i64,
        deadline: Instant,
        stop: &AtomicBool,
    ) -> Outcome {
        let user = self.user;
        let charge_key = uuid::Uuid::new_v4().to_string();
        loop {
            if Instant::now() > deadline || stop.load(Ordering::SeqCst) {
                return Outcome::GaveUp("charge".into());
            }
            match self
                .send(
                    "charge",
                    Method::POST,
                    &format!("/v1/users/{user}/points/charge"),
                    None,
                    Some(&charge_key),
                    Some(json!({"amount": price})),
                )
                .await
            {
                Answer::Ok(StatusCode::OK, _) => break,
                _ => Self::pause().await,
            }
        }
        let mut token: Option<String> = None;
        let mut held: Option<(String, i64)> = None;
        let mut pay_key = uuid::Uuid::new_v4().to_string();
        let mut admitted = false;
        loop {
            if Instant::now() > deadline {
                return Outcome::GaveUp(format!(
                    "deadline: user {user}, admitted {admitted}, token {}, held {held:?}",
                    token.is_some()
                ));
            }
            // 1. A place in line.
            let Some(t) = token.clone() else {
                match self
                    .send(
                        "join",
                        Method::POST,
                        "/v1/queue/tokens",
                        None,
                        None,
                        Some(json!({"concert_id": concert, "user_id": user})),
                    )
                    .await
                {
                    Answer::Ok(s, body) if s.is_success() => {
                        token = body["token"].as_str().map(str::to_owned);
                        if body["status"] == "active" && !admitted {
                            admitted = true;
                            self.admitted_at.lock().unwrap().push(Instant::now());
                        }
                    }
                    _ => Self::pause().await,
                }
                continue;
            };
            // 2. Admitted?
            if !admitted {
                match self
                    .send(
                        "status",
                        Method::GET,
                        "/v1/queue/status",
                        Some(&t),
                        None,
                        None,
                    )
                    .await
                {
                    Answer::Ok(StatusCode::OK, body) => {
                        if let Some(fresh) = body["token"].as_str() {
                            token = Some(fresh.to_owned());
                        }
                        if body["status"] == "active" {
                            admitted = true;
                            self.admitted_at.lock().unwrap().push(Instant::now());
                        } else {
                            tokio::time::sleep(Duration::from_millis(40)).await;
                        }
                    }
                    Answer::Ok(StatusCode::GONE, _) => token = None,
                    _ => Self::pause().await,
                }
                continue;
            }
            // 3. Pay for a held seat (the same key on every retry: charged once).
            if let Some((reservation, seat_no)) = held.clone() {
                match self
                    .send(
                        "pay",
                        Method::POST,
                        "/v1/payments",
                        Some(&t),
                        Some(&pay_key),
                        Some(json!({"reservation_ids": [reservation]})),
                    )
                    .await
                {
                    Answer::Ok(StatusCode::CREATED, _) => return Outcome::Paid { seat_no },
                    Answer::Ok(StatusCode::CONFLICT, _) => {
                        // Expired or swept while we were away: pick another seat.
                        held = None;
                        pay_key = uuid::Uuid::new_v4().to_string();
                    }
                    answer => self.after_refusal(answer, &mut token, &mut admitted).await,
                }
                continue;
            }
            // 4. Find a seat and hold it.
            let seats = match self
                .send(
                    "seats",
                    Method::GET,
                    &format!("/v1/schedules/{schedule}/seats"),
                    Some(&t),
                    None,
                    None,
                )
                .await
            {
                Answer::Ok(StatusCode::OK, body) => body["seats"].as_array().cloned().unwrap(),
                answer => {
                    self.after_refusal(answer, &mut token, &mut admitted).await;
                    continue;
                }
            };
            let free: Vec<i64> = seats
                .iter()
                .filter(|s| s["status"] == "AVAILABLE")
                .map(|s| s["seat_no"].as_i64().unwrap())
                .collect();
            if free.is_empty() {
                if seats.iter().all(|s| s["status"] == "SOLD") {
                    // Give the slot back, as a real buyer closing the tab would.
                    let _ = self
                        .send(
                            "leave",
                            Method::DELETE,
                            "/v1/queue/tokens",
                            Some(&t),
                            None,
                            None,
                        )
                        .await;
                    return Outcome::SoldOut;
                }
                // Every seat left is held, maybe by buyers who lost their admission with
                // Redis: give the slot back (as a buyer closing the tab would) so they can
                // be admitted again and pay, and come back later.
                let _ = self
                    .send(
                        "leave",
                        Method::DELETE,
                        "/v1/queue/tokens",
                        Some(&t),
                        None,
                        None,
                    )
                    .await;
                token = None;
                admitted = false;
                tokio::time::sleep(Duration::from_millis(150)).await;
                continue;
            }
            let seat_no = free[rand::rng().random_range(0..free.len())];
            match self
                .send(
                    "hold",
                    Method::POST,
                    "/v1/reservations",
                    Some(&t),
                    None,
                    Some(json!({"schedule_id": schedule, "seat_no": seat_no})),
                )
                .await
            {
                Answer::Ok(StatusCode::CREATED, body) => {
                    held = Some((body["reservation_id"].as_str().unwrap().to_owned(), seat_no));
                }
                Answer::Ok(StatusCode::CONFLICT, _) => {}
                answer => self.after_refusal(answer, &mut token, &mut admitted).await,
            }
        }
    }

    /// 410 / 401: the ticket is gone (paid elsewhere, wiped with Redis): join again.
    /// 403: not admitted (any more). 503 / refused: wait and retry.
    async fn after_refusal(&self, answer: Answer, token: &mut Option<String>, admitted: &mut bool) {
        match answer {
            Answer::Ok(StatusCode::GONE | StatusCode::UNAUTHORIZED, _) => {
                *token = None;
                *admitted = false;
            }
            Answer::Ok(StatusCode::FORBIDDEN, _) => *admitted = false,
            _ => Self::pause().await,
        }
    }
}

/// The FIFO invariant, read atomically from Redis: every admitted ticket number is below
/// every waiting one. Returns `(max admitted seq, min waiting seq)`.
pub async fn fifo_snapshot(
    redis: &mut redis::aio::MultiplexedConnection,
    keys: &Keys,
    concert_id: i64,
) -> (Option<i64>, Option<i64>) {
    let (max_active, min_waiting): (Option<i64>, Option<i64>) = redis::Script::new(
        "local m = nil
         for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
           local n = tonumber(v)
           if m == nil or n > m then m = n end
         end
         local w = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
         return {m or false, w[2] and tonumber(w[2]) or false}",
    )
    .key(keys.active_seq(concert_id))
    .key(keys.waiting(concert_id))
    .invoke_async(redis)
    .await
    .unwrap();
    (max_active, min_waiting)
}

pub async fn redis_conn() -> redis::aio::MultiplexedConnection {
    redis::Client::open(REDIS_URL)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}
