//! Property tests of queue-token verification: whatever string arrives in
//! `Authorization: Bearer`, `verify` returns (never panics), and a valid token changed in
//! any way — a byte replaced, cut short, extended — is never accepted.

use proptest::prelude::*;
use secrecy::SecretString;
use shared::config::JwtSettings;
use shared::token::{now_secs, QueueClaims, TicketStatus, TokenKeys};

/// The JWT section as the services default it (kid `k1`).
fn jwt() -> JwtSettings {
    JwtSettings {
        secret: SecretString::from(shared::config::dev::JWT_SECRET),
        kid: "k1".into(),
        previous_secret: None,
        previous_kid: None,
        waiting_ttl_secs: 86_400,
    }
}

fn keys() -> TokenKeys {
    let mut settings = jwt();
    settings.secret = SecretString::from("property-test-secret-of-at-least-32-bytes");
    TokenKeys::new(&settings)
}

fn rotated_keys() -> TokenKeys {
    let settings = JwtSettings {
        secret: SecretString::from("the-new-secret-of-at-least-32-bytes-long"),
        kid: "k2".into(),
        previous_secret: Some(SecretString::from(
            "property-test-secret-of-at-least-32-bytes",
        )),
        previous_kid: Some(jwt().kid),
        ..jwt()
    };
    TokenKeys::new(&settings)
}

fn valid_token(keys: &TokenKeys, user: i64, concert: i64, seq: i64, active: bool) -> String {
    let now = now_secs();
    let st = if active {
        TicketStatus::Active
    } else {
        TicketStatus::Waiting
    };
    keys.mint(&QueueClaims::new(user, concert, seq, st, now, now + 600))
}

/// Characters a mutation may put in: the base64url alphabet, the dot, and a few others.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_valid_token_round_trips(user in 1i64..i64::MAX, concert in 1i64..i64::MAX, seq in 1i64..i64::MAX, active: bool) {
        let keys = keys();
        let token = valid_token(&keys, user, concert, seq, active);
        let claims = keys.verify(&token).expect("a freshly minted token verifies");
        prop_assert_eq!((claims.user_id(), claims.cid, claims.seq), (user, concert, seq));
        // During a rotation the previous key still verifies it.
        prop_assert!(rotated_keys().verify(&token).is_ok());
    }

    #[test]
    fn a_token_with_one_byte_replaced_is_refused(
        user in 1i64..1_000_000, index: prop::sample::Index, with in 0..ALPHABET.len(), active: bool
    ) {
        let keys = keys();
        let token = valid_token(&keys, user, 7, 3, active);
        let mut bytes = token.clone().into_bytes();
        let at = index.index(bytes.len());
        prop_assume!(bytes[at] != ALPHABET[with]);
        bytes[at] = ALPHABET[with];
        let modified = String::from_utf8(bytes).unwrap();
        prop_assert!(keys.verify(&modified).is_err(), "accepted {} (from {})", modified, token);
    }

    #[test]
    fn a_token_with_a_bit_flipped_is_refused(user in 1i64..1_000_000, index: prop::sample::Index, bit in 0u8..8) {
        let keys = keys();
        let token = valid_token(&keys, user, 7, 3, true);
        let mut bytes = token.into_bytes();
        let at = index.index(bytes.len());
        bytes[at] ^= 1 << bit;
        // Not UTF-8 any more: a header value that cannot be a string never reaches verify.
        if let Ok(modified) = String::from_utf8(bytes) {
            prop_assert!(keys.verify(&modified).is_err());
        }
    }

    #[test]
    fn a_cut_or_extended_token_is_refused(user in 1i64..1_000_000, cut: prop::sample::Index, tail in "[A-Za-z0-9_.=-]{1,8}") {
        let keys = keys();
        let token = valid_token(&keys, user, 7, 3, true);
        let short = &token[..cut.index(token.len())];
        prop_assert!(keys.verify(short).is_err());
        let long = token.clone() + &tail;
        prop_assert!(keys.verify(&long).is_err());
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused(user in 1i64..1_000_000, secret in "[ -~]{1,64}") {
        prop_assume!(secret != "property-test-secret-of-at-least-32-bytes");
        let mut settings = jwt();
        settings.secret = SecretString::from(secret);
        let forged = valid_token(&TokenKeys::new(&settings), user, 7, 3, true);
        prop_assert!(keys().verify(&forged).is_err());
    }

    #[test]
    fn arbitrary_strings_never_panic_and_never_verify(input in any::<String>()) {
        prop_assert!(keys().verify(&input).is_err());
    }

    #[test]
    fn jwt_shaped_garbage_never_verifies(a in "[A-Za-z0-9_-]{0,80}", b in "[A-Za-z0-9_-]{0,200}", c in "[A-Za-z0-9_-]{0,60}") {
        let token = [a, b, c].join(".");
        prop_assert!(keys().verify(&token).is_err());
    }
}
