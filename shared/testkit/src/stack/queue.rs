//! The helpers that go through the gateways: the queue, the rooms API, any buyer call.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shared::token::QueueClaims;

use super::Stack;
use crate::http::{buyer_request, json_of, poll_until};
use secrecy::ExposeSecret;

/// A joined buyer as the API described it.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub status: StatusCode,
    pub body: Value,
    pub token: String,
}

impl Ticket {
    pub fn claims(&self, stack: &Stack) -> QueueClaims {
        stack.tokens.verify(&self.token).expect("a valid token")
    }

    pub fn state(&self) -> &str {
        self.body["status"].as_str().unwrap_or_default()
    }

    pub fn position(&self) -> u64 {
        self.body["position"].as_u64().unwrap()
    }
}

impl Stack {
    /// One request to gateway `instance`.
    pub async fn request(
        &self,
        instance: usize,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let (base, body) = (self.url(instance), body.as_ref());
        let r = buyer_request(&self.client, &base, method, path, token, body, false);
        r.send().await.expect("the gateway answers")
    }

    /// `GET path` on gateway 0 with `token` as the bearer when given.
    pub async fn fetch(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.request(0, Method::GET, path, token, None).await
    }

    /// One request through gateway `instance`, with a fresh `Idempotency-Key` when there
    /// is a body (tests that care about the key send their own requests).
    pub async fn call(
        &self,
        instance: usize,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (base, body) = (self.url(instance), body.as_ref());
        let r = buyer_request(&self.client, &base, method, path, token, body, true);
        json_of(r.send().await.expect("the gateway answers")).await
    }

    /// Holds a seat through gateway `instance` as `token`'s buyer.
    pub async fn hold_at(
        &self,
        instance: usize,
        token: &str,
        schedule_id: i64,
        seat_no: i64,
    ) -> (StatusCode, Value) {
        let body = json!({"schedule_id": schedule_id, "seat_no": seat_no});
        self.call(
            instance,
            Method::POST,
            "/v1/reservations",
            Some(token),
            Some(body),
        )
        .await
    }

    /// Pays for `ids` through gateway `instance` as `token`'s buyer, with `key` as the
    /// `Idempotency-Key` (a fresh one when `None`).
    pub async fn pay_at(
        &self,
        instance: usize,
        token: &str,
        ids: &[&str],
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let key = key.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let request = self
            .client
            .post(format!("{}/v1/payments", self.url(instance)))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({"reservation_ids": ids}));
        json_of(request.send().await.expect("the gateway answers")).await
    }

    /// Charges `amount` points to `user_id` through gateway `instance`.
    pub async fn charge_at(
        &self,
        instance: usize,
        user_id: i64,
        amount: i64,
    ) -> (StatusCode, Value) {
        let path = format!("/v1/users/{user_id}/points/charge");
        let body = json!({"amount": amount});
        self.call(instance, Method::POST, &path, None, Some(body))
            .await
    }

    /// Releases reservation `id` through gateway `instance` as `token`'s buyer; the status.
    pub async fn release_at(&self, instance: usize, token: &str, id: &str) -> StatusCode {
        let path = format!("/v1/reservations/{id}");
        let r = self.request(instance, Method::DELETE, &path, Some(token), None);
        r.await.status()
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

    /// A room as buyers see it (`GET /v1/rooms/{id}` on gateway 0): status and body.
    pub async fn public_room(&self, concert_id: i64) -> (StatusCode, Value) {
        let path = format!("/v1/rooms/{concert_id}");
        self.call(0, Method::GET, &path, None, None).await
    }

    /// Gateway `instance`'s metrics page (as [`crate::metrics::scrape`] checks it).
    pub async fn metrics(&self, instance: usize) -> String {
        let url = format!("{}/metrics", self.url(instance));
        crate::metrics::scrape(self.client.get(url)).await
    }

    /// Asserts gateway 0's readiness probe answers `status` with these checks of Redis and
    /// booking (`ok` or `unavailable`).
    pub async fn assert_ready(&self, status: StatusCode, redis: &str, booking: &str) {
        let (got, body) = json_of(self.fetch("/readyz", None).await).await;
        assert_eq!(got, status, "{body}");
        let checks = json!({"checks": {"redis": redis, "booking": booking}});
        crate::http::assert_json_includes(&body, &checks);
    }

    /// The rooms API of gateway 0.
    pub async fn admin(
        &self,
        method: Method,
        concert_id: i64,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.admin_at(0, method, concert_id, body).await
    }

    /// A room as gateway `instance`'s rooms API shows it; expects 200.
    pub async fn room(&self, instance: usize, concert_id: i64) -> Value {
        let (status, room) = self.admin_at(instance, Method::GET, concert_id, None).await;
        assert_eq!(status, StatusCode::OK, "{room}");
        room
    }

    /// The rooms API of gateway `instance`.
    pub async fn admin_at(
        &self,
        instance: usize,
        method: Method,
        concert_id: i64,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}/admin/rooms/{concert_id}", self.url(instance));
        let mut request = self
            .client
            .request(method, url)
            .bearer_auth(self.settings.admin.token.expose_secret());
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

    /// When `user_id`'s admission to a concert expires (ms, as Redis keeps it), if it has one.
    pub async fn admission(&self, concert_id: i64, user_id: i64) -> Option<f64> {
        redis::cmd("ZSCORE")
            .arg(self.keys.active(concert_id))
            .arg(user_id)
            .query_async(&mut self.redis.clone())
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
}
