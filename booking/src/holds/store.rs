//! The SQL of holds. Lock order in every transaction here (and in payments and the
//! sweeper): users → seats → reservations.

use chrono::{DateTime, Utc};
use shared::contract::reservations::{MyReservation, OrderSeat, ReservationView};
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

/// What an order's limits count, in one round trip.
#[derive(Debug, sqlx::FromRow)]
pub struct Counts {
    /// Seats the buyer holds now or bought (and not cancelled) for the concert: what the
    /// ticket limit counts.
    pub owned: i64,
    /// Seats the buyer holds now, every concert: what the hold limit counts.
    pub holding: i64,
    /// The schedule's show was cancelled (it sells nothing).
    pub cancelled: bool,
}

pub async fn counts(
    conn: &mut PgConnection,
    user_id: i64,
    concert_id: i64,
    schedule_id: i64,
) -> sqlx::Result<Counts> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE concert_id = $2) AS owned,
                count(*) FILTER (WHERE status = 'HELD') AS holding,
                COALESCE((SELECT cancelled_at IS NOT NULL FROM schedules WHERE id = $3), false)
                  AS cancelled
           FROM reservations
          WHERE user_id = $1 AND status IN ('HELD', 'CONFIRMED')
            AND NOT hold_expired(status, held_until)",
    )
    .bind(user_id)
    .bind(concert_id)
    .bind(schedule_id)
    .fetch_one(conn)
    .await
}

/// The buyer's live holds among these seats of the schedule: (seat, order).
pub async fn live_holds_of(
    conn: &mut PgConnection,
    user_id: i64,
    schedule_id: i64,
    seat_nos: &[i32],
) -> sqlx::Result<Vec<(i32, Uuid)>> {
    sqlx::query_as(
        "SELECT seat_no, order_id FROM reservations
         WHERE user_id = $1 AND schedule_id = $2 AND seat_no = ANY ($3)
           AND status = 'HELD' AND held_until > now()
         ORDER BY seat_no",
    )
    .bind(user_id)
    .bind(schedule_id)
    .bind(seat_nos)
    .fetch_all(conn)
    .await
}

/// A seat locked for an order: its place and price, whether it is available now, and the
/// reservation that held it before (an expired hold the sweeper had not reset yet).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Locked {
    pub seat_no: i32,
    pub available: bool,
    pub previous: Option<Uuid>,
    pub price: i64,
    pub section: String,
    pub row_label: String,
    pub number: i32,
    pub grade: String,
}

/// Locks the named seats' rows in seat order (a plan-independent step of the lock order
/// users → seats → reservations, waiting for holders) and says what each is now.
pub async fn lock_seats(
    conn: &mut PgConnection,
    schedule_id: i64,
    seat_nos: &[i32],
) -> sqlx::Result<Vec<Locked>> {
    sqlx::query_as(
        "SELECT seat_no, seat_status_now(status, held_until) = 'AVAILABLE' AS available,
                reservation_id AS previous, price, section, row_label, number, grade
         FROM seats WHERE schedule_id = $1 AND seat_no = ANY ($2)
         ORDER BY seat_no FOR UPDATE",
    )
    .bind(schedule_id)
    .bind(seat_nos)
    .fetch_all(conn)
    .await
}

/// Best available's candidates: up to `window` available seats of the schedule (of the
/// section and grade when given, none of `excluded`) in seat order, locked — rows other
/// orders have locked are skipped, not waited for, so buyers picking at the same moment
/// take different seats. Reads the index of available seats only.
pub async fn lock_candidates(
    conn: &mut PgConnection,
    schedule_id: i64,
    section: Option<&str>,
    grade: Option<&str>,
    excluded: &[i32],
    window: i64,
) -> sqlx::Result<Vec<Locked>> {
    sqlx::query_as(
        "SELECT seat_no, true AS available, reservation_id AS previous, price, section,
                row_label, number, grade
         FROM seats
         WHERE schedule_id = $1 AND status = 'AVAILABLE'
           AND ($2::TEXT IS NULL OR section = $2) AND ($3::TEXT IS NULL OR grade = $3)
           AND NOT seat_no = ANY ($4)
         ORDER BY seat_no LIMIT $5 FOR UPDATE SKIP LOCKED",
    )
    .bind(schedule_id)
    .bind(section)
    .bind(grade)
    .bind(excluded)
    .bind(window)
    .fetch_all(conn)
    .await
}

/// Seats available now (of the section and grade when given).
pub async fn count_available(
    conn: &mut PgConnection,
    schedule_id: i64,
    section: Option<&str>,
    grade: Option<&str>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM seats
         WHERE schedule_id = $1 AND seat_status_now(status, held_until) = 'AVAILABLE'
           AND ($2::TEXT IS NULL OR section = $2) AND ($3::TEXT IS NULL OR grade = $3)",
    )
    .bind(schedule_id)
    .bind(section)
    .bind(grade)
    .fetch_one(conn)
    .await
}

