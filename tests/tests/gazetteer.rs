//! The gazetteer: what the first start loads, how the API lists and searches it, and the
//! `mati gazetteer import` command (defect report, idempotence, atomicity, editions, and
//! the optional commune centres).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "tests: a failure is a test failure"
)]

use std::path::{Path, PathBuf};
use std::process::Output;

use mati_tests::{TestApp, both_backends, run};
use serde_json::{Value, json};

/// Valid units of the shipped data, per level.
const PROVINCES: usize = 25;
const DISTRICTS: usize = 210;
const COMMUNES: usize = 1661;
const VILLAGES: usize = 14_487;
const VALID: usize = PROVINCES + DISTRICTS + COMMUNES + VILLAGES;
/// Defective village rows of the shipped data.
const DEFECTS: usize = 89;
/// Commune centres of the shipped data (commune_centroids.csv), all valid.
const CENTRES: usize = 1185;
/// Khmer name of Phnom Penh in provinces.csv.
const PHNOM_PENH_KM: &str = "រាជធានីភ្នំពេញ";

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/gazetteer")
}

const FILES: [&str; 4] = ["provinces.csv", "districts.csv", "communes.csv", "villages.csv"];

/// A temporary copy of the four shipped CSV files.
fn shipped_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in FILES {
        std::fs::copy(shipped_dir().join(file), dir.path().join(file)).unwrap();
    }
    dir
}

fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn append_line(path: &Path, line: &str) {
    let mut text = std::fs::read_to_string(path).unwrap();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(line);
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

/// Runs `mati gazetteer import DIR ARGS…` against the app's database.
async fn import(app: &TestApp, dir: &Path, args: &[&str]) -> Output {
    let mut command = app.command();
    command.arg("gazetteer").arg("import").arg(dir).args(args);
    run(command).await
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `adminUnits` with the given arguments: the units as JSON.
async fn units(app: &TestApp, args: Value) -> Vec<Value> {
    let data = app
        .ok(
            None,
            "query($level: AdminLevel, $parent: ID, $search: String) {
               adminUnits(level: $level, parentCode: $parent, search: $search) {
                 code level type nameKm nameEn
               }
             }",
            args,
        )
        .await;
    data["adminUnits"].as_array().expect("adminUnits list").clone()
}

fn codes(units: &[Value]) -> Vec<String> {
    units
        .iter()
        .map(|u| u["code"].as_str().expect("code").to_owned())
        .collect()
}

async fn search(app: &TestApp, text: &str) -> Vec<String> {
    codes(&units(app, json!({ "search": text })).await)
}

async fn count(app: &TestApp, level: &str) -> usize {
    units(app, json!({ "level": level })).await.len()
}

/// Units per level: provinces, districts, communes, villages.
async fn counts(app: &TestApp) -> [usize; 4] {
    [
        count(app, "PROVINCE").await,
        count(app, "DISTRICT").await,
        count(app, "COMMUNE").await,
        count(app, "VILLAGE").await,
    ]
}

async fn unit(app: &TestApp, code: &str) -> Value {
    let data = app
        .ok(
            None,
            "query($code: ID!) { adminUnit(code: $code) { code nameEn parent { code } children { code } } }",
            json!({ "code": code }),
        )
        .await;
    data["adminUnit"].clone()
}

fn is_khmer(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| ('\u{1780}'..='\u{17FF}').contains(&c) || c == ' ')
}

both_backends!(
    first_start_loads_every_level_of_the_shipped_gazetteer,
    first_start_loads_every_level
);
async fn first_start_loads_every_level(app: TestApp) {
    assert_eq!(counts(&app).await, [PROVINCES, DISTRICTS, COMMUNES, VILLAGES]);
    let provinces = units(&app, json!({ "level": "PROVINCE" })).await;
    for province in &provinces {
        assert_eq!(province["level"], "PROVINCE");
        assert!(is_khmer(province["nameKm"].as_str().unwrap()), "{province}");
        assert!(!province["nameEn"].as_str().unwrap().is_empty(), "{province}");
        let kind = province["type"].as_str().unwrap();
        assert!(kind == "capital" || kind == "province", "{province}");
    }
    let capitals: Vec<&Value> = provinces.iter().filter(|p| p["type"] == "capital").collect();
    assert_eq!(capitals.len(), 1, "exactly one capital");
    assert_eq!(capitals[0]["code"], "12");
    assert_eq!(capitals[0]["nameEn"], "Phnom Penh");
    assert_eq!(capitals[0]["nameKm"], PHNOM_PENH_KM);
}

