//! The booking side of a [`Stack`] and the helpers that call booking directly (booking's
//! own tests, and system tests that set up concerts and read the database).

use std::net::SocketAddr;

use chrono::Utc;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use shared::token::{now_secs, QueueClaims, TicketStatus};
use sqlx::PgPool;

use super::{Backend, Stack};
use crate::http::json_of;
use crate::stub::StubBooking;

#[derive(Default)]
pub(super) enum BookingSide {
    Real {
        app: booking::startup::RunningApp,
        db: PgPool,
    },
    Stub(StubBooking),
    /// Stopped.
    #[default]
    Gone,
}

impl BookingSide {
    pub(super) async fn start(
        backend: Backend,
        gw: &gateway::GatewaySettings,
        bk: &booking::BookingSettings,
    ) -> Self {
        match backend {
            Backend::Stub => BookingSide::Stub(StubBooking::start(gw).await),
            Backend::Real(db) => BookingSide::Real {
                app: booking::startup::spawn(bk.clone(), Some(db.clone()))
                    .await
                    .expect("booking starts"),
                db,
            },
        }
    }

    pub(super) fn addr(&self) -> SocketAddr {
        match self {
            BookingSide::Real { app, .. } => app.addr,
            BookingSide::Stub(stub) => stub.addr,
            BookingSide::Gone => panic!("booking was stopped"),
        }
    }

    pub(super) fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub(super) async fn stop(self) {
        match self {
            BookingSide::Real { app, .. } => app.shutdown().await,
            BookingSide::Stub(stub) => stub.stop().await,
            BookingSide::Gone => {}
        }
    }

    pub(super) fn cancel(&self) {
        if let BookingSide::Real { app, .. } = self {
            app.cancel.cancel();
        }
    }
}

impl Stack {
    /// The booking service's base URL (the real one or the stub).
    pub fn booking_url(&self) -> String {
        self.booking.url()
    }

    /// The running booking service (real backends only).
    pub fn booking_app(&self) -> &booking::startup::RunningApp {
        match &self.booking {
            BookingSide::Real { app, .. } => app,
            _ => panic!("this stack runs no real booking service"),
        }
    }

    /// Takes the booking service out (a test that stops it itself).
    pub fn take_booking_app(&mut self) -> booking::startup::RunningApp {
        match std::mem::take(&mut self.booking) {
            BookingSide::Real { app, .. } => app,
            _ => panic!("this stack runs no real booking service"),
        }
    }

    /// Stops the booking service (real or stub) while the gateways keep running.
    pub async fn stop_booking(&mut self) {
        std::mem::take(&mut self.booking).stop().await;
    }

    /// The stub booking service (stub backends only).
    pub fn stub(&self) -> &StubBooking {
        match &self.booking {
            BookingSide::Stub(stub) => stub,
            _ => panic!("this stack runs the real booking service"),
        }
    }

    /// The test database (real backends only).
    pub fn db(&self) -> &PgPool {
        match &self.booking {
            BookingSide::Real { db, .. } => db,
            _ => panic!("this stack has no database"),
        }
    }

    /// A request to booking directly, as a gateway sends it (with the internal token).
    pub fn to_booking(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .client
            .request(method, format!("{}{path}", self.booking_url()));
        match &self.booking_settings.internal.token {
            Some(token) => request.header("x-internal-token", token.expose_secret()),
            None => request,
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.to_booking(reqwest::Method::GET, path)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.to_booking(reqwest::Method::POST, path)
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.to_booking(reqwest::Method::DELETE, path)
    }

    /// `method path` on booking directly (as [`Stack::to_booking`]) with `token` — a queue
    /// token or the admin token — as the bearer when given.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::Response {
        let request = self.to_booking(method, path);
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
        .await
        .expect("booking answers")
    }

    /// `GET path` on booking directly with `token` as the bearer when given: status and JSON
    /// body.
    pub async fn read(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        json_of(self.send(reqwest::Method::GET, path, token).await).await
    }

    /// Releases reservation `id` on booking directly as `token`'s buyer; the status.
    pub async fn release(&self, token: &str, id: &str) -> StatusCode {
        let path = format!("/v1/reservations/{id}");
        self.send(reqwest::Method::DELETE, &path, Some(token))
            .await
            .status()
    }

    /// An active token (ticket 1) for `user_id` in `concert_id`, minted with the stack's
    /// key, and its admission written to Redis (booking checks it there for holds and
    /// payments), live for 10 minutes.
    pub async fn active_token(&self, user_id: i64, concert_id: i64) -> String {
        self.admit(user_id, concert_id, 1, 600).await;
        self.token(user_id, concert_id, TicketStatus::Active, 600)
    }

