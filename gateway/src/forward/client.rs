//! The HTTP client to the booking service: one keep-alive pool per process, bounded
//! connect and whole-call timeouts (`booking.*` settings), so a slow or dead booking
//! service turns into a 503 for the buyer instead of a pile of stuck requests.

use std::sync::Arc;
use std::time::Duration;

use crate::settings::BookingClientSettings;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use secrecy::ExposeSecret;
use shared::contract::rooms::{RoomChange, StoredRoom};
use shared::http::INTERNAL_TOKEN;

#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error("booking is unreachable: {0}")]
    Unreachable(#[source] reqwest::Error),
    #[error("booking answered {0} to {1}")]
    Unexpected(StatusCode, &'static str),
    #[error("booking.internal_token is not a valid header value")]
    BadInternalToken,
    /// Booking refused the request as invalid (400), saying why.
    #[error("{0}")]
    Refused(String),
}

/// A reply from booking, read in full (booking's bodies are small JSON documents).
#[derive(Debug)]
pub struct BookingReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone, Debug)]
pub struct BookingClient {
    http: reqwest::Client,
    base: Arc<str>,
    /// `X-Internal-Token`, when configured (marked sensitive: never logged).
    internal: Option<HeaderValue>,
}

impl BookingClient {
    pub fn new(settings: &BookingClientSettings) -> Result<Self, BookingError> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(settings.pool_max_idle_per_host)
            .pool_idle_timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms.max(1)))
            .timeout(Duration::from_millis(settings.timeout_ms.max(1)))
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(BookingError::Unreachable)?;
        let internal = settings
            .internal_token
            .as_ref()
            .map(|t| HeaderValue::from_str(t.expose_secret()))
            .transpose()
            .map_err(|_| BookingError::BadInternalToken)?
            .map(|mut v| {
                v.set_sensitive(true);
                v
            });
        Ok(Self {
            http,
            base: settings.url.trim_end_matches('/').into(),
            internal,
        })
    }

    /// The request with the internal token, if there is one.
    fn request(&self, method: Method, path_and_query: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.url(path_and_query));
        match &self.internal {
            Some(token) => request.header(&INTERNAL_TOKEN, token.clone()),
            None => request,
        }
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    /// Booking's durable copy of a room (`GET /internal/rooms/{id}`); `None` when booking
    /// does not know the concert.
    #[tracing::instrument(skip(self))]
    pub async fn room(&self, concert_id: i64) -> Result<Option<StoredRoom>, BookingError> {
        let response = self
            .request(Method::GET, &format!("/internal/rooms/{concert_id}"))
            .send()
            .await
            .map_err(BookingError::Unreachable)?;
        Self::stored_room(response, "a room lookup").await
    }

    /// Records an operator's change of a room in booking (`PATCH /internal/rooms/{id}`)
    /// and returns the settings now stored; `None` when booking does not know the concert.
    #[tracing::instrument(skip(self))]
    pub async fn change_room(
        &self,
        concert_id: i64,
        change: &RoomChange,
    ) -> Result<Option<StoredRoom>, BookingError> {
        let response = self
            .request(Method::PATCH, &format!("/internal/rooms/{concert_id}"))
            .json(change)
            .send()
            .await
            .map_err(BookingError::Unreachable)?;
        Self::stored_room(response, "a room change").await
    }

    async fn stored_room(
        response: reqwest::Response,
        what: &'static str,
    ) -> Result<Option<StoredRoom>, BookingError> {
        match response.status() {
            StatusCode::OK => response
                .json()
                .await
                .map(Some)
                .map_err(BookingError::Unreachable),
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::BAD_REQUEST => {
                let problem: serde_json::Value =
                    response.json().await.map_err(BookingError::Unreachable)?;
                Err(BookingError::Refused(
                    problem["detail"].as_str().unwrap_or("invalid").to_string(),
                ))
            }
            other => Err(BookingError::Unexpected(other, what)),
        }
    }

    /// Whether booking's `/healthz` answers 200.
    pub async fn healthy(&self) -> bool {
        matches!(
            self.http.get(self.url("/healthz")).send().await,
            Ok(r) if r.status().is_success()
        )
    }

    /// Sends one request to booking and reads the whole reply.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<BookingReply, BookingError> {
        let mut request = self.request(method, path_and_query).headers(headers);
        if !body.is_empty() {
            request = request.body(body);
        }
        let response = request.send().await.map_err(BookingError::Unreachable)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(BookingError::Unreachable)?;
        Ok(BookingReply {
            status,
            headers,
            body,
        })
    }
}
