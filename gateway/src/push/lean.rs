//! Lean connections: long-lived response streams served without hyper's buffers.
//!
//! A server-sent-events stream holds its connection for as long as a buyer waits, with
//! nothing to read and a few hundred bytes to write now and then. hyper gives every
//! connection an 8 KiB write buffer and, while a response body streams, a read buffer of
//! several KiB (to notice the client leaving); at tens of thousands of streams those
//! buffers are most of the process's memory. So a connection whose first request is a
//! `GET` of one of the gateway's *lean paths* (the push stream's) is handed over by the
//! service skeleton's accept loop ([`shared::service::Handover`]) and served here instead:
//!
//! - the accept loop peeks (without consuming) at the first bytes; anything else goes to
//!   hyper untouched;
//! - the request head is read into a short-lived buffer (at most [`MAX_HEAD`] bytes, within
//!   `http.header_read_timeout_ms`) and parsed with `httparse`; a malformed head is a 400
//!   problem, and so is an oversized one;
//! - the request goes through the same router and middleware as any other (request id,
//!   trace span, metrics, deadline, the handler's problem+json errors);
//! - the response is written straight to the socket: a body of known length with
//!   `content-length`, a streamed body with chunked transfer-encoding (close-delimited for
//!   an HTTP/1.0 client), each chunk as it comes; a closed connection is noticed with a
//!   64-byte stack read, and ends the body (dropping it, which unregisters the stream);
//! - then the connection closes: one request per connection, which is what an event stream
//!   is anyway (`connection: close` tells proxies not to pool it).
//!
//! What stays per stream is the socket, the connection's task and the body's own state.

use std::future::poll_fn;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderName, HeaderValue, Method, Request, Response, Version};
use axum::Router;
use hyper::body::Body as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

use shared::service::{Boxed, Handed, Handover};
use shared::{Code, Problem};

/// The largest request head read on a lean connection (the request line, with a token in
/// its query, and the headers).
pub const MAX_HEAD: usize = 16 * 1024;
/// Headers parsed at most.
const MAX_HEADERS: usize = 64;

