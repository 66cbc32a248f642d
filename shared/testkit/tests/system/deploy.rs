//! `deploy/` validated without a Docker engine: the compose file names every service and
//! sets the keys an operator must set (under the service that reads it), and only keys the
//! services accept; every Kubernetes manifest parses and has what a rollout needs; the
//! Grafana dashboard parses and charts the metrics the services export; Prometheus' config
//! parses; and `nginx -t` accepts `deploy/nginx.conf` (skipped with a note when nginx is
//! not installed; `scripts/test` installs it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_norway::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(relative: &str) -> Value {
    let mut value: Value = serde_norway::from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} is not valid YAML: {e}"));
    // `<<: *anchor` merge keys, as compose applies them.
    value
        .apply_merge()
        .unwrap_or_else(|e| panic!("{relative}: {e}"));
    value
}

/// The keys every deployment sets for each service.
const GATEWAY_KEYS: &[&str] = &[
    "GATEWAY__PROFILE",
    "GATEWAY__QUEUE__CAPACITY",
    "GATEWAY__QUEUE__BATCH_SIZE",
    "GATEWAY__QUEUE__TICK_MS",
    "GATEWAY__QUEUE__ACTIVE_TTL_SECS",
    "GATEWAY__BOOKING__URL",
    "GATEWAY__REDIS__URL",
    "GATEWAY__HTTP__ADDR",
    "GATEWAY__JWT__SECRET",
    "GATEWAY__ADMIN__TOKEN",
];
const BOOKING_KEYS: &[&str] = &[
    "BOOKING__PROFILE",
    "BOOKING__DATABASE__URL",
    "BOOKING__REDIS__URL",
    "BOOKING__HTTP__ADDR",
    "BOOKING__HOLDS__TTL_SECS",
    "BOOKING__HOLDS__MAX_PER_USER",
    "BOOKING__JWT__SECRET",
    "BOOKING__ADMIN__TOKEN",
];

/// Metrics the services export that the dashboard must chart.
const METRICS: &[&str] = &[
    "queue_waiting",
    "queue_active",
    "queue_admitted_total",
    "queue_promotion_ticks_total",
    "http_requests_total",
    "http_request_duration_seconds",
    "booking_holds_total",
    "booking_payments_total",
    "booking_payment_points_total",
    "db_pool_connections",
    "redis_pool_connections",
    "redis_call_duration_seconds",
];

/// Every environment key the two services accept.
fn accepted_keys() -> BTreeSet<String> {
    let env =
        |prefix: &str, key: &str| format!("{prefix}__{}", key.to_uppercase().replace('.', "__"));
    shared::config::keys::<gateway::GatewaySettings>()
        .iter()
        .map(|k| env("GATEWAY", k))
        .chain(
            shared::config::keys::<booking::BookingSettings>()
                .iter()
                .map(|k| env("BOOKING", k)),
        )
        .collect()
}

fn env_keys(service: &Value) -> BTreeSet<String> {
    match &service["environment"] {
        Value::Mapping(map) => map
            .keys()
            .map(|k| k.as_str().expect("string env keys").to_string())
            .collect(),
        Value::Sequence(items) => items
            .iter()
            .map(|i| {
                let item = i.as_str().expect("KEY=value items");
                item.split('=').next().unwrap().to_string()
            })
            .collect(),
        _ => BTreeSet::new(),
    }
}

#[test]
fn compose_names_every_service_and_sets_only_real_keys() {
    let compose = yaml("deploy/docker-compose.yml");
    let services = compose["services"]
        .as_mapping()
        .expect("a services mapping");
    let names: BTreeSet<&str> = services.keys().filter_map(|k| k.as_str()).collect();
    for wanted in [
        "postgres",
        "redis",
        "booking",
        "gateway1",
        "gateway2",
        "nginx",
        "prometheus",
        "grafana",
    ] {
        assert!(names.contains(wanted), "compose has no `{wanted}` service");
    }

    let accepted = accepted_keys();
    let checks: [(&str, &[&str], &str); 3] = [
        ("booking", BOOKING_KEYS, "BOOKING__"),
        ("gateway1", GATEWAY_KEYS, "GATEWAY__"),
        ("gateway2", GATEWAY_KEYS, "GATEWAY__"),
    ];
    for (service, spec_keys, prefix) in checks {
        let env = env_keys(&compose["services"][service]);
        for key in spec_keys {
            assert!(
                env.contains(*key),
                "compose service {service} does not set {key}"
            );
        }
        for key in env.iter().filter(|k| k.contains("__")) {
            assert!(
                key.starts_with(prefix),
                "{service} sets {key}, which belongs to another service"
            );
            assert!(
                accepted.contains(key),
                "{service} sets {key}, which the service does not accept"
            );
        }
    }
    // The two gateways differ only in their instance id.
    let (g1, g2) = (
        &compose["services"]["gateway1"]["environment"],
        &compose["services"]["gateway2"]["environment"],
    );
    assert_ne!(g1["GATEWAY__INSTANCE_ID"], g2["GATEWAY__INSTANCE_ID"]);
}

