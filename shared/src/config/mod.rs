//! Layered configuration, the part both services share: the layering itself, the sections
//! every service has (`http`, `redis`, `jwt`, `admin`), the development defaults (defined
//! once, here) and the production guard. Each service's `Settings` struct lives in its own
//! crate (`gateway/src/settings.rs`, `booking/src/settings.rs`) and implements
//! [`Layered`], which loads it.
//!
//! Sources, later ones winning: the built-in defaults ([`COMMON_DEFAULTS`], then the
//! service's own TOML), an optional TOML file (`--config PATH` or `GATEWAY_CONFIG` /
//! `BOOKING_CONFIG`), then environment variables with the service prefix and `__` between
//! levels (`GATEWAY__QUEUE__CAPACITY`). Unknown keys are refused. Secrets are
//! [`SecretString`]s so they never show up in `Debug` output or logs. [`keys`] lists every
//! key a settings type accepts (the README's configuration tables are tested against it).

mod schema;
mod secrets;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;

pub use schema::keys;
pub use secrets::{check_prod_secrets, Role, Secret};

/// Development defaults: what a service runs with when nothing is configured. The `prod`
/// profile refuses them.
pub mod dev {
    /// The development JWT secret (queue tokens).
    pub const JWT_SECRET: &str = "dev-only-insecure-jwt-secret-change-me";
    /// The development operator token.
    pub const ADMIN_TOKEN: &str = "dev-admin-token";
    /// The development ticket-signing seed (booking; base64 of 32 bytes).
    pub const TICKET_SIGNING_KEY: &str = "ZGV2LW9ubHktdGlja2V0LXNlZWQtY2hhbmdlLW1lISE=";
}

/// Defaults of the sections every service has; a service's own defaults are layered on top
/// (its listen address, say). The secrets' defaults come from [`dev`].
pub const COMMON_DEFAULTS: &str = r#"
profile = "dev"
[http]
request_timeout_ms = 10000
header_read_timeout_ms = 10000
idle_timeout_ms = 60000
max_connections = 100000
[redis]
url = "redis://127.0.0.1:6379"
key_prefix = "tq:"
timeout_ms = 1000
connections = 4
[jwt]
kid = "k1"
waiting_ttl_secs = 86400
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Dev,
    Prod,
}

/// The HTTP server (see `shared::service`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub addr: SocketAddr,
    /// Whole-request deadline: a handler that has not answered by then gets a 503.
    pub request_timeout_ms: u64,
    /// A client must send a request's whole header within this time of its first byte.
    pub header_read_timeout_ms: u64,
    /// A keep-alive connection with no request in flight is closed after this long.
    pub idle_timeout_ms: u64,
    /// Open connections at most; beyond it a new connection gets a 503 and is closed.
    pub max_connections: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// One Redis node (ignored when `cluster_urls` is set).
    pub url: String,
    /// A Redis Cluster: comma-separated seed nodes (`redis://host:port,...`; replicas
    /// allowed). When set it wins over `url`.
    #[serde(default)]
    pub cluster_urls: Option<String>,
    /// Prepended to every key (tests use a unique one each); no braces.
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

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    #[error("refusing to start with profile=prod: {0}")]
    InsecureProd(String),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads a service's settings: [`COMMON_DEFAULTS`] and the [`dev`] secrets → `defaults`
/// (the service's TOML) → optional TOML `file` → environment variables `<PREFIX>__...`.
/// `env` replaces the process environment when given (tests).
pub fn load<T: DeserializeOwned>(
    defaults: &str,
    prefix: &str,
    file: Option<&Path>,
    env: Option<HashMap<String, String>>,
) -> Result<T, SettingsError> {
    let mut builder = config::Config::builder()
        .set_default("jwt.secret", dev::JWT_SECRET)?
        .set_default("admin.token", dev::ADMIN_TOKEN)?
        .add_source(config::File::from_str(
            COMMON_DEFAULTS,
            config::FileFormat::Toml,
        ))
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

/// A service's settings type: its defaults, its variable prefix and its own checks. How
/// settings are loaded is the same for every service (the provided methods).
pub trait Layered: DeserializeOwned {
    /// The service's own defaults (TOML), layered on [`COMMON_DEFAULTS`].
    const DEFAULTS: &'static str;
    /// The environment prefix: `GATEWAY` reads `GATEWAY__...`.
    const PREFIX: &'static str;

    /// The sections every service has.
    fn common(&self) -> Common<'_>;

    /// Every secret the service holds, for the production guard ([`check_prod_secrets`]).
    fn secrets(&self) -> Vec<Secret<'_>>;

    /// Refuses values the types alone do not rule out (the shared sections and the
    /// secrets are checked before this).
    fn validate(&self) -> Result<(), SettingsError>;

    /// Defaults → `file` → process environment.
    fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_with(file, None)
    }

    /// Defaults → `file` → the given variables instead of the process environment.
    fn load_with(
        file: Option<&Path>,
        env: Option<HashMap<String, String>>,
    ) -> Result<Self, SettingsError> {
        let settings: Self = load(Self::DEFAULTS, Self::PREFIX, file, env)?;
        let common = settings.common();
        common.validate()?;
        // An empty secret would match an empty header (an empty internal token would let
        // anyone through): unset a key instead of emptying it.
        if let Some(empty) = settings.secrets().iter().find(|s| s.value.is_empty()) {
            return Err(SettingsError::Invalid(format!(
                "{} is empty; unset it instead",
                empty.key
            )));
        }
        if common.profile == Profile::Prod {
            check_prod_secrets(&settings.secrets())?;
        }
        settings.validate()?;
        Ok(settings)
    }

    /// Built-in defaults only (tests start from these and adjust fields).
    fn defaults() -> Self {
        Self::load_with(None, Some(HashMap::new())).expect("the built-in defaults parse")
    }
}

