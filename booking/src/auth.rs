//! Who is calling: the buyer from a verified, active queue token, or an operator.
//!
//! Booking sits behind the gateway, which already checked the admission in Redis; here the
//! token must verify (same key as the gateway), be `active`, and the concert it names must
//! match the resource (checked by each handler with [`Buyer::require_concert`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use shared::http::bearer;
use shared::token::{TicketStatus, TokenError};

use crate::error::ApiError;
use crate::state::AppState;

/// The buyer behind an active queue token.
#[derive(Debug, Clone, Copy)]
pub struct Buyer {
    pub user_id: i64,
    pub concert_id: i64,
    pub seq: i64,
}

impl Buyer {
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
        let token = bearer(&parts.headers).ok_or_else(|| {
            ApiError::InvalidToken("missing `Authorization: Bearer <token>`".into())
        })?;
        let claims = state.tokens.verify(token).map_err(|e| {
            ApiError::InvalidToken(match e {
                TokenError::Expired => "the token has expired".into(),
                other => other.to_string(),
            })
        })?;
        if claims.st != TicketStatus::Active {
            return Err(ApiError::NotAdmitted);
        }
        let buyer = Buyer {
            user_id: claims.user_id(),
            concert_id: claims.cid,
            seq: claims.seq,
        };
        let span = tracing::Span::current();
        span.record("user_id", buyer.user_id);
        span.record("concert_id", buyer.concert_id);
        Ok(buyer)
    }
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
