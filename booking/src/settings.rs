//! Booking's settings: the shared sections (`http`, `redis`, `jwt`, `admin`, see
//! [`shared::config`]) and its own — the database, holds and payment groups. Loaded
//! defaults → file → `BOOKING__...` variables.

use secrecy::SecretString;
use serde::Deserialize;
use shared::config::{
    AdminSettings, HttpSettings, JwtSettings, Layered, Profile, RedisSettings, Role, Secret,
    SettingsError,
};

/// Defaults of booking's own keys (on top of [`shared::config::COMMON_DEFAULTS`]).
const DEFAULTS: &str = r#"
[http]
addr = "0.0.0.0:8081"
[database]
url = "postgres://postgres@127.0.0.1:5432/ticketing"
max_connections = 16
acquire_timeout_ms = 3000
statement_timeout_ms = 5000
[holds]
ttl_secs = 300
max_per_user = 4
sweep_interval_ms = 1000
sweep_batch = 5000
sold_marker_hours = 168
[inventory]
publish_interval_ms = 1000
full_publish_secs = 30
[idempotency]
retention_hours = 48
purge_interval_secs = 600
[orders]
max_tickets_per_user = 4
cancel_cutoff_hours = 24
cancel_fee_percent = 10
[tickets]
key_id = "dev-1"
retired_keys = ""
refund_batch = 500
[door]
[payments]
batch_max = 16
batch_workers = 1
[internal]
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
    /// Most expired holds one sweep resets (the rest go in the next sweeps).
    pub sweep_batch: u32,
    /// How long a sold seat's Redis marker lives: during it every attempt on the seat
    /// stops in Redis; after it, PostgreSQL refuses them.
    pub sold_marker_hours: u64,
}

/// Publishing concerts' inventories to the gateways (`inventory/`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventorySettings {
    /// How often changed concerts are published (the figures buyers see are at most this
    /// old, plus a sweep for expired holds).
    pub publish_interval_ms: u64,
    /// How often every concert is published again (after Redis lost its data).
    pub full_publish_secs: u64,
}

/// Saved answers of idempotent requests (payments, charges).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencySettings {
    /// How long a saved answer is kept: a retry with the same key within it gets the saved
    /// answer; after it, the record is purged.
    pub retention_hours: u64,
    /// How often the purge runs.
    pub purge_interval_secs: u64,
}

/// Orders of several seats (`holds/`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSettings {
    /// A concert's ticket limit when its creation names none: seats one buyer may hold and
    /// own together for the concert (1 to 100).
    pub max_tickets_per_user: i32,
    /// A schedule's `cancel_until` when its creation names none: this many hours before
    /// it starts.
    pub cancel_cutoff_hours: u32,
    /// The fee a buyer's cancellation keeps: floor(price × percent / 100), 0 to 100.
    pub cancel_fee_percent: u32,
}

/// Tickets' signed codes (`tickets/signing.rs`) and the refunds of cancelled shows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketSettings {
    /// Base64 of the 32-byte Ed25519 seed codes are signed with (default: the development
    /// seed, refused with `profile = prod`).
    pub signing_key: Option<SecretString>,
    /// The signing key's id (the codes' `kid`).
    pub key_id: String,
    /// Keys codes may still carry after a rotation: `kid=base64url(public key)`, comma-separated.
    pub retired_keys: String,
    /// Tickets refunded per transaction when a show is cancelled.
    pub refund_batch: u32,
}

/// The doors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoorSettings {
    /// The check-in token (`POST /admin/checkins`); the admin token works too.
    pub token: Option<SecretString>,
}

/// Group commit of payments (`payments/batch.rs`).
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

/// Booking trusts only the gateway for buyer routes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalSettings {
    /// When set, every `/v1/*` request must carry `X-Internal-Token` with this value (the
    /// gateway's `booking.internal_token`), else 401. Required with `profile = prod`.
    pub token: Option<SecretString>,
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
    pub inventory: InventorySettings,
    pub idempotency: IdempotencySettings,
    pub orders: OrderSettings,
    pub tickets: TicketSettings,
    pub door: DoorSettings,
    pub payments: PaymentSettings,
    pub internal: InternalSettings,
}

impl BookingSettings {
    /// The ticket-signing seed (base64): the configured one, or the development one.
    pub fn ticket_signing_key(&self) -> &str {
        use secrecy::ExposeSecret;
        self.tickets
            .signing_key
            .as_ref()
            .map_or(shared::config::dev::TICKET_SIGNING_KEY, |k| {
                k.expose_secret()
            })
    }
}

impl Layered for BookingSettings {
    shared::layered_common!("BOOKING");

