//! The SQL of the inventory (migration 0009): folding the deltas the seat triggers append,
//! and a concert's totals.

use sqlx::PgConnection;

/// A concert's seats: in total, held (live or expired but not swept yet), sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Totals {
    pub concert_id: i64,
    pub total: i64,
    pub held: i64,
    pub sold: i64,
}

/// Folds the pending deltas into the schedules' rows; returns the concerts they changed.
/// Deltas appended meanwhile (after this statement's snapshot) stay for the next fold.
pub async fn fold(conn: &mut PgConnection) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "WITH moved AS (
             DELETE FROM inventory_deltas RETURNING schedule_id, d_total, d_held, d_sold),
         sums AS (
             SELECT schedule_id, sum(d_total) AS t, sum(d_held) AS h, sum(d_sold) AS s
             FROM moved GROUP BY schedule_id),
         folded AS (
             UPDATE schedule_inventory i
                SET total = i.total + sums.t, held = i.held + sums.h, sold = i.sold + sums.s
               FROM sums WHERE i.schedule_id = sums.schedule_id
             RETURNING i.concert_id)
         SELECT DISTINCT concert_id FROM folded",
    )
    .fetch_all(conn)
    .await
}

/// The totals of `concerts` (every concert when `None`), pending deltas included.
pub async fn totals(
    conn: &mut PgConnection,
    concerts: Option<&[i64]>,
) -> sqlx::Result<Vec<Totals>> {
    sqlx::query_as(
        "SELECT i.concert_id,
                sum(i.total + coalesce(d.t, 0))::BIGINT AS total,
                sum(i.held + coalesce(d.h, 0))::BIGINT AS held,
                sum(i.sold + coalesce(d.s, 0))::BIGINT AS sold
         FROM schedule_inventory i
         LEFT JOIN (SELECT schedule_id, sum(d_total) AS t, sum(d_held) AS h, sum(d_sold) AS s
                    FROM inventory_deltas GROUP BY schedule_id) d USING (schedule_id)
         WHERE $1::BIGINT[] IS NULL OR i.concert_id = ANY ($1)
         GROUP BY i.concert_id",
    )
    .bind(concerts)
    .fetch_all(conn)
    .await
}
