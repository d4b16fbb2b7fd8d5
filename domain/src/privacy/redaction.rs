//! Finding phone and ID-card numbers in text. Cambodian phone numbers have 8 to 10
//! digits with the leading zero, 11 to 12 with +855; ID-card numbers have 9. People
//! write them in any script's digits (ASCII, Khmer `០១២`, Arabic-Indic, fullwidth
//! `０１２` from Asian keyboards) and group them with spaces, dots, dashes, commas,
//! underscores, colons or brackets, so a number is found in the text as it reads:
//!
//! - every character is folded on its own with NFKC (fullwidth and mathematical digits
//!   become ASCII, `⑳` becomes `20`), and a digit is any Unicode decimal digit (general
//!   category Nd) of the folded text;
//! - a run is digits in groups, with one to three separators between groups, and a
//!   leading `+` or `(`; a run of at least [`MIN_DIGITS`] digits is replaced, whole
//!   characters at a time, with [`REDACTED`];
//! - except a run that reads entirely as calendar dates and clock times (`2026-11-29`,
//!   `29/11/2026 08:30`, `08:00-17:00`): no phone or ID number is written like that.
//!
//! Redaction repeats until nothing changes, so that redacting twice is redacting once.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// What replaces a redacted number. Its brackets are no separator, so a mark never
/// joins the digits around it into a new run.
pub const REDACTED: &str = "[…]";

/// Digits in a run that make it personal data: the shortest phone number without its
/// leading zero (`12 345 678`).
pub const MIN_DIGITS: usize = 8;

/// Most separators between two groups of digits: `012 - 345`, `(012) 345`.
const MAX_GAP: usize = 3;

/// Replaces every run of at least [`MIN_DIGITS`] digits that is not a date or a time
/// with [`REDACTED`]; everything else is kept as written.
pub fn redact(text: &str) -> String {
    let mut text = once(text);
    loop {
        let again = once(&text);
        if again == text {
            return text;
        }
        text = again;
    }
}

/// The value of a decimal digit of any script, if `c` is one. Unicode encodes every
/// script's decimal digits as ten consecutive code points from 0 to 9, so a digit's
/// value is its distance from the start of its block.
pub fn digit_value(c: char) -> Option<u8> {
    if c.is_ascii_digit() {
        return Some(c as u8 - b'0');
    }
    if c.general_category() != GeneralCategory::DecimalNumber {
        return None;
    }
    let mut distance = 0u32;
    let mut code = u32::from(c);
    while let Some(before) = code.checked_sub(1).and_then(char::from_u32) {
        if before.general_category() != GeneralCategory::DecimalNumber {
            break;
        }
        distance += 1;
        code -= 1;
    }
    u8::try_from(distance % 10).ok()
}

/// Characters that people put between the groups of a number (compared after folding,
/// so fullwidth `，` is `,` and a no-break space is a space). Brackets `[` `]` are not
/// among them: they enclose [`REDACTED`].
fn separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\n'
            | '-'
            | '.'
            | '/'
            | '('
            | ')'
            | ','
            | '_'
            | ':'
            | '\''
            | '\u{2019}' // right single quotation mark, as a thousands separator
            | '\u{00AD}' // soft hyphen
            | '\u{00B7}' // middle dot
            | '\u{200B}'..='\u{200D}' // zero-width space, non-joiner, joiner
            | '\u{2010}'..='\u{2015}' // hyphens and dashes
            | '\u{2022}' // bullet
            | '\u{2027}' // hyphenation point
            | '\u{2060}' // word joiner
            | '\u{2212}' // minus sign
            | '\u{17D6}' // Khmer colon ៖
            | '\u{30FB}' // katakana middle dot
            | '\u{FEFF}' // zero-width no-break space
    )
}

/// One character of the folded text, and the character of the original it comes from.
#[derive(Clone, Copy)]
struct Folded {
    c: char,
    from: usize,
}

fn fold(chars: &[char]) -> Vec<Folded> {
    let mut folded = Vec::with_capacity(chars.len());
    for (from, &c) in chars.iter().enumerate() {
        if c.is_ascii() {
            folded.push(Folded { c, from });
        } else {
            folded.extend(std::iter::once(c).nfkc().map(|c| Folded { c, from }));
        }
    }
    folded
}

/// Consecutive digits, and the separators written before them.
struct Group {
    before: Vec<char>,
    digits: Vec<u8>,
}

/// Digit groups as found from one position of the folded text.
struct Run {
    /// Folded position just after the last digit (the start when there is none).
    end: usize,
    /// Starts with `+` or `(`, as phone numbers do and dates never.
    prefixed: bool,
    groups: Vec<Group>,
}

impl Run {
    fn digits(&self) -> usize {
        self.groups.iter().map(|g| g.digits.len()).sum()
    }

