//! Points: balances, charges and history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Largest single charge.
pub const MAX_CHARGE: i64 = 10_000_000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Balance {
    pub user_id: i64,
    pub balance: i64,
}

/// `POST /v1/users/{user_id}/points/charge` (with an `Idempotency-Key` header).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeRequest {
    /// An integer number of points from 1 to 10,000,000 (a JSON number; anything else is
    /// `INVALID_AMOUNT`).
    #[schema(value_type = i64, minimum = 1, maximum = 10_000_000)]
    pub amount: serde_json::Number,
}

pub use super::status::PointKind;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct HistoryEntry {
    pub id: i64,
    pub kind: PointKind,
    pub amount: i64,
    pub balance_after: i64,
    pub at: DateTime<Utc>,
    pub reference: String,
}

/// One page of history, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HistoryPage {
    pub user_id: i64,
    pub items: Vec<HistoryEntry>,
    /// Pass as `before` for the next (older) page; null on the last page.
    #[schema(required = true)]
    pub next_before: Option<i64>,
}

/// `?limit=&before=` of the history.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
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
