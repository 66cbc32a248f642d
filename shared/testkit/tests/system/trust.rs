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

async fn joined(stack: &Stack, concert: i64, user: i64) -> String {
    stack.join(0, concert, user).await.token
}

/// Joins, charges, holds seat `seat` and pays with `key` through the gateway.
async fn buy(
    stack: &Stack,
    concert: i64,
    schedule: i64,
    user: i64,
    seat: i64,
    key: &str,
) -> (String, Value) {
    let token = joined(stack, concert, user).await;
    stack.charge(user, 10_000).await;
    let (status, held) = stack
        .call(
            0,
            Method::POST,
            "/v1/reservations",
            Some(&token),
            Some(json!({"schedule_id": schedule, "seat_no": seat})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let id = held["reservation_id"].as_str().unwrap().to_owned();
    let paid = pay(stack, &token, &id, key).await;
    assert_eq!(paid.0, StatusCode::CREATED, "{}", paid.1);
    (token, paid.1)
}

async fn pay(stack: &Stack, token: &str, reservation: &str, key: &str) -> (StatusCode, Value) {
    json_of(
        stack
            .client
            .post(format!("{}/v1/payments", stack.url(0)))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({"reservation_ids": [reservation]}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn booking_answers_only_the_gateway_and_rechecks_the_admission(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let stack = Stack::full(pool(opts, c).await, 1).await;
    let (concert, schedule) = stack.concert_with(10, 1000).await;
    let (paid_token, _) = buy(&stack, concert, schedule, 1, 1, "pay-1").await;
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
    assert_problem_body(
        stack.hold(&paid_token, schedule, 2).await,
        StatusCode::GONE,
        "TICKET_GONE",
    );
    assert_problem_body(
        stack
            .pay(&paid_token, &[&uuid::Uuid::now_v7().to_string()], "new")
            .await,
        StatusCode::GONE,
        "TICKET_GONE",
    );
    assert_eq!(stack.snapshot().await, before, "nothing changed");
    stack.audit().await;
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_lost_payment_answer_is_recovered_with_the_same_key_and_only_by_its_buyer(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let stack = Stack::full(pool(opts, c).await, 1).await;
    let (concert, schedule) = stack.concert_with(10, 1000).await;
    let (token, first) = buy(&stack, concert, schedule, 1, 1, "pay-1").await;
    let reservation = first["reservation_ids"][0].as_str().unwrap().to_owned();
    let before = stack.snapshot().await;

    // The answer was lost; the admission ended with the payment. The same key and token
    // get the saved 201 back, charged once.
    let (status, again) = pay(&stack, &token, &reservation, "pay-1").await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again, first);
    // A new key with the gone ticket: 410.
    assert_problem_body(
        pay(&stack, &token, &reservation, "pay-2").await,
        StatusCode::GONE,
        "TICKET_GONE",
    );
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
    let (status, again) = pay(&stack, &expired, &reservation, "pay-1").await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again, first);
    assert_problem_body(
        pay(&stack, &expired, &reservation, "pay-3").await,
        StatusCode::GONE,
        "TICKET_GONE",
    );
    // The same key with another body: 422.
    assert_problem_body(
        pay(&stack, &token, &uuid::Uuid::now_v7().to_string(), "pay-1").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    );
    // Another buyer with the first buyer's key learns nothing: keys are per user.
    let other = joined(&stack, concert, 2).await;
    assert_problem_body(
        pay(&stack, &other, &reservation, "pay-1").await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    assert_eq!(stack.balance(1).await, 9_000);
    assert_eq!(stack.snapshot().await, before, "nothing changed");

    // What the buyer bought, without an admission; nobody else's.
    let payment = first["payment_id"].as_str().unwrap();
    let (status, detail) = stack
        .call(
            0,
            Method::GET,
            &format!("/v1/payments/{payment}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["seats"][0]["seat_no"], 1);
    assert_eq!(detail["amount"], 1000);
    assert_problem_body(
        stack
            .call(
                0,
                Method::GET,
                &format!("/v1/payments/{payment}"),
                Some(&other),
                None,
            )
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    let (status, mine) = stack
        .call(0, Method::GET, "/v1/users/1/reservations", None, None)
        .await;
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
    let options = Options {
        gateways: 1,
        backend: Backend::Real(pool(opts, c).await),
        ..Options::default()
    };
    let stack = Stack::start(options, |gw, _| gw.points.self_charge = Some(false)).await;
    let before = stack.snapshot().await;
    assert_problem_body(
        stack
            .call(
                0,
                Method::POST,
                "/v1/users/7/points/charge",
                None,
                Some(json!({"amount": 10_000_000})),
            )
            .await,
        StatusCode::FORBIDDEN,
        "SELF_CHARGE_DISABLED",
    );
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
    assert_problem_body(
        json_of(top_up(ADMIN, "t1", 6_000).await.unwrap()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    );
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
        vars("BOOKING", &[("INTERNAL__TOKEN", internal)]),
    )
    .expect("a strong production booking configuration loads");
    let options = Options {
        gateways: 1,
        backend: Backend::Real(pool(opts, c).await),
        ..Options::default()
    };
    let stack = Stack::start(options, move |g, b| {
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
    let r = stack.request(0, Method::GET, "/readyz", None, None).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "booking answers the gateway's internal token"
    );
    // No identity, no place; someone else's identity, no place.
    let r = stack.post_token(0, concert, 3, None).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "IDENTITY_REQUIRED").await;
    let three = user_token(UserKey::Hs256(USER_SECRET), &user_claims(3, 60));
    let r = stack
        .client
        .post(format!("{}/v1/queue/tokens", stack.url(0)))
        .header("x-user-token", &three)
        .json(&json!({"concert_id": concert, "user_id": 4}))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::FORBIDDEN, "IDENTITY_MISMATCH").await;
    let r = stack
        .client
        .post(format!("{}/v1/queue/tokens", stack.url(0)))
        .header("x-user-token", &three)
        .json(&json!({"concert_id": concert}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Self-charge is off by default in production.
    let r = stack
        .client
        .post(format!("{}/v1/users/3/points/charge", stack.url(0)))
        .header("x-user-token", &three)
        .header("Idempotency-Key", "k")
        .json(&json!({"amount": 100}))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::FORBIDDEN, "SELF_CHARGE_DISABLED").await;
    stack.audit().await;
    stack.stop().await;
}
