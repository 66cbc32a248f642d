//! Points: balance, idempotent charges, and the history (newest first, cursor-paged).
//!
//! A charge is one transaction: upsert the balance (`balance_max` CHECK refuses overflow),
//! append a CHARGE history row with the new balance, save the idempotent response.

pub mod store;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use shared::contract::points::{Balance, ChargeRequest, HistoryPage, HistoryQuery, MAX_CHARGE};
use shared::http::{Json, Path, Query};

use crate::error::{ApiError, ApiResult};
use crate::idempotency::{self, Begin, IdempotencyKey};
use crate::state::AppState;

/// Default and largest history page.
const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/{user_id}/points", get(balance))
        .route("/v1/users/{user_id}/points/charge", post(charge))
        .route("/v1/users/{user_id}/points/history", get(history))
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

/// The amount of a charge: an integer from 1 to [`MAX_CHARGE`] (a float, a huge number or
/// a negative one is `INVALID_AMOUNT`).
pub fn valid_amount(amount: &serde_json::Number) -> ApiResult<i64> {
    amount
        .as_i64()
        .filter(|a| (1..=MAX_CHARGE).contains(a))
        .ok_or_else(|| {
            ApiError::InvalidAmount(format!("amount must be an integer from 1 to {MAX_CHARGE}"))
        })
}

/// A page size: 1 to 100, 20 when not given.
pub fn page_limit(limit: Option<i64>) -> ApiResult<i64> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::Invalid(format!(
            "limit must be from 1 to {MAX_PAGE}"
        )));
    }
    Ok(limit)
}

/// The page size and cursor of a history request.
pub fn valid_page(query: &HistoryQuery) -> ApiResult<(i64, Option<i64>)> {
    let limit = page_limit(query.limit)?;
    if query.before.is_some_and(|b| b <= 0) {
        return Err(ApiError::Invalid("before must be a positive cursor".into()));
    }
    Ok((limit, query.before))
}

#[tracing::instrument(skip(state))]
async fn balance(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
) -> ApiResult<Json<Balance>> {
    let user_id = valid_user_id(user_id)?;
    let mut conn = state.db.acquire().await?;
    let balance = store::balance(&mut conn, user_id).await?;
    Ok(Json(Balance {
        user_id,
        balance: balance.unwrap_or(0),
    }))
}

#[tracing::instrument(skip(state, headers, request))]
async fn charge(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
    headers: HeaderMap,
    Json(request): Json<ChargeRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    charge_points(&state, user_id, &headers, request).await
}

/// A charge, idempotent by `Idempotency-Key`: the buyer's own (through the gateway, when
/// self-charge is on) and the operator's (`POST /admin/users/{id}/points/charge`, e.g. a
/// payment provider's webhook) are the same transaction with the same answer.
pub async fn charge_points(
    state: &AppState,
    user_id: i64,
    headers: &HeaderMap,
    request: ChargeRequest,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let user_id = valid_user_id(user_id)?;
    let amount = valid_amount(&request.amount)?;
    let key = IdempotencyKey::from_headers(headers)?;
    let fingerprint =
        idempotency::fingerprint(&serde_json::json!({"user_id": user_id, "amount": amount}));

    let mut tx = state.db.begin().await?;
    if let Begin::Replay(status, body) =
        idempotency::begin(&mut tx, user_id, "charge", &key, &fingerprint).await?
    {
        return Ok((status, Json(body)));
    }
    let balance =
        store::credit(&mut tx, user_id, amount)
            .await
            .map_err(|e| match ApiError::from(e) {
                // bigint overflow of the sum
                ApiError::Internal(e) if e.to_string().contains("out of range") => {
                    ApiError::InvalidAmount("the balance would exceed its maximum".into())
                }
                other => other,
            })?;
    store::record_charge(
        &mut tx,
        user_id,
        amount,
        balance,
        &format!("charge:{}", key.as_str()),
    )
    .await?;
    let body = serde_json::to_value(Balance { user_id, balance }).map_err(anyhow::Error::from)?;
    idempotency::save(&mut tx, user_id, "charge", &key, StatusCode::OK, &body).await?;
    tx.commit().await?;
    Ok((StatusCode::OK, Json(body)))
}

#[tracing::instrument(skip(state))]
async fn history(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<Json<HistoryPage>> {
    let user_id = valid_user_id(user_id)?;
    let (limit, before) = valid_page(&query)?;
    let mut conn = state.db.acquire().await?;
    let items = store::history(&mut conn, user_id, before, limit).await?;
    let next_before = (items.len() as i64 == limit)
        .then(|| items.last().map(|e| e.id))
        .flatten();
    Ok(Json(HistoryPage {
        user_id,
        items,
        next_before,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_integers_from_one_to_the_maximum() {
        let n = |v: serde_json::Value| serde_json::from_value::<serde_json::Number>(v).unwrap();
        assert_eq!(valid_amount(&n(1.into())).unwrap(), 1);
        assert_eq!(valid_amount(&n(MAX_CHARGE.into())).unwrap(), MAX_CHARGE);
        for bad in [
            serde_json::json!(0),
            serde_json::json!(-5),
            serde_json::json!(1.5),
            serde_json::json!(MAX_CHARGE + 1),
            serde_json::json!(u64::MAX),
        ] {
            assert!(
                matches!(
                    valid_amount(&n(bad.clone())),
                    Err(ApiError::InvalidAmount(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn history_pages_are_bounded() {
        let q = |limit, before| HistoryQuery { limit, before };
        assert_eq!(valid_page(&q(None, None)).unwrap(), (20, None));
        assert_eq!(valid_page(&q(Some(100), Some(7))).unwrap(), (100, Some(7)));
        assert!(valid_page(&q(Some(0), None)).is_err());
        assert!(valid_page(&q(Some(101), None)).is_err());
        assert!(valid_page(&q(None, Some(0))).is_err());
        assert!(valid_user_id(0).is_err() && valid_user_id(1).is_ok());
    }
}
