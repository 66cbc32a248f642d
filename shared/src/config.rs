//! Typed, layered configuration for both services.
//!
//! Sources, later ones winning: built-in defaults (the TOML below each struct), an optional
//! TOML file (`--config PATH` or `GATEWAY_CONFIG` / `BOOKING_CONFIG`), then environment
//! variables with the service prefix and `__` between levels (`GATEWAY__QUEUE__CAPACITY`).
//! Secrets are [`SecretString`]s so they never show up in `Debug` output or logs.
//! With `profile = "prod"`, [`check_prod_secrets`] refuses development secrets.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// The development JWT secret; refused by the `prod` profile.
pub const DEV_JWT_SECRET: &str = "dev-only-insecure-jwt-secret-change-me";
/// The development admin token; refused by the `prod` profile.
pub const DEV_ADMIN_TOKEN: &str = "dev-admin-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Dev,
    Prod,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub addr: SocketAddr,
    /// Whole-request deadline for a handler (including outbound calls).
    pub request_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: String,
    /// Prepended to every key (tests use a unique one each).
    pub key_prefix: String,
    /// Upper bound for any single Redis call, connection included.
    pub timeout_ms: u64,
    /// Multiplexed connections kept open (requests are pipelined over each).
    pub connections: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSettings {
    pub secret: SecretString,
    /// `kid` header put on minted tokens.
    pub kid: String,
    /// A previous key still accepted for verification during a rotation.
    pub previous_secret: Option<SecretString>,
    pub previous_kid: Option<String>,
    /// Lifetime of a waiting token (an active token lives as long as its admission).
    pub waiting_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    pub token: SecretString,
}

