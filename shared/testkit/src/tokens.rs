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

/// URL-safe base64 without padding, enough to forge token parts.
pub fn b64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
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
