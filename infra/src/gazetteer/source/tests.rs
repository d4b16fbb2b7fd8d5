use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};

use super::*;

mod centres;
mod lines;

type TestResult = Result<(), Box<dyn Error>>;

const HEAD: &str = "code,parent_code,type,name_km,name_en\n";

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/gazetteer")
}

fn shipped() -> Parsed {
    parse_dir(&shipped_dir()).unwrap_or_else(|e| panic!("{e}"))
}

/// A minimal valid gazetteer above the villages, whose rows are `villages` (without header).
fn with_villages(villages: &str) -> Result<Parsed, SourceError> {
    let provinces = format!("{HEAD}12,,capital,ភ្នំពេញ,Phnom Penh\n");
    let districts = format!("{HEAD}1209,12,khan,ពោធិ៍សែនជ័យ,Pur SenChey\n");
    let communes = format!("{HEAD}120901,1209,sangkat,ចោមចៅ,Chaom Chau\n");
    let villages = format!("{HEAD}{villages}");
    parse_texts(&[
        ("provinces.csv", &provinces),
        ("districts.csv", &districts),
        ("communes.csv", &communes),
        ("villages.csv", &villages),
    ])
}

/// A minimal gazetteer of two communes (120901, 120902 of district 1209) without
/// villages, and a centres file of `centres` (rows without header).
fn with_centres(centres: &str) -> Result<Parsed, SourceError> {
    let provinces = format!("{HEAD}12,,capital,ភ្នំពេញ,Phnom Penh\n");
    let districts = format!("{HEAD}1209,12,khan,ពោធិ៍សែនជ័យ,Pur SenChey\n");
    let communes =
        format!("{HEAD}120901,1209,sangkat,ចោមចៅ,Chaom Chau\n120902,1209,sangkat,ត្រពាំងក្រសាំង,Trapeang Krasang\n");
    let centres = format!("code,lat,lon\n{centres}");
    parse_texts(&[
        ("provinces.csv", &provinces),
        ("districts.csv", &districts),
        ("communes.csv", &communes),
        ("villages.csv", HEAD),
        (CENTRES_FILE, &centres),
    ])
}

/// The single defect's reason when `row` is the only village.
fn reason_for(row: &str) -> Result<String, Box<dyn Error>> {
    let parsed = with_villages(&format!("{row}\n"))?;
    assert_eq!(parsed.units.len(), 3, "{:?}", parsed.defects);
    match parsed.defects.as_slice() {
        [defect] => Ok(defect.reason.clone()),
        other => Err(format!("expected one defect, got {other:?}").into()),
    }
}

fn count<'a>(items: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_insert(0) += 1;
    }
    counts
}

#[test]
fn the_shipped_data_parses_to_the_expected_units() {
    let parsed = shipped();
    let levels = count(parsed.units.iter().map(|u| u.level.as_str()));
    let expected = [
        ("PROVINCE", 25),
        ("DISTRICT", 210),
        ("COMMUNE", 1661),
        ("VILLAGE", 14_487),
    ];
    assert_eq!(levels, BTreeMap::from(expected));
    let kinds = count(parsed.units.iter().map(|u| u.kind.as_str()));
    let expected = [
        ("capital", 1),
        ("province", 24),
        ("khan", 14),
        ("krong", 33),
        ("srok", 163),
        ("khum", 1387),
        ("sangkat", 274),
        ("phum", 14_487),
    ];
    assert_eq!(kinds, BTreeMap::from(expected));
    assert_eq!(parsed.rows, 25 + 210 + 1661 + 14_576 + 1185);
    assert_eq!(parsed.centres.as_ref().map(Vec::len), Some(1185));
    assert_eq!(parsed.valid() + parsed.defects.len(), parsed.rows);
    assert_eq!(parsed.defects.len(), 14_576 - 14_487);
}

