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

impl Phone {
    /// The number as a person reads it out and dials it: the country code, then the national
    /// number in groups (see [`readable`]).
    pub fn readable(&self) -> String {
        let (cc, national) = split_country_code(&self.0);
        format!("+{cc} {}", group_national(cc, national))
    }
}

/// A stored number as people read and dial it, for every screen: `919000000002` and
/// `+919000000002` are `+91 90000 00002`. What does not parse as a full international number is
/// shown as stored, only without control characters: a bare national number (`9000000002`,
/// `09000000002`) is not given a country code here, since the screen cannot know which one the
/// row was written with, and a wrong code on screen is a wrong number dialed by hand.
pub fn readable(stored: &str) -> String {
    let clean = crate::domain::text::strip_controls(stored);
    let t = clean.trim();
    let digits = t.chars().filter(char::is_ascii_digit).count();
    let national =
        !t.starts_with('+') && !t.starts_with("00") && (digits == 10 || (digits == 11 && t.starts_with('0')));
    match Phone::parse(t) {
        Ok(p) if !national => p.readable(),
        _ => clean,
    }
}

/// E.164 country codes of one and two digits; every other code has three.
const SHORT_CODES: [&str; 46] = [
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48",
    "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
    "86", "90", "91", "92", "93", "94", "95", "98",
];

/// (country code, national number) of full international digits.
fn split_country_code(digits: &str) -> (&str, &str) {
    let len = SHORT_CODES.iter().find(|c| digits.starts_with(*c)).map_or(3, |c| c.len());
    digits.split_at(len.min(digits.len()))
}

/// The national number in groups. India's ten digits are `XXXXX XXXXX`, as Indians write a
/// mobile; North America's `XXX XXX XXXX`. Elsewhere, with no table of every country's plan,
/// groups of three from the left with the last one or two groups of four, so no digit stands
/// alone (`20 7946 0958` is `207 946 0958`): readable, and every digit in its place.
fn group_national(cc: &str, national: &str) -> String {
    let n = national.len();
    let sizes: Vec<usize> = match (cc, n) {
        ("91", 10) => vec![5, 5],
        ("1", 10) => vec![3, 3, 4],
        (_, 0..=6) => vec![n],
        _ => {
            let fours = n % 3;
            let mut v = vec![3; (n - 4 * fours) / 3];
            v.extend(std::iter::repeat_n(4, fours));
            v
        }
    };
    let mut out = String::with_capacity(n + sizes.len());
    let mut rest = national;
    for size in sizes {
        let (group, tail) = rest.split_at(size.min(rest.len()));
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(group);
        rest = tail;
    }
    out
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
    fn readable_as_people_dial_it() {
        for stored in ["919000000002", "+919000000002", "+91 90000-00002", " 919000000002 "] {
            assert_eq!(readable(stored), "+91 90000 00002", "{stored:?}");
        }
        assert_eq!(readable("12025550123"), "+1 202 555 0123");
        assert_eq!(readable("442079460958"), "+44 207 946 0958");
        assert_eq!(readable("971501234567"), "+971 501 234 567");
        assert_eq!(readable("+4930123456"), "+49 3012 3456");
        assert_eq!(readable("9192345678901"), "+91 923 4567 8901", "India, but not a mobile's ten digits");
        assert_eq!(readable("+35312345678"), "+353 1234 5678");
    }

    #[test]
    fn what_does_not_parse_is_shown_as_stored_without_controls() {
        assert_eq!(readable("9000000002"), "9000000002", "a bare national number gets no country code here");
        assert_eq!(readable("09000000002"), "09000000002");
        assert_eq!(readable("12345"), "12345");
        assert_eq!(readable("98765x3210"), "98765x3210");
        assert_eq!(readable("\u{1b}[2J9190000\u{7}00002"), "[2J919000000002");
        assert_eq!(readable(""), "");
    }

    #[test]
    fn as_number() {
        assert_eq!(Phone::parse("9876543210").map(|p| p.as_u64()), Ok(919_876_543_210));
    }
}