both_backends!(
    the_khans_of_phnom_penh_are_its_children_and_navigable_both_ways,
    khans_of_phnom_penh
);
async fn khans_of_phnom_penh(app: TestApp) {
    let khans = units(&app, json!({ "parent": "12" })).await;
    assert!(!khans.is_empty());
    for khan in &khans {
        assert!(khan["code"].as_str().unwrap().starts_with("12"), "{khan}");
        assert_eq!(khan["code"].as_str().unwrap().len(), 4, "{khan}");
        assert_eq!(khan["level"], "DISTRICT", "{khan}");
    }
    let mut sorted = codes(&khans);
    sorted.sort();
    assert_eq!(codes(&khans), sorted, "ordered by code");
    // Exactly the districts of Phnom Penh, no more.
    let all_districts = codes(&units(&app, json!({ "level": "DISTRICT" })).await);
    let expected: Vec<String> = all_districts.into_iter().filter(|c| c.starts_with("12")).collect();
    assert_eq!(codes(&khans), expected);
    assert!(expected.contains(&"1201".to_owned()));

    let chamkar_mon = unit(&app, "1201").await;
    assert_eq!(chamkar_mon["parent"]["code"], "12");
    let children = codes(chamkar_mon["children"].as_array().unwrap());
    assert!(!children.is_empty());
    assert!(
        children.iter().all(|c| c.len() == 6 && c.starts_with("1201")),
        "{children:?}"
    );
    let province = unit(&app, "12").await;
    assert_eq!(codes(province["children"].as_array().unwrap()), expected);
    assert!(province["parent"].is_null());
    assert!(unit(&app, "99").await.is_null(), "an unknown code is null");
}

both_backends!(
    search_matches_english_in_any_case_khmer_substrings_and_code_prefixes_but_not_wildcards,
    search_rules
);
async fn search_rules(app: TestApp) {
    for text in ["phnom penh", "PHNOM PENH", "Phnom Penh", "nom pe"] {
        assert!(search(&app, text).await.contains(&"12".to_owned()), "search {text:?}");
    }
    // A Khmer substring of the capital's name ("ភ្នំពេញ") and the whole name.
    for text in ["ភ្នំពេញ", PHNOM_PENH_KM] {
        assert!(search(&app, text).await.contains(&"12".to_owned()), "search {text:?}");
    }
    let province = units(&app, json!({ "level": "PROVINCE", "search": "ភ្នំពេញ" })).await;
    assert_eq!(codes(&province), ["12"]);

    // Code prefix: 1201, its communes and their villages; nothing else.
    let found = search(&app, "1201").await;
    assert!(found.iter().all(|c| c.starts_with("1201")), "{found:?}");
    assert_eq!(found.first().map(String::as_str), Some("1201"));
    let data = app
        .ok(
            None,
            r#"{ adminUnit(code: "1201") { children { code children { code } } } }"#,
            json!({}),
        )
        .await;
    let communes = data["adminUnit"]["children"].as_array().unwrap();
    let villages: usize = communes.iter().map(|c| c["children"].as_array().unwrap().len()).sum();
    assert!(villages > 0);
    assert_eq!(found.len(), 1 + communes.len() + villages, "{found:?}");
    assert!(found.iter().any(|c| c.len() == 6) && found.iter().any(|c| c.len() == 8));

    // LIKE's wildcards are literal characters.
    for text in ["%", "_", "%%", "__", "Phnom_Penh", "Phnom%Penh", "\\"] {
        let hits = search(&app, text).await;
        assert!(hits.is_empty(), "search {text:?} found {} units", hits.len());
    }
    assert!(search(&app, "no such place anywhere").await.is_empty());
}

