//! Points: balance, idempotent charges, and the history (newest first, cursor-paged).
//!
//! A charge is one transaction: upsert the balance (`balance_max` CHECK refuses overflow),
//! append a CHARGE history row with the new balance, save the idempotent response.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::docs::ProblemDetails;
use shared::http::{Json, Path, Query};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::idempotency::{self, Begin, IdempotencyKey};
use crate::state::AppState;

pub const MAX_CHARGE: i64 = 10_000_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/{user_id}/points", get(balance))
        .route("/v1/users/{user_id}/points/charge", post(charge))
        .route("/v1/users/{user_id}/points/history", get(history))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Balance {
    pub user_id: i64,
    pub balance: i64,
}

pub fn valid_user_id(user_id: i64) -> ApiResult<i64> {
    if user_id > 0 {
        Ok(user_id)
    } else {
        Err(ApiError::Invalid(
            "user_id must be a positive integer".into(),
        ))
    }
}

#[utoipa::path(
    get,
    path = "/v1/users/{user_id}/points",
    operation_id = "get_balance",
    tag = "points",
    summary = "A user's points balance",
    description = "A user never seen has 0.",
    params(("user_id" = i64, Path, minimum = 1, description = "User id")),
    responses(
        (status = 200, description = "The balance.", body = Balance),
        (status = 400, description = "`INVALID_REQUEST`: `user_id` is not a positive integer.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
#[tracing::instrument(skip(state))]
async fn balance(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<Balance>> {
    let user_id = valid_user_id(user_id)?;
    let balance: Option<i64> = sqlx::query_scalar("SELECT balance FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&state.db)
        .await?;
    Ok(Json(Balance {
        user_id,
        balance: balance.unwrap_or(0),
    }))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeRequest {
    /// A JSON number; anything that is not an integer in 1..=10,000,000 is INVALID_AMOUNT.
    #[schema(value_type = i64, minimum = 1, maximum = 10_000_000)]
    pub amount: serde_json::Number,
}

#[utoipa::path(
    post,
    path = "/v1/users/{user_id}/points/charge",
    operation_id = "charge_points",
    tag = "points",
    summary = "Add points to a balance",
    description = "The same `Idempotency-Key` with the same amount returns the first result \
                   again and charges once.",
    params(
        ("user_id" = i64, Path, minimum = 1, description = "User id"),
        ("Idempotency-Key" = String, Header,
         description = "1-255 visible ASCII characters, unique per charge"),
    ),
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
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
#[tracing::instrument(skip(state, headers, request))]
async fn charge(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
    headers: HeaderMap,
    Json(request): Json<ChargeRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let user_id = valid_user_id(user_id)?;
    let amount = request
        .amount
        .as_i64()
        .filter(|a| (1..=MAX_CHARGE).contains(a))
        .ok_or_else(|| {
            ApiError::InvalidAmount(format!("amount must be an integer from 1 to {MAX_CHARGE}"))
        })?;
    let key = IdempotencyKey::from_headers(&headers)?;
    let fingerprint =
        idempotency::fingerprint(&serde_json::json!({"user_id": user_id, "amount": amount}));

    let mut tx = state.db.begin().await?;
    if let Begin::Replay(status, body) =
        idempotency::begin(&mut tx, user_id, "charge", &key, &fingerprint).await?
    {
        return Ok((status, Json(body)));
    }
    let balance: i64 = sqlx::query_scalar(
        "INSERT INTO users (id, balance) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET balance = users.balance + EXCLUDED.balance, updated_at = now()
         RETURNING balance",
    )
    .bind(user_id)
    .bind(amount)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match ApiError::from(e) {
        // bigint overflow of the sum
        ApiError::Internal(e) if e.to_string().contains("out of range") => {
            ApiError::InvalidAmount("the balance would exceed its maximum".into())
        }
        other => other,
    })?;
    sqlx::query(
        "INSERT INTO point_history (user_id, kind, amount, balance_after, reference)
         VALUES ($1, 'CHARGE', $2, $3, $4)",
    )
    .bind(user_id)
    .bind(amount)
    .bind(balance)
    .bind(format!("charge:{}", key.as_str()))
    .execute(&mut *tx)
    .await?;
    let body = serde_json::to_value(Balance { user_id, balance }).map_err(anyhow::Error::from)?;
    idempotency::save(&mut tx, user_id, "charge", &key, StatusCode::OK, &body).await?;
    tx.commit().await?;
    Ok((StatusCode::OK, Json(body)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Cursor: only entries with an id below this one (the previous page's `next_before`).
    #[param(minimum = 1)]
    pub before: Option<i64>,
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    #[schema(value_type = crate::docs::PointKind)]
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
    pub at: DateTime<Utc>,
    pub reference: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPage {
    pub user_id: i64,
    pub items: Vec<HistoryEntry>,
    /// Pass as `before` for the next (older) page; null on the last page.
    #[schema(required = true)]
    pub next_before: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/v1/users/{user_id}/points/history",
    operation_id = "list_point_history",
    tag = "points",
    summary = "A user's point history, newest first",
    params(("user_id" = i64, Path, minimum = 1, description = "User id"), HistoryQuery),
    responses(
        (status = 200, description = "One page of history.", body = HistoryPage),
        (status = 400, description = "`INVALID_REQUEST`: bad `user_id`, `limit` or `before`, or \
         an unknown query parameter.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 500, response = shared::docs::Internal),
        (status = 503, response = shared::docs::Unavailable),
    )
)]
#[tracing::instrument(skip(state))]
async fn history(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<Json<HistoryPage>> {
    let user_id = valid_user_id(user_id)?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::Invalid("limit must be from 1 to 100".into()));
    }
    if query.before.is_some_and(|b| b <= 0) {
        return Err(ApiError::Invalid("before must be a positive cursor".into()));
    }
    let items: Vec<HistoryEntry> = sqlx::query_as(
        "SELECT id, kind, amount, balance_after, at, reference FROM point_history
         WHERE user_id = $1 AND ($2::BIGINT IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3",
    )
    .bind(user_id)
    .bind(query.before)
    .bind(limit)
    .fetch_all(&state.db)
    .await?;
    let next_before = (items.len() as i64 == limit)
        .then(|| items.last().map(|e| e.id))
        .flatten();
    Ok(Json(HistoryPage {
        user_id,
        items,
        next_before,
    }))
}