    /// Writes an admission of ticket `seq` for `user_id` to Redis, as a tick would.
    pub async fn admit(&self, user_id: i64, concert_id: i64, seq: i64, ttl_secs: i64) {
        let _: () = redis::Script::new(
            "local t = redis.call('TIME')
             local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
             redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]) * 1000, ARGV[1])
             redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])",
        )
        .key(self.keys.active(concert_id))
        .key(self.keys.active_seq(concert_id))
        .arg(user_id)
        .arg(seq)
        .arg(ttl_secs)
        .invoke_async(&mut self.redis.clone())
        .await
        .unwrap();
    }

    pub fn token(&self, user_id: i64, concert_id: i64, st: TicketStatus, ttl: i64) -> String {
        let now = now_secs();
        self.tokens.mint(&QueueClaims::new(
            user_id,
            concert_id,
            1,
            st,
            now,
            now + ttl,
        ))
    }

    /// A token minted with the stack's key (for forged / expired cases).
    pub fn mint(&self, claims: &QueueClaims) -> String {
        self.tokens.mint(claims)
    }

    /// `POST path` on booking directly with a JSON `body`, `token` as the bearer and `key`
    /// as the `Idempotency-Key` when given: status and JSON body.
    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let mut request = self.post(path).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        json_of(request.send().await.expect("booking answers")).await
    }

    /// `POST /admin/concerts` on booking directly with the admin token: status and body.
    pub async fn post_concert(&self, concert: &Value) -> (StatusCode, Value) {
        let admin = self.booking_settings.admin.token.expose_secret();
        self.post_json("/admin/concerts", Some(admin), None, concert)
            .await
    }

    /// `POST /admin/venues` on booking directly with the admin token: status and body.
    pub async fn post_venue(&self, venue: &Value) -> (StatusCode, Value) {
        let admin = self.booking_settings.admin.token.expose_secret();
        self.post_json("/admin/venues", Some(admin), None, venue)
            .await
    }

    /// A venue of `sections` (name, grade, seats per row) and a concert 30 days ahead with
    /// one schedule on it, every grade at `price` points and the ticket limit `max_tickets`;
    /// the concert's id and the schedule's.
    pub async fn concert_on_venue(
        &self,
        sections: &[(&str, &str, &[i64])],
        price: i64,
        max_tickets: i32,
    ) -> (i64, i64) {
        let layout: Vec<Value> = sections
            .iter()
            .map(|(name, grade, rows)| {
                let rows: Vec<Value> = rows
                    .iter()
                    .enumerate()
                    .map(|(i, n)| json!({"label": (i + 1).to_string(), "seats": n}))
                    .collect();
                json!({"name": name, "grade": grade, "rows": rows})
            })
            .collect();
        let (status, venue) = self
            .post_venue(&json!({"name": "Hall", "sections": layout}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{venue}");
        let prices: serde_json::Map<String, Value> = sections
            .iter()
            .map(|(_, grade, _)| ((*grade).to_owned(), json!(price)))
            .collect();
        let starts = Utc::now() + chrono::Duration::days(30);
        let concert = json!({"title": "On a venue", "max_tickets_per_user": max_tickets,
            "schedules": [{"starts_at": starts, "venue_id": venue["venue_id"], "prices": prices}]});
        let (status, body) = self.post_concert(&concert).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["concert_id"].as_i64().unwrap(),
            body["schedule_ids"][0].as_i64().unwrap(),
        )
    }

    /// `POST /v1/reservations` with any body (an order) on booking directly.
    pub async fn order(&self, token: &str, body: &Value) -> (StatusCode, Value) {
        self.post_json("/v1/reservations", Some(token), None, body)
            .await
    }

    /// Creates a concert of `schedules` and expects 201; its id and its schedules' ids.
    async fn created(&self, title: &str, schedules: Vec<Value>) -> (i64, Vec<i64>) {
        let concert = json!({"title": title, "schedules": schedules});
        let (status, body) = self.post_concert(&concert).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let ids = body["schedule_ids"].as_array().unwrap().iter();
        let ids = ids.map(|v| v.as_i64().unwrap()).collect();
        (body["concert_id"].as_i64().unwrap(), ids)
    }

    /// Creates a concert 30 days ahead with one schedule per entry of `seats` (price 1,000
    /// each); returns its id and the schedule ids.
    pub async fn create_concert(&self, seats: &[i32]) -> (i64, Vec<i64>) {
        let starts = Utc::now() + chrono::Duration::days(30);
        let schedules = seats.iter();
        let schedules = schedules.map(|n| json!({"starts_at": starts, "seats": n, "price": 1000}));
        self.created("Test concert", schedules.collect()).await
    }

    /// Where most of booking's tests start: a concert of one schedule of `seats` seats (as
    /// [`Stack::create_concert`]) and buyer `user_id` admitted to it, with `points` points
    /// charged (none when 0). The concert's id, the schedule's and the buyer's active token.
    pub async fn admitted(&self, user_id: i64, seats: i32, points: i64) -> (i64, i64, String) {
        let (concert, schedules) = self.create_concert(&[seats]).await;
        let token = self.active_token(user_id, concert).await;
        if points > 0 {
            let (status, body) = self.charge(user_id, points).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        (concert, schedules[0], token)
    }

    /// A concert with one schedule of `seats` seats at `price` points; its id and the
    /// schedule's.
    pub async fn concert_with(&self, seats: i64, price: i64) -> (i64, i64) {
        let starts = Utc::now() + chrono::Duration::days(10);
        let schedule = json!({"starts_at": starts, "seats": seats, "price": price});
        let (concert, schedules) = self.created("Stack", vec![schedule]).await;
        (concert, schedules[0])
    }

    /// Charges `amount` points to `user_id` on booking directly (a fresh idempotency key).
    pub async fn charge(&self, user_id: i64, amount: i64) -> (StatusCode, Value) {
        let path = format!("/v1/users/{user_id}/points/charge");
        let key = uuid::Uuid::new_v4().to_string();
        let body = json!({"amount": amount});
        self.post_json(&path, None, Some(&key), &body).await
    }

    /// Holds a seat on booking directly.
    pub async fn hold(&self, token: &str, schedule_id: i64, seat_no: i64) -> (StatusCode, Value) {
        let body = json!({"schedule_id": schedule_id, "seat_no": seat_no});
        self.post_json("/v1/reservations", Some(token), None, &body)
            .await
    }

    /// Holds a seat on booking directly and expects 201; the reservation's id.
    pub async fn hold_id(&self, token: &str, schedule_id: i64, seat_no: i64) -> String {
        let (status, body) = self.hold(token, schedule_id, seat_no).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["reservation_id"].as_str().unwrap().to_owned()
    }

    /// Pays on booking directly.
    pub async fn pay(&self, token: &str, ids: &[&str], key: &str) -> (StatusCode, Value) {
        let body = json!({"reservation_ids": ids});
        self.post_json("/v1/payments", Some(token), Some(key), &body)
            .await
    }

    /// `user_id`'s balance, read on booking directly.
    pub async fn balance(&self, user_id: i64) -> i64 {
        let (status, body) = self
            .read(&format!("/v1/users/{user_id}/points"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["balance"].as_i64().unwrap()
    }

    /// The status of seat `seat_no` as `token`'s buyer sees it.
    pub async fn seat_status(&self, token: &str, schedule_id: i64, seat_no: i64) -> String {
        let path = format!("/v1/schedules/{schedule_id}/seats");
        let (status, body) = self.read(&path, Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["seats"][(seat_no - 1) as usize]["status"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The one number `sql` selects from the test database (a `count(*)`, a sum).
    pub async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(self.db()).await.unwrap()
    }

    /// Row locks held by the test: runs `statements` (`SELECT ... FOR UPDATE`, or anything
    /// else to do under them) in a transaction the test commits or rolls back to let go.
    pub async fn lock(&self, statements: &[&str]) -> sqlx::Transaction<'static, sqlx::Postgres> {
        let mut lock = self.db().begin().await.unwrap();
        for statement in statements {
            sqlx::query(statement).execute(&mut *lock).await.unwrap();
        }
        lock
    }

    /// Runs the auditor and asserts it passes.
    pub async fn audit(&self) -> booking::audit::Report {
        let report = booking::audit::run(self.db()).await.unwrap();
        assert!(report.passed(), "the auditor found a breach:\n{report}");
        report
    }

    /// Everything money and seats are made of, to assert "nothing changed".
    pub async fn snapshot(&self) -> Value {
        let row: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COALESCE(sum(balance),0)::BIGINT FROM users),
                    (SELECT count(*) FROM users),
                    (SELECT count(*) FROM point_history),
                    (SELECT count(*) FROM payments),
                    (SELECT count(*) FROM reservations),
                    (SELECT count(*) FROM seats WHERE status <> 'AVAILABLE'),
                    (SELECT count(*) FROM concerts)",
        )
        .fetch_one(self.db())
        .await
        .unwrap();
        json!([row.0, row.1, row.2, row.3, row.4, row.5, row.6])
    }

    /// Seats sold per seat number (a seat sold twice would show up as 2).
    pub async fn confirmed_per_seat(&self, schedule_id: i64) -> Vec<(i32, i64)> {
        sqlx::query_as(
            "SELECT seat_no, count(*) FROM reservations
             WHERE schedule_id = $1 AND status = 'CONFIRMED' GROUP BY seat_no ORDER BY seat_no",
        )
        .bind(schedule_id)
        .fetch_all(self.db())
        .await
        .unwrap()
    }
}
