//! The gazetteer CSV parser, on four files cut from one input at form feeds (provinces,
//! districts, communes, villages; fewer parts mean missing files). Whatever the input,
//! every row is either a unit or a defect, parents come before their children, codes are
//! unique, and names are normalised and non-empty.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use mati_infra::gazetteer::source::{FILES, parse_texts};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let texts: Vec<(&str, &str)> = FILES.iter().map(|(file, _)| *file).zip(input.split('\u{c}')).collect();
    let Ok(parsed) = parse_texts(&texts) else {
        return;
    };
    assert_eq!(parsed.rows, parsed.units.len() + parsed.defects.len());
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
    for defect in &parsed.defects {
        assert!(defect.line >= 2, "a defect on the header line: {defect:?}");
        assert!(!defect.reason.is_empty());
    }
});
