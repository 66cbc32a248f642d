//! The SQL of rooms' durable settings.

use chrono::Utc;
use shared::contract::rooms::{RoomChange, RoomSettings, StoredRoom};
use shared::draw;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};

use crate::error::{ApiError, ApiResult};

/// A concert's row: its room's settings, version and seed (all null without a room).
type RoomRow = (Option<Json<RoomSettings>>, Option<i64>, Option<Vec<u8>>);
/// A room's row, locked for a change: settings, version, seed, the last config digest.
type LockedRoom = (Json<RoomSettings>, i64, Option<Vec<u8>>, Option<String>);

/// The stored room of a concert booking knows; `None` for an unknown concert.
pub async fn find(db: &PgPool, concert_id: i64) -> sqlx::Result<Option<StoredRoom>> {
    let row: Option<RoomRow> = sqlx::query_as(
        "SELECT r.settings, r.version, r.seed
             FROM concerts c LEFT JOIN rooms r ON r.concert_id = c.id
             WHERE c.id = $1",
    )
    .bind(concert_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(settings, version, seed)| StoredRoom {
        concert_id,
        settings: settings.map(|s| s.0),
        version: version.unwrap_or(0) as u64,
        seed: seed.map(hex::encode),
    }))
}

/// Applies `change` to the stored settings (to `change.defaults` when there are none yet)
/// and counts it; `None` for an unknown concert, 400 when a derived value is out of range
/// or the opening cannot change any more. Concurrent changes apply one after the other
/// (the row is locked), none lost. The first time an opening is scheduled, the draw's seed
/// is drawn and kept (for good: moving the opening keeps it). A configuration section
/// (`change.config_digest`) already applied changes nothing.
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
    let current: Option<LockedRoom> = sqlx::query_as(
        "SELECT settings, version, seed, config_digest FROM rooms
             WHERE concert_id = $1 FOR UPDATE",
    )
    .bind(concert_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((Json(settings), version, seed, applied_digest)) = current else {
        return Ok(None);
    };
    if change.config_digest.is_some() && change.config_digest == applied_digest {
        // This configuration section was applied already (by another gateway, or before a
        // restart): changes made since then stand.
        return Ok(Some(StoredRoom {
            concert_id,
            settings: Some(settings),
            version: version as u64,
            seed: seed.map(hex::encode),
        }));
    }
    let settings = settings
        .patched(&change.patch, Utc::now())
        .map_err(ApiError::Invalid)?;
    let seed = match seed {
        None if settings.opens_at.is_some() => Some(draw::new_seed().to_vec()),
        seed => seed,
    };
    let version = version + 1;
    sqlx::query(
        "UPDATE rooms SET settings = $2, version = $3, seed = $4,
                config_digest = coalesce($5, config_digest), updated_at = now()
         WHERE concert_id = $1",
    )
    .bind(concert_id)
    .bind(Json(settings))
    .bind(version)
    .bind(&seed)
    .bind(&change.config_digest)
    .execute(&mut *conn)
    .await?;
    Ok(Some(StoredRoom {
        concert_id,
        settings: Some(settings),
        version: version as u64,
        seed: seed.map(hex::encode),
    }))
}
