//! The SQL of venues, and of the seats a schedule gets from a layout.

use std::collections::BTreeMap;

use shared::contract::admin::{VenueSection, VenueSummary, VenueView};
use sqlx::types::Json;
use sqlx::PgConnection;

use super::places;

pub async fn insert(
    conn: &mut PgConnection,
    name: &str,
    seats: i64,
    sections: &[VenueSection],
) -> sqlx::Result<i64> {
    sqlx::query_scalar("INSERT INTO venues (name, seats, layout) VALUES ($1, $2, $3) RETURNING id")
        .bind(name)
        .bind(seats as i32)
        .bind(Json(sections))
        .fetch_one(conn)
        .await
}

pub async fn list(conn: &mut PgConnection) -> sqlx::Result<Vec<VenueSummary>> {
    sqlx::query_as(
        "SELECT id AS venue_id, name, seats::BIGINT AS seats FROM venues ORDER BY id DESC LIMIT 1000",
    )
    .fetch_all(conn)
    .await
}

pub async fn find(conn: &mut PgConnection, venue_id: i64) -> sqlx::Result<Option<VenueView>> {
    let row: Option<(String, i32, Json<Vec<VenueSection>>)> =
        sqlx::query_as("SELECT name, seats, layout FROM venues WHERE id = $1")
            .bind(venue_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(name, seats, Json(sections))| VenueView {
        venue_id,
        name,
        seats: i64::from(seats),
        sections,
    }))
}

/// A venue's layout, for a schedule on it.
pub async fn layout(
    conn: &mut PgConnection,
    venue_id: i64,
) -> sqlx::Result<Option<Vec<VenueSection>>> {
    Ok(find(conn, venue_id).await?.map(|v| v.sections))
}

/// The seats of a new schedule: one row per seat of `sections`, priced by grade, in one
/// statement (100,000 seats included).
pub async fn insert_seats(
    conn: &mut PgConnection,
    schedule_id: i64,
    sections: &[VenueSection],
    prices: &BTreeMap<String, i64>,
) -> sqlx::Result<()> {
    let places = places(sections);
    let seat_nos: Vec<i32> = places.iter().map(|p| p.seat_no).collect();
    let section: Vec<&str> = places.iter().map(|p| p.section.as_str()).collect();
    let rows: Vec<&str> = places.iter().map(|p| p.row.as_str()).collect();
    let numbers: Vec<i32> = places.iter().map(|p| p.number).collect();
    let grades: Vec<&str> = places.iter().map(|p| p.grade.as_str()).collect();
    let price: Vec<i64> = places.iter().map(|p| prices[&p.grade]).collect();
    sqlx::query(
        "INSERT INTO seats (schedule_id, seat_no, section, row_label, number, grade, price)
         SELECT $1, * FROM unnest($2::INT[], $3::TEXT[], $4::TEXT[], $5::INT[], $6::TEXT[],
                                  $7::BIGINT[])",
    )
    .bind(schedule_id)
    .bind(seat_nos)
    .bind(section)
    .bind(rows)
    .bind(numbers)
    .bind(grades)
    .bind(price)
    .execute(conn)
    .await
    .map(drop)
}
