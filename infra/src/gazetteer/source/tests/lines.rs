//! One line, one row: a quote left open, a row broken over lines or a byte that is not
//! UTF-8 spoils its own line only, and every line is accounted for.

use super::*;

/// `count` valid villages of commune 120901 numbered from `first`, one per line.
fn good_villages(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("120901{n:02},120901,phum,ភូមិ,Phum {n}\n"))
        .collect()
}

fn lines_and_reasons(parsed: &Parsed) -> Vec<(u64, &str)> {
    parsed.defects.iter().map(|d| (d.line, d.reason.as_str())).collect()
}

#[test]
fn an_unbalanced_quote_spoils_its_own_line_only_and_every_following_row_is_read() -> TestResult {
    let parsed = with_villages(&format!("12090101,120901,phum,ភូមិ,\"Unclosed\n{}", good_villages(2, 40)))?;
    assert_eq!(
        lines_and_reasons(&parsed),
        [(
            2,
            "the quote opening field 5 (name_en) is not closed on this line (a row never spans lines)"
        )]
    );
    assert_eq!(parsed.units.len(), 3 + 40);
    assert_eq!(parsed.rows, 3 + 41);
    Ok(())
}

#[test]
fn a_quote_closed_on_a_later_line_makes_both_lines_defective_and_nothing_between_them_is_lost() -> TestResult {
    let parsed = with_villages(&format!(
        "12090101,120901,phum,ភូមិ,\"Phum\n{}12090104,120901,phum,ភូមិ,Thmei\"\n{}",
        good_villages(2, 2),
        good_villages(5, 1)
    ))?;
    assert_eq!(
        lines_and_reasons(&parsed),
        [
            (
                2,
                "the quote opening field 5 (name_en) is not closed on this line (a row never spans lines)"
            ),
            (
                5,
                "a quote inside unquoted field 5 (name_en): quote the whole field and write a quote in it as \"\""
            ),
        ]
    );
    let villages: Vec<&str> = parsed.units.iter().skip(3).map(|u| u.code.as_str()).collect();
    assert_eq!(villages, ["12090102", "12090103", "12090105"]);
    Ok(())
}

#[test]
fn a_byte_that_is_not_utf8_spoils_its_own_line_only() -> TestResult {
    let dir = tempfile::tempdir()?;
    let above = [
        ("provinces.csv", "12,,capital,ភ្នំពេញ,Phnom Penh\n"),
        ("districts.csv", "1209,12,khan,ពោធិ៍សែនជ័យ,Pur SenChey\n"),
        ("communes.csv", "120901,1209,sangkat,ចោមចៅ,Chaom Chau\n"),
    ];
    for (file, row) in above {
        std::fs::write(dir.path().join(file), format!("{HEAD}{row}"))?;
    }
    let mut villages = format!("{HEAD}{}", good_villages(1, 1)).into_bytes();
    // "Café" in Latin-1.
    villages.extend_from_slice(b"12090102,120901,phum,\xe1\x9e\x97,Caf\xe9\n");
    villages.extend_from_slice(good_villages(3, 3).as_bytes());
    std::fs::write(dir.path().join("villages.csv"), villages)?;
    let parsed = parse_dir(dir.path())?;
    assert_eq!(
        lines_and_reasons(&parsed),
        [(
            3,
            "not UTF-8: byte 0xE9 at byte 29 of the line (save the file as UTF-8)"
        )]
    );
    assert_eq!(parsed.units.len(), 3 + 4);
    Ok(())
}

