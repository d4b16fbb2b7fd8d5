//! Text from citizens: normalisation, length in graphemes, and redaction of phone and
//! ID numbers. Besides not panicking, what is accepted must be normalised for good.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mati_domain::privacy::{REDACTED, redact};
use mati_domain::text::{CommentBody, grapheme_len, normalise};
use unicode_normalization::{UnicodeNormalization, is_nfc};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// A decimal digit of any script (Unicode general category Nd).
fn digit(c: char) -> bool {
    c.general_category() == GeneralCategory::DecimalNumber
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(text) = normalise("body", raw) {
        assert!(is_nfc(&text), "normalised text is not NFC: {text:?}");
        assert!(!text.contains('\r'), "carriage return kept: {text:?}");
        assert!(
            !text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t')),
            "control character kept: {text:?}"
        );
        assert_eq!(
            normalise("body", &text).ok().as_deref(),
            Some(text.as_str()),
            "not idempotent"
        );
        assert!(grapheme_len(&text) <= text.chars().count());
    }
    if let Ok(body) = CommentBody::parse("body", raw) {
        let len = grapheme_len(body.as_str());
        assert!(
            (CommentBody::MIN..=CommentBody::MAX).contains(&len),
            "length {len} accepted"
        );
    }

    let redacted = redact(raw);
    // No run of eight digits survives redaction, counted on the text folded with NFKC as
    // a whole (fullwidth `０`, mathematical `𝟎`, circled `⑳` are digits there), and
    // redacting again changes nothing.
    let mut run = 0;
    for c in redacted.nfkc() {
        run = if digit(c) { run + 1 } else { 0 };
        assert!(run < 8, "eight digits survived: {redacted:?}");
    }
    assert_eq!(redact(&redacted), redacted, "redaction is not idempotent");
    if !raw.nfkc().any(digit) {
        assert_eq!(redacted, raw, "text without digits changed");
    } else if !redacted.contains(REDACTED) {
        assert_eq!(redacted, raw, "text changed without a redaction mark");
    }
});
