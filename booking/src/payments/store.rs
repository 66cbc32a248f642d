//! The SQL of payments: one call of `pay_reservations` (a lone payment) or of
//! `pay_reservations_batch` (a group, one transaction). The functions themselves — the
//! checks, the lock order, the writes — are in `booking/sql/functions/`; their output
//! columns are renamed here, so no PL/pgSQL name leaks into Rust.

use chrono::{DateTime, Utc};
use shared::contract::payments::PaidSeat;
use sqlx::{PgConnection, PgPool};
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

/// A payment's row.
#[derive(Debug, sqlx::FromRow)]
pub struct PaymentRow {
    pub user_id: i64,
    pub concert_id: i64,
    pub amount: i64,
    pub paid_at: DateTime<Utc>,
}

pub async fn payment(
    conn: &mut PgConnection,
    payment_id: Uuid,
) -> sqlx::Result<Option<PaymentRow>> {
    sqlx::query_as("SELECT user_id, concert_id, amount, paid_at FROM payments WHERE id = $1")
        .bind(payment_id)
        .fetch_optional(conn)
        .await
}

/// The seats a payment bought, by reservation id.
pub async fn paid_seats(conn: &mut PgConnection, payment_id: Uuid) -> sqlx::Result<Vec<PaidSeat>> {
    sqlx::query_as(
        "SELECT r.id AS reservation_id, r.schedule_id, s.starts_at, r.seat_no, r.price
         FROM reservations r JOIN schedules s ON s.id = r.schedule_id
         WHERE r.payment_id = $1 ORDER BY r.id",
    )
    .bind(payment_id)
    .fetch_all(conn)
    .await
}

/// Every reservation of an order (whatever its status: a replay of the order's payment
/// names the same ones).
pub async fn order_reservations(
    conn: &mut PgConnection,
    order_id: Uuid,
) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar("SELECT id FROM reservations WHERE order_id = $1 ORDER BY id")
        .bind(order_id)
        .fetch_all(conn)
        .await
}
