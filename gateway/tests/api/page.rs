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
    for path in ["/", "/concerts/1"] {
        let r = raw
            .get(format!("{}{path}", app.url(0)))
            .header(ACCEPT_ENCODING, "gzip, br")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'"));
    }
    // Plain, with the configuration and versioned assets.
    let r = raw.get(format!("{}/", app.url(0))).send().await.unwrap();
    let etag = r.headers()[ETAG].clone();
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
    let r = raw
        .get(format!("{}/", app.url(0)))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    for file in ["app.js", "api.js", "views.js", "i18n.js", "app.css"] {
        let r = raw
            .get(format!("{}/assets/{version}/{file}", app.url(0)))
            .header(ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{file}");
        assert_eq!(
            r.headers()[CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
    }
    // Another version (a page from before a release): the file, not cached for good.
    let r = raw
        .get(format!("{}/assets/old/app.js", app.url(0)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
    let r = raw
        .get(format!("{}/assets/{version}/secret.txt", app.url(0)))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    app.stop().await;
}
