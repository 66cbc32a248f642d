//! Trust, tried as an attacker would, through the real stack: booking reached directly
//! (with and without the internal token), a paid-up token used on booking, payment keys
//! replayed after the admission ended and across users, another buyer's purchases and
//! payments, the operator's top-up, and a production configuration that does start.
//! Every refusal gets its documented 4xx and changes nothing (snapshot and audit).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shared::config::Layered;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::prelude::*;
use testkit::tokens::{user_claims, user_token, UserKey};

/// What the trust tests start from (with the stack, [`after_a_sale`]): a concert of ten
/// seats, and buyer 1 who bought seat 1 through the gateway with payment key `pay-1`.
struct Sold {
    concert: i64,
    schedule: i64,
    /// The buyer's queue token (its admission ended with the payment).
    token: String,
    /// The payment's answer.
    payment: Value,
}

/// The real stack (one gateway) after the sale [`Sold`] describes.
async fn after_a_sale(opts: PgPoolOptions, c: PgConnectOptions) -> (Stack, Sold) {
    let stack = Stack::full(pool(opts, c).await, 1).await;
    let (concert, schedule) = stack.concert_with(10, 1000).await;
    let token = stack.join(0, concert, 1).await.token;
    stack.charge(1, 10_000).await;
    let (status, held) = stack.hold_at(0, &token, schedule, 1).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let id = held["reservation_id"].as_str().unwrap();
    let (status, payment) = stack.pay_at(0, &token, &[id], Some("pay-1")).await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let sold = Sold {
        concert,
        schedule,
        token,
        payment,
    };
    (stack, sold)
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn booking_answers_only_the_gateway_and_rechecks_the_admission(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let (stack, sold) = after_a_sale(opts, c).await;
    let (concert, schedule, paid_token) = (sold.concert, sold.schedule, sold.token.clone());
    let before = stack.snapshot().await;

    // Straight to booking without the internal token: every buyer route is 401.
    let direct = |method: Method, path: &str| {
        stack
            .client
            .request(method, format!("{}{path}", stack.booking_url()))
            .bearer_auth(&paid_token)
    };
    for (method, path, body) in [
        (Method::GET, format!("/v1/concerts/{concert}"), None),
        (Method::GET, format!("/v1/schedules/{schedule}/seats"), None),
        (
            Method::POST,
            "/v1/reservations".to_string(),
            Some(json!({"schedule_id": schedule, "seat_no": 2})),
        ),
        (
            Method::POST,
            "/v1/users/1/points/charge".to_string(),
            Some(json!({"amount": 10_000_000})),
        ),
        (Method::GET, "/v1/users/1/points".to_string(), None),
    ] {
        let mut request = direct(method.clone(), &path).header("Idempotency-Key", "direct");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        assert_problem(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
        // A wrong internal token is no better.
        let r = direct(method, &path)
            .header("x-internal-token", "guess")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // With the internal token (as if the attacker had it), the paid-up token still cannot
    // hold or pay: booking re-checks the admission in Redis.
    let held = stack.hold(&paid_token, schedule, 2).await;
    assert_problem_body(held, StatusCode::GONE, "TICKET_GONE");
    let unknown = uuid::Uuid::now_v7().to_string();
    let paid = stack.pay(&paid_token, &[&unknown], "new").await;
    assert_problem_body(paid, StatusCode::GONE, "TICKET_GONE");
    assert_eq!(stack.snapshot().await, before, "nothing changed");
    stack.audit().await;
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_lost_payment_answer_is_recovered_with_the_same_key_and_only_by_its_buyer(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let (stack, sold) = after_a_sale(opts, c).await;
    let (concert, token, first) = (sold.concert, sold.token.clone(), &sold.payment);
    let reservation = first["reservation_ids"][0].as_str().unwrap().to_owned();
    let before = stack.snapshot().await;
    let pay = |token: &str, reservation: &str, key: &'static str| {
        let (token, reservation) = (token.to_owned(), reservation.to_owned());
        let stack = &stack;
        async move { stack.pay_at(0, &token, &[&reservation], Some(key)).await }
    };

    // The answer was lost; the admission ended with the payment. The same key and token
    // get the saved 201 back, charged once.
    let (status, again) = pay(&token, &reservation, "pay-1").await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(&again, first);
    // A new key with the gone ticket: 410.
    let answer = pay(&token, &reservation, "pay-2").await;
    assert_problem_body(answer, StatusCode::GONE, "TICKET_GONE");
    // Later still, the token itself has run out with the admission: the same key still
    // gets the saved answer; a new one still 410.
    let claims = stack.tokens.verify(&token).unwrap();
    let now = shared::token::now_secs();
    let expired = stack.tokens.mint(&shared::token::QueueClaims {
        iat: now - 700,
        exp: now - 60,
        ..claims
    });
    assert!(stack.tokens.verify(&expired).is_err(), "expired");
    let (status, again) = pay(&expired, &reservation, "pay-1").await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(&again, first);
    let answer = pay(&expired, &reservation, "pay-3").await;
    assert_problem_body(answer, StatusCode::GONE, "TICKET_GONE");
    // The same key with another body: 422.
    let answer = pay(&token, &uuid::Uuid::now_v7().to_string(), "pay-1").await;
    assert_problem_body(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    );
    // Another buyer with the first buyer's key learns nothing: keys are per user.
    let other = stack.join(0, concert, 2).await.token;
    let answer = pay(&other, &reservation, "pay-1").await;
    assert_problem_body(answer, StatusCode::FORBIDDEN, "FORBIDDEN");
    assert_eq!(stack.balance(1).await, 9_000);
    assert_eq!(stack.snapshot().await, before, "nothing changed");

    // What the buyer bought, without an admission; nobody else's.
    let payment = first["payment_id"].as_str().unwrap();
    let path = format!("/v1/payments/{payment}");
    let (status, detail) = json_of(stack.fetch(&path, Some(&token)).await).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["seats"][0]["seat_no"], 1);
    assert_eq!(detail["amount"], 1000);
    let r = stack.fetch(&path, Some(&other)).await;
    assert_problem(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let (status, mine) = json_of(stack.fetch("/v1/users/1/reservations", None).await).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["items"][0]["status"], "CONFIRMED");
    assert_eq!(mine["items"][0]["payment_id"], payment);
    stack.audit().await;
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn points_come_from_the_operator_side_in_production(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let db = pool(opts, c).await;
    let stack = Stack::full_with(db, 1, |gw, _| gw.points.self_charge = Some(false)).await;
    let before = stack.snapshot().await;
    let answer = stack.charge_at(0, 7, 10_000_000).await;
    assert_problem_body(answer, StatusCode::FORBIDDEN, "SELF_CHARGE_DISABLED");
    assert_eq!(stack.snapshot().await, before);

    // The operator's (or a payment provider's) top-up: admin token, idempotent.
    let top_up = |token: &str, key: &str, amount: i64| {
        stack
            .client
            .post(format!(
                "{}/admin/users/7/points/charge",
                stack.booking_url()
            ))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({"amount": amount}))
            .send()
    };
    let r = top_up("not-the-admin-token", "t1", 5_000).await.unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let (status, first) = json_of(top_up(ADMIN, "t1", 5_000).await.unwrap()).await;
    assert_eq!(
        (status, first["balance"].as_i64()),
        (StatusCode::OK, Some(5_000))
    );
    let (_, again) = json_of(top_up(ADMIN, "t1", 5_000).await.unwrap()).await;
    assert_eq!(again, first, "the same answer, charged once");
    let r = top_up(ADMIN, "t1", 6_000).await.unwrap();
    assert_problem(
        r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    assert_eq!(stack.balance(7).await, 5_000);
    stack.audit().await;
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_strong_production_configuration_starts_and_holds_buyers_to_their_identity(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    const USER_SECRET: &str = "site-login-secret-Hq7Wd2Zk9Rm4Tx8Vb";
    let vars = |prefix: &str, own: &[(&str, &str)]| {
        let mut vars: Vec<(String, String)> = vec![
            (format!("{prefix}__PROFILE"), "prod".into()),
            (
                format!("{prefix}__JWT__SECRET"),
                "q7Lr2vX9mKp4Tz8wYc1Nf6Hb3Dj5Gs0R".into(),
            ),
            (
                format!("{prefix}__ADMIN__TOKEN"),
                "op-8Vd2Kq7Wm4Zx9Rt6Yb3Nc5".into(),
            ),
        ];
        vars.extend(
            own.iter()
                .map(|(k, v)| (format!("{prefix}__{k}"), v.to_string())),
        );
        Some(vars.into_iter().collect())
    };
    let internal = "in-5Rt8Wq2Zx7Mv4Kb9Nc3Hd6Fs1Lp0Yj";
    let gw = gateway::GatewaySettings::load_with(
        None,
        vars(
            "GATEWAY",
            &[
                ("IDENTITY__MODE", "jwt"),
                ("IDENTITY__SECRET", USER_SECRET),
                ("BOOKING__INTERNAL_TOKEN", internal),
            ],
        ),
    )
    .expect("a strong production gateway configuration loads");
    let bk = booking::BookingSettings::load_with(
        None,
        vars(
            "BOOKING",
            &[
                ("INTERNAL__TOKEN", internal),
                (
                    "TICKETS__SIGNING_KEY",
                    "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=",
                ),
            ],
        ),
    )
    .expect("a strong production booking configuration loads");
    let stack = Stack::full_with(pool(opts, c).await, 1, move |g, b| {
        let (addr, redis, booking_url) = (g.http.addr, g.redis.clone(), g.booking.url.clone());
        let (baddr, bredis, bsweep) = (b.http.addr, b.redis.clone(), b.holds.sweep_interval_ms);
        *g = gw;
        g.http.addr = addr;
        g.redis = redis;
        g.booking.url = booking_url;
        g.queue.tick_ms = 50;
        *b = bk;
        b.http.addr = baddr;
        b.redis = bredis;
        b.holds.sweep_interval_ms = bsweep;
    })
    .await;
    let (concert, _) = stack.concert_with(10, 1000).await;
    // Booking answers the gateway's internal token.
    stack.assert_ready(StatusCode::OK, "ok", "ok").await;
    // No identity, no place; someone else's identity, no place.
    let r = stack.post_token(0, concert, 3, None).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "IDENTITY_REQUIRED").await;
    let three = user_token(UserKey::Hs256(USER_SECRET), &user_claims(3, 60));
    // A buyer's request with user 3's identity.
    let as_three = |path: &str, key: Option<&str>, body: Value| {
        let mut request = stack.client.post(format!("{}{path}", stack.url(0)));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.header("x-user-token", &three).json(&body).send()
    };
    let join = json!({"concert_id": concert, "user_id": 4});
    let r = as_three("/v1/queue/tokens", None, join).await.unwrap();
    assert_problem(r, StatusCode::FORBIDDEN, "IDENTITY_MISMATCH").await;
    let join = json!({"concert_id": concert});
    let r = as_three("/v1/queue/tokens", None, join).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Self-charge is off by default in production.
    let charge = json!({"amount": 100});
    let r = as_three("/v1/users/3/points/charge", Some("k"), charge);
    let r = r.await.unwrap();
    assert_problem(r, StatusCode::FORBIDDEN, "SELF_CHARGE_DISABLED").await;
    stack.audit().await;
    stack.stop().await;
}