#[test]
fn kubernetes_manifests_parse_and_have_probes() {
    let accepted = accepted_keys();
    let dir = repo().join("deploy/k8s");
    let mut kinds = BTreeSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        for document in serde_norway::Deserializer::from_str(&text) {
            let doc =
                Value::deserialize(document).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if doc.is_null() {
                continue;
            }
            let kind = doc["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: a document without kind", path.display()));
            assert!(doc["apiVersion"].is_string(), "{}: {kind}", path.display());
            kinds.insert(kind.to_string());
            if kind == "ConfigMap" {
                if let Some(data) = doc["data"].as_mapping() {
                    for key in data.keys().filter_map(|k| k.as_str()) {
                        if key.contains("__") {
                            assert!(
                                accepted.contains(key),
                                "ConfigMap key {key} is not a setting"
                            );
                        }
                    }
                }
            }
            if kind == "Deployment" {
                let containers = doc["spec"]["template"]["spec"]["containers"]
                    .as_sequence()
                    .expect("containers");
                for container in containers {
                    let name = container["name"].as_str().unwrap_or("?");
                    assert!(
                        container["readinessProbe"].is_mapping(),
                        "{name}: no readinessProbe"
                    );
                    assert!(
                        container["livenessProbe"].is_mapping(),
                        "{name}: no livenessProbe"
                    );
                    for var in container["env"].as_sequence().into_iter().flatten() {
                        let key = var["name"].as_str().unwrap_or_default();
                        if key.contains("__") {
                            assert!(accepted.contains(key), "{name} sets {key}, not a setting");
                        }
                    }
                }
            }
        }
    }
    assert!(files >= 3, "manifests in {}", dir.display());
    for wanted in [
        "Deployment",
        "Service",
        "ConfigMap",
        "Secret",
        "HorizontalPodAutoscaler",
    ] {
        assert!(kinds.contains(wanted), "no {wanted} among {kinds:?}");
    }
}

#[test]
fn grafana_dashboard_charts_the_exported_metrics() {
    let dir = repo().join("deploy/grafana/dashboards");
    let mut exprs = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let dashboard: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()));
        assert!(dashboard["panels"].is_array(), "{}", path.display());
        collect_exprs(&dashboard, &mut exprs);
    }
    for metric in METRICS {
        assert!(
            exprs.contains(metric),
            "no dashboard panel queries {metric}"
        );
    }
    for file in [
        "deploy/grafana/provisioning/dashboards/ticketing.yml",
        "deploy/grafana/provisioning/datasources/prometheus.yml",
        "deploy/prometheus.yml",
    ] {
        assert!(yaml(file).is_mapping(), "{file}");
    }
}

fn collect_exprs(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                if key == "expr" {
                    out.push_str(v.as_str().unwrap_or_default());
                    out.push('\n');
                } else {
                    collect_exprs(v, out);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

#[test]
fn nginx_accepts_the_load_balancer_config() {
    let Some(nginx) = nginx() else {
        eprintln!("note: nginx is not installed; skipping `nginx -t` (scripts/test installs it)");
        return;
    };
    let prefix =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("nginx-t-{}", std::process::id()));
    std::fs::create_dir_all(prefix.join("logs")).unwrap();
    std::fs::copy(repo().join("deploy/nginx.conf"), prefix.join("nginx.conf")).unwrap();
    std::fs::copy(
        repo().join("deploy/nginx-upstream.local.conf"),
        prefix.join("upstream.conf"),
    )
    .unwrap();
    let output = Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(format!("{}/", prefix.display()))
        .arg("-c")
        .arg(prefix.join("nginx.conf"))
        .output()
        .expect("nginx runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let _ = std::fs::remove_dir_all(&prefix);
    assert!(output.status.success(), "nginx -t failed:\n{stderr}");
    assert!(stderr.contains("test is successful"), "{stderr}");
}

/// The nginx binary: on `PATH`, or where Debian puts it (`/usr/sbin` may not be on a
/// non-root `PATH`).
fn nginx() -> Option<PathBuf> {
    if Command::new("nginx").arg("-v").output().is_ok() {
        return Some(PathBuf::from("nginx"));
    }
    let sbin = PathBuf::from("/usr/sbin/nginx");
    sbin.exists().then_some(sbin)
}
