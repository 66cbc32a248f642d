//! A service's `/metrics` page (Prometheus text) as the tests read it.

use reqwest::StatusCode;

/// The metrics page `request` fetches (a service's `GET /metrics`); asserts a 200 in the
/// Prometheus text format.
pub async fn scrape(request: reqwest::RequestBuilder) -> String {
    let response = request.send().await.expect("the service answers");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = &response.headers()["content-type"];
    assert!(content_type.to_str().unwrap().starts_with("text/plain"));
    response.text().await.unwrap()
}

/// The sum of the samples of `name` whose labels include every `(key, value)` of `labels`;
/// `None` when no sample matches.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (metric, label_text) = match series.split_once('{') {
            Some((metric, rest)) => (metric, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let all = labels
            .iter()
            .all(|(k, v)| label_text.contains(&format!("{k}=\"{v}\"")));
        if metric == name && all {
            *found.get_or_insert(0.0) += value.parse::<f64>().unwrap_or(0.0);
        }
    }
    found
}

/// [`sample`], 0 when no sample matches.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(text, name, labels).unwrap_or(0.0)
}