    fn secrets(&self) -> Vec<Secret<'_>> {
        let mut secrets = self
            .common()
            .secrets(shared::common_secret_keys!("BOOKING"));
        secrets.extend(Secret::optional(
            "BOOKING__INTERNAL__TOKEN",
            Role::Internal,
            &self.internal.token,
        ));
        secrets.push(Secret {
            key: "BOOKING__TICKETS__SIGNING_KEY",
            role: Role::TicketSigning,
            value: self.ticket_signing_key(),
        });
        secrets.extend(Secret::optional(
            "BOOKING__DOOR__TOKEN",
            Role::Door,
            &self.door.token,
        ));
        secrets
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let h = &self.holds;
        if h.ttl_secs == 0 || h.max_per_user == 0 || h.sweep_batch == 0 || h.sold_marker_hours == 0
        {
            return Err(SettingsError::Invalid(
                "holds: ttl_secs, max_per_user, sweep_batch and sold_marker_hours must be > 0"
                    .into(),
            ));
        }
        let inv = &self.inventory;
        if inv.publish_interval_ms == 0 || inv.full_publish_secs == 0 {
            return Err(SettingsError::Invalid(
                "inventory: publish_interval_ms and full_publish_secs must be > 0".into(),
            ));
        }
        let i = &self.idempotency;
        if i.retention_hours == 0 || i.purge_interval_secs == 0 {
            return Err(SettingsError::Invalid(
                "idempotency: retention_hours and purge_interval_secs must be > 0".into(),
            ));
        }
        if !(1..=shared::contract::admin::MAX_TICKETS_PER_USER)
            .contains(&self.orders.max_tickets_per_user)
        {
            return Err(SettingsError::Invalid(
                "orders: max_tickets_per_user must be 1 to 100".into(),
            ));
        }
        let o = &self.orders;
        if o.cancel_fee_percent > 100 {
            return Err(SettingsError::Invalid(
                "orders: cancel_fee_percent must be 0 to 100".into(),
            ));
        }
        if self.tickets.refund_batch == 0 {
            return Err(SettingsError::Invalid(
                "tickets: refund_batch must be > 0".into(),
            ));
        }
        crate::tickets::signing::TicketKeys::new(
            self.ticket_signing_key(),
            &self.tickets.key_id,
            &self.tickets.retired_keys,
        )
        .map_err(SettingsError::Invalid)?;
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
        if self.profile == Profile::Prod && self.internal.token.is_none() {
            return Err(SettingsError::InsecureProd(
                "BOOKING__INTERNAL__TOKEN is not set: anyone who reaches booking could act as \
                 any buyer"
                    .into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::config::env_of as env;

    #[test]
    fn environment_overrides_defaults() {
        let b = BookingSettings::load_with(
            None,
            env(&[
                ("BOOKING__HOLDS__TTL_SECS", "2"),
                ("BOOKING__HOLDS__MAX_PER_USER", "3"),
                ("BOOKING__HTTP__REQUEST_TIMEOUT_MS", "777"),
            ]),
        )
        .unwrap();
        assert_eq!(b.holds.ttl_secs, 2);
        assert_eq!(b.holds.max_per_user, 3);
        assert_eq!(b.http.request_timeout_ms, 777);
        assert_eq!(b.http.addr.port(), 8081);
    }

    const STRONG_PROD: &[(&str, &str)] = &[
        ("BOOKING__PROFILE", "prod"),
        ("BOOKING__JWT__SECRET", "q7Lr2vX9mKp4Tz8wYc1Nf6Hb3Dj5Gs0R"),
        ("BOOKING__ADMIN__TOKEN", "op-3Kd8Wq2Zx7Mv4Rb9Nc5Ht1"),
        (
            "BOOKING__INTERNAL__TOKEN",
            "in-5Rt8Wq2Zx7Mv4Kb9Nc3Hd6Fs1Lp0Yj",
        ),
        (
            "BOOKING__TICKETS__SIGNING_KEY",
            "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=",
        ),
    ];

    #[test]
    fn prod_refuses_weak_secrets_and_a_missing_internal_token_and_names_the_key() {
        assert!(BookingSettings::load_with(None, env(STRONG_PROD)).is_ok());
        let err =
            BookingSettings::load_with(None, env(&[("BOOKING__PROFILE", "prod")])).unwrap_err();
        assert!(matches!(err, SettingsError::InsecureProd(_)), "{err}");
        for (key, value) in [
            ("BOOKING__INTERNAL__TOKEN", ""),
            ("BOOKING__INTERNAL__TOKEN", "short"),
            (
                "BOOKING__INTERNAL__TOKEN",
                "q7Lr2vX9mKp4Tz8wYc1Nf6Hb3Dj5Gs0R",
            ),
            ("BOOKING__ADMIN__TOKEN", "dev-admin-token"),
            // Missing: the development seed, refused.
            ("BOOKING__TICKETS__SIGNING_KEY", ""),
            (
                "BOOKING__TICKETS__SIGNING_KEY",
                shared::config::dev::TICKET_SIGNING_KEY,
            ),
            (
                "BOOKING__JWT__SECRET",
                "a-placeholder-secret-that-is-long-enough",
            ),
        ] {
            let vars: Vec<(&str, &str)> = STRONG_PROD
                .iter()
                .copied()
                .filter(|(k, _)| *k != key)
                .chain((!value.is_empty()).then_some((key, value)))
                .collect();
            match BookingSettings::load_with(None, env(&vars)) {
                Err(SettingsError::InsecureProd(why)) => assert!(why.contains(key), "{why}"),
                other => panic!("{key}={value} was not refused: {other:?}"),
            }
        }
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