#[test]
fn the_shipped_defects_are_all_villages_grouped_by_reason() {
    let parsed = shipped();
    assert!(parsed.defects.iter().all(|d| d.file == "villages.csv"));
    let groups = count(parsed.defects.iter().map(|d| {
        if d.reason.starts_with("malformed code") {
            "malformed"
        } else if d.reason.contains("is not under its parent") {
            "not under parent"
        } else if d.reason == "missing parent: commune 120913 does not exist" {
            "missing parent"
        } else if d.reason.starts_with("duplicate code, first seen at line ") {
            "duplicate"
        } else {
            "other"
        }
    }));
    let expected = [
        ("malformed", 9),
        ("not under parent", 43),
        ("missing parent", 13),
        ("duplicate", 24),
    ];
    assert_eq!(groups, BTreeMap::from(expected));
}

#[test]
fn the_shipped_defects_name_their_file_line_and_cause() {
    let parsed = shipped();
    let malformed: Vec<&Defect> = parsed
        .defects
        .iter()
        .filter(|d| d.code.as_deref() == Some("0506140-"))
        .collect();
    assert_eq!(malformed.len(), 9);
    assert_eq!(
        malformed.first().copied(),
        Some(&Defect {
            file: "villages.csv".to_owned(),
            line: 3755,
            code: Some("0506140-".to_owned()),
            reason: "malformed code \"0506140-\": expected 8 digits".to_owned(),
        })
    );
    let duplicate = parsed.defects.iter().find(|d| d.line == 6566);
    assert_eq!(
        duplicate.map(|d| (d.code.as_deref(), d.reason.as_str())),
        Some((Some("08120101"), "duplicate code, first seen at line 6557"))
    );
    let misplaced = parsed.defects.iter().find(|d| d.line == 1498);
    assert_eq!(
        misplaced.map(|d| d.reason.as_str()),
        Some("code 02140401 is not under its parent 021405")
    );
}

#[test]
fn a_valid_minimal_gazetteer_imports_every_row_in_order() -> TestResult {
    let parsed = with_villages("12090101,120901,phum,ត្រពាំងថ្លឹង,Trapeang Thloeng\n")?;
    assert_eq!(parsed.rows, 4);
    assert!(parsed.defects.is_empty());
    let codes: Vec<&str> = parsed.units.iter().map(|u| u.code.as_str()).collect();
    assert_eq!(codes, ["12", "1209", "120901", "12090101"]);
    let village = parsed.units.last().ok_or("no village")?;
    assert_eq!(village.parent_code.as_ref().map(UnitCode::as_str), Some("120901"));
    assert_eq!(
        (village.kind.as_str(), village.name_en.as_str()),
        ("phum", "Trapeang Thloeng")
    );
    Ok(())
}

#[test]
fn fields_are_trimmed_and_names_normalised() -> TestResult {
    let parsed = with_villages(" 12090101 , 120901 , phum , ភូមិ ,  Cafe\u{301}  \n")?;
    assert!(parsed.defects.is_empty(), "{:?}", parsed.defects);
    let village = parsed.units.last().ok_or("no village")?;
    assert_eq!(village.code.as_str(), "12090101");
    assert_eq!(
        (village.name_km.as_str(), village.name_en.as_str()),
        ("ភូមិ", "Caf\u{e9}")
    );
    Ok(())
}

#[test]
fn a_malformed_code_is_a_defect_before_any_other_rule() -> TestResult {
    let reason = reason_for("0506140-,050614,phum,ភូមិ,Phum")?;
    assert_eq!(reason, "malformed code \"0506140-\": expected 8 digits");
    // Valid digits but the length of another level, with a wrong type and no name too.
    let reason = reason_for("120901,1209,khum,,")?;
    assert_eq!(reason, "malformed code \"120901\": expected 8 digits");
    Ok(())
}

#[test]
fn a_type_of_another_level_is_a_defect() -> TestResult {
    let reason = reason_for("12090101,120901,khum,ភូមិ,Phum")?;
    assert_eq!(reason, "unknown type \"khum\" for a village: expected phum");
    Ok(())
}