/// The exact output lines an import of the unchanged shipped data must print.
fn assert_shipped_report(out: &str) {
    let defects: Vec<&str> = out.lines().filter(|l| l.starts_with("defect ")).collect();
    assert_eq!(defects.len(), DEFECTS, "{out}");
    assert!(defects.iter().all(|l| l.starts_with("defect villages.csv:")), "{out}");
    let with = |needle: &str| defects.iter().filter(|l| l.contains(needle)).count();
    assert!(
        defects
            .iter()
            .any(|l| l.starts_with("defect villages.csv:3755: 0506140-: malformed code")),
        "{out}"
    );
    for line in 3755..=3763 {
        assert!(
            defects
                .iter()
                .any(|l| l.starts_with(&format!("defect villages.csv:{line}: 0506140-: "))),
            "line {line}: {out}"
        );
    }
    assert_eq!(with(": 0506140-: malformed code"), 9, "{out}");
    assert_eq!(with("is not under its parent"), 43, "{out}");
    assert_eq!(with("missing parent: commune 120913 does not exist"), 13, "{out}");
    assert_eq!(with("duplicate code, first seen at line "), 24, "{out}");
    // Five headers (with the centres), no blank line: every other line is a valid row
    // or a defect.
    let valid = VALID + CENTRES;
    let lines = 5 + valid + DEFECTS;
    assert!(
        out.contains(&format!(
            "{lines} lines read: 5 headers, 0 blank, {valid} valid rows, {DEFECTS} defective"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "imported: 0 added, 0 changed, {VALID} unchanged, 0 removed (source MEF 2025)"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "commune centres: {CENTRES} imported, replacing those stored; {} communes have none",
            COMMUNES - CENTRES
        )),
        "{out}"
    );
}

both_backends!(
    importing_the_shipped_data_again_reports_every_defect_and_changes_nothing,
    reimport_shipped
);
async fn reimport_shipped(app: TestApp) {
    let first = import(&app, &shipped_dir(), &[]).await;
    assert!(first.status.success(), "{}\n{}", stdout(&first), stderr(&first));
    assert_shipped_report(&stdout(&first));
    let second = import(&app, &shipped_dir(), &[]).await;
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(stdout(&first), stdout(&second), "a second run prints the same");
    assert_eq!(counts(&app).await, [PROVINCES, DISTRICTS, COMMUNES, VILLAGES]);
}

both_backends!(
    strict_import_of_the_shipped_data_exits_with_status_3_and_reports_the_defects,
    strict_import
);
async fn strict_import(app: TestApp) {
    let output = import(&app, &shipped_dir(), &["--strict"]).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_shipped_report(&stdout(&output));
    assert!(stderr(&output).contains("--strict"), "{}", stderr(&output));
    assert_eq!(counts(&app).await, [PROVINCES, DISTRICTS, COMMUNES, VILLAGES]);
}

both_backends!(
    a_modified_copy_is_imported_as_a_diff_and_an_incomplete_one_changes_nothing,
    modified_copy
);
async fn modified_copy(app: TestApp) {
    let dir = shipped_copy();
    replace_in(
        &dir.path().join("provinces.csv"),
        "01,,province,បន្ទាយមានជ័យ,Banteay Meanchey\n",
        "01,,province,បន្ទាយមានជ័យ,Banteay Mean Chey\n",
    );
    append_line(&dir.path().join("villages.csv"), "01020199,010201,phum,ភូមិថ្មី,Phum Thmei");
    let output = import(&app, dir.path(), &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("defect ")).count(),
        DEFECTS,
        "{out}"
    );
    let expected = format!(
        "imported: 1 added, 1 changed, {} unchanged, 0 removed (source MEF 2025)",
        VALID - 1
    );
    assert!(out.contains(&expected), "{out}");

    let after = [PROVINCES, DISTRICTS, COMMUNES, VILLAGES + 1];
    assert_eq!(counts(&app).await, after);
    assert_eq!(unit(&app, "01").await["nameEn"], "Banteay Mean Chey");
    let village = unit(&app, "01020199").await;
    assert_eq!(village["nameEn"], "Phum Thmei");
    assert_eq!(village["parent"]["code"], "010201");
    let siblings = codes(unit(&app, "010201").await["children"].as_array().unwrap());
    assert_eq!(siblings.last().map(String::as_str), Some("01020199"));

    // Without villages.csv, but with another change: nothing is written.
    let partial = tempfile::tempdir().unwrap();
    for file in ["provinces.csv", "districts.csv", "communes.csv"] {
        std::fs::copy(dir.path().join(file), partial.path().join(file)).unwrap();
    }
    replace_in(
        &partial.path().join("provinces.csv"),
        "Banteay Mean Chey",
        "Never Imported",
    );
    let output = import(&app, partial.path(), &[]).await;
    assert!(!output.status.success(), "{}", stdout(&output));
    assert!(stderr(&output).contains("villages.csv"), "{}", stderr(&output));
    assert!(!stdout(&output).contains("imported:"), "{}", stdout(&output));
    assert_eq!(counts(&app).await, after);
    assert_eq!(unit(&app, "01").await["nameEn"], "Banteay Mean Chey");

    // A directory that does not exist at all fails the same way.
    let output = import(&app, &partial.path().join("absent"), &[]).await;
    assert!(!output.status.success());
    assert!(stderr(&output).contains("provinces.csv"), "{}", stderr(&output));
    assert_eq!(counts(&app).await, after);
}

