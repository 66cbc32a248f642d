//! Push updates over Server-Sent Events (`GET /v1/queue/events`), two gateways, real
//! Redis: the first event at once, a position change, the admission with its new active
//! token, `gone` when the admission ends, a reconnect that loses nothing, the stream cap,
//! a shutdown and a lost Redis that end streams cleanly, a bad token that is a 401 and no
//! stream — and the same through nginx (`deploy/nginx.conf`), whose buffering must not
//! hold events back.

use std::time::Duration;

use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use shared::token::TicketStatus;
use testkit::nginx::Nginx;
use testkit::prelude::*;
use testkit::proxy::Mode;
use testkit::sse::SseStream;

const SOON: Duration = Duration::from_secs(10);

async fn open(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    by_query: bool,
) -> reqwest::Response {
    let mut request = client
        .get(format!("{base}/v1/queue/events"))
        .header(ACCEPT, "text/event-stream")
        .timeout(Duration::from_secs(120));
    request = if by_query {
        request.query(&[("token", token)])
    } else {
        request.bearer_auth(token)
    };
    request.send().await.unwrap()
}

async fn stream(client: &reqwest::Client, base: &str, token: &str) -> SseStream {
    let r = open(client, base, token, true).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    SseStream::new(r)
}

#[tokio::test]
async fn a_waiting_buyer_sees_positions_then_the_admission_then_gone() {
    let app = Stack::gateways_with(2, |s| set_queue(s, 1, 1, 100)).await;
    let first = app.join(0, 1, 100).await;
    assert_eq!(first.state(), "active");
    let ahead = app.join(0, 1, 101).await;
    let me = app.join(1, 1, 102).await;
    assert_eq!(me.position(), 2);

    // The first event at once: the status route's body.
    let mut events = stream(&app.client, &app.url(1), &me.token).await;
    let e = events.next_event(SOON).await.expect("the first event");
    assert_eq!(e.event, "status");
    let body = e.json();
    assert_eq!(
        (body["status"].as_str(), body["position"].as_u64()),
        (Some("waiting"), Some(2))
    );
    assert_eq!(body["token"], me.token.as_str());

    // The buyer ahead leaves: my position moves within 5 s.
    assert_eq!(app.leave(0, &ahead.token).await, StatusCode::NO_CONTENT);
    let e = events.next_event(SOON).await.expect("a position update");
    assert_eq!(e.json()["position"], 1, "{}", e.data);

    // The admitted buyer leaves: I am admitted, with an active token, pushed.
    assert_eq!(app.leave(0, &first.token).await, StatusCode::NO_CONTENT);
    let e = events.next_event(SOON).await.expect("the admission");
    let body = e.json();
    assert_eq!(body["status"], "active", "{}", e.data);
    let active = body["token"].as_str().unwrap().to_owned();
    assert_eq!(app.tokens.verify(&active).unwrap().st, TicketStatus::Active);

    // A reconnect (as EventSource does, with Last-Event-ID and the token it started with)
    // starts with the whole current state.
    let r = app
        .client
        .get(format!("{}/v1/queue/events?token={}", app.url(0), me.token))
        .header("Last-Event-ID", e.id.clone().unwrap_or_default())
        .send()
        .await
        .unwrap();
    let mut again = SseStream::new(r);
    let e = again.next_event(SOON).await.unwrap();
    assert_eq!(e.json()["status"], "active");

    // The admission ends (given up): `gone`, and the streams end.
    assert_eq!(app.leave(0, &active).await, StatusCode::NO_CONTENT);
    for s in [&mut events, &mut again] {
        let e = s.next_event(SOON).await.expect("gone");
        assert_problem_event(&e, "gone", StatusCode::GONE, "TICKET_GONE");
        assert!(s.next_event(SOON).await.is_none(), "the stream ended");
    }
    // A dropped ticket's stream is one `gone` event.
    let mut late = stream(&app.client, &app.url(0), &me.token).await;
    let e = late.next_event(SOON).await.expect("gone");
    assert_problem_event(&e, "gone", StatusCode::GONE, "TICKET_GONE");
    assert!(late.next_event(SOON).await.is_none());
    app.stop().await;
}

