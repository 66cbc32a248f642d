//! The buyer's page as HTTP serves it: compressed, cached by version, revalidated by ETag,
//! with the gateway's identity mode in it and nothing from another host.

use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use testkit::prelude::*;

#[tokio::test]
async fn the_page_is_compressed_cached_and_self_contained() {
    let app = Stack::gateways(1).await;
    // reqwest here does not decompress: the bytes are what the gateway sent.
    let raw = reqwest::Client::new();
    // `GET path` with these headers.
    let get = |path: &str, headers: &[(reqwest::header::HeaderName, &str)]| {
        let mut request = raw.get(format!("{}{path}", app.url(0)));
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        request.send()
    };
    let header = |r: &reqwest::Response, name: &str| r.headers()[name].to_str().unwrap().to_owned();
    for path in ["/", "/concerts/1"] {
        let r = get(path, &[(ACCEPT_ENCODING, "gzip, br")]).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
        assert!(header(&r, "content-type").starts_with("text/html"));
        assert!(header(&r, "content-security-policy").contains("default-src 'none'"));
    }
    // Plain, with the configuration and versioned assets.
    let r = get("/", &[]).await.unwrap();
    let etag = header(&r, ETAG.as_str());
    let html = r.text().await.unwrap();
    assert!(html.contains(r#""identity_mode":"none""#), "{html}");
    assert!(html.contains(r#""self_charge":true"#), "{html}");
    let version = html
        .split("/assets/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    // Unchanged: 304.
    let r = get("/", &[(IF_NONE_MATCH, &etag)]).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    for file in [
        "app.js",
        "api.js",
        "views.js",
        "i18n.js",
        "app.css",
        "qrcode.js",
    ] {
        let path = format!("/assets/{version}/{file}");
        let r = get(&path, &[(ACCEPT_ENCODING, "gzip")]).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{file}");
        assert_eq!(
            r.headers()[CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
    }
    // Another version (a page from before a release): the file, not cached for good.
    let r = get("/assets/old/app.js", &[]).await.unwrap();
    assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
    let r = get(&format!("/assets/{version}/secret.txt"), &[])
        .await
        .unwrap();
    assert_problem(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    app.stop().await;
}
