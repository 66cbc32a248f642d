//! Connections: the accept loop and the rules every connection lives by.
//!
//! axum's own `serve` gives hyper no timer, so a client that sends half a header, or
//! opens a connection and says nothing, holds a file descriptor forever. Here each
//! connection is one hyper HTTP/1.1 connection plus a watchdog that knows what the
//! connection is doing ([`Activity`]):
//! - **reading a head** (from accept, or from the first byte after an idle spell) — closed
//!   when the head is not complete within `http.header_read_timeout_ms`;
//! - **busy** (a request in flight, its response body included: a long stream is busy) —
//!   never closed by the watchdog; the request deadline bounds the handler;
//! - **idle** (keep-alive, no request in flight) — closed after `http.idle_timeout_ms`.
//!
//! At most `http.max_connections` are open; one more is answered a canned 503 problem with
//! `Retry-After` and closed, so an overload is visible to the client instead of a hang in
//! the accept backlog. On shutdown the listener closes, every connection is told to finish
//! its request and close (hyper's graceful shutdown), and the loop waits for them.
//!
//! Metrics: `http_connections_open{service}`, `http_connections_total{service, outcome =
//! accepted|refused}`, `http_connections_closed_total{service, reason =
//! header_timeout|idle_timeout}`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::Router;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::Handover;
use crate::config::HttpSettings;

/// The connection rules of one server.
pub struct Rules {
    service: &'static str,
    header_read: Duration,
    idle: Duration,
    max_connections: usize,
    /// Grace for in-flight requests on shutdown.
    drain: Duration,
    open: AtomicUsize,
    /// Who takes some connections away from hyper (the gateway's push streams).
    handover: Option<Arc<dyn Handover>>,
}

impl Rules {
    pub fn new(service: &'static str, http: &HttpSettings) -> Self {
        Self {
            service,
            header_read: Duration::from_millis(http.header_read_timeout_ms.max(1)),
            idle: Duration::from_millis(http.idle_timeout_ms.max(1)),
            max_connections: http.max_connections.max(1),
            drain: Duration::from_millis(http.request_timeout_ms) + Duration::from_secs(5),
            open: AtomicUsize::new(0),
            handover: None,
        }
    }

    /// Lets `handover` take the connections it recognises ([`Handover`]).
    pub fn with_handover(mut self, handover: Option<Arc<dyn Handover>>) -> Self {
        self.handover = handover;
        self
    }

    /// Connections open right now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

/// Connections handed over and still open, so shutdown can wait for them.
#[derive(Default)]
struct Open {
    count: AtomicUsize,
    none: Notify,
}

impl Open {
    fn enter(self: &Arc<Self>) -> OpenGuard {
        self.count.fetch_add(1, Ordering::AcqRel);
        OpenGuard(self.clone())
    }

