//! Text from citizens: normalisation, length in graphemes, and redaction of phone and
//! ID numbers. Besides not panicking, what is accepted must be normalised for good.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mati_domain::privacy::{REDACTED, redact};
use mati_domain::text::{CommentBody, grapheme_len, normalise};
use unicode_normalization::is_nfc;

fn digit(c: char) -> bool {
    c.is_ascii_digit() || ('\u{17E0}'..='\u{17E9}').contains(&c)
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
    // No run of eight digits survives redaction, and redacting again changes nothing.
    let mut run = 0;
    for c in redacted.chars() {
        run = if digit(c) { run + 1 } else { 0 };
        assert!(run < 8, "eight digits survived: {redacted:?}");
    }
    assert_eq!(redact(&redacted), redacted, "redaction is not idempotent");
    if !raw.chars().any(digit) {
        assert_eq!(redacted, raw, "text without digits changed");
    } else if !redacted.contains(REDACTED) {
        assert_eq!(redacted, raw, "text changed without a redaction mark");
    }
});
