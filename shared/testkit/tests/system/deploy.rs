//! `deploy/` validated without a Docker engine: the compose file names every service and
//! sets the keys an operator must set (under the service that reads it), and only keys the
//! services accept; every Kubernetes manifest parses and has what a rollout needs; the
//! Grafana dashboard parses and charts the metrics the services export; Prometheus' config
//! parses; and `nginx -t` accepts `deploy/nginx.conf` (skipped with a note when nginx is
//! not installed; `scripts/test` installs it).
//!
//! The production examples are checked as the services would see them: compose's and the
//! Kubernetes manifests' environment, resolved, loaded through the services' own settings
//! with the production profile: refused as shipped (placeholders), accepted once strong
//! secrets are filled in, and with identity `jwt`, self-charge off and the internal token
//! on both sides. Booking is not published (compose) and only gateways reach it (k8s).

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
    "GATEWAY__BOOKING__INTERNAL_TOKEN",
    "GATEWAY__IDENTITY__MODE",
    "GATEWAY__POINTS__SELF_CHARGE",
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
    "BOOKING__INTERNAL__TOKEN",
    "BOOKING__TICKETS__SIGNING_KEY",
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

/// Strong, distinct values for every secret an operator supplies.
fn strong(name: &str) -> String {
    if name
        .to_lowercase()
        .replace('_', "-")
        .contains("ticket-signing-key")
    {
        // An Ed25519 seed: base64 of 32 bytes.
        return "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=".into();
    }
    format!("{name}-Zq8Xv3Rt6Wm1Kp9Ny4Bc7Hd2Fs5Lj0Gu")
}

/// A compose value with its `${VAR:?...}` (required: `vars`) and `${VAR:-default}`
/// references resolved, as compose does.
fn interpolate(value: &str, vars: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed ${...}") + start;
        let inner = &rest[start + 2..end];
        let (name, op) = match inner.find([':', '?', '-']) {
            Some(i) => (&inner[..i], &inner[i..]),
            None => (inner, ""),
        };
        out.push_str(&match op {
            op if op.starts_with(":?") => {
                vars(name).unwrap_or_else(|| panic!("${{{name}}} is required but not given"))
            }
            op if op.starts_with(":-") => vars(name).unwrap_or_else(|| op[2..].to_string()),
            _ => vars(name).unwrap_or_default(),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Compose's environment for `service`, resolved with `vars`.
fn compose_env(
    compose: &Value,
    service: &str,
    vars: &dyn Fn(&str) -> Option<String>,
) -> std::collections::HashMap<String, String> {
    compose["services"][service]["environment"]
        .as_mapping()
        .expect("environment mapping")
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                other => panic!("{service}: env value {other:?}"),
            };
            (k.as_str().unwrap().to_string(), interpolate(&value, vars))
        })
        .collect()
}

