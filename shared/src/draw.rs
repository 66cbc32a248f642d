//! The opening draw's order, as anyone can recompute it (commit-reveal).
//!
//! When an opening is scheduled, booking draws a random 32-byte seed and keeps it; only
//! `seed_sha256 = hex(SHA-256(seed))` is published. At `opens_at` the seed is revealed and
//! the pre-queue is ordered by it:
//! - a buyer's entry id is `hex(SHA-256(UTF-8 of "entry:" + concert_id + ":" + user_id))`,
//!   ids in decimal, so the published list names nobody but each buyer can find their own;
//! - the order is the entry ids sorted by `hex(HMAC-SHA256(key = the 32 seed bytes,
//!   message = UTF-8 of the entry id))`, ascending.
//!
//! The seed was fixed before anyone joined (its hash was public), and HMAC under an unknown
//! key is a pseudo-random function, so the order is uniformly random and nobody — buyers,
//! bots or the operator — could steer it; after the reveal anyone can check it
//! (`scripts/verify-draw`). Lowercase hex preserves byte order, so sorting the raw HMAC
//! bytes gives the same order as sorting their hex.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The seed's length in bytes.
pub const SEED_LEN: usize = 32;

pub type Seed = [u8; SEED_LEN];

/// hex(SHA-256(seed)): the commitment published before the draw.
pub fn seed_sha256(seed: &Seed) -> String {
    hex::encode(Sha256::digest(seed))
}

/// The seed as 64 lowercase hex characters.
pub fn seed_hex(seed: &Seed) -> String {
    hex::encode(seed)
}

/// A seed from its hex form; `None` unless it is exactly 32 bytes of hex.
pub fn parse_seed(text: &str) -> Option<Seed> {
    hex::decode(text).ok()?.try_into().ok()
}

/// A buyer's entry id in the draw of `concert_id`.
pub fn entry_id(concert_id: i64, user_id: i64) -> String {
    hex::encode(Sha256::digest(format!("entry:{concert_id}:{user_id}")))
}

/// The key an entry is sorted by: HMAC-SHA256 of its id under the seed.
pub fn draw_key(seed: &Seed, entry_id: &str) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(seed).expect("HMAC takes a key of any length");
    mac.update(entry_id.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The users of a pre-queue in drawn order (the input order does not matter).
pub fn order(seed: &Seed, concert_id: i64, users: &[i64]) -> Vec<i64> {
    let mut keyed: Vec<([u8; 32], i64)> = users
        .iter()
        .map(|&user| (draw_key(seed, &entry_id(concert_id, user)), user))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, user)| user).collect()
}

/// A fresh random seed (booking draws it when an opening is first scheduled).
pub fn new_seed() -> Seed {
    use rand::TryRngCore;
    let mut seed = [0u8; SEED_LEN];
    rand::rngs::OsRng
        .try_fill_bytes(&mut seed)
        .expect("the operating system's random source is available");
    seed
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently with Python's hashlib and hmac (scripts/verify-draw uses the
    // same), for seed = bytes 0..32.
    fn seed() -> Seed {
        std::array::from_fn(|i| i as u8)
    }

    #[test]
    fn encodings_match_an_independent_implementation() {
        assert_eq!(
            seed_sha256(&seed()),
            "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
        );
        assert_eq!(
            entry_id(7, 42),
            "5203ead8b34510ec408cefe4b5a52b071e480863dc5a6e56f6b0e127205a1439"
        );
        assert_eq!(
            hex::encode(draw_key(&seed(), &entry_id(7, 42))),
            "d2b9800702d1ae2ff89a3a8fe55374a80415e78a695e7423fa43ab5b86757279"
        );
        assert_eq!(order(&seed(), 7, &[1, 2, 3, 4, 5]), vec![5, 4, 3, 2, 1]);
        assert_eq!(parse_seed(&seed_hex(&seed())), Some(seed()));
        assert_eq!(parse_seed("00"), None);
    }

    /// First place over many small draws with fresh seeds: a chi-square test of uniformity
    /// (5 entries, 4 degrees of freedom; 18.47 is the 0.1 % critical value, so a fair draw
    /// fails this about once in a thousand runs).
    #[test]
    fn first_place_is_uniform_over_many_draws() {
        const DRAWS: usize = 20_000;
        let users = [11, 22, 33, 44, 55];
        let mut first = [0usize; 5];
        for _ in 0..DRAWS {
            let winner = order(&new_seed(), 3, &users)[0];
            first[users.iter().position(|&u| u == winner).unwrap()] += 1;
        }
        let expected = DRAWS as f64 / users.len() as f64;
        let chi2: f64 = first
            .iter()
            .map(|&n| (n as f64 - expected).powi(2) / expected)
            .sum();
        assert!(
            chi2 < 18.47,
            "chi-square {chi2:.2} for first places {first:?}"
        );
    }
}
