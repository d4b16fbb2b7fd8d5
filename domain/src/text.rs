//! Text from citizens and officials: NFC-normalised, free of control characters, and
//! measured in grapheme clusters, because a Khmer syllable stacks several code points
//! (ក្រ is three) that a reader counts as one.

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use crate::DomainError;

/// NFC-normalises `raw`, turns `\r\n` into `\n`, trims it, and rejects NUL and control
/// characters other than line feed and tab. `field` names the input in the error.
pub fn normalise(field: &str, raw: &str) -> Result<String, DomainError> {
    if let Some(bad) = raw.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        let message = if bad == '\0' {
            "must not contain NUL characters".to_owned()
        } else {
            format!("must not contain control character U+{:04X}", u32::from(bad))
        };
        return Err(DomainError::InvalidInput {
            field: field.to_owned(),
            message,
            message_km: "អត្ថបទមានតួអក្សរមិនត្រឹមត្រូវ".to_owned(),
        });
    }
    let unified = raw.replace("\r\n", "\n").replace('\r', "\n");
    Ok(unified.nfc().collect::<String>().trim().to_owned())
}

/// The number of user-perceived characters (extended grapheme clusters) in `text`.
pub fn grapheme_len(text: &str) -> usize {
    text.graphemes(true).count()
}

/// Normalises `raw` and checks that its grapheme length lies in `min..=max`.
pub fn bounded(field: &str, raw: &str, min: usize, max: usize) -> Result<String, DomainError> {
    let text = normalise(field, raw)?;
    let len = grapheme_len(&text);
    if len < min || len > max {
        return Err(DomainError::InvalidInput {
            field: field.to_owned(),
            message: format!("must be {min} to {max} characters long, is {len}"),
            message_km: format!("ត្រូវមានប្រវែងពី {min} ដល់ {max} តួអក្សរ"),
        });
    }
    Ok(text)
}

/// The body of a comment: normalised, 10 to 2000 grapheme clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentBody(String);

impl CommentBody {
    /// Shortest body accepted, in grapheme clusters.
    pub const MIN: usize = 10;
    /// Longest body accepted, in grapheme clusters.
    pub const MAX: usize = 2000;

    /// Validates a body sent as `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        bounded(field, raw, Self::MIN, Self::MAX).map(Self)
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalised text, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A short public note (a response, a resolution note, a referral reason): 1 to 2000
/// grapheme clusters.
pub fn note(field: &str, raw: &str) -> Result<String, DomainError> {
    bounded(field, raw, 1, CommentBody::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn khmer_stacked_consonants_count_as_one_character_each() {
        // ក្រ (k + coeng + r) is one cluster; so is ស្ត្រ.
        assert_eq!(grapheme_len("ក្រ"), 1);
        assert_eq!(grapheme_len("ស្ត្រី"), 1);
        assert_eq!(grapheme_len("ផ្លូវ"), 2);
    }

    #[test]
    fn body_length_is_counted_in_graphemes_not_code_points() {
        // Ten stacked clusters of three code points each: 30 code points, 10 graphemes.
        let ten = "ក្រ".repeat(10);
        assert!(CommentBody::parse("body", &ten).is_ok());
        let nine = "ក្រ".repeat(9);
        assert!(CommentBody::parse("body", &nine).is_err());
        let max = "ក្រ".repeat(2000);
        assert!(CommentBody::parse("body", &max).is_ok());
        assert!(CommentBody::parse("body", &format!("{max}ក")).is_err());
    }

    #[test]
    fn text_is_nfc_normalised() {
        let decomposed = "Cafe\u{301} road is broken";
        let body = CommentBody::parse("body", decomposed).map(CommentBody::into_inner);
        assert_eq!(body.as_deref(), Ok("Café road is broken"));
    }

    #[test]
    fn nul_and_control_characters_are_rejected_with_the_field() {
        for raw in [
            "road is broken\0 badly",
            "road is \u{7} broken badly",
            "\u{1b}[31mred road",
        ] {
            match CommentBody::parse("body", raw) {
                Err(DomainError::InvalidInput { field, .. }) => assert_eq!(field, "body"),
                other => panic!("expected invalid input, got {other:?}"),
            }
        }
    }

    #[test]
    fn newlines_and_tabs_are_kept_and_crlf_unified() {
        let body = CommentBody::parse("body", "line one\r\nline\ttwo");
        assert_eq!(body.map(CommentBody::into_inner).as_deref(), Ok("line one\nline\ttwo"));
    }

    #[test]
    fn surrounding_whitespace_does_not_count() {
        assert!(CommentBody::parse("body", "   short    ").is_err());
    }
}
