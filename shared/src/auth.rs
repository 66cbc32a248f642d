//! Operator authentication: the admin bearer token, compared in constant time.

use axum::http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};

use crate::http::bearer;
use crate::problem::{Code, Problem};

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 401 `UNAUTHORIZED` unless `Authorization: Bearer <admin token>` matches.
pub fn require_admin(headers: &HeaderMap, token: &SecretString) -> Result<(), Problem> {
    match bearer(headers) {
        Some(given) if constant_time_eq(given.as_bytes(), token.expose_secret().as_bytes()) => {
            Ok(())
        }
        Some(_) => Err(Problem::new(Code::Unauthorized, "wrong admin token")),
        None => Err(Problem::new(
            Code::Unauthorized,
            "admin routes need `Authorization: Bearer <admin token>`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_bytes_match() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }
}