/// The gateway's lean paths: a connection that opens with a `GET` of one of them is taken
/// from hyper ([`Handover`]).
#[derive(Debug, Clone)]
pub struct LeanPaths(pub Vec<&'static str>);

impl Handover for LeanPaths {
    fn takes<'a>(&'a self, stream: &'a TcpStream, within: Duration) -> Boxed<'a, bool> {
        Box::pin(classify(stream, &self.0, within))
    }

    fn serve(&self, conn: Handed) -> Boxed<'static, Option<&'static str>> {
        Box::pin(serve(conn.stream, conn.peer, conn.router, conn.header_read))
    }
}

/// Looks at the connection's first bytes without consuming them: `GET <path>` followed by
/// `?` or a space for one of `paths` is lean (true); anything else (or nothing within
/// `within`) is hyper's.
async fn classify(stream: &TcpStream, paths: &[&str], within: Duration) -> bool {
    let Some(longest) = paths.iter().map(|p| p.len() + 5).max() else {
        return false;
    };
    let mut buf = [0u8; 128];
    let want = longest.min(buf.len());
    let deadline = Instant::now() + within;
    loop {
        let peeked = tokio::time::timeout_at(deadline.into(), stream.peek(&mut buf[..want])).await;
        let n = match peeked {
            Ok(Ok(n)) if n > 0 => n,
            _ => return false,
        };
        let seen = &buf[..n];
        let mut partial = false;
        for path in paths {
            match matches(seen, path) {
                Some(true) => return true,
                Some(false) => {}
                None => partial = true,
            }
        }
        if !partial || Instant::now() >= deadline {
            return false;
        }
        // Only part of the request line has arrived; peek again shortly (peeking again at
        // once would see the same bytes).
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Whether `seen` starts `GET <path>` then `?` or a space: yes, no, or not yet known.
/// Runs on every new connection, so it compares in place.
fn matches(seen: &[u8], path: &str) -> Option<bool> {
    let line = b"GET ".iter().chain(path.as_bytes());
    if !seen.iter().zip(line).all(|(a, b)| a == b) {
        return Some(false);
    }
    match seen.get(4 + path.len()) {
        None => None,
        Some(b'?' | b' ') => Some(true),
        Some(_) => Some(false),
    }
}

/// Why a head could not be read.
enum HeadError {
    Closed,
    TooLarge,
    Malformed(String),
}

/// Serves one request on `stream` (see the module docs) and closes it. Returns
/// `Some("header_timeout")` when the head did not arrive in time.
async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_read: Duration,
) -> Option<&'static str> {
    // Everything up to the response head is boxed, so its room is freed once it is done:
    // the task that lives as long as the stream keeps only the socket and the body.
    match Box::pin(answer(stream, peer, router, header_read)).await {
        Answered::Closed(reason) => reason,
        Answered::Streaming {
            mut stream,
            body,
            chunked,
        } => {
            stream_body(&mut stream, body, chunked).await;
            let _ = stream.shutdown().await;
            None
        }
    }
}

/// Where a connection is once its request has been answered up to the body.
enum Answered {
    /// Done and closed (`Some(reason)` when it timed out).
    Closed(Option<&'static str>),
    /// The head is written; the body streams.
    Streaming {
        stream: TcpStream,
        body: Body,
        chunked: bool,
    },
}

/// Reads the head, runs the router, writes the response head (and a body of known
/// length, then closes).
async fn answer(
    mut stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_read: Duration,
) -> Answered {
    let head = tokio::time::timeout(header_read, read_head(&mut stream)).await;
    let request = match head {
        Err(_) => return Answered::Closed(Some("header_timeout")),
        Ok(Err(HeadError::Closed)) => return Answered::Closed(None),
        Ok(Err(HeadError::TooLarge)) => {
            let why =
                format!("request heads are limited to {MAX_HEAD} bytes and {MAX_HEADERS} headers");
            return bad_request(stream, why).await;
        }
        Ok(Err(HeadError::Malformed(why))) => return bad_request(stream, why).await,
        Ok(Ok(mut request)) => {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        }
    };
    let version = request.version();
    let head_only = request.method() == Method::HEAD;
    let response = router
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    write_response(stream, response, version, head_only).await
}

/// Answers a head that cannot be served with a 400 problem.
async fn bad_request(stream: TcpStream, why: String) -> Answered {
    let problem = Problem::new(Code::InvalidRequest, why);
    let response = axum::response::IntoResponse::into_response(problem);
    write_response(stream, response, Version::HTTP_11, false).await
}

/// Reads up to the end of the head and parses it (the bytes are dropped after).
async fn read_head(stream: &mut TcpStream) -> Result<Request<Body>, HeadError> {
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    loop {
        if buf.len() >= MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
        let before = buf.len();
        buf.reserve(1024.min(MAX_HEAD - before));
        let n = stream
            .read_buf(&mut buf)
            .await
            .map_err(|_| HeadError::Closed)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        let from = before.saturating_sub(3);
        if buf[from..].windows(4).any(|w| w == b"\r\n\r\n") {
            return parse_head(&buf);
        }
    }
}

fn parse_head(buf: &[u8]) -> Result<Request<Body>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(HeadError::Malformed("incomplete request head".into()))
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(e) => return Err(HeadError::Malformed(format!("malformed request head: {e}"))),
    }
    let malformed = |what: &str| HeadError::Malformed(format!("malformed request head: {what}"));
    let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
        .map_err(|_| malformed("method"))?;
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut request = Request::builder()
        .method(method)
        .uri(parsed.path.unwrap_or("/"))
        .version(version)
        .body(Body::empty())
        .map_err(|_| malformed("request target"))?;
    let map = request.headers_mut();
    for h in parsed.headers.iter() {
        let name =
            HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| malformed("header name"))?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| malformed("header value"))?;
        map.append(name, value);
    }
    Ok(request)
}

