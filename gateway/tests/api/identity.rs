//! Who the buyer is, tried as an attacker would: every identity mode, every way a user
//! token can be wrong, `X-User-Id` from an untrusted peer, a buyer naming another user;
//! self-charge off; and the per-address join limit.

use std::path::PathBuf;
use std::time::Duration;

use gateway::settings::IdentityMode;
use jsonwebtoken::{Algorithm, Header};
use reqwest::{Method, StatusCode};
use serde_json::json;
use testkit::prelude::*;
use testkit::tokens::{fixture, user_claims, user_token, user_token_with, UserKey};

const USER_SECRET: &str = "login-layer-secret-login-layer-secret";

/// Joins concert 1 as `user` (none: without `user_id`), with these identity headers.
async fn join(app: &Stack, user: Option<i64>, headers: &[(&str, String)]) -> reqwest::Response {
    let mut body = json!({"concert_id": 1});
    if let Some(user) = user {
        body["user_id"] = user.into();
    }
    let mut request = app
        .client
        .post(format!("{}/v1/queue/tokens", app.url(0)))
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

fn token(value: String) -> Vec<(&'static str, String)> {
    vec![("x-user-token", value)]
}

/// A JWKS file of the test's own (a copy of the fixture, so a test can rotate keys).
fn jwks_copy() -> PathBuf {
    let path = std::env::temp_dir().join(format!("jwks-{}.json", uuid::Uuid::new_v4()));
    std::fs::copy(fixture("jwks.json"), &path).unwrap();
    path
}

#[tokio::test]
async fn hs256_user_tokens_bind_joins_and_per_user_routes_to_their_user() {
    let app = Stack::gateways_with(1, |s| {
        s.identity.mode = IdentityMode::Jwt;
        s.identity.secret = Some(USER_SECRET.to_string().into());
    })
    .await;
    let good = user_token(UserKey::Hs256(USER_SECRET), &user_claims(5, 60));

    let r = join(&app, Some(5), &[]).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "IDENTITY_REQUIRED").await;
    for (why, bad) in [
        (
            "another key",
            user_token(
                UserKey::Hs256("some-other-secret-some-other-secret"),
                &user_claims(5, 60),
            ),
        ),
        (
            "expired",
            user_token(UserKey::Hs256(USER_SECRET), &user_claims(5, -60)),
        ),
        ("garbage", "garbage".to_string()),
        ("tampered", tampered(&good)),
        ("alg none", alg_none(&good)),
        (
            "sub not a user",
            user_token(
                UserKey::Hs256(USER_SECRET),
                &json!({"sub": "x", "exp": shared::token::now_secs() + 60}),
            ),
        ),
        (
            "no exp",
            user_token(UserKey::Hs256(USER_SECRET), &json!({"sub": "5"})),
        ),
    ] {
        let r = join(&app, Some(5), &token(bad)).await;
        let body = assert_problem(r, StatusCode::UNAUTHORIZED, "IDENTITY_INVALID").await;
        eprintln!("{why}: {}", body["detail"]);
    }
    // Impersonation: user 5's token cannot join as user 6.
    let r = join(&app, Some(6), &token(good.clone())).await;
    assert_problem(r, StatusCode::FORBIDDEN, "IDENTITY_MISMATCH").await;
    // The body's user may be left out: the identity's.
    let r = join(&app, None, &token(good.clone())).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["user_id"], 5);
    assert_eq!(
        join(&app, Some(5), &token(good.clone())).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.waiting_len(1).await + app.live_active(1).await,
        1,
        "one place, user 5's"
    );

    // Points, history and reservations of user 5 only with user 5's token.
    for path in ["points", "points/history", "reservations"] {
        let get = |user: i64, headers: Vec<(&'static str, String)>| {
            let mut r = app
                .client
                .get(format!("{}/v1/users/{user}/{path}", app.url(0)));
            for (k, v) in headers {
                r = r.header(k, v);
            }
            r.send()
        };
        let r = get(7, token(good.clone())).await.unwrap();
        assert_problem(r, StatusCode::FORBIDDEN, "IDENTITY_MISMATCH").await;
        let r = get(5, vec![]).await.unwrap();
        assert_problem(r, StatusCode::UNAUTHORIZED, "IDENTITY_REQUIRED").await;
        let r = get(5, token(good.clone())).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn jwks_keys_verify_by_kid_and_alg_and_the_file_is_reread_when_it_changes() {
    let jwks = jwks_copy();
    let path = jwks.clone();
    let app = Stack::gateways_with(1, move |s| {
        s.identity.mode = IdentityMode::Jwt;
        s.identity.jwks_file = Some(path);
        s.identity.issuer = Some("https://login.example.test".into());
        s.identity.audience = Some("tickets".into());
    })
    .await;
    let claims = |user: i64| {
        json!({"sub": user.to_string(), "exp": shared::token::now_secs() + 60,
               "iss": "https://login.example.test", "aud": "tickets"})
    };
    for (user, key) in [(11, UserKey::Rsa), (12, UserKey::Ec), (13, UserKey::Ed)] {
        let r = join(&app, Some(user), &token(user_token(key, &claims(user)))).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{key:?}");
    }
    let mut wrong_issuer = claims(11);
    wrong_issuer["iss"] = "https://evil.test".into();
    let mut wrong_audience = claims(11);
    wrong_audience["aud"] = "another-app".into();
    let mut no_issuer = claims(11);
    no_issuer.as_object_mut().unwrap().remove("iss");
    // The alg swap: rsa-1's public key (which anyone has) used as an HS256 secret.
    let public_pem = std::fs::read(fixture("rsa-public.pem")).unwrap();
    let mut swapped = Header::new(Algorithm::HS256);
    swapped.kid = Some("rsa-1".into());
    let mut unknown_kid = Header::new(Algorithm::HS256);
    unknown_kid.kid = Some("nobody".into());
    for (why, bad) in [
        ("wrong issuer", user_token(UserKey::Rsa, &wrong_issuer)),
        ("wrong audience", user_token(UserKey::Rsa, &wrong_audience)),
        ("no issuer", user_token(UserKey::Rsa, &no_issuer)),
        (
            "expired",
            user_token(
                UserKey::Ec,
                &json!({"sub": "12", "exp": shared::token::now_secs() - 60, "iss": "https://login.example.test", "aud": "tickets"}),
            ),
        ),
        (
            "alg swapped",
            user_token_with(swapped, &public_pem, &claims(11)),
        ),
        (
            "unknown kid",
            user_token_with(unknown_kid, b"whatever", &claims(11)),
        ),
        (
            "kid not in the file",
            user_token(UserKey::Rsa2, &claims(14)),
        ),
        (
            "shared secret in jwks mode",
            user_token(UserKey::Hs256(USER_SECRET), &claims(11)),
        ),
    ] {
        let r = join(&app, Some(11), &token(bad)).await;
        let body = assert_problem(r, StatusCode::UNAUTHORIZED, "IDENTITY_INVALID").await;
        eprintln!("{why}: {}", body["detail"]);
    }
    // The site adds rsa-2 to its JWKS: tokens signed with it work without a restart.
    let mut set: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&jwks).unwrap()).unwrap();
    let extra: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("rsa-2.jwk.json")).unwrap()).unwrap();
    set["keys"].as_array_mut().unwrap().push(extra);
    std::fs::write(&jwks, serde_json::to_vec(&set).unwrap()).unwrap();
    let rotated = user_token(UserKey::Rsa2, &claims(14));
    let accepted = eventually(Duration::from_secs(5), || async {
        join(&app, Some(14), &token(rotated.clone())).await.status() == StatusCode::CREATED
    })
    .await;
    assert!(accepted, "the re-read JWKS accepts rsa-2");
    app.stop().await;
    let _ = std::fs::remove_file(jwks);
}