#[test]
fn empty_or_control_character_names_are_defects() -> TestResult {
    assert_eq!(reason_for("12090101,120901,phum,,Phum")?, "empty Khmer name");
    assert_eq!(reason_for("12090101,120901,phum,ភូមិ,  ")?, "empty English name");
    let reason = reason_for("12090101,120901,phum,ភូ\u{7}មិ,Phum")?;
    assert!(reason.starts_with("invalid Khmer name: "), "{reason}");
    let reason = reason_for("12090101,120901,phum,ភូមិ,\"Ph\tum\"")?;
    assert_eq!(
        reason,
        "invalid English name: must not contain control character U+0009"
    );
    Ok(())
}

#[test]
fn parent_codes_must_fit_the_level() -> TestResult {
    let provinces = format!("{HEAD}12,01,province,ភ្នំពេញ,Phnom Penh\n");
    let parsed = parse_texts(&[
        ("provinces.csv", &provinces),
        ("districts.csv", HEAD),
        ("communes.csv", HEAD),
        ("villages.csv", HEAD),
    ])?;
    let reasons: Vec<&str> = parsed.defects.iter().map(|d| d.reason.as_str()).collect();
    assert_eq!(reasons, ["a province has no parent, found parent code \"01\""]);
    let reason = reason_for("12090101,,phum,ភូមិ,Phum")?;
    assert_eq!(reason, "missing parent code: a village needs its commune");
    let reason = reason_for("12090101,1209,phum,ភូមិ,Phum")?;
    assert_eq!(reason, "malformed parent code \"1209\": expected 6 digits");
    Ok(())
}

#[test]
fn a_code_outside_its_parent_is_not_under_it_even_if_the_parent_is_missing() -> TestResult {
    let reason = reason_for("12090201,120901,phum,ភូមិ,Phum")?;
    assert_eq!(reason, "code 12090201 is not under its parent 120901");
    let reason = reason_for("12091301,120901,phum,ភូមិ,Phum")?;
    assert_eq!(reason, "code 12091301 is not under its parent 120901");
    let reason = reason_for("12091201,120913,phum,ភូមិ,Phum")?;
    assert_eq!(reason, "code 12091201 is not under its parent 120913");
    Ok(())
}

#[test]
fn a_parent_that_is_not_a_valid_unit_is_missing() -> TestResult {
    let reason = reason_for("12091301,120913,phum,ភូមិ,Phum")?;
    assert_eq!(reason, "missing parent: commune 120913 does not exist");
    // A commune rejected for its type cannot parent villages.
    let provinces = format!("{HEAD}12,,capital,ភ្នំពេញ,Phnom Penh\n");
    let districts = format!("{HEAD}1209,12,khan,ពោធិ៍សែនជ័យ,Pur SenChey\n");
    let communes = format!("{HEAD}120901,1209,phum,ចោមចៅ,Chaom Chau\n");
    let villages = format!("{HEAD}12090101,120901,phum,ភូមិ,Phum\n");
    let parsed = parse_texts(&[
        ("provinces.csv", &provinces),
        ("districts.csv", &districts),
        ("communes.csv", &communes),
        ("villages.csv", &villages),
    ])?;
    let reasons: Vec<(&str, &str)> = parsed
        .defects
        .iter()
        .map(|d| (d.file.as_str(), d.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "communes.csv",
                "unknown type \"phum\" for a commune: expected khum or sangkat"
            ),
            ("villages.csv", "missing parent: commune 120901 does not exist"),
        ]
    );
    Ok(())
}

#[test]
fn a_duplicate_keeps_the_first_valid_occurrence_and_says_where_it_was() -> TestResult {
    let parsed = with_villages(
        "12090101,120901,khum,ភូមិ,Bad Type\n\
         12090101,120901,phum,ភូមិ,First\n\
         12090101,120901,phum,ភូមិ,Second\n\
         12090101,120901,phum,ភូមិ,Third\n",
    )?;
    assert_eq!(parsed.units.last().map(|u| u.name_en.as_str()), Some("First"));
    let defects: Vec<(u64, &str)> = parsed.defects.iter().map(|d| (d.line, d.reason.as_str())).collect();
    assert_eq!(
        defects,
        [
            (2, "unknown type \"khum\" for a village: expected phum"),
            (4, "duplicate code, first seen at line 3"),
            (5, "duplicate code, first seen at line 3"),
        ]
    );
    assert_eq!(parsed.units.len() + parsed.defects.len(), parsed.rows);
    Ok(())
}

