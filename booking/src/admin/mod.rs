//! Operator API: create a concert with its schedules and seats (on a venue, [`crate::venues`],
//! or in the one-price form); read its sales figures; top up a buyer's points.

pub mod store;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use std::collections::BTreeMap;

use shared::contract::admin::{
    ConcertSales, Created, NewConcert, NewSchedule, DEFAULT_SEATS, GA_GRADE, MAX_PRICE,
    MAX_SCHEDULES, MAX_SEATS, MAX_TICKETS_PER_USER, MAX_TITLE_CHARS,
};
use shared::contract::points::{Balance, ChargeRequest};
use shared::docs::ProblemDetails;
use shared::http::{Json, Path};

use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::venues;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/concerts", post(create))
        .route("/admin/concerts/{concert_id}", get(show))
        .route("/admin/users/{user_id}/points/charge", post(charge))
}

#[utoipa::path(
    post, path = "/admin/users/{user_id}/points/charge", operation_id = "admin_charge_points",
    tag = "admin",
    summary = "Add points to a buyer's balance (the operator's or a payment provider's top-up)",
    description = "Where points come from in production (buyers cannot charge themselves \
                   there). Idempotent: the same `Idempotency-Key` with the same amount returns \
                   the first result again and charges once. Same body and answer as the \
                   buyer's own charge.",
    params(
        ("user_id" = i64, Path, minimum = 1, description = "User id"),
        ("Idempotency-Key" = String, Header,
         description = "1-255 visible ASCII characters, unique per top-up"),
    ),
    security(("admin_token" = [])),
    request_body = ChargeRequest,
    responses(
        (status = 200, description = "Charged (or the replay of an earlier identical request).",
         body = Balance),
        (status = 400, description = "`INVALID_REQUEST`: malformed body, bad `user_id`, missing \
         or invalid `Idempotency-Key`. `INVALID_AMOUNT`: `amount` is not an integer from 1 to \
         10,000,000, or the balance would exceed its maximum.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
        (status = 422, response = shared::docs::IdempotencyKeyReused),
    )
)]
#[tracing::instrument(skip(state, _admin, headers, request))]
async fn charge(
    State(state): State<AppState>,
    _admin: Admin,
    Path(user_id): Path<i64>,
    headers: HeaderMap,
    Json(request): Json<ChargeRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    crate::points::charge_points(&state, user_id, &headers, request).await
}

/// Every rule a new concert breaks, first one first (the venue forms' prices are checked
/// against their venues in [`create`]).
pub fn validate(concert: &NewConcert) -> ApiResult<()> {
    let title_len = concert.title.trim().chars().count();
    if title_len == 0 || concert.title.chars().count() > MAX_TITLE_CHARS {
        return Err(ApiError::Invalid(format!(
            "title must be 1 to {MAX_TITLE_CHARS} characters"
        )));
    }
    if concert.schedules.is_empty() || concert.schedules.len() > MAX_SCHEDULES {
        return Err(ApiError::Invalid(format!(
            "schedules must hold 1 to {MAX_SCHEDULES} entries"
        )));
    }
    if concert
        .max_tickets_per_user
        .is_some_and(|m| !(1..=MAX_TICKETS_PER_USER).contains(&m))
    {
        return Err(ApiError::Invalid(format!(
            "max_tickets_per_user must be 1 to {MAX_TICKETS_PER_USER}"
        )));
    }
    for s in &concert.schedules {
        schedule_form(s)?;
    }
    Ok(())
}

/// A new schedule's seats: a venue's layout, or the one-price form's.
enum Form<'a> {
    Venue {
        venue_id: i64,
        prices: &'a BTreeMap<String, i64>,
    },
    OnePrice {
        seats: i32,
        price: i64,
    },
}

fn schedule_form(s: &NewSchedule) -> ApiResult<Form<'_>> {
    match (s.venue_id, &s.prices, s.seats, s.price) {
        (Some(venue_id), Some(prices), None, None) => Ok(Form::Venue { venue_id, prices }),
        (None, None, seats, Some(price)) => {
            let seats = seats.unwrap_or(DEFAULT_SEATS);
            if !(1..=MAX_SEATS).contains(&seats) {
                return Err(ApiError::Invalid(format!("seats must be 1 to {MAX_SEATS}")));
            }
            if !(1..=MAX_PRICE).contains(&price) {
                return Err(ApiError::InvalidAmount(format!(
                    "price must be 1 to {MAX_PRICE}"
                )));
            }
            Ok(Form::OnePrice { seats, price })
        }
        _ => Err(ApiError::Invalid(
            "a schedule takes either seats and price, or venue_id and prices".into(),
        )),
    }
}

