//! Idempotent requests (payments, point charges), after zero2prod's idempotency module.
//!
//! The key row is inserted in the SAME transaction as the effect and updated with the
//! response before commit. A concurrent request with the same key blocks on the primary
//! key until the first commits (then replays its response) or rolls back (then runs
//! itself). A request that failed leaves no row, so retrying it runs it again. The same
//! key with a different body is refused with 422 `IDEMPOTENCY_KEY_REUSED`.
//!
//! Saved answers are kept `idempotency.retention_hours` (default 48): a retry within that
//! time gets the saved answer; older records are deleted by [`run_purge`] every
//! `idempotency.purge_interval_secs`, a bounded batch per statement so the table never
//! grows with the history of every request ever made (`booking_idempotency_purged_total`).

use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::error::{ApiError, ApiResult};

pub const HEADER: &str = "idempotency-key";

/// A validated `Idempotency-Key`: 1–255 visible ASCII characters.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn from_headers(headers: &HeaderMap) -> ApiResult<Self> {
        let value = headers
            .get(HEADER)
            .ok_or_else(|| ApiError::Invalid("the `Idempotency-Key` header is required".into()))?;
        let key = value
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                ApiError::Invalid("`Idempotency-Key` must be 1-255 visible ASCII characters".into())
            })?;
        Ok(Self(key.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Fingerprint of the request a key was first used with.
pub fn fingerprint(request: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(request).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

pub enum Begin {
    /// First use: perform the request, then [`save`] its response.
    New,
    /// Seen before with the same request: answer this again.
    Replay(StatusCode, serde_json::Value),
}

/// Claims `key` for this request inside the caller's transaction.
pub async fn begin(
    conn: &mut PgConnection,
    user_id: i64,
    scope: &str,
    key: &IdempotencyKey,
    fingerprint: &str,
) -> ApiResult<Begin> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency (user_id, scope, key, request_hash, status, body)
         VALUES ($1, $2, $3, $4, 0, 'null') ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(scope)
    .bind(key.as_str())
    .bind(fingerprint)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Begin::New);
    }
    match saved(conn, user_id, scope, key, fingerprint).await? {
        Some((status, body)) => Ok(Begin::Replay(status, body)),
        None => Err(ApiError::Internal(anyhow::anyhow!(
            "idempotency key conflicted but no row was found"
        ))),
    }
}

/// The saved answer to `key` (same request), or `None` when the key was never used;
/// 422 when it was used with another request.
pub async fn saved(
    conn: &mut PgConnection,
    user_id: i64,
    scope: &str,
    key: &IdempotencyKey,
    fingerprint: &str,
) -> ApiResult<Option<(StatusCode, serde_json::Value)>> {
    let row: Option<(String, i16, serde_json::Value)> = sqlx::query_as(
        "SELECT request_hash, status, body FROM idempotency
         WHERE user_id = $1 AND scope = $2 AND key = $3",
    )
    .bind(user_id)
    .bind(scope)
    .bind(key.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((hash, status, body)) = row else {
        return Ok(None);
    };
    if hash != fingerprint {
        return Err(ApiError::IdempotencyKeyReused);
    }
    let status = StatusCode::from_u16(status as u16)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("stored idempotent status {status}")))?;
    Ok(Some((status, body)))
}

/// Stores the response of a request begun with [`begin`].
pub async fn save(
    conn: &mut PgConnection,
    user_id: i64,
    scope: &str,
    key: &IdempotencyKey,
    status: StatusCode,
    body: &serde_json::Value,
) -> ApiResult<()> {
    sqlx::query(
        "UPDATE idempotency SET status = $4, body = $5
         WHERE user_id = $1 AND scope = $2 AND key = $3",
    )
    .bind(user_id)
    .bind(scope)
    .bind(key.as_str())
    .bind(status.as_u16() as i16)
    .bind(body)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Rows deleted per statement of a purge.
const PURGE_BATCH: i64 = 10_000;

/// Deletes saved answers older than `retention_hours`; returns how many.
pub async fn purge(db: &PgPool, retention_hours: u64) -> sqlx::Result<u64> {
    let mut purged = 0;
    loop {
        let n = sqlx::query(
            "DELETE FROM idempotency WHERE ctid = ANY (ARRAY(
                 SELECT ctid FROM idempotency
                 WHERE created_at < now() - make_interval(hours => $1)
                 LIMIT $2))",
        )
        .bind(i32::try_from(retention_hours).unwrap_or(i32::MAX))
        .bind(PURGE_BATCH)
        .execute(db)
        .await?
        .rows_affected();
        purged += n;
        if n < PURGE_BATCH as u64 {
            return Ok(purged);
        }
    }
}

/// Purges every `interval` until `cancel` (see the module docs).
pub async fn run_purge(
    db: PgPool,
    retention_hours: u64,
    interval: std::time::Duration,
    cancel: CancellationToken,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match purge(&db, retention_hours).await {
            Ok(0) => {}
            Ok(n) => {
                metrics::counter!("booking_idempotency_purged_total").increment(n);
                tracing::info!(purged = n, "purged old idempotency records");
            }
            Err(e) => tracing::warn!(error = %e, "idempotency purge failed; will retry"),
        }
    }
}
