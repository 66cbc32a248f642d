//! A concert's inventory — seats in total, held and sold — published to the gateways.
//!
//! The counters are kept by triggers on `seats` (migration 0009): every statement that
//! creates, holds, releases, expires or sells seats appends its delta, so they never drift
//! from the seats (the auditor checks it) and add no lock to holds and payments. This
//! publisher, every `inventory.publish_interval_ms` (1 s), folds the deltas and writes the
//! changed concerts' totals to Redis (`<p>q:{c}:inv`), where the gateways' scripts read
//! them: seats left (`total - held - sold`: an expired hold counts as held until the
//! sweeper resets it, within a second) and sold out (`sold = total`). Every
//! `inventory.full_publish_secs` (30 s) it writes every concert, so a Redis that lost its
//! data has the figures back soon after.

pub mod store;

use std::time::{Duration, Instant};

use shared::store::{Inventory, Store};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Runs until `cancel` is cancelled.
pub async fn run(
    db: PgPool,
    redis: Store,
    every: Duration,
    full_every: Duration,
    cancel: CancellationToken,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_full: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let full = last_full.is_none_or(|at| at.elapsed() >= full_every);
        match publish_once(&db, &redis, full).await {
            Ok(n) => {
                if full {
                    last_full = Some(Instant::now());
                }
                if n > 0 {
                    metrics::counter!("booking_inventory_published_total").increment(n as u64);
                }
            }
            Err(e) => tracing::warn!(error = %e, "inventory publish failed; will retry"),
        }
    }
}

/// One round: fold the deltas, publish the changed concerts (every concert when `full`).
/// Returns how many concerts were published.
pub async fn publish_once(db: &PgPool, redis: &Store, full: bool) -> anyhow::Result<usize> {
    let mut tx = db.begin().await?;
    let changed = store::fold(&mut tx).await?;
    let totals = if full {
        store::totals(&mut tx, None).await?
    } else if changed.is_empty() {
        Vec::new()
    } else {
        store::totals(&mut tx, Some(&changed)).await?
    };
    tx.commit().await?;
    let published: Vec<(i64, Inventory)> = totals
        .iter()
        .map(|t| {
            let count = |n: i64| u64::try_from(n).unwrap_or(0);
            (
                t.concert_id,
                Inventory {
                    total: count(t.total),
                    held: count(t.held),
                    sold: count(t.sold),
                },
            )
        })
        .collect();
    for chunk in published.chunks(1_000) {
        redis.publish_inventory(chunk).await?;
    }
    Ok(published.len())
}
