//! THE buyer loop: what one buyer does in a sale, written once for the system tests
//! ([`crate::sale`]) and for `sale-driver` (the fault drill). A buyer charges points,
//! joins, polls until admitted, picks a seat (or asks for the best pair), holds it and pays with the same
//! `Idempotency-Key` on every retry. A 503 or a refused connection is retried after a
//! short pause; a gone ticket (410, or a 401 after Redis lost its data) means joining
//! again; a 403 means waiting again. Every answer is handed to the client's recorder.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// One answer a buyer got.
#[derive(Debug, Clone)]
pub struct Call {
    pub started: Instant,
    /// The same instant as Unix time, ms (for logs read by scripts).
    pub started_unix_ms: u64,
    pub latency: Duration,
    /// 0 when the connection itself failed (a killed gateway).
    pub status: u16,
    pub retry_after: bool,
    pub what: &'static str,
    pub code: String,
    /// Which gateway (index into the client's URLs) answered.
    pub gateway: usize,
}

/// How one journey ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The seats bought (one, or a pair bought as one order).
    Paid {
        seat_nos: Vec<i64>,
    },
    SoldOut,
    GaveUp(String),
}

/// How a buyer picks a seat.
#[derive(Debug, Clone, Copy)]
pub enum Seats {
    /// From the seat map: a random AVAILABLE one; all SOLD means sold out.
    FromMap,
    /// Any number in `1..=seats`, without reading the map (a huge schedule).
    Random { seats: i64 },
}

/// What a buyer is after.
#[derive(Debug, Clone, Copy)]
pub struct Journey {
    pub concert_id: i64,
    pub schedule_id: i64,
    pub user_id: i64,
    pub seats: Seats,
    /// Buys two seats as one order (best available ×2, paid by `order_id`) while the map
    /// shows two free; one seat when one is left.
    pub pair: bool,
}

type Recorder = Arc<dyn Fn(Call) + Send + Sync>;

/// Where buyers send their calls, and where the answers go.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The gateways buyers use; a test removes a killed instance (the load balancer's
    /// health check).
    pub urls: Arc<RwLock<Vec<String>>>,
    record: Recorder,
    /// A refused connection moves the buyer to the next gateway.
    failover: bool,
    /// The longest a waiting buyer sleeps between two polls, whatever `poll_after_ms`.
    max_poll: Duration,
}

enum Answer {
    Got(StatusCode, Value),
    Refused,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

async fn pause() {
    let ms = rand::rng().random_range(30..120);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

impl Client {
    pub fn new(
        http: reqwest::Client,
        urls: Vec<String>,
        record: impl Fn(Call) + Send + Sync + 'static,
    ) -> Self {
        Self {
            http,
            urls: Arc::new(RwLock::new(urls)),
            record: Arc::new(record),
            failover: false,
            max_poll: Duration::from_millis(40),
        }
    }

    /// Refused connections move buyers to the next gateway; waiting buyers poll at most
    /// every `max_poll`.
    pub fn with_failover(mut self, max_poll: Duration) -> Self {
        self.failover = true;
        self.max_poll = max_poll;
        self
    }

    /// A buyer whose first gateway is `home` (modulo the gateways).
    pub fn buyer(&self, home: usize) -> Buyer {
        Buyer {
            client: self.clone(),
            home,
        }
    }
}

pub struct Buyer {
    client: Client,
    home: usize,
}

impl Buyer {
    async fn send(
        &mut self,
        what: &'static str,
        method: Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let (gateway, url) = {
            let urls = self.client.urls.read().unwrap();
            let gateway = self.home % urls.len();
            (gateway, format!("{}{path}", urls[gateway]))
        };
        let mut request = self.client.http.request(method, url);
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
        let started_unix_ms = unix_ms();
        let (status, retry_after, answer) = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let retry_after = response.headers().contains_key("retry-after");
                let body = response.json::<Value>().await.unwrap_or(Value::Null);
                (status.as_u16(), retry_after, Answer::Got(status, body))
            }
            Err(_) => {
                if self.client.failover {
                    self.home += 1;
                }
                (0, false, Answer::Refused)
            }
        };
        let code = match &answer {
            Answer::Got(_, body) => body["code"].as_str().unwrap_or_default().to_owned(),
            Answer::Refused => String::new(),
        };
        (self.client.record)(Call {
            started,
            started_unix_ms,
            latency: started.elapsed(),
            status,
            retry_after,
            what,
            code,
            gateway,
        });
        answer
    }

