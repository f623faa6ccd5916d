//! API bearer tokens for the command line: random, shown once, stored only as a hash
//! ([`crate::domain::token`] holds their shape and the hash).

use crate::domain::token;

/// A new API token (`cd_` and 64 hex digits) from a CSPRNG seeded by the OS.
pub fn generate() -> String {
    token::api_token(&mut rand::rng())
}

/// A new secret for the webhook URL's path (`wh_` and 64 hex digits), from the same CSPRNG.
pub fn generate_webhook_token() -> String {
    token::webhook_token(&mut rand::rng())
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_tokens_are_unique() {
        let (a, b) = (super::generate(), super::generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 67);
        assert!(super::generate_webhook_token().starts_with("wh_"));
    }
}