#[test]
fn every_line_is_the_header_a_blank_line_a_unit_or_a_defect() -> TestResult {
    let parsed = shipped();
    assert_eq!(parsed.lines, 26 + 211 + 1662 + 14_577 + 1186);
    assert_eq!((parsed.files, parsed.blank), (FILES.len() + 1, 0));
    assert_eq!(parsed.lines, parsed.files + parsed.valid() + parsed.defects.len());
    // CRLF, a lone CR, blank lines anywhere and a last line without a terminator.
    let parsed =
        with_villages("\r\n12090101,120901,phum,ភូមិ,Phum 1\r\n\r\n\"bad\rbad2,\"\"\n\n12090102,120901,phum,ភូមិ,Phum 2")?;
    assert_eq!(
        lines_and_reasons(&parsed)
            .iter()
            .map(|(line, _)| *line)
            .collect::<Vec<_>>(),
        [5, 6]
    );
    assert_eq!((parsed.lines, parsed.blank, parsed.rows), (6 + 8, 3, 3 + 4));
    assert_eq!(
        parsed.lines,
        FILES.len() + parsed.blank + parsed.units.len() + parsed.defects.len()
    );
    // The same holds with the centres.
    let parsed = with_centres("\n120901,11.6,104.8\r\nbad,11.6,104.8\n\n")?;
    assert_eq!(
        (parsed.files, parsed.blank, parsed.rows),
        (FILES.len() + 1, 2, 4 + 1 + 1)
    );
    assert_eq!(
        parsed.lines,
        parsed.files + parsed.blank + parsed.valid() + parsed.defects.len()
    );
    Ok(())
}

#[test]
fn a_defect_shows_its_file_line_code_and_reason_and_says_when_there_is_no_code() -> TestResult {
    let parsed = with_villages("12090101,120901,phum,ភូមិ\n,120901,phum,ភូមិ,Phum\n\"1209\n")?;
    let shown: Vec<String> = parsed.defects.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "villages.csv:2: 12090101: expected 5 fields, found 4",
            "villages.csv:3: (no code): malformed code \"\": expected 8 digits",
            "villages.csv:4: (no code): the quote opening field 1 (code) is not closed on this line (a row never spans lines)",
        ]
    );
    Ok(())
}

#[test]
fn a_line_that_is_not_utf8_keeps_its_code_when_the_code_is_readable() -> TestResult {
    let villages = b"code,parent_code,type,name_km,name_en\n12090101,120901,phum,\"Ph\xff\",x\n";
    let head = |level: &str| format!("{HEAD}{level}");
    let (provinces, districts, communes) = (
        head("12,,capital,ភ្នំពេញ,Phnom Penh\n"),
        head("1209,12,khan,ពោធិ៍សែនជ័យ,Pur SenChey\n"),
        head("120901,1209,sangkat,ចោមចៅ,Chaom Chau\n"),
    );
    let parsed = parse_bytes(&[
        ("provinces.csv", provinces.as_bytes()),
        ("districts.csv", districts.as_bytes()),
        ("communes.csv", communes.as_bytes()),
        ("villages.csv", villages),
    ])?;
    let shown: Vec<String> = parsed.defects.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        ["villages.csv:2: 12090101: not UTF-8: byte 0xFF at byte 25 of the line (save the file as UTF-8)"]
    );
    Ok(())
}

#[test]
fn a_header_that_is_not_utf8_or_not_on_the_first_line_is_a_source_error() {
    for header in [
        &b"code,parent_code,type,name_km,name_\xe9n\n"[..],
        &b"\ncode,parent_code,type,name_km,name_en\n"[..],
        &b"\"code,parent_code,type,name_km,name_en\n"[..],
    ] {
        let result = parse_bytes(&[
            ("provinces.csv", header),
            ("districts.csv", HEAD.as_bytes()),
            ("communes.csv", HEAD.as_bytes()),
            ("villages.csv", HEAD.as_bytes()),
        ]);
        assert!(
            matches!(&result, Err(SourceError::Header { file, .. }) if file == "provinces.csv"),
            "{header:?}: {result:?}"
        );
    }
    let quoted = "\"code\",\"parent_code\",type,name_km,name_en\n";
    let result = parse_texts(&[
        ("provinces.csv", quoted),
        ("districts.csv", HEAD),
        ("communes.csv", HEAD),
        ("villages.csv", HEAD),
    ]);
    assert!(result.is_ok(), "a quoted header is the same header: {result:?}");
}
