//! Identifiers shaped like the real providers' (`msg_01…`, `toolu_01…`, `req_011C…`,
//! `chatcmpl-…`, `call_…`, `resp_…`), unique per process and cheap: a random seed from startup
//! fed through a splitmix64 counter, so no system call per id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";

static SEED: LazyLock<u64> = LazyLock::new(|| uuid::Uuid::new_v4().as_u64_pair().0);
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The system fingerprint this process reports on every OpenAI reply (real ones are stable per
/// deployment).
pub(crate) static FINGERPRINT: LazyLock<String> = LazyLock::new(|| format!("fp_{}", draw(HEX, 10)));

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn next_u64() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    splitmix64(SEED.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
}

/// `len` characters drawn from `alphabet`.
fn draw(alphabet: &[u8], len: usize) -> String {
    let radix = alphabet.len() as u64;
    let mut out = String::with_capacity(len);
    let mut bits = next_u64();
    let mut left = 10; // 62^10 < 2^64: ten base-62 digits per draw
    for _ in 0..len {
        if left == 0 {
            bits = next_u64();
            left = 10;
        }
        out.push(char::from(alphabet[(bits % radix) as usize]));
        bits /= radix;
        left -= 1;
    }
    out
}

/// `msg_01` + 22 characters.
pub(crate) fn anthropic_message() -> String {
    format!("msg_01{}", draw(BASE62, 22))
}

/// `toolu_01` + 22 characters.
pub(crate) fn anthropic_tool_use() -> String {
    format!("toolu_01{}", draw(BASE62, 22))
}

/// `req_011C` + 20 characters, the `request-id` header.
pub(crate) fn anthropic_request() -> String {
    format!("req_011C{}", draw(BASE62, 20))
}

/// `chatcmpl-` + 29 characters.
pub(crate) fn openai_completion() -> String {
    format!("chatcmpl-{}", draw(BASE62, 29))
}

/// `call_` + 24 characters.
pub(crate) fn openai_call() -> String {
    format!("call_{}", draw(BASE62, 24))
}

/// A Responses id: `prefix` + 48 hex digits (`resp_`, `msg_`, `rs_`, `fc_`, `ctc_`), as
/// OpenAI's `resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b`.
pub(crate) fn responses_id(prefix: &str) -> String {
    format!("{prefix}{}", draw(HEX, 48))
}

/// The `obfuscation` padding of a Responses delta event: random characters that bring short
/// deltas to a similar size (at least one).
pub(crate) fn obfuscation(delta_len: usize) -> String {
    draw(BASE62, 16_usize.saturating_sub(delta_len).max(1))
}

/// `req_` + 32 hex digits, the `x-request-id` header.
pub(crate) fn openai_request() -> String {
    format!("req_{}", draw(HEX, 32))
}

/// A thinking-block signature: standard base64 of 256 opaque bytes, starting with `Eq` like the
/// real (protobuf-framed) ones. Generated once; its value never matters, only its shape.
pub(crate) static SIGNATURE: LazyLock<String> = LazyLock::new(|| {
    let mut bytes = vec![0x12, 0xA4, 0x02, 0x0A];
    let mut x = 0x5EED_u64;
    while bytes.len() < 256 {
        x = splitmix64(x);
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(256);
    base64(&bytes)
});

/// A reasoning item's `encrypted_content`: Fernet-shaped (`gAAAAAB…`, URL-safe base64), as
/// OpenAI's. Generated once, like [`SIGNATURE`].
pub(crate) static ENCRYPTED_REASONING: LazyLock<String> = LazyLock::new(|| {
    let body: String = SIGNATURE
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    format!("gAAAAAB{body}")
});

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= group.len() {
                out.push(char::from(TABLE[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_provider_prefixes_and_lengths() {
        assert_eq!(anthropic_message().len(), 28);
        assert!(anthropic_tool_use().starts_with("toolu_01"));
        assert_eq!(openai_completion().len(), 38);
        assert_eq!(openai_request().len(), 36);
        assert_ne!(anthropic_message(), anthropic_message());
    }

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
        assert!(SIGNATURE.starts_with("EqQC"));
        assert!(SIGNATURE.ends_with('='));
    }
}
