//! Who is calling: the gateway (the internal token), the buyer from a verified, active queue
//! token, or an operator.
//!
//! Booking trusts only the gateway for buyer routes: with `internal.token` set, every
//! `/v1/*` request must carry `X-Internal-Token` with that value ([`require_internal`],
//! constant-time) or gets 401. The token must verify (same key as the gateway), be `active`,
//! and the concert it names must match the resource ([`Buyer::require_concert`]); holds
//! and new payments also check in Redis that the admission is still live
//! ([`Buyer::require_admitted`]), so a paid-up or expired ticket cannot buy again by
//! calling booking directly.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use shared::admission::{self, Refusal, TicketRef};
use shared::auth::constant_time_eq;
use shared::http::{bearer, INTERNAL_TOKEN};
use shared::token::{TicketStatus, TokenError};
use shared::{Code, Problem};

use crate::error::ApiError;
use crate::state::AppState;

/// The buyer behind an active queue token.
#[derive(Debug, Clone, Copy)]
pub struct Buyer {
    pub user_id: i64,
    pub concert_id: i64,
    pub seq: i64,
    /// The room epoch the token was issued in (0: not checked).
    pub epoch: u64,
}

impl Buyer {
    /// The admission in Redis, now ([`shared::admission::check`], the rule the gateway
    /// runs too): `Ok` while it is live; 403 `NOT_ADMITTED` when the ticket is (back) in
    /// line, 410 `TICKET_GONE` when it was dropped (paid, left, expired, sold out).
    pub async fn require_admitted(&self, state: &AppState) -> Result<(), ApiError> {
        match admission::check(&state.store, self.ticket(), None).await? {
            Ok(_) => Ok(()),
            Err(Refusal::Waiting { .. } | Refusal::Prequeue { .. }) => Err(ApiError::NotAdmitted),
            Err(Refusal::Gone | Refusal::SoldOut) => Err(ApiError::TicketGone),
            Err(Refusal::Reset) => Err(ApiError::QueueReset),
        }
    }

    /// The ticket the buyer's token carries.
    pub fn ticket(&self) -> TicketRef {
        TicketRef {
            concert_id: self.concert_id,
            user_id: self.user_id,
            seq: self.seq,
            epoch: self.epoch,
        }
    }

    pub fn require_concert(&self, concert_id: i64) -> Result<(), ApiError> {
        if self.concert_id == concert_id {
            Ok(())
        } else {
            Err(ApiError::WrongConcert {
                token: self.concert_id,
                resource: concert_id,
            })
        }
    }
}

impl FromRequestParts<AppState> for Buyer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (buyer, expired) = buyer_of(parts, state)?;
        if expired {
            return Err(ApiError::InvalidToken("the token has expired".into()));
        }
        Ok(buyer)
    }
}

/// The buyer of a payment: as [`Buyer`], but a token past its `exp` is accepted too
/// (`expired`), for one purpose only: the retry of a payment whose answer was lost gets the
/// saved answer after the admission (and with it the token) ran out.
#[derive(Debug, Clone, Copy)]
pub struct PayingBuyer {
    pub buyer: Buyer,
    pub expired: bool,
}

impl FromRequestParts<AppState> for PayingBuyer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (buyer, expired) = buyer_of(parts, state)?;
        Ok(PayingBuyer { buyer, expired })
    }
}

/// The buyer behind the request's active queue token, and whether it has expired.
fn buyer_of(parts: &Parts, state: &AppState) -> Result<(Buyer, bool), ApiError> {
    let token = bearer(&parts.headers)
        .ok_or_else(|| ApiError::InvalidToken("missing `Authorization: Bearer <token>`".into()))?;
    let (claims, expired) = match state.tokens.verify(token) {
        Ok(claims) => (claims, false),
        Err(TokenError::Expired) => (
            state
                .tokens
                .verify_ignoring_expiry(token)
                .map_err(|e| ApiError::InvalidToken(e.to_string()))?,
            true,
        ),
        Err(e) => return Err(ApiError::InvalidToken(e.to_string())),
    };
    if claims.st != TicketStatus::Active {
        return Err(ApiError::NotAdmitted);
    }
    let buyer = Buyer {
        user_id: claims.user_id(),
        concert_id: claims.cid,
        seq: claims.seq,
        epoch: claims.ep,
    };
    let span = tracing::Span::current();
    span.record("user_id", buyer.user_id);
    span.record("concert_id", buyer.concert_id);
    Ok((buyer, expired))
}

/// Operator access: `Authorization: Bearer <admin token>`.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        shared::auth::require_admin(&parts.headers, &state.settings.admin.token)?;
        Ok(Admin)
    }
}

/// The buyer routes' gate: with `internal.token` set, only a request carrying it in
/// `X-Internal-Token` gets through (401 `UNAUTHORIZED` otherwise).
pub async fn require_internal(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(token) = &state.settings.internal.token {
        let given = request
            .headers()
            .get(&INTERNAL_TOKEN)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !constant_time_eq(given, token.expose_secret().as_bytes()) {
            return Problem::new(
                Code::Unauthorized,
                "booking's buyer routes answer the gateway only (X-Internal-Token)",
            )
            .into_response();
        }
    }
    next.run(request).await
}
