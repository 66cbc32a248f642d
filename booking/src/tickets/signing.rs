//! Ticket codes: a JWS compact serialisation (`header.claims.signature`, base64url without
//! padding) signed with EdDSA over Ed25519 (RFC 8037), header `{"alg":"EdDSA","kid":...}`.
//! Any JOSE library verifies one with the JWKS of `GET /v1/tickets/keys`, so a door with
//! no network checks a code with that document alone (`scripts/verify-ticket`).
//!
//! The signing key is a 32-byte seed (`tickets.signing_key`, base64) named by
//! `tickets.key_id`; rotating it: sign with a new seed under a new id and list the old
//! public key in `tickets.retired_keys` (`kid=base64url(public key)`, comma-separated), so
//! codes issued before still verify. Production refuses the development seed.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::Deserialize;
use shared::contract::tickets::{Jwk, Jwks, TicketClaims};

/// The development signing seed (base64 of 32 bytes); refused with `profile = prod`.
pub const DEV_SIGNING_KEY: &str = shared::config::dev::TICKET_SIGNING_KEY;

/// Why a code is not a valid ticket code (400 `INVALID_TICKET`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("not a JWS compact serialisation")]
    Malformed,
    #[error("the code is signed with an unknown key")]
    UnknownKey,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the code's algorithm is not EdDSA")]
    WrongAlgorithm,
}

/// The keys of a service: one to sign with, any number to verify with.
#[derive(Clone)]
pub struct TicketKeys {
    kid: String,
    signing: SigningKey,
    /// (kid, key) of every key a code may carry: the current one first.
    verifying: Vec<(String, VerifyingKey)>,
}

impl std::fmt::Debug for TicketKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

impl TicketKeys {
    /// From the settings' seed (base64 of 32 bytes), its id, and the retired public keys
    /// (`kid=base64url`, comma-separated).
    pub fn new(seed_b64: &str, kid: &str, retired: &str) -> Result<Self, String> {
        let seed = STANDARD
            .decode(seed_b64.trim())
            .map_err(|e| format!("tickets.signing_key is not base64: {e}"))?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| "tickets.signing_key must be 32 bytes (base64)".to_string())?;
        let signing = SigningKey::from_bytes(&seed);
        let mut verifying = vec![(kid.to_owned(), signing.verifying_key())];
        for entry in retired.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) = entry
                .split_once('=')
                .ok_or_else(|| format!("tickets.retired_keys entry `{entry}` is not kid=key"))?;
            let bytes: [u8; 32] = URL_SAFE_NO_PAD
                .decode(key)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("tickets.retired_keys: key of `{id}` is not 32 bytes"))?;
            let key = VerifyingKey::from_bytes(&bytes)
                .map_err(|e| format!("tickets.retired_keys: key of `{id}`: {e}"))?;
            if id == kid || verifying.iter().any(|(k, _)| k == id) {
                return Err(format!("tickets: key id `{id}` is used twice"));
            }
            verifying.push((id.to_owned(), key));
        }
        Ok(Self {
            kid: kid.to_owned(),
            signing,
            verifying,
        })
    }

    /// The code of a ticket.
    pub fn sign(&self, claims: &TicketClaims) -> String {
        let header = serde_json::json!({"alg": "EdDSA", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default())
        );
        let signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// The claims of a code signed with one of the keys.
    pub fn verify(&self, code: &str) -> Result<TicketClaims, CodeError> {
        verify_with(code, |kid| {
            self.verifying
                .iter()
                .find(|(k, _)| k == kid)
                .map(|(_, key)| *key)
        })
    }

    /// The public keys, as `GET /v1/tickets/keys` publishes them.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .verifying
                .iter()
                .map(|(kid, key)| Jwk {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: URL_SAFE_NO_PAD.encode(key.to_bytes()),
                    kid: kid.clone(),
                    alg: "EdDSA".into(),
                    use_: "sig".into(),
                })
                .collect(),
        }
    }
}

/// Verifies `code` with the key `key_of` names for its `kid` (a service's keys, or a
/// JWKS a door downloaded).
pub fn verify_with(
    code: &str,
    key_of: impl Fn(&str) -> Option<VerifyingKey>,
) -> Result<TicketClaims, CodeError> {
    let mut parts = code.trim().split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CodeError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| CodeError::Malformed)
    };
    let header: Header = serde_json::from_slice(&decode(h)?).map_err(|_| CodeError::Malformed)?;
    if header.alg != "EdDSA" {
        return Err(CodeError::WrongAlgorithm);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(&key_of)
        .ok_or(CodeError::UnknownKey)?;
    let signature: [u8; 64] = decode(s)?.try_into().map_err(|_| CodeError::Malformed)?;
    key.verify(
        format!("{h}.{c}").as_bytes(),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| CodeError::BadSignature)?;
    serde_json::from_slice(&decode(c)?).map_err(|_| CodeError::Malformed)
}

/// The verifying key of a JWKS entry (OKP / Ed25519 only).
pub fn jwk_key(jwk: &Jwk) -> Option<VerifyingKey> {
    if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
        return None;
    }
    let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(&jwk.x).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> TicketClaims {
        TicketClaims {
            tid: uuid::Uuid::now_v7(),
            sch: 3,
            seat: 17,
            sub: "42".into(),
            iat: 1_800_000_000,
        }
    }

    #[test]
    fn a_code_verifies_with_its_keys_and_its_jwks_and_nothing_else() {
        let keys = TicketKeys::new(DEV_SIGNING_KEY, "k1", "").unwrap();
        let c = claims();
        let code = keys.sign(&c);
        assert_eq!(keys.verify(&code).unwrap(), c);
        let jwks = keys.jwks();
        let from_jwks = verify_with(&code, |kid| {
            jwks.keys.iter().find(|k| k.kid == kid).and_then(jwk_key)
        });
        assert_eq!(from_jwks.unwrap(), c);

        // Tampered claims, a foreign key, an unknown kid, alg none, garbage.
        let parts: Vec<&str> = code.split('.').collect();
        let mut other = c.clone();
        other.seat = 18;
        let forged_claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
        let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
        assert_eq!(keys.verify(&forged), Err(CodeError::BadSignature));
        let stranger = TicketKeys::new(&STANDARD.encode([7u8; 32]), "k1", "").unwrap();
        assert_eq!(
            keys.verify(&stranger.sign(&c)),
            Err(CodeError::BadSignature)
        );
        let unknown = TicketKeys::new(&STANDARD.encode([7u8; 32]), "k9", "").unwrap();
        assert_eq!(keys.verify(&unknown.sign(&c)), Err(CodeError::UnknownKey));
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#),
            parts[1]
        );
        assert_eq!(keys.verify(&none), Err(CodeError::WrongAlgorithm));
        assert_eq!(keys.verify("not-a-code"), Err(CodeError::Malformed));
    }

    #[test]
    fn a_rotated_key_keeps_old_codes_valid() {
        let old = TicketKeys::new(DEV_SIGNING_KEY, "k1", "").unwrap();
        let old_code = old.sign(&claims());
        let retired = format!("k1={}", old.jwks().keys[0].x);
        let new = TicketKeys::new(&STANDARD.encode([9u8; 32]), "k2", &retired).unwrap();
        assert!(new.verify(&old_code).is_ok());
        assert!(new.verify(&new.sign(&claims())).is_ok());
        assert_eq!(new.jwks().keys.len(), 2);
        assert!(TicketKeys::new(DEV_SIGNING_KEY, "k1", "k1=AAAA").is_err());
        assert!(TicketKeys::new("short", "k1", "").is_err());
    }
}