/// A made-up gazetteer of one province, district, commune and village (code 26…).
fn one_unit_per_level() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let header = "code,parent_code,type,name_km,name_en\n";
    let rows = [
        "26,,province,ខេត្តថ្មី,New Province",
        "2601,26,krong,ក្រុងថ្មី,New Town",
        "260101,2601,sangkat,សង្កាត់ថ្មី,New Quarter",
        "26010101,260101,phum,ភូមិថ្មី,New Village",
    ];
    for (file, row) in FILES.into_iter().zip(rows) {
        std::fs::write(dir.path().join(file), format!("{header}{row}\n")).unwrap();
    }
    dir
}

both_backends!(a_new_edition_replaces_the_old_gazetteer_entirely, new_edition);
async fn new_edition(app: TestApp) {
    let dir = one_unit_per_level();
    let output = import(&app, dir.path(), &["--edition", "2026", "--strict"]).await;
    assert!(output.status.success(), "{}\n{}", stdout(&output), stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("8 lines read: 4 headers, 0 blank, 4 valid rows, 0 defective"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "imported: 4 added, 0 changed, 0 unchanged, {VALID} removed (source MEF 2026)"
        )),
        "{out}"
    );
    assert_eq!(counts(&app).await, [1, 1, 1, 1]);
    assert_eq!(codes(&units(&app, json!({ "level": "PROVINCE" })).await), ["26"]);
    assert!(unit(&app, "12").await.is_null(), "the 2025 units are gone");
    assert!(search(&app, "phnom penh").await.is_empty());
    assert_eq!(unit(&app, "26010101").await["parent"]["code"], "260101");

    // The same edition again changes nothing.
    let again = import(&app, dir.path(), &["--edition", "2026"]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("imported: 0 added, 0 changed, 4 unchanged, 0 removed (source MEF 2026)"),
        "{}",
        stdout(&again)
    );

    // A restart does not bring the embedded edition back.
    let db = app.stop().await;
    let app = TestApp::start_on(db, &[]).await;
    assert_eq!(counts(&app).await, [1, 1, 1, 1]);
}

both_backends!(
    an_edition_that_would_orphan_comments_is_refused_whole,
    orphaning_edition
);
async fn orphaning_edition(app: TestApp) {
    let citizen = app.citizen().await;
    let body = "The canal in Tonle Basak is blocked.";
    app.submit_comment(&citizen, "120101", "LOCAL_ROADS", body).await;
    let dir = one_unit_per_level();
    let before = counts(&app).await;
    let output = import(&app, dir.path(), &["--edition", "2026"]).await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("1 comments refer to units this gazetteer lacks"),
        "{}",
        stderr(&output)
    );
    assert_eq!(counts(&app).await, before, "nothing was imported");
    assert_eq!(unit(&app, "120101").await["code"], "120101");
}

/// A made-up gazetteer of one province, district and commune (code 26…) whose villages.csv
/// holds `villages` after its header, written as raw bytes.
fn with_villages(villages: &[u8]) -> tempfile::TempDir {
    let dir = one_unit_per_level();
    let mut text = b"code,parent_code,type,name_km,name_en\n".to_vec();
    text.extend_from_slice(villages);
    std::fs::write(dir.path().join("villages.csv"), text).unwrap();
    dir
}

/// `count` valid villages of commune 260101, numbered from `first`, one per line.
fn good_villages(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("260101{n:02},260101,phum,ភូមិទី{n},Phum {n}\n"))
        .collect()
}

fn defect_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with("defect ")).collect()
}

