//! Shared application state: pools, settings, the queue store, cloned cheaply per request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use shared::service::probes::Probes;
use shared::store::Store;
use shared::token::TokenKeys;
use sqlx::PgPool;

use crate::payments::batch::PaymentBatcher;
use crate::settings::BookingSettings;

/// What a schedule never changes after creation: cached so a hold attempt that loses at the
/// Redis gate never touches PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleInfo {
    pub concert_id: i64,
    pub total_seats: i32,
    /// When the show starts: no hold from then on.
    pub starts_at: chrono::DateTime<chrono::Utc>,
    /// The concert's ticket limit per buyer.
    pub max_tickets_per_user: i32,
}

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    /// Seat locks and admissions in Redis.
    pub store: Store,
    pub tokens: Arc<TokenKeys>,
    pub settings: Arc<BookingSettings>,
    pub schedules: Arc<RwLock<HashMap<i64, ScheduleInfo>>>,
    /// Each schedule's sections with their counts, at most a second old.
    pub sections: crate::seats::SectionsCache,
    /// Runs payments, committing those that arrive together in one transaction.
    pub payments: PaymentBatcher,
    /// Signs tickets' codes and verifies them at the door.
    pub ticket_keys: Arc<crate::tickets::signing::TicketKeys>,
    /// Wakes the refunds of cancelled shows.
    pub refunds: Arc<tokio::sync::Notify>,
}

impl AppState {
    pub fn new(
        settings: BookingSettings,
        db: PgPool,
        store: Store,
        payments: PaymentBatcher,
    ) -> Self {
        let ticket_keys = crate::tickets::signing::TicketKeys::new(
            settings.ticket_signing_key(),
            &settings.tickets.key_id,
            &settings.tickets.retired_keys,
        )
        .expect("ticket keys are checked when the settings load");
        Self {
            db,
            store,
            tokens: Arc::new(TokenKeys::new(&settings.jwt)),
            ticket_keys: Arc::new(ticket_keys),
            refunds: Arc::new(tokio::sync::Notify::new()),
            settings: Arc::new(settings),
            schedules: Arc::new(RwLock::new(HashMap::new())),
            sections: Default::default(),
            payments,
        }
    }
}

/// `/readyz`: PostgreSQL answers a query and Redis a PING, checked concurrently.
impl Probes for AppState {
    async fn check(&self) -> Vec<(&'static str, bool)> {
        let (postgres, redis) = tokio::join!(
            sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&self.db),
            self.store.redis().ping()
        );
        vec![("postgres", postgres.is_ok()), ("redis", redis.is_ok())]
    }

    /// `db_pool_connections{state="idle"|"in_use"}`, `db_pool_max_connections`, and the
    /// Redis pool's usage.
    fn record_usage(&self) {
        let size = self.db.size() as f64;
        let idle = self.db.num_idle() as f64;
        metrics::gauge!("db_pool_connections", "state" => "idle").set(idle);
        metrics::gauge!("db_pool_connections", "state" => "in_use").set((size - idle).max(0.0));
        metrics::gauge!("db_pool_max_connections")
            .set(self.db.options().get_max_connections() as f64);
        self.store.redis().record_usage();
    }
}
