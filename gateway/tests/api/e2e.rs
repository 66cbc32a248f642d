//! End to end through the real services: gateway (in-process) in front of the real booking
//! service on a fresh PostgreSQL database, both on one Redis prefix and one JWT key.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use shared::config::{BookingSettings, GatewaySettings};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::{delete_prefix, json_of, poll_until, test_settings, ADMIN};

struct Stack {
    booking: booking::startup::RunningApp,
    gateway: gateway::RunningApp,
    prefix: String,
    client: reqwest::Client,
}

impl Stack {
    async fn start(
        opts: PgPoolOptions,
        connect: PgConnectOptions,
        adjust: impl FnOnce(&mut GatewaySettings),
    ) -> Self {
        let pool = opts
            .max_connections(10)
            .connect_with(connect)
            .await
            .unwrap();
        let mut gw = test_settings();
        adjust(&mut gw);
        let mut bk = BookingSettings::defaults();
        bk.http.addr = "127.0.0.1:0".parse().unwrap();
        bk.redis.key_prefix = gw.redis.key_prefix.clone();
        bk.jwt = gw.jwt.clone();
        let booking = booking::startup::spawn(bk, Some(pool)).await.unwrap();
        gw.booking.url = booking.url();
        let gateway = gateway::spawn(gw.clone()).await.unwrap();
        Stack {
            booking,
            gateway,
            prefix: gw.redis.key_prefix,
            client: reqwest::Client::new(),
        }
    }

    fn gw(&self, path: &str) -> String {
        format!("{}{path}", self.gateway.url())
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.gw(path));
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

    async fn create_concert(&self) -> (i64, i64) {
        let starts = chrono::Utc::now() + chrono::Duration::days(10);
        let response = self
            .client
            .post(format!("{}/admin/concerts", self.booking.url()))
            .bearer_auth(ADMIN)
            .json(&json!({"title": "E2E", "schedules": [{"starts_at": starts, "seats": 50, "price": 3000}]}))
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

    async fn stop(self) {
        self.gateway.shutdown().await;
        self.booking.stop().await;
        delete_prefix(&self.prefix);
    }
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn buyer_joins_is_admitted_holds_pays_and_the_token_stops_working(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    use reqwest::Method;
    let stack = Stack::start(opts, c, |_| {}).await;
    let (concert, schedule) = stack.create_concert().await;

    // Join: empty line, free capacity -> active at once.
    let (status, joined) = stack
        .call(
            Method::POST,
            "/v1/queue/tokens",
            None,
            Some(json!({"concert_id": concert, "user_id": 77})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{joined}");
    assert_eq!(joined["status"], "active");
    let token = joined["token"].as_str().unwrap().to_string();

    // Points need no admission.
    let (status, charged) = stack
        .call(
            Method::POST,
            "/v1/users/77/points/charge",
            None,
            Some(json!({"amount": 10_000})),
        )
        .await;
    assert_eq!(
        (status, charged["balance"].as_i64()),
        (StatusCode::OK, Some(10_000))
    );

    let (status, schedules) = stack
        .call(
            Method::GET,
            &format!("/v1/concerts/{concert}/schedules"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{schedules}");
    assert_eq!(schedules[0]["available_seats"], 50);
    let (status, seats) = stack
        .call(
            Method::GET,
            &format!("/v1/schedules/{schedule}/seats"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seats["seats"].as_array().unwrap().len(), 50);

    let (status, held) = stack
        .call(
            Method::POST,
            "/v1/reservations",
            Some(&token),
            Some(json!({"schedule_id": schedule, "seat_no": 12})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let id = held["reservation_id"].as_str().unwrap().to_string();

    let (status, paid) = stack
        .call(
            Method::POST,
            "/v1/payments",
            Some(&token),
            Some(json!({"reservation_ids": [id]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["balance"], 7_000);

    // The admission ended with the payment: the token no longer works anywhere.
    let (status, body) = stack
        .call(Method::GET, "/v1/queue/status", Some(&token), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::GONE, Some("TICKET_GONE"))
    );
    let (status, _) = stack
        .call(
            Method::GET,
            &format!("/v1/schedules/{schedule}/seats"),
            Some(&token),
            None,
        )
        .await;
    assert!(
        status == StatusCode::GONE || status == StatusCode::FORBIDDEN,
        "{status}"
    );
    let (status, _) = stack
        .call(
            Method::POST,
            "/v1/reservations",
            Some(&token),
            Some(json!({"schedule_id": schedule, "seat_no": 13})),
        )
        .await;
    assert!(status.is_client_error(), "{status}");

    let report = booking::audit::run(&stack.booking.state.db).await.unwrap();
    assert!(report.passed(), "{report}");
    assert_eq!(report.totals.sold_seats, 1);
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn waiting_buyer_is_refused_until_admitted_then_gets_through(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    use reqwest::Method;
    let stack = Stack::start(opts, c, |s| {
        s.queue.capacity = 1;
        s.queue.batch_size = 1;
        s.queue.tick_ms = 50;
    })
    .await;
    let (concert, schedule) = stack.create_concert().await;
    let (_, first) = stack
        .call(
            Method::POST,
            "/v1/queue/tokens",
            None,
            Some(json!({"concert_id": concert, "user_id": 1})),
        )
        .await;
    assert_eq!(first["status"], "active");
    let (_, second) = stack
        .call(
            Method::POST,
            "/v1/queue/tokens",
            None,
            Some(json!({"concert_id": concert, "user_id": 2})),
        )
        .await;
    assert_eq!(second["status"], "waiting");
    assert_eq!(second["position"], 1);
    let waiting = second["token"].as_str().unwrap().to_string();
    let (status, body) = stack
        .call(
            Method::GET,
            &format!("/v1/schedules/{schedule}/seats"),
            Some(&waiting),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("NOT_ADMITTED"))
    );
    assert_eq!(body["position"], 1);

    // The first buyer leaves; the second is admitted on the next tick.
    let first_token = first["token"].as_str().unwrap().to_string();
    let response = stack
        .client
        .delete(stack.gw("/v1/queue/tokens"))
        .bearer_auth(&first_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let active = poll_until(Duration::from_secs(5), "second buyer admitted", || async {
        let (status, body) = stack
            .call(Method::GET, "/v1/queue/status", Some(&waiting), None)
            .await;
        (status == StatusCode::OK && body["status"] == "active").then_some(body)
    })
    .await;
    let token = active["token"].as_str().unwrap();
    let (status, _) = stack
        .call(
            Method::GET,
            &format!("/v1/schedules/{schedule}/seats"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    stack.stop().await;
}
