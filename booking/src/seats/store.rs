//! The SQL of seat maps.

use shared::contract::seats::SeatView;
use sqlx::PgConnection;

/// Every seat of the schedule by number, with its status as buyers see it now.
pub async fn seat_map(conn: &mut PgConnection, schedule_id: i64) -> sqlx::Result<Vec<SeatView>> {
    sqlx::query_as(
        "SELECT seat_no, price, seat_status_now(status, held_until) AS status
         FROM seats WHERE schedule_id = $1 ORDER BY seat_no",
    )
    .bind(schedule_id)
    .fetch_all(conn)
    .await
}
