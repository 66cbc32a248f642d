use std::time::Duration;

use booking::startup::{spawn, RunningApp};
use chrono::Utc;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use shared::config::BookingSettings;
use shared::token::{QueueClaims, TicketStatus, TokenKeys};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

pub const ADMIN: &str = shared::config::DEV_ADMIN_TOKEN;

pub struct TestApp {
    pub app: RunningApp,
    pub url: String,
    pub client: reqwest::Client,
    pub db: PgPool,
    pub prefix: String,
    pub tokens: TokenKeys,
    pub settings: BookingSettings,
}

/// A pool on the test's own database, big enough for the concurrency tests.
pub async fn pool(opts: PgPoolOptions, connect: PgConnectOptions) -> PgPool {
    opts.max_connections(10)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(connect)
        .await
        .expect("connect to the test database")
}

pub async fn spawn_app(db: PgPool) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

pub async fn spawn_app_with(db: PgPool, adjust: impl FnOnce(&mut BookingSettings)) -> TestApp {
    let mut settings = BookingSettings::defaults();
    settings.http.addr = "127.0.0.1:0".parse().unwrap();
    settings.redis.key_prefix = format!("t-{}:", uuid::Uuid::new_v4().simple());
    settings.holds.sweep_interval_ms = 200;
    adjust(&mut settings);
    let app = spawn(settings.clone(), Some(db.clone()))
        .await
        .expect("booking starts");
    TestApp {
        url: app.url(),
        client: reqwest::Client::new(),
        prefix: settings.redis.key_prefix.clone(),
        tokens: TokenKeys::new(&settings.jwt),
        db,
        settings,
        app,
    }
}

pub async fn json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

impl TestApp {
    pub fn active_token(&self, user_id: i64, concert_id: i64) -> String {
        self.token(user_id, concert_id, TicketStatus::Active, 600)
    }

    pub fn token(&self, user_id: i64, concert_id: i64, st: TicketStatus, ttl: i64) -> String {
        let now = Utc::now().timestamp();
        self.tokens.mint(&QueueClaims::new(
            user_id,
            concert_id,
            1,
            st,
            now,
            now + ttl,
        ))
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{path}", self.url))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.url))
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.delete(format!("{}{path}", self.url))
    }

    /// Creates a concert with one schedule per entry of `seats` (price 1,000 each).
    pub async fn create_concert(&self, seats: &[i32]) -> (i64, Vec<i64>) {
        let starts = Utc::now() + chrono::Duration::days(30);
        let schedules: Vec<Value> = seats
            .iter()
            .map(|n| json!({"starts_at": starts, "seats": n, "price": 1000}))
            .collect();
        let (status, body) = json(
            self.post("/admin/concerts")
                .bearer_auth(ADMIN)
                .json(&json!({"title": "Test concert", "schedules": schedules}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let ids = body["schedule_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        (body["concert_id"].as_i64().unwrap(), ids)
    }

    pub async fn charge(&self, user_id: i64, amount: i64) -> (StatusCode, Value) {
        json(
            self.post(&format!("/v1/users/{user_id}/points/charge"))
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&json!({"amount": amount}))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn hold(&self, token: &str, schedule_id: i64, seat_no: i64) -> (StatusCode, Value) {
        json(
            self.post("/v1/reservations")
                .bearer_auth(token)
                .json(&json!({"schedule_id": schedule_id, "seat_no": seat_no}))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn pay(&self, token: &str, ids: &[&str], key: &str) -> (StatusCode, Value) {
        json(
            self.post("/v1/payments")
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .json(&json!({"reservation_ids": ids}))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn balance(&self, user_id: i64) -> i64 {
        let (status, body) = json(
            self.get(&format!("/v1/users/{user_id}/points"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        body["balance"].as_i64().unwrap()
    }

    pub async fn seat_status(&self, token: &str, schedule_id: i64, seat_no: i64) -> String {
        let (status, body) = json(
            self.get(&format!("/v1/schedules/{schedule_id}/seats"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["seats"][(seat_no - 1) as usize]["status"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn audit(&self) -> booking::audit::Report {
        let report = booking::audit::run(&self.db).await.unwrap();
        assert!(report.passed(), "audit failed:\n{report}");
        report
    }

    /// A snapshot of everything money and seats are made of, to assert "nothing changed".
    pub async fn snapshot(&self) -> Value {
        let row: (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COALESCE(sum(balance),0)::BIGINT FROM users),
                    (SELECT count(*) FROM point_history),
                    (SELECT count(*) FROM payments),
                    (SELECT count(*) FROM reservations),
                    (SELECT count(*) FROM seats WHERE status <> 'AVAILABLE'),
                    (SELECT count(*) FROM concerts)",
        )
        .fetch_one(&self.db)
        .await
        .unwrap();
        json!([row.0, row.1, row.2, row.3, row.4, row.5])
    }

    pub async fn redis(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.settings.redis.url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// Deletes this test's Redis keys and stops the app.
    pub async fn finish(self) {
        let mut conn = self.redis().await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
        self.app.stop().await;
    }
}

/// Polls `check` until it returns true or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
