//! The SQL of payments: one call of `pay_reservations` (a lone payment) or of
//! `pay_reservations_batch` (a group, one transaction). The functions themselves — the
//! checks, the lock order, the writes — are in migrations 0002–0004; their output columns
//! are renamed here, so no PL/pgSQL name leaks into Rust.

use sqlx::PgPool;
use uuid::Uuid;

use super::batch::PayCall;

/// What `pay_reservations` returns: the response to send and, for a new payment, the
/// seats it sold (in reservation id order) and the amount.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PayRow {
    /// The key was used before with the same request: `body` is the saved answer.
    pub replayed: bool,
    pub status: i16,
    pub body: serde_json::Value,
    pub schedule_ids: Option<Vec<i64>>,
    pub seat_nos: Option<Vec<i32>>,
    pub amount: Option<i64>,
}

/// One payment's row of `pay_reservations_batch`: [`PayRow`]'s columns, or the SQLSTATE
/// and DETAIL of the error that refused it (all else NULL).
#[derive(Debug, sqlx::FromRow)]
pub struct GroupRow {
    pub replayed: Option<bool>,
    pub status: Option<i16>,
    pub body: Option<serde_json::Value>,
    pub schedule_ids: Option<Vec<i64>>,
    pub seat_nos: Option<Vec<i32>>,
    pub amount: Option<i64>,
    pub sqlstate: Option<String>,
    pub detail: Option<String>,
}

/// One payment in its own transaction.
pub async fn pay_one(db: &PgPool, call: &PayCall) -> sqlx::Result<PayRow> {
    sqlx::query_as(
        "SELECT o_replayed AS replayed, o_status AS status, o_body AS body,
                o_schedule_ids AS schedule_ids, o_seat_nos AS seat_nos, o_amount AS amount
         FROM pay_reservations($1, $2, $3, $4, $5, $6)",
    )
    .bind(call.user_id)
    .bind(call.concert_id)
    .bind(&call.reservation_ids)
    .bind(&call.key)
    .bind(&call.request_hash)
    .bind(call.payment_id)
    .fetch_one(db)
    .await
}

/// A group in one transaction: one row per payment, in group order.
pub async fn pay_group(db: &PgPool, group: &[&PayCall]) -> sqlx::Result<Vec<GroupRow>> {
    let calls = group.iter().copied();
    let users: Vec<i64> = calls.clone().map(|c| c.user_id).collect();
    let concerts: Vec<i64> = calls.clone().map(|c| c.concert_id).collect();
    let counts: Vec<i32> = calls
        .clone()
        .map(|c| c.reservation_ids.len() as i32)
        .collect();
    let ids: Vec<Uuid> = calls
        .clone()
        .flat_map(|c| c.reservation_ids.iter().copied())
        .collect();
    let keys: Vec<&str> = calls.clone().map(|c| c.key.as_str()).collect();
    let hashes: Vec<&str> = calls.clone().map(|c| c.request_hash.as_str()).collect();
    let payments: Vec<Uuid> = calls.map(|c| c.payment_id).collect();
    sqlx::query_as(
        "SELECT o_replayed AS replayed, o_status AS status, o_body AS body,
                o_schedule_ids AS schedule_ids, o_seat_nos AS seat_nos, o_amount AS amount,
                o_sqlstate AS sqlstate, o_detail AS detail
         FROM pay_reservations_batch($1, $2, $3, $4, $5, $6, $7)
         ORDER BY o_idx",
    )
    .bind(users)
    .bind(concerts)
    .bind(counts)
    .bind(ids)
    .bind(keys)
    .bind(hashes)
    .bind(payments)
    .fetch_all(db)
    .await
}
