//! HTTP pieces both services share: extractors whose rejections are problem+json, the
//! bearer-token reader, and the headers and limits of the contract. The middleware stack
//! is in [`crate::service::layers`].

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::problem::{Code, Problem};

/// Request bodies over 64 KiB get 413 `PAYLOAD_TOO_LARGE`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Proves to booking that a call comes from a gateway (booking's `internal.token`).
pub static INTERNAL_TOKEN: HeaderName = HeaderName::from_static("x-internal-token");

/// Who asks, as the gateway tells booking on routes that need it (`GET /v1/payments/{id}`);
/// booking believes it because only a gateway has the internal token.
pub static CALLER: HeaderName = HeaderName::from_static("x-user-id");

/// `axum::Json` whose rejections become problem+json (400 / 413 / 415). Every request
/// body of the API is a JSON object: a positional array (which serde's derived structs
/// would otherwise accept, `[1, 42]` for `{"concert_id": 1, "user_id": 42}`) is refused
/// like any other wrong shape, in the same single parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let axum::Json(ObjectOnly(value)) =
            axum::Json::<ObjectOnly<T>>::from_request(request, state).await?;
        Ok(Json(value))
    }
}

/// Deserializes `T` from a JSON object only (never from an array).
struct ObjectOnly<T>(T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Object<T>(std::marker::PhantomData<T>);

        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
            type Value = T;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(Object(std::marker::PhantomData))
            .map(ObjectOnly)
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` whose rejections become 400 problems.
#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct Path<T>(pub T);

/// `axum::extract::Query` whose rejections become 400 problems.
#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct Query<T>(pub T);

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Problem::new(
                Code::UnsupportedMediaType,
                "expected `Content-Type: application/json`",
            ),
            JsonRejection::JsonDataError(e) => Problem::invalid(e.body_text()),
            JsonRejection::JsonSyntaxError(e) => Problem::invalid(e.body_text()),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
                Code::PayloadTooLarge,
                format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
            ),
            other => Problem::invalid(other.body_text()),
        }
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        Problem::invalid(rejection.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        Problem::invalid(rejection.body_text())
    }
}

/// A concert id from a path: positive, or the detail of the 400 saying so.
pub fn concert_id(id: i64) -> Result<i64, String> {
    if id > 0 {
        Ok(id)
    } else {
        Err("concert_id must be a positive integer".into())
    }
}

/// Reads a bearer token from `Authorization`, if there is one.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Whether the client takes a gzip body (`Accept-Encoding`).
pub fn accepts_gzip(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")))
}

/// Bodies smaller than this go out as they are: gzip would save little.
const GZIP_FROM_BYTES: usize = 1024;

/// A JSON body, gzipped (fast level) when the client takes gzip and it is large enough;
/// `Vary: Accept-Encoding` either way.
pub fn json_maybe_gzipped(headers: &axum::http::HeaderMap, body: Vec<u8>) -> Response {
    use std::io::Write;
    let vary = (
        header::VARY,
        header::HeaderValue::from_static("accept-encoding"),
    );
    let json = (
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    if body.len() >= GZIP_FROM_BYTES && accepts_gzip(headers) {
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 8),
            flate2::Compression::fast(),
        );
        if gz.write_all(&body).is_ok() {
            if let Ok(zipped) = gz.finish() {
                let gzip = (
                    header::CONTENT_ENCODING,
                    header::HeaderValue::from_static("gzip"),
                );
                return ([json, vary, gzip], zipped).into_response();
            }
        }
    }
    ([json, vary], body).into_response()
}
