//! The service skeleton both services are built on: the same names and shapes for
//! building, serving and stopping, so the gateway and booking differ only in their routes,
//! state and background tasks.
//!
//! - [`layers::finish`] wraps a router with the common stack (request id, trace span,
//!   metrics, body limit, problem+json 404/405) and the whole-request deadline.
//! - [`serve`] runs the HTTP server on a bound listener with the connection rules of
//!   `http.*` ([`conn`]): a header-read timeout, an idle keep-alive timeout, a cap on open
//!   connections, `TCP_NODELAY`. It returns a [`Running`] handle. Connections that open
//!   a service hands over ([`Handover`]: the gateway's push streams) are served outside hyper.
//! - [`Running::shutdown`] stops accepting, lets in-flight requests finish (graceful), then
//!   stops and joins every background task the service registered ([`Tasks`]).
//! - [`probes`] serves `/healthz`, `/readyz` (one body shape) and `/metrics`.
//!
//! A service's `startup.rs` is: settings → state → `Tasks` for its loops → router →
//! [`serve`]. `main.rs` adds telemetry and [`shutdown_signal`].

pub mod conn;
pub mod layers;
pub mod probes;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::HttpSettings;

/// The background loops of a service (admission ticker, hold sweeper, payment workers).
/// Each watches [`Tasks::token`], which [`serve`] cancels once the server has stopped and
/// its in-flight requests are done (a payment in flight still finds its worker), and is
/// joined then.
#[derive(Default)]
pub struct Tasks {
    token: CancellationToken,
    handles: Vec<(&'static str, JoinHandle<()>)>,
}

impl Tasks {
    /// The token the loops stop on.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Runs `task` on the runtime; it must return once [`Tasks::token`] is cancelled.
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.handles.push((name, tokio::spawn(task)));
    }

    /// Stops every task and waits for it; a task that panicked is logged.
    pub async fn stop(self) {
        self.token.cancel();
        for (name, handle) in self.handles {
            if let Err(e) = handle.await {
                tracing::error!(task = name, error = %e, "background task failed");
            }
        }
    }
}

/// A service serving on a background task.
pub struct Running<S> {
    pub addr: SocketAddr,
    /// The service's state (tests reach into it).
    pub state: S,
    /// Cancelling it stops the server and every background task.
    pub cancel: CancellationToken,
    handle: JoinHandle<()>,
}

impl<S> Running<S> {
    /// `http://<addr>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight requests, stops and joins the background tasks.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        let _ = self.handle.await;
    }

    /// Resolves once the service has stopped (its token was cancelled, e.g. by a signal).
    pub async fn wait(self) {
        let _ = self.handle.await;
    }
}

/// Binds `http.addr` (port 0 picks a free port).
pub async fn bind(http: &HttpSettings) -> std::io::Result<TcpListener> {
    TcpListener::bind(http.addr).await
}

/// Serves `router` on `listener` until `cancel` is cancelled, then shuts down gracefully and
/// joins `tasks`. `service` names the service in logs and metrics; connections `handover`
/// recognises are served by it instead of hyper ([`Handover`]).
#[allow(clippy::too_many_arguments)]
pub fn serve<S: Send + 'static>(
    service: &'static str,
    listener: TcpListener,
    router: Router,
    http: &HttpSettings,
    handover: Option<Arc<dyn Handover>>,
    state: S,
    tasks: Tasks,
    cancel: CancellationToken,
) -> std::io::Result<Running<S>> {
    let addr = listener.local_addr()?;
    let rules = Arc::new(conn::Rules::new(service, http).with_handover(handover));
    let stop = cancel.clone();
    let handle = tokio::spawn(async move {
        tracing::info!(%addr, service, "listening");
        conn::accept_until(listener, router, rules, stop.clone()).await;
        // The server is down and its requests are done: stop the loops, wait for them.
        stop.cancel();
        tasks.stop().await;
        tracing::info!(service, "stopped");
    });
    Ok(Running {
        addr,
        state,
        cancel,
        handle,
    })
}

/// A way to serve some connections outside hyper, for long-lived streams whose hyper
/// buffers would cost more than the stream (the gateway's push streams,
/// `gateway::push::lean`). The accept loop asks every new connection's first bytes, then
/// hands over the ones it takes; shutdown waits for them like for the others.
pub trait Handover: Send + Sync + 'static {
    /// Whether to take this connection: may peek at its first bytes (never consume them),
    /// within `within`.
    fn takes<'a>(&'a self, stream: &'a TcpStream, within: Duration) -> Boxed<'a, bool>;

    /// Serves a connection it took and closes it; says why it closed when that is worth a
    /// metric (`header_timeout`).
    fn serve(&self, conn: Handed) -> Boxed<'static, Option<&'static str>>;
}

/// A boxed, sendable future.
pub type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A connection handed over: the socket, the peer, the router, the header-read timeout.
pub struct Handed {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub router: Router,
    pub header_read: Duration,
}

/// Resolves on SIGINT or SIGTERM, or when `token` is cancelled; cancels `token`.
pub async fn shutdown_signal(token: CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
        _ = token.cancelled() => {},
    }
    token.cancel();
}
