//! The gateway's settings: the shared sections (`http`, `redis`, `jwt`, `admin`, see
//! [`shared::config`]) and its own — room defaults (`queue`), the booking client, the
//! buyer's identity, self-charge, the join limit. Loaded defaults → file → `GATEWAY__...` variables.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ipnet::IpNet;
use secrecy::SecretString;
use serde::Deserialize;
use shared::config::{
    AdminSettings, HttpSettings, JwtSettings, Layered, Profile, RedisSettings, Role, Secret,
    SettingsError,
};
use shared::contract::rooms::RoomPatch;
use shared::store::{RoomMode, RoomSettings};

/// Defaults of the gateway's own keys (on top of [`shared::config::COMMON_DEFAULTS`]).
const DEFAULTS: &str = r#"
[http]
addr = "0.0.0.0:8080"
[queue]
capacity = 500
batch_size = 100
tick_ms = 1000
active_ttl_secs = 600
enabled = true
prequeue_secs = 900
waitlist = true
[booking]
url = "http://127.0.0.1:8081"
timeout_ms = 5000
connect_timeout_ms = 1000
pool_max_idle_per_host = 256
[identity]
mode = "none"
trusted_proxies = ""
[points]
[rate_limit]
joins_per_sec = 0
burst = 20
user_joins_per_sec = 5
user_burst = 20
trusted_proxies = ""
[limits]
limiter_buckets = 100000
unknown_concerts = 10000
left_per_room = 10000
[sse]
max_streams = 10000
heartbeat_secs = 15
"#;

/// Room defaults; operators override them per concert at run time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    pub capacity: u64,
    pub batch_size: u64,
    pub tick_ms: u64,
    pub active_ttl_secs: u64,
    /// `open`, `queue_all` or `closed` (unset: `open`, or `closed` when `enabled` is false).
    pub mode: Option<RoomMode>,
    /// The older switch: `false` makes new rooms `closed`.
    pub enabled: bool,
    /// How long before a scheduled opening its pre-queue opens (rooms set `opens_at`).
    pub prequeue_secs: u64,
    /// Whether a sold-out room keeps its line for seats that come back.
    pub waitlist: bool,
}

impl QueueSettings {
    /// What a new room is created with.
    pub fn room(&self) -> RoomSettings {
        RoomSettings {
            capacity: self.capacity,
            batch_size: self.batch_size,
            tick_ms: self.tick_ms,
            active_ttl_secs: self.active_ttl_secs,
            mode: match (self.enabled, self.mode) {
                (false, _) => RoomMode::Closed,
                (true, mode) => mode.unwrap_or_default(),
            },
            opens_at: None,
            prequeue_secs: self.prequeue_secs,
            waitlist: self.waitlist,
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
    /// Sent as `X-Internal-Token` on every call (booking's `internal.token`).
    pub internal_token: Option<SecretString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityMode {
    /// `user_id` is taken as given (development only).
    None,
    /// The site's user JWT in `X-User-Token`, verified with `secret` (HS256) or the keys
    /// of `jwks_file`; `sub` is the user id.
    Jwt,
    /// `X-User-Id`, set by a trusted load balancer after its own login check, accepted only
    /// from `trusted_proxies`.
    Header,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySettings {
    pub mode: IdentityMode,
    /// HS256 key of the site's user tokens (mode `jwt`; or `jwks_file`).
    pub secret: Option<SecretString>,
    /// A JWKS file with the site's public keys (RS256, ES256, EdDSA; picked by `kid`),
    /// re-read when it changes (mode `jwt`; or `secret`).
    pub jwks_file: Option<PathBuf>,
    /// `iss` the user tokens must carry, when set.
    pub issuer: Option<String>,
    /// `aud` the user tokens must carry, when set.
    pub audience: Option<String>,
    /// Comma-separated CIDRs of the proxies allowed to set `X-User-Id` (mode `header`).
    pub trusted_proxies: String,
}

impl IdentitySettings {
    /// `trusted_proxies`, parsed.
    pub fn trusted(&self) -> Result<Vec<IpNet>, SettingsError> {
        parse_cidrs("identity.trusted_proxies", &self.trusted_proxies)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsSettings {
    /// Whether buyers may add points through the gateway (`POST
    /// /v1/users/{id}/points/charge`). Unset: on with `profile = dev`, off with `prod`,
    /// where `true` is refused.
    pub self_charge: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Joins per second allowed per client address; 0 disables the limit.
    pub joins_per_sec: u32,
    pub burst: u32,
    /// Joins per second allowed per user (the identity, or the named `user_id` in mode
    /// `none`); 0 disables the limit.
    pub user_joins_per_sec: u32,
    pub user_burst: u32,
    /// Comma-separated CIDRs (or addresses) of the proxies whose `X-Forwarded-For` names
    /// the client: from them, the client address is the right-most untrusted address of
    /// that header; from anyone else, the TCP peer.
    pub trusted_proxies: String,
}

impl RateLimitSettings {
    /// `trusted_proxies`, parsed.
    pub fn trusted(&self) -> Result<Vec<IpNet>, SettingsError> {
        parse_cidrs("rate_limit.trusted_proxies", &self.trusted_proxies)
    }
}

/// Sizes of what the gateway keeps in memory about what clients send. Each is a hard cap
/// (least recently used evicted first, O(1)); each has a metric (`bounded_entries{map}`,
/// `bounded_evictions_total{map}`, `queue_left_overflows_total`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSettings {
    /// Join-limit buckets kept per limiter (client addresses; users).
    pub limiter_buckets: usize,
    /// Concert ids booking does not know, remembered for a few seconds each.
    pub unknown_concerts: usize,
    /// Left tickets (and, apart, admissions ended early) remembered per room for answering
    /// polls from memory; past it, polls of that room go to Redis until the head passes
    /// them (until the ended ones have expired).
    pub left_per_room: usize,
}

/// Push updates (`GET /v1/queue/events`, [`crate::push`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SseSettings {
    /// Streams one gateway holds at most; one more is 503 with `Retry-After` (the client
    /// polls instead). Each stream is an open connection: keep it under the process's
    /// open-file limit and `http.max_connections`.
    pub max_streams: usize,
    /// Seconds between heartbeat comments on an idle stream.
    pub heartbeat_secs: u64,
}

fn parse_cidrs(key: &str, list: &str) -> Result<Vec<IpNet>, SettingsError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    SettingsError::Invalid(format!("{key}: `{s}` is not an address or CIDR"))
                })
        })
        .collect()
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
    pub points: PointsSettings,
    pub rate_limit: RateLimitSettings,
    pub limits: LimitsSettings,
    pub sse: SseSettings,
    /// Per-concert room settings, `[rooms."<concert_id>"]` (any field of the admin API's
    /// change), applied at start and whenever the file changes ([`crate::reload`]).
    #[serde(default)]
    pub rooms: BTreeMap<String, RoomPatch>,
    /// The file these settings were read from, watched for changes (set by the binary).
    #[serde(skip)]
    pub source_file: Option<PathBuf>,
}