/// An order being written: its seats (locked, available) and their reservations.
pub struct NewOrder<'a> {
    pub order_id: Uuid,
    pub user_id: i64,
    pub concert_id: i64,
    pub schedule_id: i64,
    /// (seat, reservation id), in seat order.
    pub seats: &'a [(Locked, Uuid)],
}

/// Takes the order's seats (HELD by their reservations, one deadline for all) and writes
/// its reservations: one statement each, whatever the seat count. Seats that were held by
/// an expired hold have that reservation marked EXPIRED. Returns the deadline.
pub async fn insert_order(
    conn: &mut PgConnection,
    order: &NewOrder<'_>,
    ttl_secs: u64,
) -> sqlx::Result<DateTime<Utc>> {
    let seat_nos: Vec<i32> = order.seats.iter().map(|(s, _)| s.seat_no).collect();
    let ids: Vec<Uuid> = order.seats.iter().map(|(_, id)| *id).collect();
    let prices: Vec<i64> = order.seats.iter().map(|(s, _)| s.price).collect();
    let previous: Vec<Uuid> = order.seats.iter().filter_map(|(s, _)| s.previous).collect();
    let held_until: DateTime<Utc> = sqlx::query_scalar(
        "WITH taken AS (
             UPDATE seats s SET status = 'HELD', reservation_id = c.id,
                    held_until = now() + make_interval(secs => $4)
               FROM unnest($2::INT[], $3::UUID[]) AS c(seat_no, id)
              WHERE s.schedule_id = $1 AND s.seat_no = c.seat_no
             RETURNING s.held_until)
         SELECT min(held_until) FROM taken",
    )
    .bind(order.schedule_id)
    .bind(&seat_nos)
    .bind(&ids)
    .bind(ttl_secs as f64)
    .fetch_one(&mut *conn)
    .await?;
    if !previous.is_empty() {
        sqlx::query(
            "UPDATE reservations SET status = 'EXPIRED' WHERE id = ANY ($1) AND status = 'HELD'",
        )
        .bind(&previous)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "INSERT INTO reservations
             (id, order_id, user_id, concert_id, schedule_id, seat_no, price, status, held_until)
         SELECT c.id, $1, $2, $3, $4, c.seat_no, c.price, 'HELD', $8
           FROM unnest($5::UUID[], $6::INT[], $7::BIGINT[]) AS c(id, seat_no, price)",
    )
    .bind(order.order_id)
    .bind(order.user_id)
    .bind(order.concert_id)
    .bind(order.schedule_id)
    .bind(&ids)
    .bind(&seat_nos)
    .bind(&prices)
    .bind(held_until)
    .execute(conn)
    .await?;
    Ok(held_until)
}

/// A reservation with its owner, concert and order.
#[derive(sqlx::FromRow)]
pub struct Owned {
    pub user_id: i64,
    pub concert_id: i64,
    pub order_id: Uuid,
    #[sqlx(flatten)]
    pub view: ReservationView,
}

pub async fn find(conn: &mut PgConnection, reservation_id: Uuid) -> sqlx::Result<Option<Owned>> {
    sqlx::query_as(
        "SELECT user_id, concert_id, order_id, id AS reservation_id, schedule_id, seat_no,
                price, reservation_status_now(status, held_until) AS status, held_until,
                payment_id
         FROM reservations WHERE id = $1",
    )
    .bind(reservation_id)
    .fetch_optional(conn)
    .await
}

/// One seat of an order, with its owner and concert.
#[derive(sqlx::FromRow)]
pub struct OrderRow {
    pub user_id: i64,
    pub concert_id: i64,
    pub payment_id: Option<Uuid>,
    #[sqlx(flatten)]
    pub seat: OrderSeat,
}

/// The seats of an order by seat number (none when there is no such order).
pub async fn order(conn: &mut PgConnection, order_id: Uuid) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(
        "SELECT r.user_id, r.concert_id, r.payment_id, r.id AS reservation_id, r.schedule_id,
                r.seat_no, s.section, s.row_label AS row, s.number, s.grade, r.price,
                reservation_status_now(r.status, r.held_until) AS status, r.held_until
         FROM reservations r
         JOIN seats s ON s.schedule_id = r.schedule_id AND s.seat_no = r.seat_no
         WHERE r.order_id = $1 ORDER BY r.seat_no",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await
}

/// Lets an order's live holds go: their seats AVAILABLE, the reservations RELEASED.
pub async fn release(conn: &mut PgConnection, reservation_ids: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE seats SET status = 'AVAILABLE', reservation_id = NULL, held_until = NULL
         WHERE reservation_id = ANY ($1) AND status = 'HELD'",
    )
    .bind(reservation_ids)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE reservations SET status = 'RELEASED' WHERE id = ANY ($1) AND status = 'HELD'",
    )
    .bind(reservation_ids)
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
