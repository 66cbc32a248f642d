//! The SQL of points.

use shared::contract::points::HistoryEntry;
use sqlx::PgConnection;

pub async fn balance(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT balance FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// Adds `amount` to the balance (creating the user) and returns the new balance; the
/// `balance_max` CHECK refuses an overflow.
pub async fn credit(conn: &mut PgConnection, user_id: i64, amount: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO users (id, balance) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET balance = users.balance + EXCLUDED.balance, updated_at = now()
         RETURNING balance",
    )
    .bind(user_id)
    .bind(amount)
    .fetch_one(conn)
    .await
}

/// Appends a CHARGE history row.
pub async fn record_charge(
    conn: &mut PgConnection,
    user_id: i64,
    amount: i64,
    balance_after: i64,
    reference: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO point_history (user_id, kind, amount, balance_after, reference)
         VALUES ($1, 'CHARGE', $2, $3, $4)",
    )
    .bind(user_id)
    .bind(amount)
    .bind(balance_after)
    .bind(reference)
    .execute(conn)
    .await
    .map(drop)
}

/// One page of history, newest first: entries with an id below `before` when given.
pub async fn history(
    conn: &mut PgConnection,
    user_id: i64,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<HistoryEntry>> {
    sqlx::query_as(
        "SELECT id, kind, amount, balance_after, at, reference FROM point_history
         WHERE user_id = $1 AND ($2::BIGINT IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3",
    )
    .bind(user_id)
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await
}
