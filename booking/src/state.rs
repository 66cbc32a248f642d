//! Shared application state: pools, settings, keys and scripts, cloned cheaply per request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use redis::Script;
use shared::config::BookingSettings;
use shared::keys::Keys;
use shared::redis::RedisPool;
use shared::token::TokenKeys;
use sqlx::PgPool;

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
}

pub struct Scripts {
    pub release_hold: Script,
    pub end_admission: Script,
}

impl AppState {
    pub fn new(settings: BookingSettings, db: PgPool, redis: RedisPool) -> Self {
        Self {
            db,
            redis,
            keys: Keys::new(settings.redis.key_prefix.clone()),
            tokens: Arc::new(TokenKeys::new(&settings.jwt)),
            scripts: Arc::new(Scripts {
                release_hold: Script::new(include_str!("../lua/release_hold.lua")),
                end_admission: shared::redis::end_admission_script(),
            }),
            settings: Arc::new(settings),
            schedules: Arc::new(RwLock::new(HashMap::new())),
        }
    }
}
