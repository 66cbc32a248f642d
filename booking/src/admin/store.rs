//! The SQL of the operator API.

use chrono::{DateTime, Utc};
use shared::contract::admin::ScheduleSales;
use sqlx::PgConnection;

pub async fn insert_concert(
    conn: &mut PgConnection,
    title: &str,
    max_tickets_per_user: i32,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO concerts (title, max_tickets_per_user) VALUES ($1, $2) RETURNING id",
    )
    .bind(title)
    .bind(max_tickets_per_user)
    .fetch_one(conn)
    .await
}

/// A schedule row (its seats are [`crate::venues::store::insert_seats`]').
pub async fn insert_schedule(
    conn: &mut PgConnection,
    concert_id: i64,
    starts_at: DateTime<Utc>,
    cancel_until: DateTime<Utc>,
    seats: i32,
    venue_id: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO schedules (concert_id, starts_at, total_seats, venue_id, cancel_until)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(concert_id)
    .bind(starts_at)
    .bind(seats)
    .bind(venue_id)
    .bind(cancel_until)
    .fetch_one(conn)
    .await
}

pub async fn concert(
    conn: &mut PgConnection,
    concert_id: i64,
) -> sqlx::Result<Option<(String, DateTime<Utc>)>> {
    sqlx::query_as("SELECT title, created_at FROM concerts WHERE id = $1")
        .bind(concert_id)
        .fetch_optional(conn)
        .await
}

/// Per schedule: seats available / held / sold as of now, and the revenue.
pub async fn sales(conn: &mut PgConnection, concert_id: i64) -> sqlx::Result<Vec<ScheduleSales>> {
    sqlx::query_as(
        "SELECT s.id AS schedule_id, s.starts_at, s.total_seats,
                count(*) FILTER (WHERE seat_status_now(t.status, t.held_until) = 'AVAILABLE')
                  AS available_seats,
                count(*) FILTER (WHERE seat_status_now(t.status, t.held_until) = 'HELD')
                  AS held_seats,
                count(*) FILTER (WHERE t.status = 'SOLD') AS sold_seats,
                COALESCE(sum(t.price) FILTER (WHERE t.status = 'SOLD'), 0)::BIGINT AS revenue
         FROM schedules s JOIN seats t ON t.schedule_id = s.id
         WHERE s.concert_id = $1
         GROUP BY s.id ORDER BY s.starts_at, s.id",
    )
    .bind(concert_id)
    .fetch_all(conn)
    .await
}

pub async fn payments(conn: &mut PgConnection, concert_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM payments WHERE concert_id = $1")
        .bind(concert_id)
        .fetch_one(conn)
        .await
}
