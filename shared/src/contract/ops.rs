//! Probe bodies, the same shape in both services.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /healthz`: the process is up.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Liveness {
    #[schema(example = "ok")]
    pub status: String,
}

/// `GET /readyz` when every dependency answers: `{"status": "ok", "checks": {...}}`. When
/// one does not, the answer is a 503 `SERVICE_UNAVAILABLE` problem carrying the same
/// `checks`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ok")]
    pub status: String,
    /// Each dependency (`redis`, `booking`, `postgres`) `ok` or `unavailable`.
    #[schema(example = json!({"redis": "ok", "postgres": "ok"}))]
    pub checks: BTreeMap<String, String>,
}