/// Writes `response`'s head, and a body of known length with it (then closes); a streamed
/// body is left to [`stream_body`].
async fn write_response(
    mut stream: TcpStream,
    response: Response<Body>,
    version: Version,
    head_only: bool,
) -> Answered {
    let (parts, mut body) = response.into_parts();
    let mut head = Vec::with_capacity(512);
    let _ = write!(
        head,
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or("")
    );
    for (name, value) in &parts.headers {
        if name == header::CONNECTION
            || name == header::TRANSFER_ENCODING
            || name == header::CONTENT_LENGTH
            || name.as_str() == "keep-alive"
        {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    let _ = write!(
        head,
        "date: {}\r\nconnection: close\r\n",
        httpdate::fmt_http_date(SystemTime::now())
    );
    let no_body = head_only || parts.status.is_informational() || parts.status.as_u16() == 204;
    // The head's headers and extensions are not needed past this point.
    drop(parts);
    if let Some(len) = body.size_hint().exact() {
        // A body of known length (a problem, a short answer): in one write with the head.
        let _ = write!(head, "content-length: {len}\r\n\r\n");
        if !no_body {
            while let Some(Ok(frame)) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                if let Ok(data) = frame.into_data() {
                    head.extend_from_slice(&data);
                }
            }
        }
        let _ = stream.write_all(&head).await;
        let _ = stream.shutdown().await;
        return Answered::Closed(None);
    }
    let chunked = version != Version::HTTP_10;
    if chunked && !no_body {
        head.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    head.extend_from_slice(b"\r\n");
    if stream.write_all(&head).await.is_err() || no_body {
        let _ = stream.shutdown().await;
        return Answered::Closed(None);
    }
    Answered::Streaming {
        stream,
        body,
        chunked,
    }
}

/// Writes each frame of `body` as it comes, until it ends or the client goes away.
async fn stream_body(stream: &mut TcpStream, mut body: Body, chunked: bool) {
    loop {
        let frame = tokio::select! {
            frame = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)) => frame,
            _ = client_gone(stream) => return,
        };
        let data = match frame {
            None => {
                if chunked {
                    let _ = stream.write_all(b"0\r\n\r\n").await;
                }
                return;
            }
            Some(Err(_)) => return,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if !data.is_empty() => data,
                _ => continue,
            },
        };
        let written = if chunked {
            let mut chunk = Vec::with_capacity(data.len() + 12);
            let _ = write!(chunk, "{:x}\r\n", data.len());
            chunk.extend_from_slice(&data);
            chunk.extend_from_slice(b"\r\n");
            stream.write_all(&chunk).await
        } else {
            stream.write_all(&data).await
        };
        if written.is_err() {
            return;
        }
    }
}

/// Resolves when the peer closed its side (or the socket failed); bytes it sends are
/// read into a small stack buffer and dropped.
async fn client_gone(stream: &TcpStream) {
    let mut sink = [0u8; 64];
    loop {
        if stream.readable().await.is_err() {
            return;
        }
        match stream.try_read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lean_path_matches_with_a_query_or_a_space_and_nothing_else() {
        let path = "/v1/queue/events";
        assert_eq!(matches(b"GET /v1/queue/events?token=x", path), Some(true));
        assert_eq!(matches(b"GET /v1/queue/events HTTP/1.1", path), Some(true));
        assert_eq!(matches(b"GET /v1/queue/eventsx", path), Some(false));
        assert_eq!(matches(b"GET /v1/queue/status", path), Some(false));
        assert_eq!(matches(b"POST /v1/queue/events", path), Some(false));
        assert_eq!(matches(b"GET /v1/qu", path), None);
        assert_eq!(matches(b"GET /v1/queue/events", path), None);
    }

    #[test]
    fn a_head_becomes_a_request_with_its_headers() {
        let request = parse_head(
            b"GET /v1/queue/events?token=abc HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 7\r\n\r\n",
        )
        .ok()
        .unwrap();
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri().path(), "/v1/queue/events");
        assert_eq!(request.uri().query(), Some("token=abc"));
        assert_eq!(request.headers()["last-event-id"], "7");
        assert!(matches!(
            parse_head(b"GET /\x01 HTTP/1.1\r\n\r\n"),
            Err(HeadError::Malformed(_))
        ));
    }
}
