//! API bearer tokens: random, shown once, stored only as a SHA-256 hash.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new token: `cd_` and 64 hex digits from a CSPRNG seeded by the OS.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("cd_{}", hex::encode(bytes))
}

/// A new secret for the webhook URL's path: `wh_` and 64 hex digits.
pub fn generate_webhook_token() -> String {
    format!("wh_{}", &generate()[3..])
}

/// What the database keeps instead of the token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_unique_and_hashes_stable() {
        let a = super::generate();
        let b = super::generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 67);
        assert_eq!(super::hash(&a), super::hash(&a));
        assert_ne!(super::hash(&a), super::hash(&b));
        assert_eq!(super::hash(&a).len(), 64);
    }
}
