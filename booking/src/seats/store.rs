//! The SQL of seat maps and sections.

use chrono::{DateTime, Utc};
use shared::contract::seats::{SeatView, SectionRow, SectionView};
use sqlx::PgConnection;

/// The seats of the schedule (of one section when given) by number, with their status as
/// buyers see it now.
pub async fn seat_map(
    conn: &mut PgConnection,
    schedule_id: i64,
    section: Option<&str>,
) -> sqlx::Result<Vec<SeatView>> {
    sqlx::query_as(
        "SELECT seat_no, price, seat_status_now(status, held_until) AS status, section,
                row_label AS row, number, grade
         FROM seats WHERE schedule_id = $1 AND ($2::TEXT IS NULL OR section = $2)
         ORDER BY seat_no",
    )
    .bind(schedule_id)
    .bind(section)
    .fetch_all(conn)
    .await
}

#[derive(sqlx::FromRow)]
struct RowCount {
    section: String,
    row_label: String,
    grade: String,
    price: i64,
    total: i64,
    available: i64,
}

/// The schedule's sections in layout order with their rows, counted now (one pass over
/// its seats), and the database's time of the count.
pub async fn sections(
    conn: &mut PgConnection,
    schedule_id: i64,
) -> sqlx::Result<(Vec<SectionView>, DateTime<Utc>)> {
    let rows: Vec<RowCount> = sqlx::query_as(
        "SELECT section, row_label, min(grade) AS grade, min(price) AS price,
                count(*) AS total,
                count(*) FILTER (WHERE seat_status_now(status, held_until) = 'AVAILABLE')
                  AS available
         FROM seats WHERE schedule_id = $1
         GROUP BY section, row_label ORDER BY min(seat_no)",
    )
    .bind(schedule_id)
    .fetch_all(&mut *conn)
    .await?;
    let as_of: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(conn).await?;
    let mut sections: Vec<SectionView> = Vec::new();
    for r in rows {
        let row = SectionRow {
            row: r.row_label,
            seats: r.total,
        };
        match sections.iter_mut().find(|s| s.section == r.section) {
            Some(s) => {
                s.total += r.total;
                s.available += r.available;
                s.rows.push(row);
            }
            None => sections.push(SectionView {
                section: r.section,
                grade: r.grade,
                price: r.price,
                total: r.total,
                available: r.available,
                rows: vec![row],
            }),
        }
    }
    Ok((sections, as_of))
}
