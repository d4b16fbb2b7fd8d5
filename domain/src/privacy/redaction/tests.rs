//! Redaction, case by case: what must be found, what must be kept.

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
fn commas_underscores_colons_and_other_separators_do_not_hide_a_number() {
    for (raw, expected) in [
        ("call 012,345,678", "call […]"),
        ("call 012_345_678", "call […]"),
        ("call 012:345:678", "call […]"),
        ("call 012, 345, 678.", "call […]."),
        ("call 012'345'678", "call […]"),
        ("call 012·345·678", "call […]"),
        ("call 012–345–678", "call […]"),
        ("call 012\u{200D}345\u{2060}678", "call […]"),
        ("ទូរស័ព្ទ ០១២៖៣៤៥៖៦៧៨", "ទូរស័ព្ទ […]"),
        ("call 012\t345\n678", "call […]"),
    ] {
        assert_eq!(redact(raw), expected, "{raw}");
    }
}

#[test]
fn digits_of_every_script_count_after_folding() {
    for (raw, expected) in [
        // Fullwidth digits and separators from Asian keyboards.
        ("call ０１２３４５６７８", "call […]"),
        ("call ０１２，３４５，６７８", "call […]"),
        ("call ＋８５５ １２ ３４５ ６７８", "call […]"),
        // Khmer digits, as a Khmer keyboard types them.
        ("លេខ ០១២៣៤៥៦៧៨ ណា", "លេខ […] ណា"),
        // Arabic-Indic and extended Arabic-Indic digits.
        ("call ٠١٢٣٤٥٦٧٨", "call […]"),
        ("call ۰۱۲-۳۴۵-۶۷۸", "call […]"),
        // Devanagari, Thai, Lao, Myanmar: any decimal digit is a digit.
        ("call ०१२ ३४५ ६७८", "call […]"),
        ("call ๐๑๒ ๓๔๕ ๖๗๘", "call […]"),
        ("call ໐໑໒໓໔໕໖໗໘", "call […]"),
        ("call ၀၁၂၃၄၅၆၇၈", "call […]"),
        // Mathematical digits fold to ASCII; circled numbers fold to digits.
        ("call 𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖", "call […]"),
        ("call ⑳⑳⑳⑳", "call […]"),
        // Scripts mixed within one number.
        ("call 0១2٣4५6७8", "call […]"),
    ] {
        assert_eq!(redact(raw), expected, "{raw}");
    }
}

#[test]
fn digit_values_follow_each_scripts_block() {
    assert_eq!(digit_value('7'), Some(7));
    assert_eq!(digit_value('០'), Some(0));
    assert_eq!(digit_value('៩'), Some(9));
    assert_eq!(digit_value('٣'), Some(3));
    // Mathematical digits are five blocks of ten in a row.
    assert_eq!(digit_value('\u{1D7D8}'), Some(0));
    assert_eq!(digit_value('\u{1D7FF}'), Some(9));
    assert_eq!(digit_value('a'), None);
    assert_eq!(digit_value('½'), None);
    assert_eq!(digit_value('①'), None);
}

#[test]
fn short_numbers_and_plain_text_are_kept() {
    for raw in [
        "road 5 km from village 12",
        "in 2026 the bridge fell",
        "ផ្លូវលេខ ៥",
        "a - b . c",
        "+ 3",
        "1,000,000 riel",
        "from 12:30 to 14:00",
        "[…] 012 [1234567]",
    ] {
        assert_eq!(redact(raw), raw);
    }
}

#[test]
fn dates_and_times_are_kept() {
    for raw in [
        "flooded since 2026-11-29",
        "flooded since 29/11/2026",
        "flooded since 11.29.2026 again",
        "ទឹកជំនន់ ២៩/១១/២០២៦",
        "since ２０２６－１１－２９",
        "on 2026-11-29 08:30",
        "on 2026-11-29, 2026-11-30 and 2026-12-01",
        "open 08:00-17:00",
        "open 07.30 - 11.30, 14.00 - 17.00",
        "logged at 2026-11-29 08:30:15",
        "ពិធីបុណ្យ ២៥៦៩-០៤-១៤",
    ] {
        assert_eq!(redact(raw), raw);
    }
}

#[test]
fn numbers_that_only_look_like_dates_are_redacted() {
    for (raw, expected) in [
        ("call 0123-45-678", "call […]"),
        ("call 2012-34-56", "call […]"),
        ("call 12:34:56:78", "call […]"),
        ("call 012:34:56 78", "call […]"),
        ("call +2026-11-29", "call […]"),
        ("on 2026-11-29 call 012 345 678", "on 2026-11-29 call […]"),
        ("20261129", "[…]"),
        ("call 12.34.12.34", "call […]"),
        ("id 1.23.45.12.34", "id […]"),
    ] {
        assert_eq!(redact(raw), expected, "{raw}");
    }
}

#[test]
fn redacting_twice_is_redacting_once() {
    for raw in [
        "call 012 345 678 or 097 123 4567",
        "12½3456789",
        "2026-11-29 10:3½3456789",
        "①②③④⑤⑥⑦⑧",
        "１２３４５６㋉",
    ] {
        let once = redact(raw);
        assert_eq!(redact(&once), once, "{raw}");
    }
}
