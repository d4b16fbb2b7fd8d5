//! The optional centres file: each rule of the `centres` module, and how its defects are
//! shown.

use super::*;

/// The single defect's reason when `row` is the only centre.
fn centre_reason(row: &str) -> Result<String, Box<dyn Error>> {
    let parsed = with_centres(&format!("{row}\n"))?;
    assert_eq!(parsed.centres.as_ref().map(Vec::len), Some(0));
    match parsed.defects.as_slice() {
        [defect] => {
            assert_eq!((defect.file.as_str(), defect.line), (CENTRES_FILE, 2));
            Ok(defect.reason.clone())
        }
        other => Err(format!("expected one defect, got {other:?}").into()),
    }
}

#[test]
fn the_shipped_centres_are_all_valid_and_of_communes() {
    let parsed = shipped();
    let centres = parsed.centres.unwrap_or_default();
    assert_eq!(centres.len(), 1185);
    assert!(parsed.defects.iter().all(|d| d.file != CENTRES_FILE));
    let first = centres.first().map(|c| (c.code.as_str(), c.lat, c.long));
    assert_eq!(first, Some(("010201", 13.510_409_3, 103.017_739_2)));
    assert!(centres.iter().all(|c| c.code.level() == AdminLevel::Commune));
}

#[test]
fn a_valid_centre_is_read_with_its_fields_trimmed() -> TestResult {
    let parsed = with_centres(" 120901 , 11.5826 ,104.8637\n\"120902\",11.59,104.87\n")?;
    assert!(parsed.defects.is_empty(), "{:?}", parsed.defects);
    let centres: Vec<(&str, f64, f64)> = parsed
        .centres
        .iter()
        .flatten()
        .map(|c| (c.code.as_str(), c.lat, c.long))
        .collect();
    assert_eq!(centres, [("120901", 11.5826, 104.8637), ("120902", 11.59, 104.87)]);
    assert_eq!(parsed.rows, 4 + 2);
    Ok(())
}

#[test]
fn without_the_centres_file_there_are_no_centres_rather_than_none() -> TestResult {
    let parsed = with_villages("")?;
    assert_eq!((parsed.centres, parsed.files), (None, 4));
    let parsed = with_centres("")?;
    assert_eq!((parsed.centres, parsed.files), (Some(Vec::new()), 5));
    Ok(())
}

#[test]
fn a_centre_row_needs_three_fields_and_a_commune_code() -> TestResult {
    assert_eq!(centre_reason("120901,11.6")?, "expected 3 fields, found 2");
    assert_eq!(centre_reason("120901,11.6,104.8,x")?, "expected 3 fields, found 4");
    assert_eq!(
        centre_reason("1209,11.6,104.8")?,
        "malformed code \"1209\": expected 6 digits"
    );
    assert_eq!(
        centre_reason("12090a,11.6,104.8")?,
        "malformed code \"12090a\": expected 6 digits"
    );
    assert_eq!(centre_reason(",11.6,104.8")?, "malformed code \"\": expected 6 digits");
    Ok(())
}

#[test]
fn centre_coordinates_must_be_finite_numbers() -> TestResult {
    for (row, reason) in [
        (
            "120901,north,104.8",
            "malformed lat \"north\": expected a decimal number of degrees",
        ),
        (
            "120901,,104.8",
            "malformed lat \"\": expected a decimal number of degrees",
        ),
        (
            "120901,NaN,104.8",
            "malformed lat \"NaN\": expected a decimal number of degrees",
        ),
        (
            "120901,11.6,inf",
            "malformed lon \"inf\": expected a decimal number of degrees",
        ),
        ("120901,11.6,104,8", "expected 3 fields, found 4"),
    ] {
        assert_eq!(centre_reason(row)?, reason, "{row}");
    }
    Ok(())
}

#[test]
fn a_centre_outside_cambodia_is_a_defect_as_are_swapped_coordinates() -> TestResult {
    let outside = |lat: &str, lon: &str| {
        format!("position {lat}, {lon} is outside Cambodia (lat 9.5 to 15.0, lon 102.0 to 108.0)")
    };
    assert_eq!(centre_reason("120901,13.75,100.5")?, outside("13.75", "100.5"));
    assert_eq!(centre_reason("120901,104.8,11.6")?, outside("104.8", "11.6"));
    assert_eq!(centre_reason("120901,-11.6,104.8")?, outside("-11.6", "104.8"));
    Ok(())
}

#[test]
fn a_centre_of_a_missing_commune_or_a_second_centre_is_a_defect() -> TestResult {
    assert_eq!(
        centre_reason("120913,11.6,104.8")?,
        "missing commune: commune 120913 does not exist"
    );
    let parsed = with_centres("120901,11.6,104.8\n120902,11.6,104.9\n120901,11.7,104.8\n")?;
    let defects: Vec<(u64, Option<&str>, &str)> = parsed
        .defects
        .iter()
        .map(|d| (d.line, d.code.as_deref(), d.reason.as_str()))
        .collect();
    assert_eq!(defects, [(4, Some("120901"), "duplicate code, first seen at line 2")]);
    let kept = parsed.centres.iter().flatten().find(|c| c.code.as_str() == "120901");
    assert_eq!(kept.map(|c| c.lat), Some(11.6), "the first wins");
    Ok(())
}

#[test]
fn a_centre_defect_is_shown_with_its_file_and_line() -> TestResult {
    let parsed = with_centres("120901,11.6,104.8\n120913,11.6,104.8\n")?;
    let shown: Vec<String> = parsed.defects.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        ["commune_centroids.csv:3: 120913: missing commune: commune 120913 does not exist"]
    );
    Ok(())
}

#[test]
fn a_wrong_centres_header_is_a_source_error_naming_the_expected_one() {
    let result = parse_texts(&[
        ("provinces.csv", HEAD),
        ("districts.csv", HEAD),
        ("communes.csv", HEAD),
        ("villages.csv", HEAD),
        (CENTRES_FILE, "code,lat,long\n"),
    ]);
    match result {
        Err(e @ SourceError::Header { .. }) => {
            let message = e.to_string();
            assert!(message.contains(CENTRES_FILE), "{message}");
            assert!(message.contains("expected \"code,lat,lon\""), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