#[test]
fn compose_is_the_production_shape_and_its_secrets_have_no_defaults() {
    use gateway::GatewaySettings;
    use shared::config::Layered;

    let compose = yaml("deploy/docker-compose.yml");
    let text = read("deploy/docker-compose.yml");
    // Every secret the operator supplies is required (`:?`), never defaulted.
    for var in [
        "JWT_SECRET",
        "GATEWAY_ADMIN_TOKEN",
        "BOOKING_ADMIN_TOKEN",
        "INTERNAL_TOKEN",
        "IDENTITY_SECRET",
        "TICKET_SIGNING_KEY",
        "POSTGRES_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
    ] {
        let uses = text.matches(&format!("${{{var}")).count();
        assert!(uses > 0, "compose does not use {var}");
        assert_eq!(
            text.matches(&format!("${{{var}:?")).count(),
            uses,
            "every use of {var} must be ${{{var}:?...}} (no default)"
        );
    }

    // Only the public listener is published beyond the host's loopback; booking not at all.
    let services = compose["services"].as_mapping().unwrap();
    for (name, service) in services {
        let name = name.as_str().unwrap();
        for port in service["ports"].as_sequence().into_iter().flatten() {
            let port = port.as_str().expect("ports as strings");
            assert!(
                (name == "nginx" && port == "8000:8000") || port.starts_with("127.0.0.1:"),
                "{name} publishes {port} beyond loopback"
            );
        }
    }
    assert!(
        compose["services"]["booking"]["ports"].is_null(),
        "booking must not be published"
    );
    // The per-address join limit believes X-Forwarded-For from nginx's fixed address only.
    let nginx_ip = compose["services"]["nginx"]["networks"]["default"]["ipv4_address"]
        .as_str()
        .expect("nginx has a fixed address");
    for gateway in ["gateway1", "gateway2"] {
        let env = &compose["services"][gateway]["environment"];
        assert_eq!(
            env["GATEWAY__RATE_LIMIT__TRUSTED_PROXIES"].as_str(),
            Some(nginx_ip)
        );
    }
    let grafana = &compose["services"]["grafana"]["environment"];
    assert_eq!(grafana["GF_AUTH_ANONYMOUS_ENABLED"].as_str(), Some("false"));

    // As shipped, with strong values filled in: production settings that load.
    let vars = |name: &str| {
        (!["TICKETING_PROFILE", "REDIS_KEY_PREFIX", "RUST_LOG"].contains(&name)
            && !name.starts_with("QUEUE_")
            && !name.starts_with("HOLDS_")
            && !name.starts_with("JOIN"))
        .then(|| strong(name))
    };
    for gateway in ["gateway1", "gateway2"] {
        let env = compose_env(&compose, gateway, &vars);
        assert_eq!(env["GATEWAY__PROFILE"], "prod", "compose defaults to prod");
        let settings = GatewaySettings::load_with(None, Some(env))
            .unwrap_or_else(|e| panic!("{gateway}'s production settings are refused: {e}"));
        assert_eq!(settings.identity.mode, gateway::settings::IdentityMode::Jwt);
        assert!(
            !settings.self_charge(),
            "{gateway}: buyers cannot mint points"
        );
        assert!(settings.booking.internal_token.is_some());
    }
    let env = compose_env(&compose, "booking", &vars);
    assert_eq!(env["BOOKING__PROFILE"], "prod");
    assert_eq!(
        env["BOOKING__INTERNAL__TOKEN"],
        compose_env(&compose, "gateway1", &vars)["GATEWAY__BOOKING__INTERNAL_TOKEN"],
        "booking and the gateways share one internal token"
    );
    booking::BookingSettings::load_with(None, Some(env))
        .unwrap_or_else(|e| panic!("booking's production settings are refused: {e}"));

    // A weak value is refused, naming the key.
    let weak = |name: &str| {
        if name == "INTERNAL_TOKEN" {
            Some("CHANGE-ME-internal-token".to_string())
        } else {
            vars(name)
        }
    };
    let err = GatewaySettings::load_with(None, Some(compose_env(&compose, "gateway1", &weak)))
        .expect_err("a placeholder internal token is refused")
        .to_string();
    assert!(err.contains("GATEWAY__BOOKING__INTERNAL_TOKEN"), "{err}");
}

/// The environment a Deployment's first container gets: its ConfigMaps and its env, with
/// secret references read from `secrets` (name → key → value).
fn deployment_env(
    deployment: &Value,
    config_maps: &std::collections::HashMap<String, Value>,
    secrets: &std::collections::HashMap<String, Value>,
) -> std::collections::HashMap<String, String> {
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let mut env = std::collections::HashMap::new();
    for from in container["envFrom"].as_sequence().into_iter().flatten() {
        let name = from["configMapRef"]["name"].as_str().expect("configMapRef");
        for (k, v) in config_maps[name].as_mapping().unwrap() {
            env.insert(
                k.as_str().unwrap().to_string(),
                v.as_str().unwrap().to_string(),
            );
        }
    }
    for var in container["env"].as_sequence().into_iter().flatten() {
        let name = var["name"].as_str().unwrap().to_string();
        let from = &var["valueFrom"]["secretKeyRef"];
        if let Some(secret) = from["name"].as_str() {
            let key = from["key"].as_str().unwrap();
            let value = secrets[secret][key]
                .as_str()
                .unwrap_or_else(|| panic!("secret {secret} has no {key}"));
            env.insert(name, value.to_string());
        } else if let Some(value) = var["value"].as_str() {
            env.insert(name, value.to_string());
        }
    }
    env
}