    /// Charges `amount` points (one key for every retry) until it goes through or `stop`.
    pub async fn charge(
        &mut self,
        user_id: i64,
        amount: i64,
        until: Instant,
        stop: &AtomicBool,
    ) -> bool {
        let key = uuid::Uuid::new_v4().to_string();
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            let path = format!("/v1/users/{user_id}/points/charge");
            let body = json!({"amount": amount});
            match self
                .send("charge", Method::POST, &path, None, Some(&key), Some(body))
                .await
            {
                Answer::Got(StatusCode::OK, _) => return true,
                _ => pause().await,
            }
        }
        false
    }

    /// One journey: join, wait for admission, hold a seat, pay. `admitted` is called once
    /// when the buyer is admitted.
    pub async fn buy(
        &mut self,
        journey: Journey,
        until: Instant,
        stop: &AtomicBool,
        mut admitted_now: impl FnMut(),
    ) -> Outcome {
        let Journey {
            concert_id,
            schedule_id,
            user_id,
            seats,
            mut pair,
        } = journey;
        let mut token: Option<String> = None;
        // What to pay (the payment's body) and the seats it buys.
        let mut held: Option<(Value, Vec<i64>)> = None;
        let mut pay_key = uuid::Uuid::new_v4().to_string();
        let mut admitted = false;
        loop {
            if Instant::now() > until || stop.load(Ordering::SeqCst) {
                return Outcome::GaveUp(format!(
                    "user {user_id}: admitted {admitted}, token {}, held {held:?}",
                    token.is_some()
                ));
            }
            // 1. A place in line.
            let Some(t) = token.clone() else {
                let body = json!({"concert_id": concert_id, "user_id": user_id});
                match self
                    .send(
                        "join",
                        Method::POST,
                        "/v1/queue/tokens",
                        None,
                        None,
                        Some(body),
                    )
                    .await
                {
                    Answer::Got(StatusCode::CONFLICT, body) if body["code"] == "SOLD_OUT" => {
                        return Outcome::SoldOut;
                    }
                    Answer::Got(s, body) if s.is_success() => {
                        token = body["token"].as_str().map(str::to_owned);
                        if body["status"] == "sold_out" {
                            return Outcome::SoldOut;
                        }
                        if body["status"] == "active" && !admitted {
                            admitted = true;
                            admitted_now();
                        }
                    }
                    _ => pause().await,
                }
                continue;
            };
            // 2. Admitted yet?
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
                    Answer::Got(StatusCode::OK, body) => {
                        if let Some(fresh) = body["token"].as_str() {
                            token = Some(fresh.to_owned());
                        }
                        if body["status"] == "active" {
                            admitted = true;
                            admitted_now();
                        } else if body["status"] == "sold_out" {
                            // The sell-out released the line: nothing left to wait for.
                            return Outcome::SoldOut;
                        } else {
                            let advice = body["poll_after_ms"].as_u64().unwrap_or(200);
                            let wait =
                                Duration::from_millis(advice.max(20)).min(self.client.max_poll);
                            tokio::time::sleep(wait).await;
                        }
                    }
                    Answer::Got(StatusCode::GONE, body) if body["reason"] == "sold_out" => {
                        return Outcome::SoldOut;
                    }
                    Answer::Got(StatusCode::GONE, _) => token = None,
                    _ => pause().await,
                }
                continue;
            }
            // 3. Pay for a held seat (the same key on every retry: charged once).
            if let Some((body, seat_nos)) = held.clone() {
                match self
                    .send(
                        "pay",
                        Method::POST,
                        "/v1/payments",
                        Some(&t),
                        Some(&pay_key),
                        Some(body),
                    )
                    .await
                {
                    Answer::Got(StatusCode::CREATED, _) => return Outcome::Paid { seat_nos },
                    Answer::Got(StatusCode::CONFLICT, _) => {
                        // Expired or swept while we were away: pick another seat.
                        held = None;
                        pay_key = uuid::Uuid::new_v4().to_string();
                    }
                    answer => self.after_refusal(answer, &mut token, &mut admitted).await,
                }
                continue;
            }
            // 4. Pick a seat (or a pair) and hold it.
            let seat_no = match seats {
                Seats::Random { .. } if pair => 0,
                Seats::Random { seats } => rand::rng().random_range(1..=seats),
                Seats::FromMap => match self.pick_from_map(schedule_id, &t).await {
                    Pick::Seat { free, .. } if pair && free >= 2 => 0,
                    Pick::Seat { seat_no, .. } => seat_no,
                    Pick::SoldOut => {
                        // Give the slot back, as a real buyer closing the tab would.
                        self.leave(&t).await;
                        return Outcome::SoldOut;
                    }
                    Pick::AllHeld => {
                        // Every seat left is held, maybe by buyers who lost their
                        // admission with Redis: give the slot back so they can be admitted
                        // again and pay, and come back later.
                        self.leave(&t).await;
                        token = None;
                        admitted = false;
                        tokio::time::sleep(Duration::from_millis(150)).await;
                        continue;
                    }
                    Pick::Refused(answer) => {
                        self.after_refusal(answer, &mut token, &mut admitted).await;
                        continue;
                    }
                },
            };
            let body = if seat_no == 0 {
                json!({"schedule_id": schedule_id, "best_available": {"count": 2}})
            } else {
                json!({"schedule_id": schedule_id, "seat_no": seat_no})
            };
            match self
                .send(
                    "hold",
                    Method::POST,
                    "/v1/reservations",
                    Some(&t),
                    None,
                    Some(body),
                )
                .await
            {
                Answer::Got(StatusCode::CREATED, body) => {
                    let seat_nos = body["reservations"]
                        .as_array()
                        .map(|r| r.iter().filter_map(|r| r["seat_no"].as_i64()).collect())
                        .unwrap_or_default();
                    held = Some((json!({"order_id": body["order_id"]}), seat_nos));
                }
                // Fewer than two left: one seat will do.
                Answer::Got(StatusCode::CONFLICT, body) if body["code"] == "NOT_ENOUGH_SEATS" => {
                    pair = false;
                }
                Answer::Got(StatusCode::CONFLICT, _) => {}
                answer => self.after_refusal(answer, &mut token, &mut admitted).await,
            }
        }
    }

    async fn pick_from_map(&mut self, schedule_id: i64, token: &str) -> Pick {
        let path = format!("/v1/schedules/{schedule_id}/seats");
        let seats = match self
            .send("seats", Method::GET, &path, Some(token), None, None)
            .await
        {
            Answer::Got(StatusCode::OK, body) => {
                body["seats"].as_array().cloned().unwrap_or_default()
            }
            answer => return Pick::Refused(answer),
        };
        let free: Vec<i64> = seats
            .iter()
            .filter(|s| s["status"] == "AVAILABLE")
            .filter_map(|s| s["seat_no"].as_i64())
            .collect();
        if !free.is_empty() {
            return Pick::Seat {
                seat_no: free[rand::rng().random_range(0..free.len())],
                free: free.len(),
            };
        }
        if seats.iter().all(|s| s["status"] == "SOLD") {
            Pick::SoldOut
        } else {
            Pick::AllHeld
        }
    }

    async fn leave(&mut self, token: &str) {
        let _ = self
            .send(
                "leave",
                Method::DELETE,
                "/v1/queue/tokens",
                Some(token),
                None,
                None,
            )
            .await;
    }

    /// 410 / 401: the ticket is gone (paid elsewhere, wiped with Redis): join again.
    /// 403: not admitted (any more). 503 / refused: wait and retry.
    async fn after_refusal(&self, answer: Answer, token: &mut Option<String>, admitted: &mut bool) {
        match answer {
            Answer::Got(StatusCode::GONE | StatusCode::UNAUTHORIZED, _) => {
                *token = None;
                *admitted = false;
            }
            Answer::Got(StatusCode::FORBIDDEN, _) => *admitted = false,
            _ => pause().await,
        }
    }
}

enum Pick {
    /// A random free seat, and how many are free.
    Seat {
        seat_no: i64,
        free: usize,
    },
    SoldOut,
    AllHeld,
    Refused(Answer),
}