#[tokio::test]
async fn x_user_id_counts_only_from_trusted_proxies() {
    // The test client connects from 127.0.0.1: trusted in one gateway, not in the other.
    let trusting = Stack::gateways_with(1, |s| {
        s.identity.mode = IdentityMode::Header;
        s.identity.trusted_proxies = "10.0.0.0/8, 127.0.0.1".into();
    })
    .await;
    let user_id = |v: &str| vec![("x-user-id", v.to_string())];
    let r = join(&trusting, None, &user_id("21")).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = join(&trusting, Some(22), &user_id("21")).await;
    assert_problem(r, StatusCode::FORBIDDEN, "IDENTITY_MISMATCH").await;
    let r = join(&trusting, Some(21), &[]).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "IDENTITY_REQUIRED").await;
    let r = join(&trusting, None, &user_id("not-a-user")).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "IDENTITY_INVALID").await;
    trusting.stop().await;

    let wary = Stack::gateways_with(1, |s| {
        s.identity.mode = IdentityMode::Header;
        s.identity.trusted_proxies = "10.0.0.0/8".into();
    })
    .await;
    let r = join(&wary, Some(21), &user_id("21")).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "IDENTITY_REQUIRED").await;
    let r = wary
        .client
        .get(format!("{}/v1/users/21/points", wary.url(0)))
        .header("x-user-id", "21")
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "IDENTITY_REQUIRED").await;
    assert_eq!(wary.waiting_len(1).await + wary.live_active(1).await, 0);
    wary.stop().await;
}

#[tokio::test]
async fn self_charge_off_is_403_and_reaches_no_one() {
    let app = Stack::gateways_with(1, |s| s.points.self_charge = Some(false)).await;
    let r = app
        .client
        .post(format!("{}/v1/users/5/points/charge", app.url(0)))
        .header("Idempotency-Key", "k")
        .json(&json!({"amount": 10_000_000}))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::FORBIDDEN, "SELF_CHARGE_DISABLED").await;
    // The balance route still works (and went to booking).
    let r = app
        .request(0, Method::GET, "/v1/users/5/points", None, None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn joins_beyond_the_per_address_limit_are_429_with_retry_after() {
    let app = Stack::gateways_with(1, |s| set_address_limit(s, 1, 3)).await;
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

/// The HTTP client would read `\` as `/` and resolve `..`: a public route must not become
/// any booking path sent with the gateway's internal token.
#[tokio::test]
async fn paths_that_could_climb_out_of_their_route_never_reach_booking() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = Stack::gateways(1).await;
    let addr = app.gateways[0].as_ref().unwrap().addr;
    // An admitted buyer: only the path itself can stop these.
    let token = app.active_token(6, 1).await;
    for path in [
        "/v1/concerts/..\\users\\6\\points",
        "/v1/concerts/%2e%2e\\users\\6\\points\\history",
        "/v1/concerts/..\\..\\metrics",
        "/v1/concerts/..\\..\\admin\\concerts\\1",
        "/v1/reservations/..\\..\\v1\\users\\6\\reservations",
        "/v1/concerts/1?x=\\..\\..",
    ] {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(
                format!(
                    "GET {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\
                     Connection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        let status_line = reply.lines().next().unwrap_or_default();
        assert!(
            status_line.contains(" 400 ") || status_line.contains(" 404 "),
            "{path}: {status_line}\n{reply}"
        );
        assert!(
            !reply.contains("\"path\""),
            "{path} reached booking:\n{reply}"
        );
    }
    app.stop().await;
}
