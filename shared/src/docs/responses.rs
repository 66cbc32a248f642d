//! The problem bodies and the reusable error responses both documents share. Each
//! response names its codes in backticks (`` `SEAT_UNAVAILABLE`: ... ``); the docs checks
//! hold every code so named to its status.

use serde::Serialize;
use utoipa::openapi::{RefOr, Response};
use utoipa::{ToResponse, ToSchema};

use crate::contract::Code;

/// An RFC 9457 problem, the body of every error response (`application/problem+json`).
///
/// Some problems carry extra members, e.g. `position` on `NOT_ADMITTED` from the gateway.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:ticketing:problem:SEAT_UNAVAILABLE",
    "title": "Seat unavailable",
    "status": 409,
    "detail": "the seat is held or sold",
    "code": "SEAT_UNAVAILABLE"
}))]
pub struct ProblemDetails {
    /// `urn:ticketing:problem:<CODE>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short, human-readable summary of the code; the same for every occurrence.
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// Stable, machine-readable code; clients switch on this.
    pub code: Code,
}

/// Declares reusable problem responses (one `ToResponse` type each, its doc comment the
/// description) and [`all`], the list the conventions register.
macro_rules! problem_responses {
    ($($(#[doc = $doc:tt])* $name:ident($body:ident) $(retry $retry:tt)?;)*) => {
        $(
            $(#[doc = $doc])*
            #[derive(ToResponse)]
            #[response(
                content_type = "application/problem+json"
                $(, headers(("Retry-After" = u64, description = $retry)))?
            )]
            pub struct $name(pub $body);
        )*

        /// Every reusable response, by name.
        pub fn all() -> Vec<(&'static str, RefOr<Response>)> {
            vec![$($name::response(),)*]
        }
    };
}

problem_responses! {
    /// `INVALID_REQUEST`: a malformed path parameter, query, header or JSON body (unknown
    /// fields are rejected too).
    InvalidRequest(ProblemDetails);
    /// `INVALID_TOKEN`: the queue token is missing, malformed, tampered, signed with
    /// another key or expired.
    InvalidToken(ProblemDetails);
    /// `UNAUTHORIZED`: the admin token is missing or wrong.
    AdminUnauthorized(ProblemDetails);
    /// `UNAUTHORIZED`: no or a wrong `X-Internal-Token` (booking answers the gateways only).
    InternalUnauthorized(ProblemDetails);
    /// `CONCERT_NOT_FOUND`: no such concert (booking does not know it).
    ConcertNotFound(ProblemDetails);
    /// `PAYLOAD_TOO_LARGE`: the body is over 64 KiB.
    PayloadTooLarge(ProblemDetails);
    /// `UNSUPPORTED_MEDIA_TYPE`: the body is not sent as `Content-Type: application/json`.
    UnsupportedMediaType(ProblemDetails);
    /// `IDEMPOTENCY_KEY_REUSED`: this `Idempotency-Key` was used before with another
    /// request.
    IdempotencyKeyReused(ProblemDetails);
    /// `INTERNAL`: the server failed; the cause is logged under the response's
    /// `X-Request-Id`.
    Internal(ProblemDetails);
    /// `SERVICE_UNAVAILABLE`: PostgreSQL, Redis or booking is unreachable or overloaded;
    /// nothing was changed. Retry after `Retry-After` seconds.
    Unavailable(ProblemDetails) retry "Seconds to wait before retrying.";
    /// `TICKET_GONE`: the token's ticket was dropped (its admission expired, the buyer
    /// left or paid); join the line again with `POST /v1/queue/tokens`.
    TicketGone(ProblemDetails);
    /// `RATE_LIMITED`: too many joins from this client. Retry after `Retry-After` seconds.
    RateLimited(ProblemDetails) retry "Seconds to wait before retrying.";
    /// `IDENTITY_REQUIRED`: the route acts for a user and the request proves no identity
    /// (`identity.mode = jwt`: no `X-User-Token`; `header`: no `X-User-Id`, or it came from
    /// a peer that is not a trusted proxy). `IDENTITY_INVALID`: the identity is there but
    /// not valid (bad signature, expired, wrong issuer or audience, unknown `kid`).
    IdentityUnverified(ProblemDetails);
    /// `IDENTITY_MISMATCH`: the user the request names is not the caller's identity.
    IdentityMismatch(ProblemDetails);
    /// `NOT_ADMITTED`: the token is still waiting (`position` says where).
    /// `WRONG_CONCERT`: the resource belongs to another concert than the token's.
    NotAdmittedHere(Forbidden);
    /// `NOT_ADMITTED`: the token is still waiting (`position` says where). `FORBIDDEN`: a
    /// reservation belongs to another buyer. `WRONG_CONCERT`: it is for another concert
    /// than the token's.
    NotAdmittedOrNotYours(Forbidden);
}

/// A 403 problem. `NOT_ADMITTED` (the token is still waiting) carries the buyer's current
/// `position` in line; the other 403 codes do not.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:ticketing:problem:NOT_ADMITTED",
    "title": "Not admitted yet",
    "status": 403,
    "detail": "this token is still waiting in line; poll /v1/queue/status",
    "code": "NOT_ADMITTED",
    "position": 1234
}))]
pub struct Forbidden {
    #[serde(flatten)]
    pub problem: ProblemDetails,
    /// `NOT_ADMITTED` only: the place in line, 1 for the head.
    #[schema(minimum = 1)]
    pub position: Option<u64>,
    /// `NOT_ADMITTED` of a pre-queue entry: `prequeue` (with `opens_at`), its place is
    /// drawn at the opening.
    pub ticket_status: Option<String>,
}

/// A `SERVICE_UNAVAILABLE` problem from `/readyz`, with the checks (`ok` / `unavailable`).
#[derive(Serialize, ToSchema)]
pub struct NotReady {
    #[serde(flatten)]
    pub problem: ProblemDetails,
    pub checks: std::collections::BTreeMap<String, String>,
}
