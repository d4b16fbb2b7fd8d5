//! Tracking codes: what a citizen writes down to follow a comment, e.g. `KH7F3K2Q`.
//! Eight characters from an alphabet without look-alikes (no 0/O, 1/I/L, U), drawn at
//! random, so codes are short, unambiguous when read aloud, and not guessable in sequence.

use std::fmt;

use rand::Rng;

use crate::DomainError;

/// The 30 characters a tracking code is made of.
pub const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Length of a code.
pub const LEN: usize = 8;

/// A well-formed tracking code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrackingCode(String);

impl TrackingCode {
    /// A fresh random code.
    pub fn generate(rng: &mut impl Rng) -> Self {
        let code = (0..LEN)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        Self(code)
    }

    /// Parses what a citizen typed: case, spaces and dashes do not matter; characters
    /// outside the alphabet (such as the look-alikes O, I, L) are rejected.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let code: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let valid = code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b));
        if valid {
            Ok(Self(code))
        } else {
            Err(DomainError::invalid(
                field,
                "is not a tracking code (8 letters and digits)",
                "លេខកូដតាមដានមិនត្រឹមត្រូវ",
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_parse_back() {
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let code = TrackingCode::generate(&mut rng);
            assert_eq!(TrackingCode::parse("t", code.as_str()).as_ref(), Ok(&code));
        }
    }

    #[test]
    fn typed_codes_are_forgiving_about_case_spaces_and_dashes() {
        assert_eq!(
            TrackingCode::parse("t", "kh7f-3k2q").map(|c| c.0),
            Ok("KH7F3K2Q".to_owned())
        );
    }

    #[test]
    fn ambiguous_or_wrong_length_codes_are_rejected() {
        for raw in ["KH7F3K2", "KH7F3K2QQ", "KH7F3K2O", "KH7F3K21", "KH7F3K2I", ""] {
            assert!(TrackingCode::parse("t", raw).is_err(), "{raw}");
        }
    }
}
