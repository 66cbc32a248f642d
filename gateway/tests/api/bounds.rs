//! Bounded under hostile input: what the gateway remembers about what clients send stays
//! within its configured size whatever is sent, and the join limits hold per user and per
//! client address (the address from `X-Forwarded-For` only when a trusted proxy sent it).

use std::sync::atomic::Ordering;

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::json;
use testkit::prelude::*;

/// Resident memory of this process, in KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn random_methods_and_paths_add_no_metric_series() {
    let app = Stack::gateways(1).await;
    let base = app.url(0);
    let marker = format!("zz{}", uuid::Uuid::new_v4().simple());
    let send = |i: usize| {
        let method =
            Method::from_bytes(format!("{}{i}", marker.to_uppercase()).as_bytes()).unwrap();
        let path = if i.is_multiple_of(2) {
            format!("/{marker}/{i}")
        } else {
            "/v1/queue/status".to_string()
        };
        app.client.request(method, format!("{base}{path}")).send()
    };
    // The one series of each kind random input can reach, created once.
    for i in 0..2 {
        send(i).await.unwrap();
    }
    let series = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("http_request"))
            .filter(|l| l.contains("method=\"OTHER\"") || l.contains("route=\"unmatched\""))
            .count()
    };
    let scrape = || async {
        app.client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = scrape().await;
    let answered: Vec<StatusCode> = futures::stream::iter(2..10_002)
        .map(|i| async move { send(i).await.unwrap().status() })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(answered
        .iter()
        .all(|s| *s == StatusCode::NOT_FOUND || *s == StatusCode::METHOD_NOT_ALLOWED));
    let after = scrape().await;
    assert!(
        !after.to_lowercase().contains(&marker),
        "a label value was copied from a request"
    );
    assert!(
        series(&after) <= series(&before) + 2,
        "10,000 random methods and paths made new series: {} -> {}",
        series(&before),
        series(&after)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_flood_of_unknown_concert_ids_stays_within_the_cache() {
    const CAP: usize = 1_000;
    const IDS: i64 = 100_000;
    let app = Stack::gateways_with(1, |s| {
        s.limits.unknown_concerts = CAP;
        s.rate_limit.user_joins_per_sec = 0;
    })
    .await;
    let rooms = app.gateways[0].as_ref().unwrap().state.rooms.clone();
    let base = app.url(0);
    let join = |concert: i64| {
        let client = app.client.clone();
        let url = format!("{base}/v1/queue/tokens");
        async move {
            client
                .post(url)
                .json(&json!({"concert_id": concert, "user_id": 1}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Warm up (the first requests allocate pools and buffers), then measure.
    for id in 0..1_000 {
        join(1_000_000 + id).await;
    }
    let before = rss_kib();
    let refused = futures::stream::iter(0..IDS)
        .map(|id| join(10_000_000 + id))
        .buffer_unordered(16)
        .filter(|s| std::future::ready(*s == StatusCode::NOT_FOUND))
        .count()
        .await;
    let after = rss_kib();
    eprintln!(
        "{IDS} unknown concert ids: RSS {before} KiB -> {after} KiB (delta {} KiB; cache {} of {CAP})",
        after as i64 - before as i64,
        rooms.unknown_remembered()
    );
    assert_eq!(refused as i64, IDS, "each was 404 CONCERT_NOT_FOUND");
    assert!(rooms.unknown_remembered() <= CAP);
    // Each new id costs one booking lookup, no more.
    assert!(app.stub().lookups.load(Ordering::SeqCst) as i64 <= IDS + 1_000 + 3);
    // Known concerts still work.
    assert_eq!(join(1).await, StatusCode::CREATED);
    app.stop().await;
}

#[tokio::test]
async fn one_account_cannot_loop_joins_past_its_limit() {
    let app = Stack::gateways_with(1, |s| set_user_limit(s, 1, 3)).await;
    for _ in 0..3 {
        let ticket = app.join(0, 1, 77).await;
        app.leave(0, &ticket.token).await;
    }
    let r = app.post_token(0, 1, 77, None).await;
    assert!(r.headers().contains_key("retry-after"));
    assert_problem(r, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    // Another user is not held back.
    assert!(app.post_token(0, 1, 78, None).await.status().is_success());
    app.stop().await;
}

#[tokio::test]
async fn the_address_limit_keys_on_forwarded_for_only_from_a_trusted_proxy() {
    let join = |app: &Stack, user: i64, xff: &str| {
        app.client
            .post(format!("{}/v1/queue/tokens", app.url(0)))
            .header("X-Forwarded-For", xff.to_string())
            .json(&json!({"concert_id": 1, "user_id": user}))
            .send()
    };
    // The test client (127.0.0.1) is the trusted proxy: each forwarded client gets its own
    // bucket, and a client's own claims left of the proxy's entry are ignored.
    let behind_proxy = Stack::gateways_with(1, |s| {
        set_address_limit(s, 1, 2);
        s.rate_limit.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    for user in 1..=2 {
        let r = join(&behind_proxy, user, "1.1.1.1, 203.0.113.5")
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let r = join(&behind_proxy, 3, "9.9.9.9, 203.0.113.5")
        .await
        .unwrap();
    assert_problem(r, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    let r = join(&behind_proxy, 4, "203.0.113.6").await.unwrap();
    assert!(r.status().is_success(), "another client has its own bucket");
    behind_proxy.stop().await;

    // Without trust, X-Forwarded-For is the client's own claim: one bucket for the peer.
    let direct = Stack::gateways_with(1, |s| set_address_limit(s, 1, 2)).await;
    for (user, xff) in [(1, "203.0.113.1"), (2, "203.0.113.2")] {
        assert!(join(&direct, user, xff)
            .await
            .unwrap()
            .status()
            .is_success());
    }
    let r = join(&direct, 3, "203.0.113.3").await.unwrap();
    assert_problem(r, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    direct.stop().await;
}
