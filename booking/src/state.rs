//! Shared application state: pools, settings, keys and scripts, cloned cheaply per request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use redis::Script;
use shared::config::BookingSettings;
use shared::keys::Keys;
use shared::redis::RedisPool;
use shared::token::TokenKeys;
use sqlx::PgPool;

use crate::payments::batch::{Cleanup, PaymentBatcher};

/// What a schedule never changes after creation: cached so a hold attempt that loses at the
/// Redis gate never touches PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleInfo {
    pub concert_id: i64,
    pub total_seats: i32,
}

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub redis: RedisPool,
    pub keys: Keys,
    pub tokens: Arc<TokenKeys>,
    pub settings: Arc<BookingSettings>,
    pub scripts: Arc<Scripts>,
    pub schedules: Arc<RwLock<HashMap<i64, ScheduleInfo>>>,
    /// Runs payments, committing those that arrive together in one transaction.
    pub payments: PaymentBatcher,
}

pub struct Scripts {
    pub release_hold: Script,
    pub end_admission: Script,
}

impl AppState {
    /// Starts the payment workers: call inside the runtime.
    pub fn new(settings: BookingSettings, db: PgPool, redis: RedisPool) -> Self {
        let keys = Keys::new(settings.redis.key_prefix.clone());
        let scripts = Arc::new(Scripts {
            release_hold: Script::new(include_str!("../lua/release_hold.lua")),
            end_admission: shared::redis::end_admission_script(),
        });
        let cleanup = Cleanup {
            redis: redis.clone(),
            keys: keys.clone(),
            scripts: scripts.clone(),
        };
        let payments = PaymentBatcher::start(
            db.clone(),
            cleanup,
            settings.payments.batch_workers,
            settings.payments.batch_max,
        );
        Self {
            db,
            redis,
            keys,
            tokens: Arc::new(TokenKeys::new(&settings.jwt)),
            scripts,
            settings: Arc::new(settings),
            schedules: Arc::new(RwLock::new(HashMap::new())),
            payments,
        }
    }
}
