//! The SQL of rooms' durable settings.

use shared::contract::rooms::{RoomChange, RoomSettings, StoredRoom};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};

use crate::error::{ApiError, ApiResult};

/// The stored room of a concert booking knows; `None` for an unknown concert.
pub async fn find(db: &PgPool, concert_id: i64) -> sqlx::Result<Option<StoredRoom>> {
    let row: Option<(Option<Json<RoomSettings>>, Option<i64>)> = sqlx::query_as(
        "SELECT r.settings, r.version
         FROM concerts c LEFT JOIN rooms r ON r.concert_id = c.id
         WHERE c.id = $1",
    )
    .bind(concert_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(settings, version)| StoredRoom {
        concert_id,
        settings: settings.map(|s| s.0),
        version: version.unwrap_or(0) as u64,
    }))
}

/// Applies `change` to the stored settings (to `change.defaults` when there are none yet)
/// and counts it; `None` for an unknown concert, 400 when a derived value is out of range.
/// Concurrent changes apply one after the other (the row is locked), none lost.
pub async fn change(
    conn: &mut PgConnection,
    concert_id: i64,
    change: &RoomChange,
) -> ApiResult<Option<StoredRoom>> {
    sqlx::query(
        "INSERT INTO rooms (concert_id, settings, version)
         SELECT id, $2, 0 FROM concerts WHERE id = $1
         ON CONFLICT (concert_id) DO NOTHING",
    )
    .bind(concert_id)
    .bind(Json(change.defaults))
    .execute(&mut *conn)
    .await?;
    let current: Option<(Json<RoomSettings>, i64)> =
        sqlx::query_as("SELECT settings, version FROM rooms WHERE concert_id = $1 FOR UPDATE")
            .bind(concert_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((Json(settings), version)) = current else {
        return Ok(None);
    };
    let settings = settings.patched(&change.patch).map_err(ApiError::Invalid)?;
    let version = version + 1;
    sqlx::query(
        "UPDATE rooms SET settings = $2, version = $3, updated_at = now() WHERE concert_id = $1",
    )
    .bind(concert_id)
    .bind(Json(settings))
    .bind(version)
    .execute(&mut *conn)
    .await?;
    Ok(Some(StoredRoom {
        concert_id,
        settings: Some(settings),
        version: version as u64,
    }))
}