#[utoipa::path(
    post, path = "/admin/concerts", operation_id = "create_concert", tag = "admin",
    summary = "Create a concert with its schedules and seats",
    description = "Each schedule takes either the one-price form (`seats`, `price`: one \
                   section `GA`, grade `GENERAL`, rows of 50) or a venue with a price per \
                   grade (`venue_id`, `prices`). `max_tickets_per_user` (default \
                   `orders.max_tickets_per_user`, 4) caps the seats one buyer holds and owns \
                   for the concert.",
    security(("admin_token" = [])),
    request_body = NewConcert,
    responses(
        (status = 201, description = "Created; schedule ids in request order.", body = Created),
        (status = 400, description = "`INVALID_REQUEST`: malformed body, bad title, schedule \
         count, seat count or `max_tickets_per_user`, a schedule in neither or both forms, an \
         unknown venue, a venue grade without a price or a price for a grade the venue does \
         not have. `INVALID_AMOUNT`: a price outside 1 to 10,000,000.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
    )
)]
#[tracing::instrument(skip(state, _admin))]
async fn create(
    State(state): State<AppState>,
    _admin: Admin,
    Json(concert): Json<NewConcert>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    validate(&concert)?;
    let max_tickets = concert
        .max_tickets_per_user
        .unwrap_or(state.settings.orders.max_tickets_per_user);
    let mut tx = state.db.begin().await?;
    let concert_id = store::insert_concert(&mut tx, concert.title.trim(), max_tickets).await?;
    let mut schedule_ids = Vec::with_capacity(concert.schedules.len());
    for s in &concert.schedules {
        let (venue_id, layout, prices) = match schedule_form(s)? {
            Form::Venue { venue_id, prices } => {
                let layout = venues::store::layout(&mut tx, venue_id)
                    .await?
                    .ok_or_else(|| ApiError::Invalid(format!("venue {venue_id} does not exist")))?;
                venues::check_prices(&layout, prices)?;
                (Some(venue_id), layout, prices.clone())
            }
            Form::OnePrice { seats, price } => (
                None,
                venues::general_admission(seats),
                BTreeMap::from([(GA_GRADE.to_owned(), price)]),
            ),
        };
        let seats = venues::places(&layout).len() as i32;
        let cutoff = chrono::Duration::hours(i64::from(state.settings.orders.cancel_cutoff_hours));
        let cancel_until = s.cancel_until.unwrap_or(s.starts_at - cutoff);
        let schedule_id = store::insert_schedule(
            &mut tx,
            concert_id,
            s.starts_at,
            cancel_until,
            seats,
            venue_id,
        )
        .await?;
        venues::store::insert_seats(&mut tx, schedule_id, &layout, &prices).await?;
        schedule_ids.push(schedule_id);
    }
    tx.commit().await?;
    tracing::info!(
        concert_id,
        schedules = schedule_ids.len(),
        "concert created"
    );
    Ok((
        StatusCode::CREATED,
        Json(Created {
            concert_id,
            schedule_ids,
        }),
    ))
}

#[utoipa::path(
    get, path = "/admin/concerts/{concert_id}", operation_id = "get_concert_sales", tag = "admin",
    summary = "A concert with its sales figures",
    params(("concert_id" = i64, Path, description = "Concert id")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Seats, holds, sales and revenue, per schedule and in total.",
         body = ConcertSales),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 404, description = "`CONCERT_NOT_FOUND`: no such concert.",
         body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip(state, _admin))]
async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(concert_id): Path<i64>,
) -> ApiResult<Json<ConcertSales>> {
    let mut conn = state.db.acquire().await?;
    let (title, created_at) = store::concert(&mut conn, concert_id)
        .await?
        .ok_or(ApiError::ConcertNotFound)?;
    let schedules = store::sales(&mut conn, concert_id).await?;
    let payments = store::payments(&mut conn, concert_id).await?;
    Ok(Json(ConcertSales {
        concert_id,
        title,
        created_at,
        total_seats: schedules.iter().map(|s| i64::from(s.total_seats)).sum(),
        sold_seats: schedules.iter().map(|s| s.sold_seats).sum(),
        held_seats: schedules.iter().map(|s| s.held_seats).sum(),
        revenue: schedules.iter().map(|s| s.revenue).sum(),
        payments,
        schedules,
    }))
}
