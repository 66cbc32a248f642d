//! The SQL of concerts and schedules.

use shared::contract::concerts::{ConcertView, ScheduleSummary, ScheduleView};
use sqlx::PgConnection;

use crate::state::ScheduleInfo;

pub async fn title(conn: &mut PgConnection, concert_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT title FROM concerts WHERE id = $1")
        .bind(concert_id)
        .fetch_optional(conn)
        .await
}

/// Concerts with a show still ahead, soonest first (at most 100), each with all its
/// schedules.
pub async fn on_sale(conn: &mut PgConnection) -> sqlx::Result<Vec<ConcertView>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT c.id, c.title FROM concerts c
         JOIN schedules s ON s.concert_id = c.id AND s.starts_at > now()
         GROUP BY c.id, c.title
         ORDER BY min(s.starts_at), c.id
         LIMIT 100",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut concerts = Vec::with_capacity(rows.len());
    for (concert_id, title) in rows {
        concerts.push(ConcertView {
            concert_id,
            title,
            schedules: all_schedules(&mut *conn, concert_id).await?,
        });
    }
    Ok(concerts)
}

/// Every schedule of the concert, bookable or not, earliest first.
pub async fn all_schedules(
    conn: &mut PgConnection,
    concert_id: i64,
) -> sqlx::Result<Vec<ScheduleSummary>> {
    sqlx::query_as(
        "SELECT id AS schedule_id, starts_at FROM schedules WHERE concert_id = $1
         ORDER BY starts_at, id",
    )
    .bind(concert_id)
    .fetch_all(conn)
    .await
}

/// Schedules still open for booking and in the future, with their available seats now.
pub async fn bookable_schedules(
    conn: &mut PgConnection,
    concert_id: i64,
) -> sqlx::Result<Vec<ScheduleView>> {
    sqlx::query_as(
        "SELECT s.id AS schedule_id, s.starts_at, s.total_seats,
                (SELECT count(*) FROM seats t WHERE t.schedule_id = s.id
                   AND seat_status_now(t.status, t.held_until) = 'AVAILABLE') AS available_seats
         FROM schedules s
         WHERE s.concert_id = $1 AND s.bookable AND s.starts_at > now()
         ORDER BY s.starts_at, s.id",
    )
    .bind(concert_id)
    .fetch_all(conn)
    .await
}

pub async fn schedule_info(
    conn: &mut PgConnection,
    schedule_id: i64,
) -> sqlx::Result<Option<ScheduleInfo>> {
    let row: Option<(i64, i32, chrono::DateTime<chrono::Utc>, i32)> = sqlx::query_as(
        "SELECT s.concert_id, s.total_seats, s.starts_at, c.max_tickets_per_user
         FROM schedules s JOIN concerts c ON c.id = s.concert_id WHERE s.id = $1",
    )
    .bind(schedule_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(
        |(concert_id, total_seats, starts_at, max_tickets_per_user)| ScheduleInfo {
            concert_id,
            total_seats,
            starts_at,
            max_tickets_per_user,
        },
    ))
}
