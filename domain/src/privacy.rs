//! What the public may read. Phone numbers (Cambodian formats, with or without +855,
//! in ASCII or Khmer digits) and ID-card numbers in a comment are redacted in every
//! public view; the author, moderators and the responsible officials read the original.

use crate::auth::Principal;
use crate::comment::Comment;

/// What replaces a redacted number.
pub const REDACTED: &str = "[…]";

/// Digits in a run that make it personal data: Cambodian phone numbers have 8 to 10
/// digits with the leading zero, 11 to 12 with +855; ID-card numbers have 9.
const MIN_DIGITS: usize = 8;

fn separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '/' | '(' | ')' | '\u{A0}' | '\u{200B}')
}

fn digit(c: char) -> bool {
    c.is_ascii_digit() || ('\u{17E0}'..='\u{17E9}').contains(&c)
}

/// Replaces every run of at least eight digits (allowing single spaces, dots or dashes
/// between groups, and a leading `+`) with [`REDACTED`].
pub fn redact(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        let mut j = i;
        if chars[j] == '+' && chars.get(j + 1).copied().is_some_and(digit) {
            j += 1;
        }
        let mut digits = 0;
        let mut end = j;
        if chars[j] == '(' && chars.get(j + 1).copied().is_some_and(digit) {
            j += 1;
        }
        while j < chars.len() {
            if digit(chars[j]) {
                digits += 1;
                j += 1;
                end = j;
                continue;
            }
            // Up to three separators between groups: `012 - 345`, `(012) 345`, no-break
            // and zero-width spaces.
            let gap = chars[j..].iter().take(4).take_while(|c| separator(**c)).count();
            if digits > 0 && (1..=3).contains(&gap) && chars.get(j + gap).copied().is_some_and(digit) {
                j += gap;
            } else {
                break;
            }
        }
        if digits >= MIN_DIGITS {
            out.push_str(REDACTED);
            i = end;
        } else {
            let stop = end.max(start + 1);
            out.extend(&chars[start..stop]);
            i = stop;
        }
    }
    out
}

/// Whether `viewer` may read `comment` at all.
pub fn may_view(viewer: &Principal, comment: &Comment) -> bool {
    if is_author(viewer, comment) || viewer.is_moderator() {
        return true;
    }
    if !comment.status.is_published() {
        return false;
    }
    (comment.is_public && !comment.hidden) || is_responsible_official(viewer, comment)
}

/// Whether `viewer` reads the text as written rather than redacted.
pub fn reads_original(viewer: &Principal, comment: &Comment) -> bool {
    is_author(viewer, comment) || viewer.is_moderator() || is_responsible_official(viewer, comment)
}

fn is_author(viewer: &Principal, comment: &Comment) -> bool {
    matches!(viewer, Principal::Citizen(id) if *id == comment.author)
}

fn is_responsible_official(viewer: &Principal, comment: &Comment) -> bool {
    viewer
        .official_unit()
        .is_some_and(|unit| comment.assigned_unit.as_ref() == Some(unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cambodian_phone_numbers_are_redacted_in_every_format() {
        for (raw, expected) in [
            ("call 012 345 678 please", "call […] please"),
            ("call 012345678", "call […]"),
            ("call +855 12 345 678", "call […]"),
            ("call +85512345678.", "call […]."),
            ("call 097-123-4567", "call […]"),
            ("ទូរស័ព្ទ ០១២ ៣៤៥ ៦៧៨", "ទូរស័ព្ទ […]"),
            ("id 123456789", "id […]"),
            ("call (012) 345 678 now", "call […] now"),
            ("call 012  345  678", "call […]"),
            ("call 012 - 345 - 678", "call […]"),
            ("call 012\u{A0}345\u{200B}678", "call […]"),
        ] {
            assert_eq!(redact(raw), expected, "{raw}");
        }
    }

    #[test]
    fn short_numbers_and_plain_text_are_kept() {
        for raw in [
            "road 5 km from village 12",
            "in 2026 the bridge fell",
            "ផ្លូវលេខ ៥",
            "a - b . c",
            "+ 3",
        ] {
            assert_eq!(redact(raw), raw);
        }
    }
}