#[test]
fn rows_with_the_wrong_number_of_fields_are_defects() -> TestResult {
    let parsed = with_villages(
        "12090101,120901,phum,ភូមិ\n\
         12090102,120901,phum,ភូមិ,Phum,extra\n\
         12090103,120901,phum,ភូមិ,Phum\n",
    )?;
    let defects: Vec<(u64, Option<&str>, &str)> = parsed
        .defects
        .iter()
        .map(|d| (d.line, d.code.as_deref(), d.reason.as_str()))
        .collect();
    assert_eq!(
        defects,
        [
            (2, Some("12090101"), "expected 5 fields, found 4"),
            (3, Some("12090102"), "expected 5 fields, found 6"),
        ]
    );
    assert_eq!(parsed.units.len(), 4);
    Ok(())
}

#[test]
fn line_numbers_are_physical_lines_counting_the_header() -> TestResult {
    let parsed = with_villages("bad1,120901,phum,ភូមិ,Phum\n\nbad2,120901,phum,ភូមិ,Phum\rbad3,120901,phum,ភូមិ,Phum")?;
    let lines: Vec<u64> = parsed.defects.iter().map(|d| d.line).collect();
    assert_eq!(lines, [2, 4, 5]);
    let parsed = with_villages("\r\nbad,120901,phum,ភូមិ,Phum\r\n\r\n\r\nbad2,120901,phum,ភូមិ,Phum\r\n")?;
    let lines: Vec<u64> = parsed.defects.iter().map(|d| d.line).collect();
    assert_eq!(lines, [3, 6]);
    Ok(())
}

#[test]
fn a_byte_order_mark_before_the_header_is_tolerated() -> TestResult {
    let provinces = format!("\u{feff}{HEAD}12,,capital,ភ្នំពេញ,Phnom Penh\n");
    let parsed = parse_texts(&[
        ("provinces.csv", &provinces),
        ("districts.csv", HEAD),
        ("communes.csv", HEAD),
        ("villages.csv", HEAD),
    ])?;
    assert_eq!((parsed.units.len(), parsed.defects.len()), (1, 0));
    Ok(())
}

#[test]
fn a_wrong_header_is_a_source_error() {
    for header in [
        "code,parent,type,name_km,name_en\n",
        "code,parent_code,type,name_km\n",
        "",
    ] {
        let result = parse_texts(&[
            ("provinces.csv", header),
            ("districts.csv", HEAD),
            ("communes.csv", HEAD),
            ("villages.csv", HEAD),
        ]);
        match result {
            Err(e @ SourceError::Header { .. }) => {
                assert!(e.to_string().contains("provinces.csv"), "{e}");
            }
            other => panic!("{header:?}: {other:?}"),
        }
    }
}

#[test]
fn a_missing_file_is_a_source_error() -> TestResult {
    let result = parse_texts(&[("provinces.csv", HEAD), ("districts.csv", HEAD), ("communes.csv", HEAD)]);
    match result {
        Err(e @ SourceError::Missing { .. }) => assert!(e.to_string().contains("villages.csv")),
        other => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir()?;
    match parse_dir(dir.path()) {
        Err(e @ SourceError::Missing { .. }) => assert!(e.to_string().contains("provinces.csv")),
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[test]
fn a_directory_with_the_four_files_parses() -> TestResult {
    let dir = tempfile::tempdir()?;
    for (file, _) in FILES {
        std::fs::write(dir.path().join(file), HEAD)?;
    }
    std::fs::write(
        dir.path().join("provinces.csv"),
        format!("{HEAD}01,,province,បន្ទាយមានជ័យ,Banteay Meanchey\n"),
    )?;
    let parsed = parse_dir(dir.path())?;
    assert_eq!((parsed.rows, parsed.units.len()), (1, 1));
    Ok(())
}

#[test]
fn parsing_is_deterministic() {
    let (first, second) = (shipped(), shipped());
    assert_eq!(first.units, second.units);
    assert_eq!(first.defects, second.defects);
    assert_eq!(first.rows, second.rows);
}
