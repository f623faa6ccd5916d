//! API and webhook tokens: their shape, and the hash the database keeps instead of an API token.
//! The random bytes come from the caller (`rand::rng()` in the program, a seeded generator in a
//! test), so the rules here stay free of I/O.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// An API bearer token: `cd_` and 64 hex digits drawn from `rng`.
pub fn api_token(rng: &mut impl RngCore) -> String {
    format!("cd_{}", random_hex(rng))
}

/// A secret for the webhook URL's path: `wh_` and 64 hex digits drawn from `rng`.
pub fn webhook_token(rng: &mut impl RngCore) -> String {
    format!("wh_{}", random_hex(rng))
}

/// 32 bytes from `rng` as 64 hex digits.
fn random_hex(rng: &mut impl RngCore) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps instead of the token: its SHA-256, in hex.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn tokens_have_their_prefix_and_64_hex_digits() {
        let mut rng = StdRng::seed_from_u64(1);
        for (token, prefix) in [(api_token(&mut rng), "cd_"), (webhook_token(&mut rng), "wh_")] {
            assert_eq!(token.len(), 67, "{token}");
            assert!(token.starts_with(prefix), "{token}");
            assert!(token[3..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{token}");
        }
    }

    #[test]
    fn tokens_differ_and_hashes_are_stable() {
        let mut rng = StdRng::seed_from_u64(2);
        let (a, b) = (api_token(&mut rng), api_token(&mut rng));
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(hash(&a).len(), 64);
        // SHA-256 of "abc", as published in FIPS 180-2.
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
