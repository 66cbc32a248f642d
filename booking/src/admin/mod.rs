//! Operator API: create a concert with its schedules and seats; read its sales figures;
//! top up a buyer's points.

pub mod store;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use shared::contract::admin::{
    ConcertSales, Created, NewConcert, MAX_PRICE, MAX_SCHEDULES, MAX_SEATS, MAX_TITLE_CHARS,
};
use shared::contract::points::{Balance, ChargeRequest};
use shared::docs::ProblemDetails;
use shared::http::{Json, Path};

use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

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

/// Every rule a new concert breaks, first one first.
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
    for s in &concert.schedules {
        if !(1..=MAX_SEATS).contains(&s.seats) {
            return Err(ApiError::Invalid(format!("seats must be 1 to {MAX_SEATS}")));
        }
        if !(1..=MAX_PRICE).contains(&s.price) {
            return Err(ApiError::InvalidAmount(format!(
                "price must be 1 to {MAX_PRICE}"
            )));
        }
    }
    Ok(())
}

#[utoipa::path(
    post, path = "/admin/concerts", operation_id = "create_concert", tag = "admin",
    summary = "Create a concert with its schedules and seats",
    security(("admin_token" = [])),
    request_body = NewConcert,
    responses(
        (status = 201, description = "Created; schedule ids in request order.", body = Created),
        (status = 400, description = "`INVALID_REQUEST`: malformed body, bad title, schedule \
         count or seat count. `INVALID_AMOUNT`: a price outside 1 to 10,000,000.",
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
    let mut tx = state.db.begin().await?;
    let concert_id = store::insert_concert(&mut tx, concert.title.trim()).await?;
    let mut schedule_ids = Vec::with_capacity(concert.schedules.len());
    for s in &concert.schedules {
        schedule_ids.push(
            store::insert_schedule(&mut tx, concert_id, s.starts_at, s.seats, s.price).await?,
        );
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
