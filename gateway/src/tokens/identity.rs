//! Who the buyer is (`identity.mode`).
//!
//! - `none`: the request's `user_id` is taken as given. Development only: the production
//!   profile refuses it.
//! - `jwt`: the site's login layer gives the browser a user JWT, sent as `X-User-Token`.
//!   It is verified with the shared HS256 `identity.secret`, or with the site's public keys
//!   from `identity.jwks_file` (RS256, ES256, EdDSA), picked by the token's `kid` — the
//!   algorithm is the key's own, so an RS256 public key can never be used as an HS256
//!   secret. The file is re-read when it changes (looked at no more than once a second,
//!   and at once for an unknown `kid`); a key of a type it cannot use is skipped with a
//!   warning, and a file that no longer parses keeps the last keys (a half-written file),
//!   while a file that parses replaces them — removing a key revokes it. `exp` is required
//!   and enforced (5 s of leeway for clock skew), `nbf` when present, `iss` and `aud` when
//!   configured; `sub` is the user id.
//! - `header`: a trusted load balancer sets `X-User-Id` after its own login check. Only
//!   peers inside `identity.trusted_proxies` may; from anyone else it is not an identity.
//!
//! Joins and the per-user routes (points, reservations) are bound to the identity
//! ([`Identity::bind`]): missing → 401 `IDENTITY_REQUIRED`, present but not valid → 401
//! `IDENTITY_INVALID`, naming another user → 403 `IDENTITY_MISMATCH`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::http::HeaderMap;
use ipnet::IpNet;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::error::ApiError;
use crate::settings::{IdentityMode, IdentitySettings};

/// The site's user token.
pub const USER_TOKEN_HEADER: &str = "x-user-token";
/// The user id a trusted proxy vouches for.
pub const USER_ID_HEADER: &str = "x-user-id";

/// How long the JWKS file's metadata is trusted before it is looked at again.
const JWKS_RECHECK: Duration = Duration::from_secs(1);
/// Clock skew allowed on `exp` (and `nbf`).
const LEEWAY_SECS: u64 = 5;

#[derive(Clone)]
pub enum Identity {
    AsGiven,
    Jwt(Arc<UserTokens>),
    Header { trusted: Arc<Vec<IpNet>> },
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Identity::AsGiven => "Identity::AsGiven",
            Identity::Jwt(_) => "Identity::Jwt",
            Identity::Header { .. } => "Identity::Header",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("identity.jwks_file {path}: {why}")]
pub struct JwksError {
    path: String,
    why: String,
}

impl Identity {
    /// From settings already validated; a JWKS file that cannot be read is an error here
    /// (the gateway does not start without its keys).
    pub fn new(settings: &IdentitySettings) -> Result<Self, JwksError> {
        Ok(match settings.mode {
            IdentityMode::None => Identity::AsGiven,
            IdentityMode::Header => Identity::Header {
                trusted: Arc::new(settings.trusted().unwrap_or_default()),
            },
            IdentityMode::Jwt => Identity::Jwt(Arc::new(UserTokens::new(settings)?)),
        })
    }

    /// The caller's verified user id, or `None` in mode `none` (nothing is verified).
    pub fn caller(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<Option<i64>, ApiError> {
        match self {
            Identity::AsGiven => Ok(None),
            Identity::Jwt(tokens) => {
                let token = headers
                    .get(USER_TOKEN_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| ApiError::IdentityRequired("X-User-Token is required".into()))?;
                tokens.verify(token).map(Some)
            }
            Identity::Header { trusted } => {
                let Some(value) = headers.get(USER_ID_HEADER) else {
                    return Err(ApiError::IdentityRequired("X-User-Id is required".into()));
                };
                let from_trusted =
                    peer.is_some_and(|ip| trusted.iter().any(|net| net.contains(&ip)));
                if !from_trusted {
                    return Err(ApiError::IdentityRequired(
                        "X-User-Id is only accepted from a trusted proxy".into(),
                    ));
                }
                value
                    .to_str()
                    .ok()
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .filter(|id| *id > 0)
                    .map(Some)
                    .ok_or_else(|| ApiError::IdentityInvalid("X-User-Id is not a user id".into()))
            }
        }
    }

    /// The user a request acts for: `claimed` (the body's or the path's `user_id`) held to
    /// the caller's identity. In mode `none` the claim is taken as given (and required).
    pub fn bind(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        claimed: Option<i64>,
    ) -> Result<i64, ApiError> {
        match (self.caller(headers, peer)?, claimed) {
            (None, Some(claimed)) => Ok(claimed),
            (None, None) => Err(ApiError::Invalid("user_id is required".into())),
            (Some(caller), Some(claimed)) if claimed != caller => {
                Err(ApiError::IdentityMismatch { claimed, caller })
            }
            (Some(caller), _) => Ok(caller),
        }
    }
}

#[derive(Deserialize)]
struct UserClaims {
    sub: String,
}

/// Verifies the site's user tokens.
pub struct UserTokens {
    keys: KeySource,
    issuer: Option<String>,
    audience: Option<String>,
}

enum KeySource {
    Secret(DecodingKey),
    Jwks(JwksFile),
}

impl UserTokens {
    fn new(settings: &IdentitySettings) -> Result<Self, JwksError> {
        let keys = match (&settings.secret, &settings.jwks_file) {
            (Some(secret), _) => {
                KeySource::Secret(DecodingKey::from_secret(secret.expose_secret().as_bytes()))
            }
            (None, Some(path)) => KeySource::Jwks(JwksFile::open(path)?),
            (None, None) => {
                return Err(JwksError {
                    path: String::new(),
                    why: "identity.mode = jwt needs identity.secret or identity.jwks_file".into(),
                })
            }
        };
        Ok(Self {
            keys,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        })
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = LEEWAY_SECS;
        v.validate_exp = true;
        v.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if let Some(issuer) = &self.issuer {
            v.set_issuer(&[issuer]);
            required.push("iss");
        }
        match &self.audience {
            Some(audience) => {
                v.set_audience(&[audience]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&required);
        v
    }

    /// The user id in a valid token; `IDENTITY_INVALID` with the reason otherwise.
    pub fn verify(&self, token: &str) -> Result<i64, ApiError> {
        let invalid = |why: &str| ApiError::IdentityInvalid(format!("X-User-Token: {why}"));
        let header = decode_header(token).map_err(|_| invalid("not a JWT"))?;
        let claims = match &self.keys {
            KeySource::Secret(key) => {
                if header.alg != Algorithm::HS256 {
                    return Err(invalid("the algorithm must be HS256"));
                }
                decode::<UserClaims>(token, key, &self.validation(Algorithm::HS256))
            }
            KeySource::Jwks(file) => {
                let kid = header.kid.as_deref().ok_or_else(|| invalid("no kid"))?;
                let (key, alg) = file.key(kid).ok_or_else(|| invalid("unknown kid"))?;
                if header.alg != alg {
                    return Err(invalid("the algorithm is not the key's"));
                }
                decode::<UserClaims>(token, &key, &self.validation(alg))
            }
        }
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "expired",
                ErrorKind::InvalidIssuer => "wrong issuer",
                ErrorKind::InvalidAudience => "wrong audience",
                ErrorKind::InvalidSignature => "bad signature",
                ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
                _ => "not valid",
            })
        })?
        .claims;
        claims
            .sub
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| invalid("sub is not a user id"))
    }
}