both_backends!(
    an_unbalanced_quote_spoils_only_its_own_line_and_every_following_row_is_imported,
    unbalanced_quote
);
async fn unbalanced_quote(app: TestApp) {
    let villages = format!(
        "{}26010102,260101,phum,ភូមិ,\"Phum Thmei\n{}",
        good_villages(1, 1),
        good_villages(3, 40)
    );
    let dir = with_villages(villages.as_bytes());
    let output = import(&app, dir.path(), &["--edition", "2026", "--strict"]).await;
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let out = stdout(&output);
    let defects = defect_lines(&out);
    assert_eq!(defects.len(), 1, "{out}");
    assert!(
        defects[0].starts_with("defect villages.csv:3: 26010102: ") && defects[0].contains("quote"),
        "{out}"
    );
    // 4 headers, 3 units above the villages, 41 valid villages, 1 defective line.
    assert!(
        out.contains("49 lines read: 4 headers, 0 blank, 44 valid rows, 1 defective"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "imported: 44 added, 0 changed, 0 unchanged, {VALID} removed (source MEF 2026)"
        )),
        "{out}"
    );
    assert_eq!(counts(&app).await, [1, 1, 1, 41]);
    assert_eq!(unit(&app, "26010142").await["nameEn"], "Phum 42");
    assert!(unit(&app, "26010102").await.is_null());

    let again = import(&app, dir.path(), &["--edition", "2026", "--strict"]).await;
    assert_eq!(again.status.code(), Some(3), "{}", stderr(&again));
    assert_eq!(defect_lines(&stdout(&again)), defects, "the same report");
    assert!(
        stdout(&again).contains("imported: 0 added, 0 changed, 44 unchanged, 0 removed (source MEF 2026)"),
        "{}",
        stdout(&again)
    );
    assert_eq!(counts(&app).await, [1, 1, 1, 41]);
}

both_backends!(
    a_line_that_is_not_utf8_is_reported_with_its_number_and_the_rest_is_imported,
    not_utf8
);
async fn not_utf8(app: TestApp) {
    let mut villages = good_villages(1, 1).into_bytes();
    // "Café" in Latin-1: one byte 0xE9 that is not UTF-8.
    villages.extend_from_slice(b"26010102,260101,phum,\xe1\x9e\x97,Caf\xe9\n");
    villages.extend_from_slice(good_villages(3, 5).as_bytes());
    let dir = with_villages(&villages);
    let output = import(&app, dir.path(), &["--edition", "2026", "--strict"]).await;
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let out = stdout(&output);
    let defects = defect_lines(&out);
    assert_eq!(defects.len(), 1, "{out}");
    assert!(
        defects[0].starts_with("defect villages.csv:3: 26010102: ") && defects[0].contains("0xE9"),
        "{out}"
    );
    assert!(
        out.contains("14 lines read: 4 headers, 0 blank, 9 valid rows, 1 defective"),
        "{out}"
    );
    assert_eq!(counts(&app).await, [1, 1, 1, 6]);
}

both_backends!(
    a_row_split_over_two_lines_is_two_defective_lines_and_blank_lines_are_counted,
    split_row
);
async fn split_row(app: TestApp) {
    let villages = format!(
        "{}26010102,260101,phum,ភូមិ,\"Phum\nThmei\"\n\n{}",
        good_villages(1, 1),
        good_villages(3, 2)
    );
    let dir = with_villages(villages.as_bytes());
    let output = import(&app, dir.path(), &["--edition", "2026"]).await;
    assert!(output.status.success(), "{}\n{}", stdout(&output), stderr(&output));
    let out = stdout(&output);
    let lines: Vec<&str> = defect_lines(&out)
        .iter()
        .map(|l| l.split(": ").next().unwrap())
        .collect();
    assert_eq!(lines, ["defect villages.csv:3", "defect villages.csv:4"], "{out}");
    assert!(
        out.contains("defect villages.csv:4: (no code): "),
        "a line without a code says so: {out}"
    );
    assert!(
        out.contains("13 lines read: 4 headers, 1 blank, 6 valid rows, 2 defective"),
        "{out}"
    );
    assert_eq!(counts(&app).await, [1, 1, 1, 3]);
}