/// Room defaults; operators override them per concert at run time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    pub capacity: u64,
    pub batch_size: u64,
    pub tick_ms: u64,
    pub active_ttl_secs: u64,
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingClientSettings {
    pub url: String,
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    pub pool_max_idle_per_host: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityMode {
    /// `user_id` is taken as given (development, or a trusted edge in front).
    None,
    /// `user_id` must equal the `sub` of a signed upstream user JWT in `X-User-Token`.
    Jwt,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySettings {
    pub mode: IdentityMode,
    pub secret: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Joins per second allowed per client address; 0 disables the limit.
    pub joins_per_sec: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    pub profile: Profile,
    /// Name of this instance in metrics and tick records (defaults to host:port).
    pub instance_id: Option<String>,
    pub http: HttpSettings,
    pub redis: RedisSettings,
    pub jwt: JwtSettings,
    pub admin: AdminSettings,
    pub queue: QueueSettings,
    pub booking: BookingClientSettings,
    pub identity: IdentitySettings,
    pub rate_limit: RateLimitSettings,
}

const GATEWAY_DEFAULTS: &str = r#"
profile = "dev"
[http]
addr = "0.0.0.0:8080"
request_timeout_ms = 10000
[redis]
url = "redis://127.0.0.1:6379"
key_prefix = "tq:"
timeout_ms = 1000
connections = 4
[jwt]
secret = "dev-only-insecure-jwt-secret-change-me"
kid = "k1"
waiting_ttl_secs = 86400
[admin]
token = "dev-admin-token"
[queue]
capacity = 500
batch_size = 100
tick_ms = 1000
active_ttl_secs = 600
enabled = true
[booking]
url = "http://127.0.0.1:8081"
timeout_ms = 5000
connect_timeout_ms = 1000
pool_max_idle_per_host = 256
[identity]
mode = "none"
[rate_limit]
joins_per_sec = 0
burst = 20
"#;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
    /// Server-side statement timeout, so no query hangs a request.
    pub statement_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldSettings {
    pub ttl_secs: u64,
    pub max_per_user: u32,
    /// How often expired holds are marked EXPIRED in the database.
    pub sweep_interval_ms: u64,
}

/// Group commit of payments (booking/src/payments/batch.rs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettings {
    /// Most payments committed in one transaction (1 = one transaction per payment).
    /// At most 32: each payment is a subtransaction, and PostgreSQL keeps 64 per backend
    /// in shared memory before it spills to disk.
    pub batch_max: usize,
    /// Payment transactions running at once, each on its own pooled connection. Fewer
    /// workers make bigger groups under load; a single payment never waits for a group.
    pub batch_workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingSettings {
    pub profile: Profile,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub jwt: JwtSettings,
    pub admin: AdminSettings,
    pub holds: HoldSettings,
    pub payments: PaymentSettings,
}

const BOOKING_DEFAULTS: &str = r#"
profile = "dev"
[http]
addr = "0.0.0.0:8081"
request_timeout_ms = 10000
[database]
url = "postgres://postgres@127.0.0.1:5432/ticketing"
max_connections = 16
acquire_timeout_ms = 3000
statement_timeout_ms = 5000
[redis]
url = "redis://127.0.0.1:6379"
key_prefix = "tq:"
timeout_ms = 1000
connections = 4
[jwt]
secret = "dev-only-insecure-jwt-secret-change-me"
kid = "k1"
waiting_ttl_secs = 86400
[admin]
token = "dev-admin-token"
[holds]
ttl_secs = 300
max_per_user = 4
sweep_interval_ms = 1000
[payments]
batch_max = 16
batch_workers = 1
"#;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    #[error("refusing to start with profile=prod: {0}")]
    InsecureProd(String),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads settings: `defaults` → optional TOML `file` → environment with `prefix`.
/// `env` replaces the process environment when given (tests).
fn load<T: DeserializeOwned>(
    defaults: &str,
    prefix: &str,
    file: Option<&Path>,
    env: Option<HashMap<String, String>>,
) -> Result<T, SettingsError> {
    let mut builder = config::Config::builder()
        .add_source(config::File::from_str(defaults, config::FileFormat::Toml));
    if let Some(path) = file {
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
    }
    let environment = config::Environment::with_prefix(prefix)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .source(env);
    Ok(builder.add_source(environment).build()?.try_deserialize()?)
}

impl GatewaySettings {
    /// Defaults → file → process environment (`GATEWAY__...`).
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_with(file, None)
    }

    /// Defaults → file → the given variables instead of the process environment.
    pub fn load_with(
        file: Option<&Path>,
        env: Option<HashMap<String, String>>,
    ) -> Result<Self, SettingsError> {
        let settings: Self = load(GATEWAY_DEFAULTS, "GATEWAY", file, env)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Built-in defaults only (tests start from these and adjust fields).
    pub fn defaults() -> Self {
        Self::load_with(None, Some(HashMap::new())).expect("built-in gateway defaults parse")
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        let q = &self.queue;
        if q.capacity == 0 || q.batch_size == 0 || q.tick_ms < 10 || q.active_ttl_secs == 0 {
            return Err(SettingsError::Invalid(
                "queue: capacity, batch_size, active_ttl_secs must be > 0 and tick_ms >= 10".into(),
            ));
        }
        if self.identity.mode == IdentityMode::Jwt && self.identity.secret.is_none() {
            return Err(SettingsError::Invalid(
                "identity.mode = jwt needs identity.secret".into(),
            ));
        }
        if self.profile == Profile::Prod {
            check_prod_secrets(&self.jwt, &self.admin)?;
        }
        Ok(())
    }
}

impl BookingSettings {
    /// Defaults → file → process environment (`BOOKING__...`).
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_with(file, None)
    }

    pub fn load_with(
        file: Option<&Path>,
        env: Option<HashMap<String, String>>,
    ) -> Result<Self, SettingsError> {
        let settings: Self = load(BOOKING_DEFAULTS, "BOOKING", file, env)?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn defaults() -> Self {
        Self::load_with(None, Some(HashMap::new())).expect("built-in booking defaults parse")
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.holds.ttl_secs == 0 || self.holds.max_per_user == 0 {
            return Err(SettingsError::Invalid(
                "holds: ttl_secs and max_per_user must be > 0".into(),
            ));
        }
        let p = &self.payments;
        if !(1..=32).contains(&p.batch_max) || p.batch_workers == 0 {
            return Err(SettingsError::Invalid(
                "payments: batch_max must be 1 to 32 and batch_workers > 0".into(),
            ));
        }
        if p.batch_workers > self.database.max_connections as usize {
            return Err(SettingsError::Invalid(
                "payments: batch_workers must not exceed database.max_connections".into(),
            ));
        }
        if self.profile == Profile::Prod {
            check_prod_secrets(&self.jwt, &self.admin)?;
        }
        Ok(())
    }
}

/// The `prod` profile refuses the development secrets and short ones.
pub fn check_prod_secrets(jwt: &JwtSettings, admin: &AdminSettings) -> Result<(), SettingsError> {
    let secret = jwt.secret.expose_secret();
    if secret == DEV_JWT_SECRET || secret.len() < 32 {
        return Err(SettingsError::InsecureProd(
            "jwt.secret is the development default or shorter than 32 bytes".into(),
        ));
    }
    let token = admin.token.expose_secret();
    if token == DEV_ADMIN_TOKEN || token.len() < 16 {
        return Err(SettingsError::InsecureProd(
            "admin.token is the development default or shorter than 16 bytes".into(),
        ));
    }
    Ok(())
}

/// The config file named by `--config PATH` on the command line or by `var`.
pub fn config_file_from_args(var: &str) -> Option<std::path::PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().map(Into::into);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(path.into());
        }
    }
    std::env::var_os(var).map(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn environment_overrides_defaults_with_double_underscores() {
        let s = GatewaySettings::load_with(
            None,
            env(&[
                ("GATEWAY__QUEUE__CAPACITY", "7"),
                ("GATEWAY__QUEUE__TICK_MS", "250"),
                ("GATEWAY__BOOKING__URL", "http://booking:9000"),
                ("GATEWAY__INSTANCE_ID", "gw-a"),
            ]),
        )
        .unwrap();
        assert_eq!(s.queue.capacity, 7);
        assert_eq!(s.queue.tick_ms, 250);
        assert_eq!(s.queue.batch_size, 100);
        assert_eq!(s.booking.url, "http://booking:9000");
        assert_eq!(s.instance_id.as_deref(), Some("gw-a"));
        let b = BookingSettings::load_with(
            None,
            env(&[
                ("BOOKING__HOLDS__TTL_SECS", "2"),
                ("BOOKING__HOLDS__MAX_PER_USER", "3"),
            ]),
        )
        .unwrap();
        assert_eq!(b.holds.ttl_secs, 2);
        assert_eq!(b.holds.max_per_user, 3);
    }

    #[test]
    fn file_layer_sits_between_defaults_and_environment() {
        let dir = std::env::temp_dir().join(format!("cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gateway.toml");
        std::fs::write(&path, "[queue]\ncapacity = 9\nbatch_size = 3\n").unwrap();
        let s =
            GatewaySettings::load_with(Some(&path), env(&[("GATEWAY__QUEUE__BATCH_SIZE", "4")]))
                .unwrap();
        assert_eq!(s.queue.capacity, 9);
        assert_eq!(s.queue.batch_size, 4);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn prod_profile_refuses_development_secrets() {
        let err =
            GatewaySettings::load_with(None, env(&[("GATEWAY__PROFILE", "prod")])).unwrap_err();
        assert!(matches!(err, SettingsError::InsecureProd(_)), "{err}");
        let err =
            BookingSettings::load_with(None, env(&[("BOOKING__PROFILE", "prod")])).unwrap_err();
        assert!(matches!(err, SettingsError::InsecureProd(_)), "{err}");
        let ok = GatewaySettings::load_with(
            None,
            env(&[
                ("GATEWAY__PROFILE", "prod"),
                (
                    "GATEWAY__JWT__SECRET",
                    "a-production-secret-of-more-than-32-bytes",
                ),
                ("GATEWAY__ADMIN__TOKEN", "a-long-admin-token-123"),
            ]),
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(
            GatewaySettings::load_with(None, env(&[("GATEWAY__QUEUE__CAPACITY", "0")])).is_err()
        );
        assert!(
            GatewaySettings::load_with(None, env(&[("GATEWAY__QUEUE__CAPACTIY", "5")])).is_err()
        );
    }

    #[test]
    fn payment_groups_are_bounded() {
        let b = BookingSettings::defaults();
        assert_eq!((b.payments.batch_max, b.payments.batch_workers), (16, 1));
        for (key, value) in [
            ("BOOKING__PAYMENTS__BATCH_MAX", "0"),
            ("BOOKING__PAYMENTS__BATCH_MAX", "33"),
            ("BOOKING__PAYMENTS__BATCH_WORKERS", "0"),
            ("BOOKING__PAYMENTS__BATCH_WORKERS", "17"), // > database.max_connections (16)
        ] {
            let err = BookingSettings::load_with(None, env(&[(key, value)])).unwrap_err();
            assert!(
                matches!(err, SettingsError::Invalid(_)),
                "{key}={value}: {err}"
            );
        }
        let b = BookingSettings::load_with(
            None,
            env(&[
                ("BOOKING__PAYMENTS__BATCH_MAX", "1"),
                ("BOOKING__PAYMENTS__BATCH_WORKERS", "4"),
            ]),
        )
        .unwrap();
        assert_eq!((b.payments.batch_max, b.payments.batch_workers), (1, 4));
    }
}
