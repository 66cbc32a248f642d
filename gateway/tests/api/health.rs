//! Probes and metrics.

use reqwest::StatusCode;

use testkit::prelude::*;

#[tokio::test]
async fn healthz_and_readyz_answer_when_dependencies_are_up() {
    let app = Stack::gateways(1).await;
    assert_eq!(app.fetch("/healthz", None).await.status(), StatusCode::OK);
    app.assert_ready(StatusCode::OK, "ok", "ok").await;
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_joins() {
    let app = Stack::gateways(1).await;
    app.join(0, 1, 1).await;
    let text = app.metrics(0).await;
    assert!(text.contains("queue_joins_total"), "{text}");
    app.stop().await;
}