/// The centre of a unit as `(lat, long)`; none when it has none.
async fn centre(app: &TestApp, code: &str) -> Option<(f64, f64)> {
    let data = app
        .ok(
            None,
            "query($code: ID!) { adminUnit(code: $code) { centre { lat long } } }",
            json!({ "code": code }),
        )
        .await;
    let centre = &data["adminUnit"]["centre"];
    (!centre.is_null()).then(|| (centre["lat"].as_f64().unwrap(), centre["long"].as_f64().unwrap()))
}

both_backends!(
    defective_centre_rows_are_reported_with_file_and_line_and_the_valid_rest_replaces_the_centres,
    defective_centres
);
async fn defective_centres(app: TestApp) {
    let leang_dai = Some((13.615_008_2, 103.894_894_1));
    assert_eq!(centre(&app, "170203").await, leang_dai, "loaded at first start");
    let dir = shipped_copy();
    let centres = dir.path().join("commune_centroids.csv");
    std::fs::copy(shipped_dir().join("commune_centroids.csv"), &centres).unwrap();
    // Lines 1187 to 1192, after the header and the 1,185 shipped rows.
    for line in [
        "120913,11.60,104.80",
        "170203,13.00,104.00",
        "010201,13.50,100.20",
        "01020,13.50,103.00",
        "010202,north,103.00",
        "010203,13.45",
    ] {
        append_line(&centres, line);
    }
    let output = import(&app, dir.path(), &["--strict"]).await;
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let out = stdout(&output);
    let centre_defects: Vec<&str> = defect_lines(&out)
        .into_iter()
        .filter(|l| l.starts_with("defect commune_centroids.csv:"))
        .collect();
    assert_eq!(
        centre_defects,
        [
            "defect commune_centroids.csv:1187: 120913: missing commune: commune 120913 does not exist",
            "defect commune_centroids.csv:1188: 170203: duplicate code, first seen at line 876",
            "defect commune_centroids.csv:1189: 010201: position 13.5, 100.2 is outside Cambodia \
             (lat 9.5 to 15.0, lon 102.0 to 108.0)",
            "defect commune_centroids.csv:1190: 01020: malformed code \"01020\": expected 6 digits",
            "defect commune_centroids.csv:1191: 010202: malformed lat \"north\": expected a decimal number of degrees",
            "defect commune_centroids.csv:1192: 010203: expected 3 fields, found 2",
        ],
        "{out}"
    );
    assert_eq!(defect_lines(&out).len(), DEFECTS + 6, "{out}");
    assert!(out.contains(&format!("commune centres: {CENTRES} imported")), "{out}");
    assert_eq!(centre(&app, "170203").await, leang_dai, "the first row wins");
    assert!(centre(&app, "120913").await.is_none());

    // Without the file, the stored centres are kept.
    let without = shipped_copy();
    let output = import(&app, without.path(), &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("commune centres: no commune_centroids.csv in the directory, those stored are kept"),
        "{}",
        stdout(&output)
    );
    assert_eq!(centre(&app, "170203").await, leang_dai);

    // With it, they are replaced by its rows.
    std::fs::write(&centres, "code,lat,lon\n120101,11.55,104.94\n").unwrap();
    let output = import(&app, dir.path(), &[]).await;
    assert!(output.status.success(), "{}\n{}", stdout(&output), stderr(&output));
    assert!(
        stdout(&output).contains("commune centres: 1 imported"),
        "{}",
        stdout(&output)
    );
    assert_eq!(centre(&app, "120101").await, Some((11.55, 104.94)));
    assert_eq!(centre(&app, "170203").await, None);

    // A restart does not bring the shipped centres back over imported ones.
    let db = app.stop().await;
    let app = TestApp::start_on(db, &[]).await;
    assert_eq!(centre(&app, "170203").await, None);
    assert_eq!(centre(&app, "120101").await, Some((11.55, 104.94)));
}

both_backends!(
    a_database_filled_before_centres_were_shipped_gets_them_at_the_next_start,
    centres_added_later
);
async fn centres_added_later(app: TestApp) {
    let leang_dai = Some((13.615_008_2, 103.894_894_1));
    let db = app.stop().await;
    let conn = sea_orm::Database::connect(db.url()).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&conn, "DELETE FROM commune_centres")
        .await
        .unwrap();
    conn.close().await.unwrap();
    let app = TestApp::start_on(db, &[]).await;
    assert_eq!(centre(&app, "170203").await, leang_dai);
    assert!(app.log().contains("commune centres loaded"), "{}", app.log());
}