/// The JWKS file and the keys read from it.
struct JwksFile {
    path: PathBuf,
    state: RwLock<JwksState>,
}

struct JwksState {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    /// What the file looked like when read: (modified, length).
    stamp: Option<(SystemTime, u64)>,
    checked: Instant,
}

impl JwksFile {
    fn open(path: &Path) -> Result<Self, JwksError> {
        let (keys, stamp) = read_jwks(path)?;
        if keys.is_empty() {
            // Nobody could ever sign in.
            return Err(JwksError {
                path: path.display().to_string(),
                why: "no usable keys".into(),
            });
        }
        Ok(Self {
            path: path.to_owned(),
            state: RwLock::new(JwksState {
                keys,
                stamp,
                checked: Instant::now(),
            }),
        })
    }

    /// The key with `kid` and its algorithm, re-reading the file first when it changed.
    fn key(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        let (found, due) = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            (
                state.keys.get(kid).cloned(),
                state.checked.elapsed() >= JWKS_RECHECK,
            )
        };
        // An unknown kid may be a key the site just added: look at the file at once.
        if due || found.is_none() {
            self.reload_if_changed(found.is_none());
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            return state.keys.get(kid).cloned();
        }
        found
    }

    fn reload_if_changed(&self, urgent: bool) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if !urgent && state.checked.elapsed() < JWKS_RECHECK {
            return;
        }
        // Even an unknown kid re-reads at most every few hundred ms (a flood of bad kids
        // must not turn into a flood of file reads).
        if urgent && state.checked.elapsed() < JWKS_RECHECK / 4 {
            return;
        }
        state.checked = Instant::now();
        let stamp = stamp_of(&self.path);
        if stamp.is_some() && stamp == state.stamp {
            return;
        }
        match read_jwks(&self.path) {
            Ok((keys, stamp)) => {
                tracing::info!(path = %self.path.display(), keys = keys.len(), "JWKS re-read");
                state.keys = keys;
                state.stamp = stamp;
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWKS could not be re-read; keeping the last keys")
            }
        }
    }
}

fn stamp_of(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

type Keys = HashMap<String, (DecodingKey, Algorithm)>;

fn read_jwks(path: &Path) -> Result<(Keys, Option<(SystemTime, u64)>), JwksError> {
    let fail = |why: String| JwksError {
        path: path.display().to_string(),
        why,
    };
    let stamp = stamp_of(path);
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let set: JwkSet = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            tracing::warn!(path = %path.display(), "JWKS: a key without kid is skipped");
            continue;
        };
        let usable = key_algorithm(jwk)
            .ok_or_else(|| "unsupported type or algorithm".to_string())
            .and_then(|alg| {
                DecodingKey::from_jwk(jwk)
                    .map(|key| (key, alg))
                    .map_err(|e| e.to_string())
            });
        match usable {
            Ok(key) => {
                keys.insert(kid, key);
            }
            Err(why) => {
                tracing::warn!(path = %path.display(), kid, why, "JWKS: a key is skipped")
            }
        }
    }
    Ok((keys, stamp))
}

/// The algorithm a key is for: its `alg` when given, else what its type implies.
fn key_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm};
    if let Some(alg) = jwk.common.key_algorithm {
        return match alg {
            KeyAlgorithm::RS256 => Some(Algorithm::RS256),
            KeyAlgorithm::ES256 => Some(Algorithm::ES256),
            KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
            _ => None,
        };
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
            Some(Algorithm::ES256)
        }
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Some(Algorithm::EdDSA)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwks_file_without_keys_is_refused_at_start() {
        let path = std::env::temp_dir().join(format!("jwks-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&path, r#"{"keys": []}"#).unwrap();
        let settings = IdentitySettings {
            mode: IdentityMode::Jwt,
            secret: None,
            jwks_file: Some(path.clone()),
            issuer: None,
            audience: None,
            trusted_proxies: String::new(),
        };
        let err = Identity::new(&settings).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.contains("no usable keys"), "{err}");
    }
}
