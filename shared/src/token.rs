//! Queue tokens: JWT claims, minting and verification.
//!
//! HS256 only: the algorithm is pinned on verification, so `alg: none` or any other
//! algorithm is refused. Minted tokens carry a `kid`; verification accepts the current key
//! and, during a rotation, one previous key. A token is only a claim — admission is always
//! checked against Redis as well.

use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::JwtSettings;
pub use crate::contract::queue::TicketStatus;

/// Claims of a queue token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueClaims {
    /// User id, as a decimal string (JWT `sub` is a string).
    pub sub: String,
    /// Concert id.
    pub cid: i64,
    /// Ticket number, monotonic per concert.
    pub seq: i64,
    pub st: TicketStatus,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The room epoch the ticket was issued in (0 or absent: unknown, not checked). A
    /// token from a line that Redis has since lost is answered "reset".
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ep: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl QueueClaims {
    pub fn new(
        user_id: i64,
        concert_id: i64,
        seq: i64,
        st: TicketStatus,
        now: i64,
        exp: i64,
    ) -> Self {
        Self {
            sub: user_id.to_string(),
            cid: concert_id,
            seq,
            st,
            iat: now,
            exp,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            ep: 0,
        }
    }

    /// The claims, issued in room epoch `epoch`.
    pub fn in_epoch(mut self, epoch: u64) -> Self {
        self.ep = epoch;
        self
    }

    /// The user id in `sub`; verification already ensured it parses.
    pub fn user_id(&self) -> i64 {
        self.sub.parse().unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature or key is not valid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token claims are not valid")]
    BadClaims,
}

struct VerifyKey {
    kid: String,
    key: DecodingKey,
}

/// Signing and verification keys built from [`JwtSettings`].
pub struct TokenKeys {
    kid: String,
    encoding: EncodingKey,
    verify: Vec<VerifyKey>,
    validation: Validation,
    /// `validation` without the expiry check.
    lenient: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    pub fn new(settings: &JwtSettings) -> Self {
        let secret = settings.secret.expose_secret().as_bytes();
        let mut verify = vec![VerifyKey {
            kid: settings.kid.clone(),
            key: DecodingKey::from_secret(secret),
        }];
        if let Some(previous) = &settings.previous_secret {
            verify.push(VerifyKey {
                kid: settings
                    .previous_kid
                    .clone()
                    .unwrap_or_else(|| "previous".into()),
                key: DecodingKey::from_secret(previous.expose_secret().as_bytes()),
            });
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        let mut lenient = validation.clone();
        lenient.validate_exp = false;
        Self {
            kid: settings.kid.clone(),
            encoding: EncodingKey::from_secret(secret),
            verify,
            validation,
            lenient,
        }
    }

    pub fn mint(&self, claims: &QueueClaims) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        // Encoding HS256 with a valid key and plain claims cannot fail.
        encode(&header, claims, &self.encoding).unwrap_or_default()
    }

    /// A token whose signature, algorithm and claims are valid but that may have expired
    /// (for looking up what it bought after its admission ended).
    pub fn verify_ignoring_expiry(&self, token: &str) -> Result<QueueClaims, TokenError> {
        self.verify_with(token, &self.lenient)
    }

    pub fn verify(&self, token: &str) -> Result<QueueClaims, TokenError> {
        self.verify_with(token, &self.validation)
    }

    fn verify_with(&self, token: &str, validation: &Validation) -> Result<QueueClaims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::BadSignature);
        }
        let candidates: Vec<&VerifyKey> = match &header.kid {
            Some(kid) => self.verify.iter().filter(|k| &k.kid == kid).collect(),
            None => self.verify.iter().collect(),
        };
        if candidates.is_empty() {
            return Err(TokenError::BadSignature);
        }
        let mut last = TokenError::BadSignature;
        for candidate in candidates {
            match decode::<QueueClaims>(token, &candidate.key, validation) {
                Ok(data) => {
                    let claims = data.claims;
                    let user_ok = claims.sub.parse::<i64>().is_ok_and(|u| u > 0);
                    // A pre-queue entry has no ticket number yet (0); every other
                    // ticket has one.
                    let seq_ok = if claims.st == TicketStatus::Prequeue {
                        claims.seq == 0
                    } else {
                        claims.seq > 0
                    };
                    if !user_ok || claims.cid <= 0 || !seq_ok {
                        return Err(TokenError::BadClaims);
                    }
                    return Ok(claims);
                }
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind;
                    last = match e.kind() {
                        ErrorKind::ExpiredSignature => return Err(TokenError::Expired),
                        ErrorKind::InvalidSignature => TokenError::BadSignature,
                        ErrorKind::Json(_) | ErrorKind::MissingRequiredClaim(_) => {
                            return Err(TokenError::BadClaims)
                        }
                        _ => TokenError::Malformed,
                    };
                }
            }
        }
        Err(last)
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn settings(secret: &str, kid: &str) -> JwtSettings {
        JwtSettings {
            secret: SecretString::from(secret.to_string()),
            kid: kid.into(),
            previous_secret: None,
            previous_kid: None,
            waiting_ttl_secs: 60,
        }
    }

    fn claims(exp_in: i64) -> QueueClaims {
        let now = now_secs();
        QueueClaims::new(42, 7, 3, TicketStatus::Waiting, now, now + exp_in)
    }

    fn b64(bytes: &[u8]) -> String {
        use base64_like::encode_url;
        encode_url(bytes)
    }

    /// Tiny URL-safe base64 without padding, enough to forge test tokens.
    mod base64_like {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        pub fn encode_url(input: &[u8]) -> String {
            let mut out = String::new();
            for chunk in input.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
                for i in 0..=chunk.len() {
                    out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                }
            }
            out
        }
    }

    #[test]
    fn minted_token_verifies_to_the_same_claims() {
        let keys = TokenKeys::new(&settings("s3cret-s3cret-s3cret-s3cret-s3cret", "k1"));
        let c = claims(60);
        assert_eq!(keys.verify(&keys.mint(&c)).unwrap(), c);
    }

    #[test]
    fn tampered_expired_wrong_key_and_alg_none_are_refused() {
        let keys = TokenKeys::new(&settings("s3cret-s3cret-s3cret-s3cret-s3cret", "k1"));
        let token = keys.mint(&claims(60));
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        let forged = serde_json::to_vec(&QueueClaims {
            seq: 1,
            ..claims(60)
        })
        .unwrap();
        parts[1] = b64(&forged);
        assert_eq!(keys.verify(&parts.join(".")), Err(TokenError::BadSignature));

        assert_eq!(
            keys.verify(&keys.mint(&claims(-10))),
            Err(TokenError::Expired)
        );

        let other = TokenKeys::new(&settings("another-secret-another-secret-xx", "k1"));
        assert_eq!(
            keys.verify(&other.mint(&claims(60))),
            Err(TokenError::BadSignature)
        );

        let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
        let body = b64(&serde_json::to_vec(&claims(60)).unwrap());
        assert!(keys.verify(&format!("{none_header}.{body}.")).is_err());

        assert_eq!(keys.verify("garbage"), Err(TokenError::Malformed));
        assert!(keys.verify("").is_err());
    }

    #[test]
    fn previous_key_still_verifies_during_rotation() {
        let old = TokenKeys::new(&settings("old-secret-old-secret-old-secret-1", "k1"));
        let token = old.mint(&claims(60));
        let mut rotated = settings("new-secret-new-secret-new-secret-2", "k2");
        rotated.previous_secret = Some(SecretString::from(
            "old-secret-old-secret-old-secret-1".to_string(),
        ));
        rotated.previous_kid = Some("k1".into());
        let new = TokenKeys::new(&rotated);
        assert!(new.verify(&token).is_ok());
        assert!(new.verify(&new.mint(&claims(60))).is_ok());
        // Without the previous key, the old token is refused.
        let fresh = TokenKeys::new(&settings("new-secret-new-secret-new-secret-2", "k2"));
        assert!(fresh.verify(&token).is_err());
    }
}