#[tokio::test]
async fn bad_tokens_are_problems_and_the_stream_cap_is_a_503() {
    let app = Stack::gateways_with(1, |s| {
        s.sse.max_streams = 2;
        s.queue.capacity = 1;
    })
    .await;
    for token in ["", "not-a-jwt"] {
        let r = open(&app.client, &app.url(0), token, token.is_empty()).await;
        assert_problem(r, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    }
    let forged = tampered(&app.join(0, 1, 1).await.token);
    let r = open(&app.client, &app.url(0), &forged, false).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    let r = app
        .client
        .get(format!("{}/v1/queue/events?colour=red", app.url(0)))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::BAD_REQUEST, "INVALID_REQUEST").await;

    let a = app.join(0, 1, 2).await;
    let b = app.join(0, 1, 3).await;
    let c = app.join(0, 1, 4).await;
    let mut s1 = stream(&app.client, &app.url(0), &a.token).await;
    let _s2 = stream(&app.client, &app.url(0), &b.token).await;
    assert!(s1.next_event(SOON).await.is_some());
    let r = open(&app.client, &app.url(0), &c.token, false).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    assert_problem(r, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").await;
    // A closed stream frees its slot.
    drop(s1);
    poll_until(SOON, "the slot freed", || async {
        let r = open(&app.client, &app.url(0), &c.token, false).await;
        (r.status() == StatusCode::OK).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn shutdown_and_a_lost_redis_end_streams_with_a_reconnect_hint() {
    let mut app = Stack::start(
        Options {
            gateways: 2,
            redis_proxy: true,
            ..Options::default()
        },
        |gw, _| gw.queue.capacity = 1,
    )
    .await;
    app.join(0, 1, 1).await;
    let waiting = app.join(0, 1, 2).await;
    let mut on0 = stream(&app.client, &app.url(0), &waiting.token).await;
    let mut on1 = stream(&app.client, &app.url(1), &waiting.token).await;
    assert!(on0.next_event(SOON).await.is_some());
    assert!(on1.next_event(SOON).await.is_some());
    // Gateway 1 serves a stream of room 1: its ticker runs the room.
    poll_until(SOON, "gateway 1 ticking room 1", || async {
        let running = app.gateways[1].as_ref().unwrap();
        running.state.rooms.figures(1).map(|_| ())
    })
    .await;

    // Gateway 0 shuts down: its stream ends with a retry hint (EventSource reconnects,
    // through the load balancer, to another gateway); the shutdown is not held up.
    let stopping = tokio::time::timeout(Duration::from_secs(5), app.kill_gateway(0));
    let (stopped, last) = tokio::join!(stopping, async {
        let mut last = None;
        while let Some(e) = on0.next().await {
            last = Some(e);
        }
        last
    });
    stopped.expect("a gateway with open streams shuts down promptly");
    assert_eq!(last.and_then(|e| e.retry), Some(1_000));

    // Redis goes away: gateway 1's stream gets `unavailable` (a 503 problem) and ends.
    app.redis_proxy.as_ref().unwrap().set(Mode::Down);
    let mut seen = Vec::new();
    let e = loop {
        let next = tokio::time::timeout(Duration::from_secs(15), on1.next()).await;
        let Ok(Some(e)) = next else {
            panic!("no `unavailable` ({next:?}) after {seen:?}");
        };
        if e.event == "unavailable" {
            break e;
        }
        seen.push(e);
    };
    assert_problem_event(
        &e,
        "unavailable",
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
    );
    assert!(e.retry.is_some());
    assert!(on1.next_event(SOON).await.is_none());
    app.redis_proxy.as_ref().unwrap().set(Mode::Up);
    app.stop().await;
}

#[tokio::test]
async fn events_pass_through_nginx_unbuffered() {
    let app = Stack::gateways_with(2, |s| set_queue(s, 1, 1, 100)).await;
    let Some(nginx) = Nginx::in_front_of(&app, "the push-through-nginx test").await else {
        return;
    };
    let lb = nginx.url();
    let first = app.join(0, 1, 1).await;
    let me = app.join(1, 1, 2).await;
    let mut events = stream(&app.client, &lb, &me.token).await;
    let e = events
        .next_event(SOON)
        .await
        .expect("the first event through nginx");
    assert_eq!(e.json()["position"], 1);
    // The admission arrives while the stream stays open: a buffering proxy would hold
    // these few bytes until the stream ended.
    app.leave(0, &first.token).await;
    let e = events
        .next_event(SOON)
        .await
        .expect("the admission through nginx");
    assert_eq!(e.json()["status"], "active", "{}", e.data);
    app.stop().await;
}

#[tokio::test]
async fn a_sold_out_room_and_a_lost_line_end_their_streams() {
    let app = Stack::gateways_with(1, |s| set_queue(s, 1, 10, 50)).await;
    app.join(0, 1, 1).await;
    let waiting = app.join(0, 1, 2).await;
    let mut events = stream(&app.client, &app.url(0), &waiting.token).await;
    assert_eq!(
        events.next_event(SOON).await.unwrap().json()["status"],
        "waiting"
    );
    // Every seat sold, as booking publishes it: the line is released, the stream told.
    let _: () = redis::cmd("HSET")
        .arg(app.keys.inventory(1))
        .arg(&["total", "10", "held", "0", "sold", "10"])
        .query_async(&mut app.redis.clone())
        .await
        .unwrap();
    let e = events.next_event(SOON).await.expect("sold out");
    assert_eq!(
        (e.event.as_str(), e.json()["status"].as_str()),
        ("status", Some("sold_out"))
    );
    assert!(events.next_event(SOON).await.is_none(), "the stream ended");

    // Another room's line is lost (Redis restarted empty): its streams are told so.
    app.join(0, 2, 1).await;
    let other = app.join(0, 2, 2).await;
    let mut events = stream(&app.client, &app.url(0), &other.token).await;
    assert!(events.next_event(SOON).await.is_some());
    poll_until(SOON, "room 2 ticking", || async {
        app.gateways[0]
            .as_ref()
            .unwrap()
            .state
            .rooms
            .figures(2)
            .map(|_| ())
    })
    .await;
    app.wipe_redis();
    let e = events.next_event(SOON).await.expect("gone");
    let gone = assert_problem_event(&e, "gone", StatusCode::GONE, "TICKET_GONE");
    assert_eq!(gone["reason"], "queue_reset");
    app.stop().await;
}

/// Sends `request` on a new connection and reads the answer's head (and whatever of its
/// body came with it).
async fn raw(
    addr: std::net::SocketAddr,
    request: &[u8],
) -> (String, Vec<u8>, tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(request).await.unwrap();
    let mut got = Vec::new();
    assert!(
        read_until(&mut socket, &mut got, "\r\n\r\n").await,
        "closed before a head: {}",
        String::from_utf8_lossy(&got)
    );
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
    (head, got[end + 4..].to_vec(), socket)
}

/// Reads until `needle` shows up in what the socket sends (on top of `got`), or it closes.
async fn read_until(socket: &mut tokio::net::TcpStream, got: &mut Vec<u8>, needle: &str) -> bool {
    use tokio::io::AsyncReadExt;
    loop {
        if String::from_utf8_lossy(got).contains(needle) {
            return true;
        }
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(SOON, socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => return false,
        }
    }
}

#[tokio::test]
async fn a_new_connection_for_a_stream_is_served_lean_and_ends_when_the_client_leaves() {
    let app = Stack::gateways_with(1, |s| set_queue(s, 1, 10, 50)).await;
    let addr = app.gateways[0].as_ref().unwrap().addr;
    let hub = app.gateways[0].as_ref().unwrap().state.push.clone();
    app.join(0, 1, 1).await;
    let me = app.join(0, 1, 2).await;

    // The request line arrives in two pieces: the connection is still recognised.
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    {
        use tokio::io::AsyncWriteExt;
        socket.write_all(b"GET /v1/qu").await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        let rest = format!(
            "eue/events?token={} HTTP/1.1\r\nHost: gw\r\nLast-Event-ID: 3\r\n\r\n",
            me.token
        );
        socket.write_all(rest.as_bytes()).await.unwrap();
    }
    let mut got = Vec::new();
    assert!(read_until(&mut socket, &mut got, "\r\n\r\n").await);
    let text = String::from_utf8_lossy(&got).to_lowercase();
    assert!(text.starts_with("http/1.1 200 ok\r\n"), "{text}");
    assert!(text.contains("content-type: text/event-stream"), "{text}");
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    assert!(text.contains("connection: close"), "{text}");
    assert!(
        text.contains("x-request-id: "),
        "the middleware ran: {text}"
    );
    assert!(read_until(&mut socket, &mut got, "event: status").await);
    assert!(read_until(&mut socket, &mut got, "\"position\":1").await);
    assert_eq!(hub.open(), 1);
    // The client leaves: the stream is dropped and its slot freed.
    drop(socket);
    poll_until(SOON, "the stream released", || async {
        (hub.open() == 0).then_some(())
    })
    .await;

    // A stream that ends by itself (the ticket is gone) ends its chunked body and closes.
    let (head, mut body, mut socket) = raw(
        addr,
        format!(
            "GET /v1/queue/events HTTP/1.1\r\nAuthorization: Bearer {}\r\n\r\n",
            me.token
        )
        .as_bytes(),
    )
    .await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    app.leave(0, &me.token).await;
    assert!(read_until(&mut socket, &mut body, "event: gone").await);
    assert!(
        read_until(&mut socket, &mut body, "0\r\n\r\n").await,
        "the last chunk: {}",
        String::from_utf8_lossy(&body)
    );

    // An HTTP/1.0 client gets a body delimited by the connection's end.
    let other = app.join(0, 1, 3).await;
    let (head, _, _socket) = raw(
        addr,
        format!(
            "GET /v1/queue/events?token={} HTTP/1.0\r\n\r\n",
            other.token
        )
        .as_bytes(),
    )
    .await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("transfer-encoding"), "{head}");
    app.stop().await;
}

#[tokio::test]
async fn a_bad_head_on_the_stream_path_is_a_problem_and_other_paths_are_untouched() {
    let app = Stack::gateways(1).await;
    let addr = app.gateways[0].as_ref().unwrap().addr;
    let problem = |head: &str, body: &[u8]| {
        assert!(head.starts_with("http/1.1 "), "{head}");
        assert_problem_raw(head, body, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    };
    // A header line without a colon.
    let (head, body, _) = raw(addr, b"GET /v1/queue/events HTTP/1.1\r\nno colon\r\n\r\n").await;
    problem(&head, &body);
    // A head over the lean path's 16 KiB.
    let big = format!(
        "GET /v1/queue/events HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let (head, body, _) = raw(addr, big.as_bytes()).await;
    problem(&head, &body);
    // No token: the handler's own 401 problem, with its length.
    let (head, body, _) = raw(addr, b"GET /v1/queue/events HTTP/1.1\r\n\r\n").await;
    assert!(head.starts_with("http/1.1 "), "{head}");
    assert_problem_raw(&head, &body, StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
    assert!(
        head.contains(&format!("content-length: {}", body.len())),
        "{head}"
    );
    // A path that only starts like the stream's goes to the router as usual (a 404), on
    // a connection kept alive.
    let (head, _, _) = raw(addr, b"GET /v1/queue/eventsx HTTP/1.1\r\nHost: gw\r\n\r\n").await;
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    app.stop().await;
}