impl IdentityMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            IdentityMode::None => "none",
            IdentityMode::Jwt => "jwt",
            IdentityMode::Header => "header",
        }
    }
}

impl GatewaySettings {
    /// The `[rooms."<id>"]` sections by concert id (validated at load).
    pub fn room_sections(&self) -> Vec<(i64, RoomPatch)> {
        self.rooms
            .iter()
            .filter_map(|(id, patch)| Some((id.parse().ok()?, *patch)))
            .collect()
    }

    /// Whether buyers may charge points themselves (see [`PointsSettings`]).
    pub fn self_charge(&self) -> bool {
        self.points
            .self_charge
            .unwrap_or(self.profile == Profile::Dev)
    }
}

impl Layered for GatewaySettings {
    shared::layered_common!("GATEWAY");

    fn secrets(&self) -> Vec<Secret<'_>> {
        let mut secrets = self
            .common()
            .secrets(shared::common_secret_keys!("GATEWAY"));
        secrets.extend(
            [
                Secret::optional(
                    "GATEWAY__IDENTITY__SECRET",
                    Role::Identity,
                    &self.identity.secret,
                ),
                Secret::optional(
                    "GATEWAY__BOOKING__INTERNAL_TOKEN",
                    Role::Internal,
                    &self.booking.internal_token,
                ),
            ]
            .into_iter()
            .flatten(),
        );
        secrets
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let q = &self.queue;
        if q.capacity == 0 || q.batch_size == 0 || q.tick_ms < 10 || q.active_ttl_secs == 0 {
            return Err(SettingsError::Invalid(
                "queue: capacity, batch_size, active_ttl_secs must be > 0 and tick_ms >= 10".into(),
            ));
        }
        for (id, patch) in &self.rooms {
            if id.parse::<i64>().map_or(true, |id| id <= 0) {
                return Err(SettingsError::Invalid(format!(
                    "rooms.\"{id}\": a room section is named by its concert id (a positive \
                     integer)"
                )));
            }
            patch.validate().map_err(|errors| {
                SettingsError::Invalid(format!("rooms.\"{id}\": {}", errors.join("; ")))
            })?;
        }
        self.rate_limit.trusted()?;
        let l = &self.limits;
        if l.limiter_buckets == 0 || l.unknown_concerts == 0 || l.left_per_room == 0 {
            return Err(SettingsError::Invalid(
                "limits: limiter_buckets, unknown_concerts and left_per_room must be > 0".into(),
            ));
        }
        if self.sse.max_streams == 0 || self.sse.heartbeat_secs == 0 {
            return Err(SettingsError::Invalid(
                "sse: max_streams and heartbeat_secs must be > 0".into(),
            ));
        }
        let id = &self.identity;
        let trusted = id.trusted()?;
        match id.mode {
            IdentityMode::Jwt if id.secret.is_none() == id.jwks_file.is_none() => {
                return Err(SettingsError::Invalid(
                    "identity.mode = jwt needs exactly one of identity.secret and \
                     identity.jwks_file"
                        .into(),
                ))
            }
            IdentityMode::Header if trusted.is_empty() => {
                return Err(SettingsError::Invalid(
                    "identity.mode = header needs identity.trusted_proxies (the load \
                     balancers allowed to set X-User-Id)"
                        .into(),
                ))
            }
            _ => {}
        }
        if self.profile == Profile::Prod {
            let refuse = |why: &str| Err(SettingsError::InsecureProd(why.into()));
            if id.mode == IdentityMode::None {
                return refuse(
                    "GATEWAY__IDENTITY__MODE is none: anyone could act as any user; use jwt \
                     or header",
                );
            }
            if self.points.self_charge == Some(true) {
                return refuse("GATEWAY__POINTS__SELF_CHARGE is true: buyers could mint points");
            }
            let everyone = |nets: &[IpNet]| nets.iter().any(|n| n.prefix_len() == 0);
            if everyone(&trusted) || everyone(&self.rate_limit.trusted()?) {
                return refuse(
                    "a trusted_proxies list contains 0.0.0.0/0 or ::/0: every client would be \
                     trusted to name itself",
                );
            }
            if self.booking.internal_token.is_none() {
                return refuse(
                    "GATEWAY__BOOKING__INTERNAL_TOKEN is not set: booking (which requires it in \
                     production) would refuse every call",
                );
            }
        }
        Ok(())
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
    fn room_sections_are_read_by_concert_id_and_validated() {
        let dir = std::env::temp_dir().join(format!("cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gateway.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            GatewaySettings::load_with(Some(&path), env(&[]))
        };
        let s = load(
            "[rooms.\"42\"]\nmode = \"queue_all\"\nrate_per_minute = 1200\n\
             opens_at = \"2030-01-01T10:00:00Z\"\n",
        )
        .unwrap();
        let sections = s.room_sections();
        assert_eq!(sections.len(), 1);
        let (id, patch) = sections[0];
        assert_eq!(id, 42);
        assert_eq!(patch.rate_per_minute, Some(1200));
        assert_eq!(patch.mode, Some(RoomMode::QueueAll));
        assert!(patch.opens_at.flatten().is_some());
        assert!(
            load("[rooms.\"x\"]\ncapacity = 5\n").is_err(),
            "not a concert id"
        );
        assert!(
            load("[rooms.\"5\"]\ncapacity = 0\n").is_err(),
            "out of range"
        );
        assert!(
            load("[rooms.\"5\"]\ncolour = 1\n").is_err(),
            "unknown field"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A production configuration that starts: strong, distinct secrets, a verified
    /// identity, self-charge off by default, the internal token set.
    pub(crate) const STRONG_PROD: &[(&str, &str)] = &[
        ("GATEWAY__PROFILE", "prod"),
        ("GATEWAY__JWT__SECRET", "q7Lr2vX9mKp4Tz8wYc1Nf6Hb3Dj5Gs0R"),
        ("GATEWAY__ADMIN__TOKEN", "op-8Vd2Kq7Wm4Zx9Rt6Yb3Nc5"),
        ("GATEWAY__IDENTITY__MODE", "jwt"),
        (
            "GATEWAY__IDENTITY__SECRET",
            "id-Hs256-3Fq8Zr6Wt1Mv9Kd4Xb7Nc2Lp",
        ),
        (
            "GATEWAY__BOOKING__INTERNAL_TOKEN",
            "in-5Rt8Wq2Zx7Mv4Kb9Nc3Hd6Fs1Lp0Yj",
        ),
    ];

    fn prod_with(over: &[(&str, &str)]) -> Result<GatewaySettings, SettingsError> {
        let mut vars: Vec<(&str, &str)> = STRONG_PROD.to_vec();
        for (k, v) in over {
            vars.retain(|(key, _)| key != k);
            if !v.is_empty() {
                vars.push((k, v));
            }
        }
        GatewaySettings::load_with(None, env(&vars))
    }

    #[test]
    fn a_strong_production_configuration_loads_with_self_charge_off() {
        let s = prod_with(&[]).unwrap();
        assert!(!s.self_charge());
        assert!(GatewaySettings::defaults().self_charge(), "on in dev");
    }

    #[test]
    fn prod_refuses_every_weak_setting_and_names_it() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("GATEWAY__JWT__SECRET", "")], "GATEWAY__JWT__SECRET"),
            (&[("GATEWAY__ADMIN__TOKEN", "")], "GATEWAY__ADMIN__TOKEN"),
            (
                &[(
                    "GATEWAY__JWT__SECRET",
                    "CHANGE-ME-jwt-secret-at-least-32-random-bytes",
                )],
                "GATEWAY__JWT__SECRET",
            ),
            (
                &[("GATEWAY__ADMIN__TOKEN", "CHANGE-ME-gateway-admin-token")],
                "GATEWAY__ADMIN__TOKEN",
            ),
            (
                &[("GATEWAY__JWT__PREVIOUS_SECRET", "short-previous-key")],
                "GATEWAY__JWT__PREVIOUS_SECRET",
            ),
            (
                &[(
                    "GATEWAY__IDENTITY__SECRET",
                    "q7Lr2vX9mKp4Tz8wYc1Nf6Hb3Dj5Gs0R",
                )],
                "GATEWAY__IDENTITY__SECRET",
            ),
            (
                &[(
                    "GATEWAY__BOOKING__INTERNAL_TOKEN",
                    "an-example-internal-token-of-40-bytes-x",
                )],
                "GATEWAY__BOOKING__INTERNAL_TOKEN",
            ),
            (
                &[("GATEWAY__BOOKING__INTERNAL_TOKEN", "")],
                "GATEWAY__BOOKING__INTERNAL_TOKEN",
            ),
            (
                &[
                    ("GATEWAY__IDENTITY__MODE", "none"),
                    ("GATEWAY__IDENTITY__SECRET", ""),
                ],
                "GATEWAY__IDENTITY__MODE",
            ),
            (
                &[("GATEWAY__POINTS__SELF_CHARGE", "true")],
                "GATEWAY__POINTS__SELF_CHARGE",
            ),
            (
                &[
                    ("GATEWAY__IDENTITY__MODE", "header"),
                    ("GATEWAY__IDENTITY__SECRET", ""),
                    (
                        "GATEWAY__IDENTITY__TRUSTED_PROXIES",
                        "10.0.0.0/8, 0.0.0.0/0",
                    ),
                ],
                "trusted_proxies",
            ),
            (
                &[("GATEWAY__RATE_LIMIT__TRUSTED_PROXIES", "::/0")],
                "trusted_proxies",
            ),
        ];
        for (over, key) in cases {
            match prod_with(over) {
                Err(SettingsError::InsecureProd(why)) => {
                    assert!(why.contains(key), "{over:?}: {why}")
                }
                other => panic!("{over:?} was not refused: {other:?}"),
            }
        }
        // The development defaults as such.
        let err =
            GatewaySettings::load_with(None, env(&[("GATEWAY__PROFILE", "prod")])).unwrap_err();
        assert!(matches!(err, SettingsError::InsecureProd(_)), "{err}");
    }

    #[test]
    fn an_empty_secret_is_refused_in_every_profile() {
        let err =
            GatewaySettings::load_with(None, env(&[("GATEWAY__BOOKING__INTERNAL_TOKEN", "")]))
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("GATEWAY__BOOKING__INTERNAL_TOKEN is empty"),
            "{err}"
        );
    }

    #[test]
    fn identity_modes_need_their_keys() {
        for vars in [
            &[("GATEWAY__IDENTITY__MODE", "jwt")][..],
            &[
                ("GATEWAY__IDENTITY__MODE", "jwt"),
                ("GATEWAY__IDENTITY__SECRET", "s"),
                ("GATEWAY__IDENTITY__JWKS_FILE", "/k.json"),
            ],
            &[("GATEWAY__IDENTITY__MODE", "header")],
            &[
                ("GATEWAY__IDENTITY__MODE", "header"),
                ("GATEWAY__IDENTITY__TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip"),
            ],
        ] {
            assert!(
                matches!(
                    GatewaySettings::load_with(None, env(vars)),
                    Err(SettingsError::Invalid(_))
                ),
                "{vars:?}"
            );
        }
        let s = GatewaySettings::load_with(
            None,
            env(&[
                ("GATEWAY__IDENTITY__MODE", "header"),
                (
                    "GATEWAY__IDENTITY__TRUSTED_PROXIES",
                    "10.0.0.0/8, 127.0.0.1,::1",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(s.identity.trusted().unwrap().len(), 3);
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
