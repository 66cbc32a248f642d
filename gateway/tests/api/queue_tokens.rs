//! The buyer's queue API: join, re-issue rules, status, leave, and refused input.

use std::sync::atomic::Ordering;

use reqwest::{Method, StatusCode};
use serde_json::json;
use shared::token::TicketStatus;

use testkit::prelude::*;

#[tokio::test]
async fn first_buyer_in_an_empty_room_is_active_at_once() {
    let app = Stack::gateways(1).await;
    let t = app.join(0, 1, 42).await;
    assert_eq!(t.status, StatusCode::CREATED);
    assert_eq!(t.state(), "active");
    assert_eq!(t.position(), 0);
    assert_eq!(t.body["eta_seconds"], 0);
    assert_eq!(t.body["concert_id"], 1);
    assert_eq!(t.body["user_id"], 42);
    let expires_at = t.body["expires_at"].as_str().unwrap();
    let expires_at = chrono::DateTime::parse_from_rfc3339(expires_at).unwrap();
    let in_secs = expires_at.timestamp() - chrono::Utc::now().timestamp();
    assert!((58..=61).contains(&in_secs), "{in_secs}");
    let claims = t.claims(&app);
    assert_eq!(
        (claims.cid, claims.user_id(), claims.st),
        (1, 42, TicketStatus::Active)
    );
    assert_eq!(
        claims.exp,
        expires_at.timestamp() + i64::from(expires_at.timestamp_subsec_millis() > 0)
    );
    app.stop().await;
}

