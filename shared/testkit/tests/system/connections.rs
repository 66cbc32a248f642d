//! The connection rules of both services, on real sockets: a client that sends half a
//! header is disconnected within the header-read timeout; idle keep-alive connections are
//! closed after the idle timeout (1,000 of them at once); past the connection cap a new
//! connection gets a canned 503 with `Retry-After`; booking's request deadline answers 503
//! instead of hanging while a payment waits on a lock.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection (EOF or reset); how long that took.
async fn closed_after(stream: &mut TcpStream, patience: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(patience, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

async fn half_a_header_is_cut_off(addr: SocketAddr, timeout: Duration) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
        .await
        .unwrap();
    let closed = closed_after(&mut stream, timeout * 10)
        .await
        .expect("the server closes a connection whose header never ends");
    assert!(
        closed >= timeout / 2,
        "closed after {closed:?}, before the timeout of {timeout:?}"
    );
}

/// Reads one whole response (head, then `content-length` bytes of body).
async fn read_response(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    let mut got = Vec::new();
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed a keep-alive connection too early");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return;
            }
        }
    }
}

/// `n` keep-alive connections, each after one full request and response, then idle.
async fn idle_connections(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    futures::stream::iter(0..n)
        .map(|_| async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: idle\r\n\r\n")
                .await
                .unwrap();
            read_response(&mut stream).await;
            stream
        })
        .buffer_unordered(64)
        .collect()
        .await
}

async fn idle_connections_are_closed(addr: SocketAddr, idle: Duration) {
    let streams = idle_connections(addr, 1_000).await;
    let closed = futures::stream::iter(streams)
        .map(|mut stream| async move { closed_after(&mut stream, idle * 20).await })
        .buffer_unordered(1_000)
        .filter(|c| std::future::ready(c.is_some()))
        .count()
        .await;
    assert_eq!(closed, 1_000, "every idle connection was closed");
}

async fn the_connection_cap_answers_503(addr: SocketAddr, cap: usize) {
    let _held = idle_connections(addr, cap).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: extra\r\n\r\n")
        .await;
    let mut reply = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), extra.read_to_string(&mut reply)).await;
    assert!(reply.starts_with("HTTP/1.1 "), "{reply}");
    assert!(reply.to_lowercase().contains("retry-after: 1"), "{reply}");
    let (head, body) = reply.split_once("\r\n\r\n").expect("a whole answer");
    assert_problem_raw(
        head,
        body.as_bytes(),
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
    );
}

#[tokio::test]
async fn gateway_connections_live_by_the_rules() {
    let header = Duration::from_millis(300);
    let idle = Duration::from_millis(500);
    let app = Stack::gateways_with(1, |s| {
        s.http.header_read_timeout_ms = header.as_millis() as u64;
        s.http.idle_timeout_ms = idle.as_millis() as u64;
    })
    .await;
    let addr = app.gateways[0].as_ref().unwrap().addr;
    half_a_header_is_cut_off(addr, header).await;
    idle_connections_are_closed(addr, idle).await;
    app.stop().await;

    let capped = Stack::gateways_with(1, |s| s.http.max_connections = 20).await;
    the_connection_cap_answers_503(capped.gateways[0].as_ref().unwrap().addr, 20).await;
    capped.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn booking_connections_live_by_the_rules(opts: PgPoolOptions, c: PgConnectOptions) {
    let header = Duration::from_millis(300);
    let idle = Duration::from_millis(500);
    let db = pool(opts, c).await;
    let app = Stack::booking_with(db.clone(), |s| {
        s.http.header_read_timeout_ms = header.as_millis() as u64;
        s.http.idle_timeout_ms = idle.as_millis() as u64;
        s.http.max_connections = 1_100;
    })
    .await;
    let addr = app.booking_app().addr;
    half_a_header_is_cut_off(addr, header).await;
    idle_connections_are_closed(addr, idle).await;
    app.stop().await;

    let capped = Stack::booking_with(db, |s| s.http.max_connections = 20).await;
    the_connection_cap_answers_503(capped.booking_app().addr, 20).await;
    capped.stop().await;
}

/// A payment waits on the buyer's row, locked by someone else: past booking's request
/// deadline the buyer gets 503 + `Retry-After` (not a hang); once the lock goes the payment
/// completes, and the retry with the same key gets its 201.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn booking_answers_503_at_its_deadline_and_the_retry_gets_the_payment(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking_with(pool(opts, c).await, |s| s.http.request_timeout_ms = 700).await;
    let (_, schedule, token) = app.admitted(1, 5, 5_000).await;
    let (_, held) = app.hold(&token, schedule, 1).await;
    let id = held["reservation_id"].as_str().unwrap().to_owned();

    let lock = app
        .lock(&["SELECT 1 FROM users WHERE id = 1 FOR UPDATE"])
        .await;
    let started = Instant::now();
    let (status, body) = app.pay(&token, &[&id], "deadline-1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered at the deadline, not when the lock went"
    );
    lock.commit().await.unwrap();

    let paid = poll_until(
        Duration::from_secs(10),
        "the payment to complete",
        || async {
            let (status, body) = app.pay(&token, &[&id], "deadline-1").await;
            (status == StatusCode::CREATED).then_some(body)
        },
    )
    .await;
    assert_eq!(paid["amount"], json!(held["price"]));
    assert_eq!(
        app.balance(1).await,
        5_000 - held["price"].as_i64().unwrap()
    );
    app.audit().await;
    app.stop().await;
}
