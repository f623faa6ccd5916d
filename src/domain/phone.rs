//! Phone numbers as people type them, normalised to digits with a country code.

use std::fmt;

/// Country code assumed for a bare 10-digit national number.
pub const DEFAULT_COUNTRY_CODE: &str = "91";

/// A phone number normalised to 10–15 digits including the country code, e.g. `919876543210`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number has a character that is not a digit: {0:?}")]
    BadChar(char),
    #[error("phone number has {0} digits; it needs 10 to 15")]
    BadLength(usize),
}

impl Phone {
    /// Parses with the default country code (91).
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        Self::parse_with(input, DEFAULT_COUNTRY_CODE)
    }

    /// Accepts `+91 98765-43210`, `09876543210`, `919876543210`, `(987) 654 3210`.
    /// A 10-digit national number gets `country_code` in front; a trunk `0` before it is dropped.
    pub fn parse_with(input: &str, country_code: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let mut digits = String::with_capacity(trimmed.len());
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => {}
                ' ' | '-' | '(' | ')' | '.' => {}
                other => return Err(PhoneError::BadChar(other)),
            }
        }
        let international = trimmed.starts_with('+') || trimmed.starts_with("00");
        let digits = if let Some(rest) = trimmed.starts_with("00").then(|| &digits[2..]) {
            rest.to_string()
        } else if !international && digits.len() == 11 && digits.starts_with('0') {
            format!("{country_code}{}", &digits[1..])
        } else if !international && digits.len() == 10 {
            format!("{country_code}{digits}")
        } else {
            digits
        };
        if !(10..=15).contains(&digits.len()) {
            return Err(PhoneError::BadLength(digits.len()));
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as TeleCMI wants it in `to`: a JSON number.
    pub fn as_u64(&self) -> u64 {
        // 15 digits always fit in u64; parse cannot fail on validated digits.
        self.0.parse().unwrap_or_default()
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_people_type() {
        for input in ["+91 98765-43210", "09876543210", "919876543210", "9876543210", " 98765 43210 "] {
            assert_eq!(Phone::parse(input).map(|p| p.0), Ok("919876543210".to_string()), "{input}");
        }
    }

    #[test]
    fn uses_configured_country_code() {
        assert_eq!(Phone::parse_with("2025550123", "1").map(|p| p.0), Ok("12025550123".into()));
        assert_eq!(Phone::parse_with("+44 20 7946 0958", "91").map(|p| p.0), Ok("442079460958".into()));
        assert_eq!(Phone::parse_with("0044 20 7946 0958", "91").map(|p| p.0), Ok("442079460958".into()));
    }

    #[test]
    fn rejects_with_reason() {
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("98765x3210"), Err(PhoneError::BadChar('x')));
        assert_eq!(Phone::parse("12345"), Err(PhoneError::BadLength(5)));
        assert_eq!(Phone::parse("+1234567890123456"), Err(PhoneError::BadLength(16)));
        assert!(Phone::parse("12345").unwrap_err().to_string().contains("10 to 15"));
    }

    #[test]
    fn as_number() {
        assert_eq!(Phone::parse("9876543210").map(|p| p.as_u64()), Ok(919_876_543_210));
    }
}