#[tokio::test]
async fn joining_again_returns_the_same_place_never_a_second_one() {
    let app = Stack::gateways_with(2, |s| s.queue.capacity = 1).await;
    app.join(0, 1, 1).await;
    let first = app.join(0, 1, 2).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.state(), "waiting");
    assert_eq!(first.position(), 1);
    // Again without a token, through either instance, and with the token.
    let again = app.join(1, 1, 2).await;
    let with_token = app.join_with(0, 1, 2, Some(&first.token)).await;
    for t in [&again, &with_token] {
        assert_eq!(t.status, StatusCode::OK);
        assert_eq!(t.claims(&app).seq, first.claims(&app).seq);
        assert_eq!(t.position(), 1);
    }
    // A valid token whose state did not change comes back unchanged.
    assert_eq!(with_token.token, first.token);
    assert_eq!(app.waiting_len(1).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn waiting_buyer_gets_position_eta_and_poll_advice() {
    let app = Stack::gateways_with(1, |s| set_queue(s, 1, 2, 1000)).await;
    app.join(0, 1, 100).await;
    let mut last = 0;
    for user in 1..=5 {
        let t = app.join(0, 1, user).await;
        assert_eq!(t.state(), "waiting");
        assert_eq!(t.position(), user as u64);
        let eta = t.body["eta_seconds"].as_u64().unwrap();
        assert!(eta >= last, "eta grows with position");
        last = eta;
        let poll = t.body["poll_after_ms"].as_u64().unwrap();
        assert!((1000..=30_000).contains(&poll), "{poll}");
        assert!(t.body.get("expires_at").is_none());
        assert_eq!(t.claims(&app).st, TicketStatus::Waiting);
    }
    assert!(last >= 1);
    app.stop().await;
}

#[tokio::test]
async fn token_for_another_concert_or_user_gets_a_new_ticket() {
    let app = Stack::gateways(1).await;
    let c1 = app.join(0, 1, 7).await;
    let c2 = app.join_with(0, 2, 7, Some(&c1.token)).await;
    assert_eq!(c2.status, StatusCode::CREATED);
    assert_ne!(c2.token, c1.token);
    assert_eq!(c2.claims(&app).cid, 2);
    // The same token presented for another user of concert 1: that user's own ticket.
    let other = app.join_with(0, 1, 8, Some(&c1.token)).await;
    assert_eq!(other.status, StatusCode::CREATED);
    assert_eq!(other.claims(&app).user_id(), 8);
    assert_ne!(other.claims(&app).seq, c1.claims(&app).seq);
    app.stop().await;
}

#[tokio::test]
async fn token_whose_ticket_is_gone_gets_a_new_ticket_and_status_410() {
    let app = Stack::gateways(1).await;
    let t = app.join(0, 1, 5).await;
    assert_eq!(app.leave(0, &t.token).await, StatusCode::NO_CONTENT);
    assert_problem_body(
        app.status(0, &t.token).await,
        StatusCode::GONE,
        "TICKET_GONE",
    );
    let again = app.join_with(0, 1, 5, Some(&t.token)).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert!(again.claims(&app).seq > t.claims(&app).seq);
    assert_ne!(again.token, t.token);
    // Leaving twice is fine.
    assert_eq!(app.leave(0, &t.token).await, StatusCode::NO_CONTENT);
    app.stop().await;
}

#[tokio::test]
async fn status_change_gets_a_fresh_token() {
    let app = Stack::gateways_with(1, |s| s.queue.capacity = 1).await;
    let first = app.join(0, 1, 1).await;
    let second = app.join(0, 1, 2).await;
    assert_eq!(second.state(), "waiting");
    let (status, body) = app.status(0, &second.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["token"],
        second.token.as_str(),
        "same state, same token"
    );
    assert_eq!(body["position"], 1);

    assert_eq!(app.leave(0, &first.token).await, StatusCode::NO_CONTENT);
    let body = app
        .wait_active(&second.token, std::time::Duration::from_secs(5))
        .await;
    let fresh = body["token"].as_str().unwrap();
    assert_ne!(fresh, second.token);
    let claims = app.tokens.verify(fresh).unwrap();
    assert_eq!(claims.st, TicketStatus::Active);
    assert_eq!(claims.seq, second.claims(&app).seq);
    assert!(body["expires_at"].is_string());
    // Re-issue with the stale waiting token gives the active state and a fresh token too.
    let reissued = app.join_with(0, 1, 2, Some(&second.token)).await;
    assert_eq!(reissued.status, StatusCode::OK);
    assert_eq!(reissued.state(), "active");
    app.stop().await;
}

#[tokio::test]
async fn invalid_tokens_are_401_everywhere() {
    let app = Stack::gateways(1).await;
    let good = app.join(0, 1, 9).await;
    let parts: Vec<&str> = good.token.split('.').collect();

    let mut forged_claims = good.claims(&app);
    forged_claims.seq += 1;
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&serde_json::to_vec(&forged_claims).unwrap()),
        parts[2]
    );
    let alg_none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(&serde_json::to_vec(&good.claims(&app)).unwrap())
    );
    let expired = app.mint(&claims(
        9,
        1,
        good.claims(&app).seq,
        TicketStatus::Active,
        -10,
    ));
    let mut other_key = app.settings.jwt.clone();
    other_key.secret = "another-secret-another-secret-another".to_string().into();
    let wrong_key =
        shared::token::TokenKeys::new(&other_key).mint(&claims(9, 1, 1, TicketStatus::Active, 60));

    for bad in [
        tampered.as_str(),
        &alg_none,
        &expired,
        &wrong_key,
        "garbage",
        "a.b.c",
    ] {
        let r = app.post_token(0, 1, 9, Some(bad)).await;
        assert_problem(r, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
        let r = app
            .request(0, Method::GET, "/v1/queue/status", Some(bad), None)
            .await;
        assert_problem(r, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
        let r = app
            .request(0, Method::DELETE, "/v1/queue/tokens", Some(bad), None)
            .await;
        assert_problem(r, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
        let r = app
            .request(0, Method::GET, "/v1/concerts/1/schedules", Some(bad), None)
            .await;
        assert_problem(r, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    }
    // No token at all on status and booking routes.
    let r = app
        .request(0, Method::GET, "/v1/queue/status", None, None)
        .await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    // The genuine ticket was not disturbed.
    assert_eq!(app.status(0, &good.token).await.0, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn unknown_concert_is_404_and_the_answer_is_cached() {
    let app = Stack::gateways(1).await;
    for _ in 0..5 {
        let r = app.post_token(0, 999, 1, None).await;
        assert_problem(r, StatusCode::NOT_FOUND, "CONCERT_NOT_FOUND").await;
    }
    let lookups = app.stub().lookups.load(Ordering::SeqCst);
    assert_eq!(lookups, 1, "one booking lookup for repeated unknown ids");
    // Known concerts are looked up once per instance, even under a burst.
    let joins = (0..50).map(|u| app.post_token(0, 3, 1000 + u, None));
    for r in futures::future::join_all(joins).await {
        assert!(r.status().is_success());
    }
    let lookups = app.stub().lookups.load(Ordering::SeqCst);
    assert_eq!(lookups, 2);
    app.stop().await;
}

#[tokio::test]
async fn disabled_room_refuses_new_joins_but_keeps_existing_places() {
    let app = Stack::gateways_with(1, |s| s.queue.capacity = 1).await;
    app.join(0, 1, 1).await;
    let waiting = app.join(0, 1, 2).await;
    app.configure(1, json!({"enabled": false})).await;
    let r = app.post_token(0, 1, 3, None).await;
    assert_problem(r, StatusCode::CONFLICT, "QUEUE_CLOSED").await;
    let again = app.join(0, 1, 2).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.claims(&app).seq, waiting.claims(&app).seq);
    app.configure(1, json!({"enabled": true})).await;
    assert_eq!(app.join(0, 1, 3).await.status, StatusCode::CREATED);
    app.stop().await;
}

#[tokio::test]
async fn malformed_bodies_are_400_problems() {
    let app = Stack::gateways(1).await;
    let url = format!("{}/v1/queue/tokens", app.url(0));
    let cases = [
        r#"{"concert_id": 1, "user_id": "#.to_string(),
        r#"{"concert_id": 1}"#.to_string(),
        r#"{"concert_id": 1, "user_id": 2, "extra": true}"#.to_string(),
        r#"{"concert_id": "1", "user_id": 2}"#.to_string(),
        r#"{"concert_id": 1.5, "user_id": 2}"#.to_string(),
        r#"{"concert_id": 0, "user_id": 2}"#.to_string(),
        r#"{"concert_id": 1, "user_id": -4}"#.to_string(),
        r#"[]"#.to_string(),
    ];
    for body in cases {
        let r = app
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let problem = assert_problem(r, StatusCode::BAD_REQUEST, "INVALID_REQUEST").await;
        assert_eq!(problem["status"], 400, "{body}");
    }
    let r = app.client.post(&url).body("{}").send().await.unwrap();
    assert_problem(
        r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    .await;
    let big = format!(
        r#"{{"concert_id": 1, "user_id": 2, "pad": "{}"}}"#,
        "x".repeat(70_000)
    );
    let r = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE").await;
    let r = app.request(0, Method::GET, "/v1/nowhere", None, None).await;
    assert_problem(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    app.stop().await;
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let app = Stack::gateways(1).await;
    let r = app
        .client
        .get(format!("{}/healthz", app.url(0)))
        .header("x-request-id", "req-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "req-123");
    let r = app.post_token(0, 1, 1, None).await;
    assert!(!r.headers()["x-request-id"].is_empty());
    app.stop().await;
}
