//! Optional edge checks: verified upstream identity (`identity.mode = "jwt"`) and the
//! per-address join limit.

use gateway::settings::IdentityMode;
use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::json;

use testkit::prelude::*;

const USER_SECRET: &str = "login-layer-secret-login-layer-secret";

fn user_token(sub: &str, secret: &str, exp_in: i64) -> String {
    let claims = json!({"sub": sub, "exp": shared::token::now_secs() + exp_in});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn jwt_identity_mode_requires_a_user_token_for_the_same_user() {
    let app = Stack::gateways_with(1, |s| {
        s.identity.mode = IdentityMode::Jwt;
        s.identity.secret = Some(USER_SECRET.to_string().into());
    })
    .await;
    let join = |user_token: Option<String>| {
        let mut r = app
            .client
            .post(format!("{}/v1/queue/tokens", app.url(0)))
            .json(&json!({"concert_id": 1, "user_id": 5}));
        if let Some(t) = user_token {
            r = r.header("x-user-token", t);
        }
        r.send()
    };
    for bad in [
        None,
        Some(user_token("6", USER_SECRET, 60)),
        Some(user_token("5", "some-other-secret-some-other-secret", 60)),
        Some(user_token("5", USER_SECRET, -10)),
        Some("garbage".to_string()),
    ] {
        let r = join(bad).await.unwrap();
        assert_problem(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
    let r = join(Some(user_token("5", USER_SECRET, 60))).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // Points of user 5 only with user 5's token.
    let points = |user: i64, token: String| {
        app.client
            .get(format!("{}/v1/users/{user}/points", app.url(0)))
            .header("x-user-token", token)
            .send()
    };
    let r = points(7, user_token("5", USER_SECRET, 60)).await.unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let r = points(5, user_token("5", USER_SECRET, 60)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn joins_beyond_the_per_address_limit_are_429_with_retry_after() {
    let app = Stack::gateways_with(1, |s| {
        s.rate_limit.joins_per_sec = 1;
        s.rate_limit.burst = 3;
    })
    .await;
    for user in 1..=3 {
        assert!(app.post_token(0, 1, user, None).await.status().is_success());
    }
    let r = app.post_token(0, 1, 4, None).await;
    assert!(r.headers().contains_key("retry-after"));
    assert_problem(r, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    // Other routes are not limited.
    let r = app.request(0, Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    app.stop().await;
}
