//! The SQL of holds. Lock order in every transaction here (and in payments and the
//! sweeper): users → seats → reservations.

use chrono::{DateTime, Utc};
use shared::contract::reservations::{MyReservation, ReservationView};
use sqlx::PgConnection;
use uuid::Uuid;

/// Locks the buyer's row (creating it with a zero balance on first sight), so one buyer's
/// holds and payments run one at a time; returns the balance.
pub async fn lock_user(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<i64> {
    let balance: Option<i64> =
        sqlx::query_scalar("SELECT balance FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(balance) = balance {
        return Ok(balance);
    }
    sqlx::query("INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar("SELECT balance FROM users WHERE id = $1 FOR UPDATE")
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await
}

/// The buyer's holds that have not run out.
pub async fn live_holds(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM reservations
         WHERE user_id = $1 AND status = 'HELD' AND NOT hold_expired(status, held_until)",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await
}

/// The buyer's live hold of a seat, if they have one.
pub async fn live_hold_of(
    conn: &mut PgConnection,
    user_id: i64,
    schedule_id: i64,
    seat_no: i32,
) -> sqlx::Result<Option<ReservationView>> {
    sqlx::query_as(
        "SELECT id AS reservation_id, schedule_id, seat_no, price, status, held_until, payment_id
         FROM reservations
         WHERE user_id = $1 AND schedule_id = $2 AND seat_no = $3
           AND status = 'HELD' AND held_until > now()",
    )
    .bind(user_id)
    .bind(schedule_id)
    .bind(seat_no)
    .fetch_optional(conn)
    .await
}

/// A seat just taken for a hold: its price, the hold's deadline, and the reservation that
/// held it before (an expired hold the sweeper had not reset yet).
pub struct Taken {
    pub price: i64,
    pub held_until: DateTime<Utc>,
    pub previous: Option<Uuid>,
}

/// Takes the seat for `reservation_id` for `ttl_secs` if it is available now; `None` when
/// it is held or sold. The seat's row is locked first, whatever its state (a plan-independent
/// step of the lock order users → seats → reservations), then taken if available.
pub async fn take_seat(
    conn: &mut PgConnection,
    schedule_id: i64,
    seat_no: i32,
    reservation_id: Uuid,
    ttl_secs: u64,
) -> sqlx::Result<Option<Taken>> {
    let seat: Option<(bool, Option<Uuid>)> = sqlx::query_as(
        "SELECT seat_status_now(status, held_until) = 'AVAILABLE', reservation_id FROM seats
         WHERE schedule_id = $1 AND seat_no = $2 FOR UPDATE",
    )
    .bind(schedule_id)
    .bind(seat_no)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((true, previous)) = seat else {
        return Ok(None);
    };
    let (price, held_until): (i64, DateTime<Utc>) = sqlx::query_as(
        "UPDATE seats
            SET status = 'HELD', reservation_id = $3,
                held_until = now() + make_interval(secs => $4)
          WHERE schedule_id = $1 AND seat_no = $2
         RETURNING price, held_until",
    )
    .bind(schedule_id)
    .bind(seat_no)
    .bind(reservation_id)
    .bind(ttl_secs as f64)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(Taken {
        price,
        held_until,
        previous,
    }))
}

/// Marks a hold that ran out EXPIRED (its seat was just taken by another).
pub async fn expire(conn: &mut PgConnection, reservation_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE reservations SET status = 'EXPIRED' WHERE id = $1 AND status = 'HELD'")
        .bind(reservation_id)
        .execute(conn)
        .await
        .map(drop)
}

pub struct NewHold {
    pub id: Uuid,
    pub user_id: i64,
    pub concert_id: i64,
    pub schedule_id: i64,
    pub seat_no: i32,
    pub price: i64,
    pub held_until: DateTime<Utc>,
}

pub async fn insert(conn: &mut PgConnection, hold: &NewHold) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO reservations (id, user_id, concert_id, schedule_id, seat_no, price, status, held_until)
         VALUES ($1, $2, $3, $4, $5, $6, 'HELD', $7)",
    )
    .bind(hold.id)
    .bind(hold.user_id)
    .bind(hold.concert_id)
    .bind(hold.schedule_id)
    .bind(hold.seat_no)
    .bind(hold.price)
    .bind(hold.held_until)
    .execute(conn)
    .await
    .map(drop)
}

/// A reservation with its owner and concert.
#[derive(sqlx::FromRow)]
pub struct Owned {
    pub user_id: i64,
    pub concert_id: i64,
    #[sqlx(flatten)]
    pub view: ReservationView,
}

pub async fn find(conn: &mut PgConnection, reservation_id: Uuid) -> sqlx::Result<Option<Owned>> {
    sqlx::query_as(
        "SELECT user_id, concert_id, id AS reservation_id, schedule_id, seat_no, price,
                reservation_status_now(status, held_until) AS status, held_until, payment_id
         FROM reservations WHERE id = $1",
    )
    .bind(reservation_id)
    .fetch_optional(conn)
    .await
}

/// Lets a live hold go: its seat AVAILABLE, the reservation RELEASED.
pub async fn release(conn: &mut PgConnection, reservation_id: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE seats SET status = 'AVAILABLE', reservation_id = NULL, held_until = NULL
         WHERE reservation_id = $1 AND status = 'HELD'",
    )
    .bind(reservation_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE reservations SET status = 'RELEASED' WHERE id = $1 AND status = 'HELD'")
        .bind(reservation_id)
        .execute(conn)
        .await
        .map(drop)
}

/// Resets up to `batch` holds past their deadline: seats AVAILABLE, reservations EXPIRED.
/// Seats first, then reservations (the lock order); rows another transaction has locked
/// are left for the next sweep instead of waited for. Both statements read the partial
/// indexes of held rows (migration 0008), so a sweep costs what there is to sweep.
/// Returns how many reservations it expired.
pub async fn sweep_expired(conn: &mut PgConnection, batch: i64) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE seats SET status = 'AVAILABLE', reservation_id = NULL, held_until = NULL
         WHERE (schedule_id, seat_no) IN (
             SELECT schedule_id, seat_no FROM seats
             WHERE status = 'HELD' AND held_until <= now()
             LIMIT $1 FOR UPDATE SKIP LOCKED)",
    )
    .bind(batch)
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query(
        "UPDATE reservations SET status = 'EXPIRED'
         WHERE id IN (
             SELECT id FROM reservations
             WHERE status = 'HELD' AND held_until <= now()
             LIMIT $1 FOR UPDATE SKIP LOCKED)",
    )
    .bind(batch)
    .execute(conn)
    .await?
    .rows_affected())
}

/// One page of a buyer's reservations, newest first: those older than `before` when given.
pub async fn of_user(
    conn: &mut PgConnection,
    user_id: i64,
    before: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<MyReservation>> {
    sqlx::query_as(
        "SELECT r.id AS reservation_id, r.concert_id, r.schedule_id, s.starts_at, r.seat_no,
                r.price, reservation_status_now(r.status, r.held_until) AS status, r.held_until,
                r.payment_id
         FROM reservations r JOIN schedules s ON s.id = r.schedule_id
         WHERE r.user_id = $1 AND ($2::UUID IS NULL OR r.id < $2)
         ORDER BY r.id DESC LIMIT $3",
    )
    .bind(user_id)
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await
}