    /// Resolves once no handed-over connection is open.
    async fn drained(&self) {
        loop {
            let notified = self.none.notified();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

struct OpenGuard(Arc<Open>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none.notify_waiters();
        }
    }
}

/// Accepts connections until `cancel`, then drains them (see the module docs).
pub(crate) async fn accept_until(
    listener: TcpListener,
    router: Router,
    rules: Arc<Rules>,
    cancel: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    let handed_over = Arc::new(Open::default());
    loop {
        let (stream, peer) = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before accept: wait a
                    // moment instead of spinning.
                    tracing::warn!(error = %e, service = rules.service, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        if rules.open.fetch_add(1, Ordering::AcqRel) >= rules.max_connections {
            rules.open.fetch_sub(1, Ordering::AcqRel);
            count_connection(rules.service, "refused");
            tokio::spawn(refuse(stream));
            continue;
        }
        count_connection(rules.service, "accepted");
        metrics::gauge!("http_connections_open", "service" => rules.service)
            .set(rules.open() as f64);
        let activity = Arc::new(Activity::new());
        let rules = rules.clone();
        let router = router.clone();
        // Both made before the task runs, so a shutdown that starts while the connection is
        // being classified still waits for it (and tells it).
        let watcher = graceful.watcher();
        let handed_guard = handed_over.enter();
        tokio::spawn(async move {
            let handover = match &rules.handover {
                Some(h) if h.takes(&stream, rules.header_read).await => Some(h.clone()),
                _ => None,
            };
            let closed = match handover {
                Some(handover) => {
                    drop(watcher);
                    let closed = handover
                        .serve(super::Handed {
                            stream,
                            peer,
                            router,
                            header_read: rules.header_read,
                        })
                        .await;
                    drop(handed_guard);
                    closed
                }
                // Boxed: the task's future is as large as its largest branch, and a handed
                // over stream's task should not carry the room of a hyper connection.
                None => {
                    Box::pin(async {
                        drop(handed_guard);
                        let connection = hyper::server::conn::http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(
                                TokioIo::new(Tracked {
                                    inner: stream,
                                    activity: activity.clone(),
                                }),
                                hyper::service::service_fn(handler(router, peer, activity.clone())),
                            );
                        let watched = watcher.watch(connection);
                        tokio::select! {
                            _ = watched => None,
                            reason = watchdog(&activity, &rules) => Some(reason),
                        }
                    })
                    .await
                }
            };
            if let Some(reason) = closed {
                metrics::counter!("http_connections_closed_total",
                    "service" => rules.service, "reason" => reason)
                .increment(1);
            }
            rules.open.fetch_sub(1, Ordering::AcqRel);
            metrics::gauge!("http_connections_open", "service" => rules.service)
                .set(rules.open() as f64);
        });
    }
    drop(listener);
    let drained = async {
        graceful.shutdown().await;
        handed_over.drained().await;
    };
    if tokio::time::timeout(rules.drain, drained).await.is_err() {
        tracing::warn!(
            service = rules.service,
            "connections still open after the drain time"
        );
    }
}

fn count_connection(service: &'static str, outcome: &'static str) {
    metrics::counter!("http_connections_total", "service" => service, "outcome" => outcome)
        .increment(1);
}

type Handler = Box<
    dyn Fn(
            Request<Incoming>,
        ) -> Pin<Box<dyn Future<Output = Result<Response<Guarded>, Infallible>> + Send>>
        + Send
        + Sync,
>;

/// The per-connection service: the router, with the peer address in the request's
/// extensions (as axum's `ConnectInfo`) and the request counted as in flight until its
/// response body is done.
fn handler(router: Router, peer: SocketAddr, activity: Arc<Activity>) -> Handler {
    Box::new(move |mut request: Request<Incoming>| {
        let in_flight = InFlight::begin(activity.clone());
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        Box::pin(async move {
            let response = router
                .oneshot(request.map(Body::new))
                .await
                .unwrap_or_else(|never| match never {});
            Ok(response.map(|body| Guarded {
                body,
                _in_flight: in_flight,
            }))
        })
    })
}

/// Answers a connection over the cap and closes it.
async fn refuse(mut stream: TcpStream) {
    const BODY: &str = "{\"type\":\"urn:ticketing:problem:SERVICE_UNAVAILABLE\",\
        \"title\":\"Service unavailable\",\"status\":503,\
        \"detail\":\"too many open connections; retry shortly\",\"code\":\"SERVICE_UNAVAILABLE\"}";
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

const READING_HEAD: u64 = 0;
const BUSY: u64 = 1;
const IDLE: u64 = 2;
const PHASE_SHIFT: u32 = 62;

/// What a connection is doing, and since when (ms after it was accepted), in one atomic.
struct Activity {
    accepted: Instant,
    phase: AtomicU64,
    in_flight: AtomicU32,
}

impl Activity {
    fn new() -> Self {
        Self {
            accepted: Instant::now(),
            phase: AtomicU64::new(READING_HEAD << PHASE_SHIFT),
            in_flight: AtomicU32::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.accepted.elapsed().as_millis() as u64
    }

    fn set(&self, phase: u64) {
        self.phase
            .store(phase << PHASE_SHIFT | self.now_ms(), Ordering::Release);
    }

    fn load(&self) -> (u64, u64) {
        let v = self.phase.load(Ordering::Acquire);
        (v >> PHASE_SHIFT, v & ((1 << PHASE_SHIFT) - 1))
    }

    /// Bytes arrived: after an idle spell they start the next request's head.
    fn saw_bytes(&self) {
        if self.load().0 == IDLE {
            let _ = self.phase.compare_exchange(
                self.phase.load(Ordering::Acquire),
                READING_HEAD << PHASE_SHIFT | self.now_ms(),
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }
}

/// Closes the connection when its current phase outlasts its limit; returns why.
async fn watchdog(activity: &Activity, rules: &Rules) -> &'static str {
    loop {
        let (phase, since_ms) = activity.load();
        let (limit, reason) = match phase {
            READING_HEAD => (rules.header_read, "header_timeout"),
            IDLE => (rules.idle, "idle_timeout"),
            _ => {
                tokio::time::sleep(rules.idle.min(rules.header_read)).await;
                continue;
            }
        };
        let deadline = activity.accepted + Duration::from_millis(since_ms) + limit;
        if Instant::now() >= deadline {
            return reason;
        }
        tokio::time::sleep_until(deadline.into()).await;
    }
}

/// A request in flight on its connection, until dropped (with its response body).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.set(BUSY);
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.set(IDLE);
        }
    }
}

/// A response body that keeps its request in flight until hyper is done with it.
pub struct Guarded {
    body: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The TCP stream, telling its [`Activity`] when bytes arrive.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.saw_bytes();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
