//! The documentation is held to the code: every configuration key of both services is in
//! `deploy/CONFIGURATION.md` and every key listed there exists; the README's Redis key
//! table is the store's layout (`shared::store::keys::LAYOUT`), row for row.

use std::collections::BTreeSet;

fn repo_file(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The first cell of every table row that names an environment key with `prefix`.
fn documented_keys(text: &str, prefix: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|key| key.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

/// `http.addr` -> `GATEWAY__HTTP__ADDR`; a map key `rooms.*` -> `GATEWAY__ROOMS__<ID>__...`.
fn env_name(prefix: &str, key: &str) -> String {
    let upper = key.to_uppercase().replace('.', "__").replace('*', "<ID>");
    format!("{prefix}__{upper}")
}

fn assert_same(service: &str, code: Vec<String>, prefix: &str, doc: &BTreeSet<String>) {
    let code: BTreeSet<String> = code.iter().map(|k| env_name(prefix, k)).collect();
    let undocumented: Vec<_> = code.difference(doc).collect();
    let unknown: Vec<_> = doc.difference(&code).collect();
    assert!(
        undocumented.is_empty(),
        "{service} settings missing from deploy/CONFIGURATION.md: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "deploy/CONFIGURATION.md lists {service} keys that do not exist: {unknown:?}"
    );
}

#[test]
fn the_configuration_table_lists_exactly_the_settings() {
    let doc = repo_file("deploy/CONFIGURATION.md");
    assert_same(
        "gateway",
        shared::config::keys::<gateway::GatewaySettings>(),
        "GATEWAY",
        &documented_keys(&doc, "GATEWAY__"),
    );
    assert_same(
        "booking",
        shared::config::keys::<booking::BookingSettings>(),
        "BOOKING",
        &documented_keys(&doc, "BOOKING__"),
    );
}

#[test]
fn the_readme_key_table_is_the_store_layout() {
    let readme = repo_file("README.md");
    let rows: Vec<(String, String, String)> = readme
        .lines()
        .filter(|l| l.starts_with("| `<p>"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (
                cells[0].trim_matches('`').to_owned(),
                cells[1].to_owned(),
                cells[2].to_owned(),
            )
        })
        .collect();
    let layout: Vec<(String, String, String)> = shared::store::keys::LAYOUT
        .iter()
        .map(|k| (k.pattern.to_owned(), k.kind.to_owned(), k.holds.to_owned()))
        .collect();
    assert_eq!(
        rows, layout,
        "README's Redis key table and shared::store::keys::LAYOUT differ"
    );
}

/// Every repository path the README and the design notes name in backticks exists, so
/// "where things are" points at the current sources (a file moved or renamed without its
/// mention fails here).
#[test]
fn every_path_the_docs_name_exists() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tops = [
        "gateway/", "booking/", "shared/", "deploy/", "scripts/", ".ci/",
    ];
    let mut missing = Vec::new();
    for doc in ["README.md", "shared/DESIGN.md", "deploy/OPERATING.md"] {
        let text = repo_file(doc);
        for quoted in text.split('`').skip(1).step_by(2) {
            let path = quoted.trim_end_matches([',', '.', ':']);
            let plain = path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
            if !plain || !tops.iter().any(|top| path.starts_with(top)) || path.contains("..") {
                continue;
            }
            if !root.join(path).exists() {
                missing.push(format!("{doc}: {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "paths named but missing: {missing:#?}");
}
