//! How a typed search becomes SQL patterns: the user's wildcards taken literally, and a phone
//! number in any format brought down to the digits to look for.

/// `%term%` for LIKE with the user's `%`, `_` and `!` taken literally (escape character `!`).
pub(crate) fn like_pattern(term: &str) -> String {
    let mut s = String::with_capacity(term.len() + 2);
    s.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '!') {
            s.push('!');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// The digits a number search looks for: any format (`+91 90000-00012`, `090000 00012`,
/// `919000000012`) comes down to its last ten digits; shorter digit runs match anywhere.
pub fn number_key(query: &str) -> Option<String> {
    let digits: String = query.chars().filter(char::is_ascii_digit).collect();
    let letters = query.chars().any(char::is_alphabetic);
    if digits.len() < 4 || letters {
        return None;
    }
    Some(digits[digits.len().saturating_sub(10)..].to_string())
}

#[cfg(test)]
mod tests {
    use super::{like_pattern, number_key};

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern("50%_off!"), "%50!%!_off!!%");
    }

    #[test]
    fn any_format_of_a_number_comes_down_to_its_last_ten_digits() {
        for q in ["+91 90000-00012", "090000 00012", "919000000012", "9000000012"] {
            assert_eq!(number_key(q).as_deref(), Some("9000000012"), "{q}");
        }
        assert_eq!(number_key("00012").as_deref(), Some("00012"));
        assert_eq!(number_key("Ramesh"), None);
        assert_eq!(number_key("TM12"), None);
    }
}
