//! The buyer's page: `GET /` (concerts on sale) and `GET /concerts/{concert_id}` (join, wait
//! live, choose, hold, pay), one HTML page with its ES modules and stylesheet
//! (`gateway/web/`), compiled into the binary.
//!
//! Built once at start: the page gets the gateway's identity mode and whether buyers may
//! charge points (`{{PAGE_CONFIG}}`), every asset a content hash, a gzip copy and an ETag.
//! The assets are served under `/assets/<version>/` (the version is a hash of them all) with
//! a year-long immutable cache: a new release is a new URL, so browsers never mix old and new
//! modules; the page itself is `no-cache` (revalidated with its ETag, 304 when unchanged).
//! Nothing is loaded from another host, and the Content-Security-Policy says so.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use shared::http::Path;
use std::io::Write;
use std::sync::Arc;

use crate::error::ApiError;
use crate::state::AppState;

const INDEX: &str = include_str!("../web/index.html");
/// The modules and the stylesheet: name, content type, content.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/api.js"),
    ),
    (
        "views.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/views.js"),
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/i18n.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../web/app.css"),
    ),
    // The QR encoder (vendored, MIT): imported by app.js when the buyer's tickets show.
    (
        "qrcode.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/qrcode.js"),
    ),
];
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One served file: its bytes, gzipped bytes and ETag.
#[derive(Debug)]
struct File {
    content_type: &'static str,
    body: Vec<u8>,
    gzip: Vec<u8>,
    etag: String,
}

impl File {
    fn new(content_type: &'static str, body: Vec<u8>) -> Self {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let gzip = gz
            .write_all(&body)
            .and_then(|_| gz.finish())
            .expect("gzip into memory cannot fail");
        let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..16]);
        Self {
            content_type,
            body,
            gzip,
            etag,
        }
    }

    fn respond(&self, headers: &HeaderMap, cache: &'static str) -> Response {
        let mut response = if headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == self.etag))
        {
            StatusCode::NOT_MODIFIED.into_response()
        } else if shared::http::accepts_gzip(headers) {
            let mut r = self.gzip.clone().into_response();
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        } else {
            self.body.clone().into_response()
        };
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        if let Ok(etag) = HeaderValue::from_str(&self.etag) {
            h.insert(header::ETAG, etag);
        }
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        response
    }
}

/// The page and its assets, built once at start.
#[derive(Debug)]
pub struct Page {
    index: File,
    assets: Vec<(&'static str, File)>,
    /// Hash of every asset: the `/assets/<version>/` path segment.
    pub version: String,
}

impl Page {
    /// `identity_mode` and `self_charge` go into the page for its script.
    pub fn new(identity_mode: &str, self_charge: bool) -> Self {
        let assets: Vec<(&'static str, File)> = ASSETS
            .iter()
            .map(|&(name, kind, body)| (name, File::new(kind, body.to_vec())))
            .collect();
        let mut all = Sha256::new();
        for (_, file) in &assets {
            all.update(file.etag.as_bytes());
        }
        let version = hex::encode(all.finalize())[..12].to_owned();
        let config = serde_json::json!({
            "identity_mode": identity_mode,
            "self_charge": self_charge,
        });
        let html = INDEX
            .replace("{{PAGE_CONFIG}}", &config.to_string())
            .replace("/assets/", &format!("/assets/{version}/"));
        Self {
            index: File::new("text/html; charset=utf-8", html.into_bytes()),
            assets,
            version,
        }
    }

    /// Bytes of the page and every asset, gzipped (what a first visit transfers).
    pub fn gzipped_total(&self) -> usize {
        self.index.gzip.len() + self.assets.iter().map(|(_, f)| f.gzip.len()).sum::<usize>()
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/concerts/{concert_id}", get(concert))
        .route("/assets/{version}/{file}", get(asset))
}

#[utoipa::path(
    get, path = "/", operation_id = "page_home", tag = "page",
    summary = "The buyer's page: concerts on sale",
    description = "HTML. The same page as `/concerts/{concert_id}`, which shows one concert.",
    responses((status = 200, description = "The page.", content_type = "text/html", body = String))
)]
async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    state.page.index.respond(&headers, "no-cache")
}

#[utoipa::path(
    get, path = "/concerts/{concert_id}", operation_id = "page_concert", tag = "page",
    summary = "The buyer's page of a concert: join, wait live, choose a seat, hold, pay",
    params(("concert_id" = i64, Path, description = "Concert id")),
    responses(
        (status = 200, description = "The page.", content_type = "text/html", body = String),
        (status = 400, response = shared::docs::InvalidRequest),
    )
)]
async fn concert(
    State(state): State<AppState>,
    Path(_concert_id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    state.page.index.respond(&headers, "no-cache")
}

#[utoipa::path(
    get, path = "/assets/{version}/{file}", operation_id = "page_asset", tag = "page",
    summary = "A module or stylesheet of the page (cached for good under its version)",
    params(
        ("version" = String, Path, description = "The assets' version, as the page names it"),
        ("file" = String, Path, description = "`app.js`, `api.js`, `views.js`, `i18n.js`, `qrcode.js`, `app.css`"),
    ),
    responses(
        (status = 200, description = "The file.", body = String),
        (status = 404, description = "`NOT_FOUND`: no such file.",
         body = shared::docs::ProblemDetails, content_type = "application/problem+json"),
    )
)]
async fn asset(
    State(state): State<AppState>,
    Path((version, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let page: &Arc<Page> = &state.page;
    let Some((_, found)) = page.assets.iter().find(|(name, _)| *name == file) else {
        return Err(ApiError::Problem(shared::Problem::new(
            shared::Code::NotFound,
            "no such file",
        )));
    };
    // Another version (a page from before a release) still gets the file, uncached.
    let cache = if version == page.version {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Ok(found.respond(&headers, cache))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_only_its_own_versioned_assets_and_stays_small() {
        let page = Page::new("jwt", false);
        let html = String::from_utf8(page.index.body.clone()).unwrap();
        assert!(html.contains(r#""identity_mode":"jwt""#), "{html}");
        assert!(!html.contains("{{PAGE_CONFIG}}"));
        assert!(html.contains(&format!("/assets/{}/app.js", page.version)));
        for (name, file) in &page.assets {
            // The SVG namespace is a name, not a host anything is loaded from.
            let text =
                String::from_utf8_lossy(&file.body).replace("http://www.w3.org/2000/svg", "");
            for scheme in ["http://", "https://", "//cdn", "url(http"] {
                assert!(
                    !text.contains(scheme),
                    "{name} names another host ({scheme})"
                );
            }
        }
        assert!(
            page.gzipped_total() < 100 * 1024,
            "{} bytes gzipped",
            page.gzipped_total()
        );
    }
}
