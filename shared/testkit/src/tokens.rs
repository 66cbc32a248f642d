//! Hand-made tokens, for the forged, expired and other-key cases.

use shared::token::{now_secs, QueueClaims, TicketStatus};

/// Claims expiring `exp_in` seconds from now (negative: already expired).
pub fn claims(
    user_id: i64,
    concert_id: i64,
    seq: i64,
    st: TicketStatus,
    exp_in: i64,
) -> QueueClaims {
    let now = now_secs();
    QueueClaims::new(user_id, concert_id, seq, st, now, now + exp_in)
}

/// URL-safe base64 without padding (a JWT's encoding), to forge token parts.
pub fn b64(input: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(input)
}

/// `token` with one character of its signature changed.
pub fn tampered(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let at = bytes.len() - 5;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// `token`'s claims under an `alg: none` header and no signature.
pub fn alg_none(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap_or_default();
    format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#))
}

/// The test-only keys of `shared/testkit/fixtures` (see its README): what a site's login
/// layer would sign user tokens with.
#[derive(Debug, Clone, Copy)]
pub enum UserKey<'a> {
    /// A shared HS256 secret (`identity.secret`).
    Hs256(&'a str),
    /// `rsa-1` (RS256), `ec-1` (ES256), `ed-1` (EdDSA): listed in `fixtures/jwks.json`.
    Rsa,
    Ec,
    Ed,
    /// `rsa-2`: not in the JWKS until a test adds `fixtures/rsa-2.jwk.json`.
    Rsa2,
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

/// A fixture file's path.
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(FIXTURES).join(name)
}

/// A user token: `claims` signed with `key`, its `kid` in the header (the key's own unless
/// `kid` says otherwise), in the algorithm of the key unless `alg` says otherwise.
pub fn user_token(key: UserKey<'_>, claims: &serde_json::Value) -> String {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    // The fixture keys: algorithm, `kid`, DER file.
    let (alg, kid, file) = match key {
        UserKey::Hs256(secret) => {
            let secret = EncodingKey::from_secret(secret.as_bytes());
            let header = Header::new(Algorithm::HS256);
            return encode(&header, claims, &secret).expect("signing a test token");
        }
        UserKey::Rsa => (Algorithm::RS256, "rsa-1", "rsa.der"),
        UserKey::Ec => (Algorithm::ES256, "ec-1", "ec.der"),
        UserKey::Ed => (Algorithm::EdDSA, "ed-1", "ed25519.der"),
        UserKey::Rsa2 => (Algorithm::RS256, "rsa-2", "rsa-2.der"),
    };
    let der = std::fs::read(fixture(file)).expect("a fixture key");
    let encoding = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_der(&der),
        Algorithm::ES256 => EncodingKey::from_ec_der(&der),
        _ => EncodingKey::from_ed_der(&der),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, &encoding).expect("signing a test token")
}

/// The same, with a header of the caller's (a forged `kid` or `alg`).
pub fn user_token_with(
    header: jsonwebtoken::Header,
    secret: &[u8],
    claims: &serde_json::Value,
) -> String {
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("signing a test token")
}

/// User-token claims: `sub` = `user`, expiring `exp_in` seconds from now.
pub fn user_claims(user: i64, exp_in: i64) -> serde_json::Value {
    serde_json::json!({"sub": user.to_string(), "exp": now_secs() + exp_in})
}
