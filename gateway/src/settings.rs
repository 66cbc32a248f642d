//! The gateway's settings: the shared sections (`http`, `redis`, `jwt`, `admin`, see
//! [`shared::config`]) and its own — room defaults (`queue`), the booking client, the
//! buyer's identity, the join limit. Loaded defaults → file → `GATEWAY__...` variables.

use secrecy::SecretString;
use serde::Deserialize;
use shared::config::{
    self, AdminSettings, HttpSettings, JwtSettings, Layered, Profile, RedisSettings, SettingsError,
};
use shared::store::RoomSettings;

/// Defaults of the gateway's own keys (on top of [`config::COMMON_DEFAULTS`]).
const DEFAULTS: &str = r#"
[http]
addr = "0.0.0.0:8080"
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

impl QueueSettings {
    /// What a new room is created with.
    pub fn room(&self) -> RoomSettings {
        RoomSettings {
            capacity: self.capacity,
            batch_size: self.batch_size,
            tick_ms: self.tick_ms,
            active_ttl_secs: self.active_ttl_secs,
            enabled: self.enabled,
        }
    }
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
    /// Name of this instance in metrics and tick records (a random one when unset).
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

impl Layered for GatewaySettings {
    const DEFAULTS: &'static str = DEFAULTS;
    const PREFIX: &'static str = "GATEWAY";

    fn validate(&self) -> Result<(), SettingsError> {
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
        config::validate_common(
            self.profile,
            &self.http,
            &self.redis,
            &self.jwt,
            &self.admin,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::config::env_of as env;

    #[test]
    fn environment_overrides_defaults_with_double_underscores() {
        let s = GatewaySettings::load_with(
            None,
            env(&[
                ("GATEWAY__QUEUE__CAPACITY", "7"),
                ("GATEWAY__QUEUE__TICK_MS", "250"),
                ("GATEWAY__BOOKING__URL", "http://booking:9000"),
                ("GATEWAY__INSTANCE_ID", "gw-a"),
                ("GATEWAY__HTTP__IDLE_TIMEOUT_MS", "1234"),
            ]),
        )
        .unwrap();
        assert_eq!(s.queue.capacity, 7);
        assert_eq!(s.queue.tick_ms, 250);
        assert_eq!(s.queue.batch_size, 100);
        assert_eq!(s.booking.url, "http://booking:9000");
        assert_eq!(s.instance_id.as_deref(), Some("gw-a"));
        assert_eq!(s.http.idle_timeout_ms, 1234);
        assert_eq!(s.http.header_read_timeout_ms, 10_000, "the shared default");
        assert_eq!(s.http.addr.port(), 8080);
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
        for (key, value) in [
            ("GATEWAY__QUEUE__CAPACITY", "0"),
            ("GATEWAY__QUEUE__CAPACTIY", "5"),
            ("GATEWAY__REDIS__KEY_PREFIX", "a{b}"),
            ("GATEWAY__HTTP__MAX_CONNECTIONS", "0"),
        ] {
            assert!(
                GatewaySettings::load_with(None, env(&[(key, value)])).is_err(),
                "{key}={value}"
            );
        }
    }
}