    fn personal(&self) -> bool {
        self.digits() >= MIN_DIGITS && (self.prefixed || !dates_and_times(&self.groups))
    }
}

fn scan(text: &[Folded], start: usize) -> Run {
    let digit_at = |i: usize| text.get(i).and_then(|f| digit_value(f.c));
    let mut i = start;
    let mut prefixed = false;
    for lead in ['+', '('] {
        if text.get(i).is_some_and(|f| f.c == lead) && digit_at(i + 1).is_some() {
            i += 1;
            prefixed = true;
        }
    }
    let mut run = Run {
        end: start,
        prefixed,
        groups: Vec::new(),
    };
    let mut group = Group {
        before: Vec::new(),
        digits: Vec::new(),
    };
    while i < text.len() {
        if let Some(d) = digit_at(i) {
            group.digits.push(d);
            i += 1;
            run.end = i;
            continue;
        }
        let gap = text[i..]
            .iter()
            .take(MAX_GAP + 1)
            .take_while(|f| separator(f.c))
            .count();
        if group.digits.is_empty() || !(1..=MAX_GAP).contains(&gap) || digit_at(i + gap).is_none() {
            break;
        }
        let before = text[i..i + gap].iter().map(|f| f.c).collect();
        run.groups.push(std::mem::replace(
            &mut group,
            Group {
                before,
                digits: Vec::new(),
            },
        ));
        i += gap;
    }
    if !group.digits.is_empty() {
        run.groups.push(group);
    }
    run
}

/// One pass: the personal runs found from left to right, each replaced with one mark.
fn once(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let folded = fold(&chars);
    // Ranges of original characters to replace, inclusive.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < folded.len() {
        let run = scan(&folded, i);
        if run.personal() {
            let (first, last) = (folded[i].from, folded[run.end - 1].from);
            ranges.push((first, last));
            i = run.end;
            // A character is redacted whole: skip what is left of the last one.
            while folded.get(i).is_some_and(|f| f.from <= last) {
                i += 1;
            }
        } else {
            i = run.end.max(i + 1);
        }
    }
    if ranges.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut next = 0;
    for (first, last) in ranges {
        out.extend(&chars[next..first]);
        out.push_str(REDACTED);
        next = last + 1;
    }
    out.extend(&chars[next..]);
    out
}

fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |n, d| n * 10 + u32::from(*d))
}

/// Whether every group belongs to a date or a time, each read in the order written.
fn dates_and_times(groups: &[Group]) -> bool {
    // reachable[k]: the first k groups are whole dates and times.
    let mut reachable = vec![false; groups.len() + 1];
    reachable[0] = true;
    for k in 0..groups.len() {
        if !reachable[k] {
            continue;
        }
        // Between two dates or times stands more than a lone dot: `12.34.12.34` is a
        // number, not two times.
        if k > 0 && groups.get(k).is_some_and(|g| g.before.as_slice() == ['.']) {
            continue;
        }
        for len in [2, 3] {
            let Some(token) = groups.get(k..k + len) else { continue };
            if date(token) || time(token) {
                reachable[k + len] = true;
            }
        }
    }
    reachable[groups.len()]
}

/// `2026-11-29`, `29/11/2026`, `11.29.2026`: one separator, the same twice; a year of
/// four digits from 1900 (Buddhist-era years included), a month and a day that exist.
fn date(token: &[Group]) -> bool {
    let [a, b, c] = token else { return false };
    let separators = [b.before.as_slice(), c.before.as_slice()];
    let same = matches!(separators, [[x], [y]] if x == y && matches!(x, '-' | '/' | '.'));
    let year = |g: &Group| g.digits.len() == 4 && (1900..=2999).contains(&number(&g.digits));
    let small = |g: &Group, max: u32| (1..=2).contains(&g.digits.len()) && (1..=max).contains(&number(&g.digits));
    let month_day = |m: &Group, d: &Group| small(m, 12) && small(d, 31);
    same && ((year(a) && month_day(b, c)) || (year(c) && (month_day(b, a) || month_day(a, b))))
}

/// `08:30`, `8.30`, `17:45:00`: hours, then minutes (and seconds) of two digits, with
/// one colon or dot between.
fn time(token: &[Group]) -> bool {
    let Some((hours, rest)) = token.split_first() else {
        return false;
    };
    let hours_ok = (1..=2).contains(&hours.digits.len()) && number(&hours.digits) <= 24;
    let sixty = |g: &Group| matches!(g.before.as_slice(), [':' | '.']) && g.digits.len() == 2 && number(&g.digits) < 60;
    hours_ok && (1..=2).contains(&rest.len()) && rest.iter().all(sixty)
}

#[cfg(test)]
mod tests;
