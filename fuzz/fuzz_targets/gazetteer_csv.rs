//! The gazetteer CSV parser, on four files cut from one input at form feeds (provinces,
//! districts, communes, villages; fewer parts mean missing files), as bytes that need not
//! be UTF-8. Whatever the input, every physical line is the header, a blank line, a unit or
//! a defect, each once (so no quote can swallow the lines after it); parents come before
//! their children, codes are unique, and names are normalised and non-empty.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use mati_infra::gazetteer::source::{FILES, parse_bytes};

/// Physical lines of `bytes` (ended by LF, CRLF or a lone CR), counted independently of
/// the parser: (all lines, blank lines), a leading byte order mark ignored.
fn count_lines(bytes: &[u8]) -> (usize, usize) {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let (mut lines, mut blank, mut length) = (0, 0, 0);
    let mut previous = None;
    for &byte in bytes {
        let ends = byte == b'\n' && previous != Some(b'\r') || byte == b'\r';
        if ends {
            lines += 1;
            blank += usize::from(length == 0);
            length = 0;
        } else if byte != b'\n' {
            length += 1;
        }
        previous = Some(byte);
    }
    (lines + usize::from(length > 0), blank)
}

fuzz_target!(|data: &[u8]| {
    let parts: Vec<&[u8]> = data.split(|byte| *byte == 0x0c).collect();
    let files: Vec<(&str, &[u8])> = FILES.iter().map(|(file, _)| *file).zip(parts.iter().copied()).collect();
    let Ok(parsed) = parse_bytes(&files) else {
        return;
    };
    assert_eq!(parsed.rows, parsed.units.len() + parsed.defects.len());
    let (lines, blank) = files.iter().fold((0, 0), |(lines, blank), (_, bytes)| {
        let (l, b) = count_lines(bytes);
        (lines + l, blank + b)
    });
    assert_eq!(
        (parsed.lines, parsed.blank),
        (lines, blank),
        "every physical line is counted"
    );
    assert_eq!(parsed.lines, FILES.len() + parsed.blank + parsed.rows);
    let mut seen = HashSet::new();
    for unit in &parsed.units {
        assert_eq!(unit.code.level(), unit.level);
        match &unit.parent_code {
            None => assert!(unit.code.parent().is_none(), "{} has no parent", unit.code.as_str()),
            Some(parent) => {
                assert_eq!(unit.code.parent().as_ref(), Some(parent));
                assert!(
                    seen.contains(parent.as_str()),
                    "{} before its parent",
                    unit.code.as_str()
                );
            }
        }
        assert!(
            seen.insert(unit.code.as_str().to_owned()),
            "{} twice",
            unit.code.as_str()
        );
        for name in [&unit.name_km, &unit.name_en] {
            assert!(!name.is_empty());
            assert!(!name.chars().any(char::is_control), "{name:?}");
        }
    }
    let mut lines_seen = HashSet::new();
    for defect in &parsed.defects {
        assert!(defect.line >= 2, "a defect on the header line: {defect:?}");
        assert!(!defect.reason.is_empty());
        assert!(
            lines_seen.insert((defect.file.as_str(), defect.line)),
            "one line, two defects: {defect:?}"
        );
        let (file_lines, _) = files
            .iter()
            .find(|(file, _)| *file == defect.file)
            .map_or((0, 0), |(_, bytes)| count_lines(bytes));
        assert!(
            usize::try_from(defect.line).is_ok_and(|line| line <= file_lines),
            "a defect past the file's end: {defect:?}"
        );
        assert!(
            defect
                .code
                .as_ref()
                .is_none_or(|code| !code.is_empty() && code.trim() == code)
        );
    }
});