/// [`Layered::common`] for a settings struct with the usual field names (`profile`,
/// `http`, `redis`, `jwt`, `admin`): `fn common(&self) -> Common<'_> { common_sections!(self) }`.
#[macro_export]
macro_rules! common_sections {
    ($settings:expr) => {
        $crate::config::Common {
            profile: $settings.profile,
            http: &$settings.http,
            redis: &$settings.redis,
            jwt: &$settings.jwt,
            admin: &$settings.admin,
        }
    };
}

/// The part of a [`Layered`] impl every service writes the same way: its `DEFAULTS` (the
/// calling module's `DEFAULTS` constant), its environment `PREFIX`, and [`Layered::common`]
/// over the usual field names.
#[macro_export]
macro_rules! layered_common {
    ($prefix:literal) => {
        const DEFAULTS: &'static str = DEFAULTS;
        const PREFIX: &'static str = $prefix;

        fn common(&self) -> $crate::config::Common<'_> {
            $crate::common_sections!(self)
        }
    };
}

/// The environment keys of the shared secrets of a service whose variables start with
/// `prefix` (`"GATEWAY"`): its JWT secret, the previous one, and its admin token, the
/// argument [`Common::secrets`] takes.
#[macro_export]
macro_rules! common_secret_keys {
    ($prefix:literal) => {
        [
            concat!($prefix, "__JWT__SECRET"),
            concat!($prefix, "__JWT__PREVIOUS_SECRET"),
            concat!($prefix, "__ADMIN__TOKEN"),
        ]
    };
}

/// The sections every service has, borrowed from its settings.
#[derive(Debug, Clone, Copy)]
pub struct Common<'a> {
    pub profile: Profile,
    pub http: &'a HttpSettings,
    pub redis: &'a RedisSettings,
    pub jwt: &'a JwtSettings,
    pub admin: &'a AdminSettings,
}

impl<'a> Common<'a> {
    fn validate(&self) -> Result<(), SettingsError> {
        let http = self.http;
        if http.request_timeout_ms == 0
            || http.header_read_timeout_ms == 0
            || http.idle_timeout_ms == 0
            || http.max_connections == 0
        {
            return Err(SettingsError::Invalid(
                "http: request_timeout_ms, header_read_timeout_ms, idle_timeout_ms and \
                 max_connections must be > 0"
                    .into(),
            ));
        }
        if self.redis.key_prefix.contains(['{', '}']) {
            return Err(SettingsError::Invalid(
                "redis.key_prefix must not contain braces (it would change the hash tag)".into(),
            ));
        }
        Ok(())
    }

    /// The shared sections' secrets (`<prefix>__JWT__SECRET`, `__PREVIOUS_SECRET`,
    /// `__ADMIN__TOKEN`), with their keys for `prefix`.
    pub fn secrets(self, keys: [&'static str; 3]) -> Vec<Secret<'a>> {
        let [jwt, previous, admin] = keys;
        let mut secrets = vec![
            Secret {
                key: jwt,
                role: Role::QueueJwt,
                value: self.jwt.secret.expose_secret(),
            },
            Secret {
                key: admin,
                role: Role::Admin,
                value: self.admin.token.expose_secret(),
            },
        ];
        if let Some(p) = &self.jwt.previous_secret {
            secrets.push(Secret {
                key: previous,
                role: Role::QueueJwt,
                value: p.expose_secret(),
            });
        }
        secrets
    }
}

/// The config file named by `--config PATH` on the command line or by `var`.
pub fn config_file_from_args(var: &str) -> Option<PathBuf> {
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

/// Variables for [`load`]'s `env` (tests).
pub fn env_of(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}