#[test]
fn kubernetes_examples_are_production_settings_refused_until_the_placeholders_are_replaced() {
    use gateway::GatewaySettings;
    use shared::config::Layered;

    let mut docs = Vec::new();
    for file in [
        "config.yaml",
        "gateway.yaml",
        "booking.yaml",
        "ingress.yaml",
    ] {
        let text = read(&format!("deploy/k8s/{file}"));
        for document in serde_norway::Deserializer::from_str(&text) {
            let doc = Value::deserialize(document).unwrap();
            if !doc.is_null() {
                docs.push(doc);
            }
        }
    }
    let named = |kind: &str, data: &str| -> std::collections::HashMap<String, Value> {
        docs.iter()
            .filter(|d| d["kind"].as_str() == Some(kind))
            .map(|d| {
                (
                    d["metadata"]["name"].as_str().unwrap().to_string(),
                    d[data].clone(),
                )
            })
            .collect()
    };
    let config_maps = named("ConfigMap", "data");
    let shipped = named("Secret", "stringData");
    let deployment = |name: &str| {
        docs.iter()
            .find(|d| d["kind"].as_str() == Some("Deployment") && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {name} Deployment"))
    };

    // As shipped: every secret is a placeholder, and production refuses to start.
    let err = GatewaySettings::load_with(
        None,
        Some(deployment_env(
            deployment("gateway"),
            &config_maps,
            &shipped,
        )),
    )
    .expect_err("placeholder secrets are refused")
    .to_string();
    assert!(
        err.contains("placeholder") || err.contains("CHANGE"),
        "{err}"
    );
    assert!(
        booking::BookingSettings::load_with(
            None,
            Some(deployment_env(
                deployment("booking"),
                &config_maps,
                &shipped
            )),
        )
        .is_err(),
        "booking refuses the placeholders too"
    );

    // With the placeholders replaced (same key → same value: one shared secret object).
    let mut filled = shipped.clone();
    for data in filled.values_mut() {
        for (key, value) in data.as_mapping_mut().unwrap().iter_mut() {
            let key = key.as_str().unwrap();
            if !key.ends_with("-url") {
                *value = Value::String(strong(key));
            }
        }
    }
    let gateway_env = deployment_env(deployment("gateway"), &config_maps, &filled);
    let settings = GatewaySettings::load_with(None, Some(gateway_env.clone()))
        .unwrap_or_else(|e| panic!("the gateway's production settings are refused: {e}"));
    assert_eq!(settings.identity.mode, gateway::settings::IdentityMode::Jwt);
    assert!(
        settings.identity.jwks_file.is_some(),
        "keys from the mounted JWKS"
    );
    assert!(!settings.self_charge());
    let booking_env = deployment_env(deployment("booking"), &config_maps, &filled);
    assert_eq!(
        gateway_env["GATEWAY__BOOKING__INTERNAL_TOKEN"],
        booking_env["BOOKING__INTERNAL__TOKEN"]
    );
    booking::BookingSettings::load_with(None, Some(booking_env))
        .unwrap_or_else(|e| panic!("booking's production settings are refused: {e}"));

    // The JWKS file the gateway reads is the ConfigMap it mounts.
    let jwks = settings.identity.jwks_file.unwrap();
    let pod = &deployment("gateway")["spec"]["template"]["spec"];
    let mount = pod["containers"][0]["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| jwks.starts_with(m["mountPath"].as_str().unwrap()))
        .expect("the JWKS file's directory is mounted");
    let volume = pod["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    let map = volume["configMap"]["name"]
        .as_str()
        .expect("from a ConfigMap");
    let file = jwks.file_name().unwrap().to_str().unwrap();
    assert!(
        config_maps[map][file].is_string(),
        "ConfigMap {map} has {file}"
    );

    // Only gateway pods (and monitoring) reach booking.
    let policy = docs
        .iter()
        .find(|d| {
            d["kind"].as_str() == Some("NetworkPolicy")
                && d["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "booking"
        })
        .expect("a NetworkPolicy selecting booking");
    let from: Vec<&Value> = policy["spec"]["ingress"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|rule| rule["from"].as_sequence().unwrap())
        .collect();
    assert!(from
        .iter()
        .any(|peer| { peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "gateway" }));
    assert!(
        from.iter()
            .all(|peer| !peer["podSelector"].is_null() || !peer["namespaceSelector"].is_null()),
        "no rule admits everyone"
    );
    assert!(read("deploy/k8s/kustomization.yaml").contains("booking.yaml"));

    // The ingress routes only the buyer's paths.
    let ingress = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("Ingress"))
        .unwrap();
    for rule in ingress["spec"]["rules"].as_sequence().unwrap() {
        for path in rule["http"]["paths"].as_sequence().unwrap() {
            let p = path["path"].as_str().unwrap();
            let prefix_of_all = p == "/" && path["pathType"].as_str() == Some("Prefix");
            assert!(
                !p.starts_with("/admin") && p != "/metrics" && !prefix_of_all,
                "the ingress routes {p} to the public"
            );
        }
    }
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
