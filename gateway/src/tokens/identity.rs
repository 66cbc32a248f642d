//! Who the buyer is. The site's login layer in front of the gateway asserts the user id;
//! with `identity.mode = "none"` (development, or a trusted edge that already checked it)
//! the id in the request is taken as given. With `identity.mode = "jwt"` the request must
//! carry `X-User-Token`, an HS256 JWT signed with `identity.secret` whose `sub` is that
//! user id — on joins (body `user_id`) and on the points routes (path `user_id`).

use std::sync::Arc;

use crate::settings::{IdentityMode, IdentitySettings};
use axum::http::HeaderMap;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::error::ApiError;

pub const USER_TOKEN_HEADER: &str = "x-user-token";

#[derive(Clone)]
pub enum Identity {
    AsGiven,
    Jwt {
        key: Arc<DecodingKey>,
        validation: Arc<Validation>,
    },
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Identity::AsGiven => "Identity::AsGiven",
            Identity::Jwt { .. } => "Identity::Jwt",
        })
    }
}

#[derive(Deserialize)]
struct UserClaims {
    sub: String,
}

impl Identity {
    pub fn new(settings: &IdentitySettings) -> Self {
        match (settings.mode, &settings.secret) {
            (IdentityMode::Jwt, Some(secret)) => {
                let mut validation = Validation::new(Algorithm::HS256);
                validation.leeway = 0;
                validation.set_required_spec_claims(&["exp", "sub"]);
                Identity::Jwt {
                    key: Arc::new(DecodingKey::from_secret(secret.expose_secret().as_bytes())),
                    validation: Arc::new(validation),
                }
            }
            // Settings validation refuses `jwt` without a secret.
            _ => Identity::AsGiven,
        }
    }

    /// Ok when the request may act as `user_id`.
    pub fn check(&self, headers: &HeaderMap, user_id: i64) -> Result<(), ApiError> {
        let Identity::Jwt { key, validation } = self else {
            return Ok(());
        };
        let token = headers
            .get(USER_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::Unauthorized("X-User-Token is required".into()))?;
        let claims = decode::<UserClaims>(token, key, validation)
            .map_err(|_| ApiError::Unauthorized("X-User-Token is not valid".into()))?
            .claims;
        if claims.sub != user_id.to_string() {
            return Err(ApiError::Unauthorized(
                "X-User-Token is for another user".into(),
            ));
        }
        Ok(())
    }
}
