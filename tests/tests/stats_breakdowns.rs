//! The statistics beyond the four counters: acknowledgements, escalations away,
//! satisfaction, times to resolution, breakdowns by category, month and gender, and the
//! ranking of units. A fixture written into the database, answers computed by hand; on
//! PostgreSQL the numbers come from SQL, on SQLite from the domain: both must agree.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{TestApp, both_backends};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

/// commune, assigned, category, gender, status, routed, acknowledged, first response,
/// resolved, satisfied, escalated levels (4 = away from the commune). Hours after
/// routing: first response 2, 10, 4, -, 1; resolution 24, 48, 96. Row 3 is routed on
/// 31 March at 20:00 UTC: April in Phnom Penh.
type FixtureRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i32,
);

const ROWS: [FixtureRow; 5] = [
    (
        "120101",
        "120101",
        "LOCAL_ROADS",
        "'FEMALE'",
        "RESOLVED",
        "2025-03-02T00:00:00+00:00",
        "2025-03-02T01:00:00+00:00",
        "2025-03-02T02:00:00+00:00",
        "2025-03-03T00:00:00+00:00",
        "TRUE",
        0,
    ),
    (
        "120101",
        "120101",
        "LOCAL_ROADS",
        "'MALE'",
        "RESOLVED",
        "2025-03-05T00:00:00+00:00",
        "2025-03-05T01:00:00+00:00",
        "2025-03-05T10:00:00+00:00",
        "2025-03-07T00:00:00+00:00",
        "FALSE",
        0,
    ),
    (
        "120109",
        "120109",
        "HEALTH",
        "'FEMALE'",
        "RESOLVED",
        "2025-03-31T20:00:00+00:00",
        "",
        "2025-04-01T00:00:00+00:00",
        "2025-04-04T20:00:00+00:00",
        "NULL",
        0,
    ),
    (
        "120101",
        "1201",
        "LOCAL_ROADS",
        "NULL",
        "ROUTED",
        "2025-03-10T00:00:00+00:00",
        "",
        "",
        "",
        "NULL",
        4,
    ),
    (
        "120201",
        "120201",
        "SOLID_WASTE",
        "'OTHER'",
        "RESPONDED",
        "2025-03-12T00:00:00+00:00",
        "",
        "2025-03-12T01:00:00+00:00",
        "",
        "NULL",
        0,
    ),
];

fn ts(raw: &str) -> String {
    if raw.is_empty() {
        "NULL".into()
    } else {
        format!("'{raw}'")
    }
}

async fn load(app: &TestApp) {
    let db = Database::connect(app.db.url()).await.unwrap();
    db.execute_unprepared("INSERT INTO citizens (token_digest, created_at) VALUES ('fx', '2025-01-01T00:00:00+00:00')")
        .await
        .unwrap();
    for (i, (commune, assigned, category, gender, status, routed, ack, first, resolved, satisfied, levels)) in
        ROWS.iter().enumerate()
    {
        let sql = format!(
            "INSERT INTO comments (tracking_code, body, category_code, commune_code, status, assigned_unit, is_public, \
             author_id, gender, created_at, routed_at, ack_due_at, due_at, acknowledged_at, first_response_at, \
             resolved_at, satisfied, ratings, satisfied_ratings, reopen_count, support_count, version, \
             escalated_levels, hidden) VALUES \
             ('FX{i:06}', 'Fixture comment number {i}', '{category}', '{commune}', '{status}', '{assigned}', TRUE, \
             (SELECT id FROM citizens WHERE token_digest = 'fx'), {gender}, {routed}, {routed}, {routed}, \
             '2025-03-11T00:00:00+00:00', {ack}, {first}, {resolved}, {satisfied}, {ratings}, {pleased}, 0, 0, 1, \
             {levels}, FALSE)",
            ratings = i32::from(*satisfied != "NULL"),
            pleased = i32::from(*satisfied == "TRUE"),
            routed = ts(routed),
            ack = ts(ack),
            first = ts(first),
            resolved = ts(resolved),
        );
        db.execute_unprepared(&sql).await.unwrap();
    }
}

const FIELDS: &str = "received responded resolved overdue acknowledged escalatedAway rated satisfactionRate
  medianHoursToFirstResponse p90HoursToFirstResponse medianHoursToResolution p90HoursToResolution";

fn assert_close(value: &Value, want: f64, what: &str) {
    let got = value.as_f64().unwrap_or_else(|| panic!("{what} missing"));
    assert!((got - want).abs() < 1e-9, "{what}: got {got}, want {want}");
}

async fn the_extended_counters_and_breakdowns_match_the_hand_computed_answers(app: TestApp) {
    load(&app).await;
    let query = format!(
        "query($u: ID) {{ responseStats(unitCode: $u, from: \"2025-03-01T00:00:00Z\", to: \"2025-05-01T00:00:00Z\") {{
            {FIELDS}
            byCategory {{ category {{ code }} received responded medianHoursToFirstResponse }}
            byMonth {{ month received }}
            byGender {{ gender suppressed received }}
        }} }}"
    );
    let province = app.ok(None, &query, json!({ "u": "12" })).await["responseStats"].clone();
    let counts: Vec<i64> = [
        "received",
        "responded",
        "resolved",
        "overdue",
        "acknowledged",
        "escalatedAway",
        "rated",
    ]
    .iter()
    .map(|f| province[f].as_i64().unwrap())
    .collect();
    assert_eq!(counts, [5, 4, 3, 1, 2, 0, 2], "{province:#}");
    assert_close(&province["satisfactionRate"], 0.5, "satisfactionRate");
    // First responses after 1, 2, 4, 10 hours: median rank 2, p90 rank 4.
    assert_close(&province["medianHoursToFirstResponse"], 2.0, "median to first response");
    assert_close(&province["p90HoursToFirstResponse"], 10.0, "p90 to first response");
    // Resolutions after 24, 48, 96 hours: median rank 2, p90 rank 3.
    assert_close(&province["medianHoursToResolution"], 48.0, "median to resolution");
    assert_close(&province["p90HoursToResolution"], 96.0, "p90 to resolution");

    let categories: Vec<(String, i64, i64)> = province["byCategory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["category"]["code"].as_str().unwrap().to_owned(),
                r["received"].as_i64().unwrap(),
                r["responded"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        categories,
        [
            ("HEALTH".into(), 1, 1),
            ("LOCAL_ROADS".into(), 3, 2),
            ("SOLID_WASTE".into(), 1, 1)
        ]
    );
    assert_close(
        &province["byCategory"][1]["medianHoursToFirstResponse"],
        2.0,
        "LOCAL_ROADS median",
    );
    let months: Vec<(&str, i64)> = province["byMonth"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["month"].as_str().unwrap(), r["received"].as_i64().unwrap()))
        .collect();
    assert_eq!(months, [("2025-03", 4), ("2025-04", 1)]);
    // Two, one, one and one comments: every group is too small to show anyone safely.
    let genders: Vec<(&str, bool, Option<i64>)> = province["byGender"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["gender"].as_str().unwrap(),
                r["suppressed"].as_bool().unwrap(),
                r["received"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        genders,
        [
            ("FEMALE", true, None),
            ("MALE", true, None),
            ("OTHER", true, None),
            ("UNDECLARED", true, None)
        ]
    );

    // Escalated away: from the commune, not from the district or province containing it.
    let commune = app.ok(None, &query, json!({ "u": "120101" })).await["responseStats"].clone();
    assert_eq!(
        (commune["received"].as_i64(), commune["escalatedAway"].as_i64()),
        (Some(3), Some(1))
    );
    let district = app.ok(None, &query, json!({ "u": "1201" })).await["responseStats"].clone();
    assert_eq!(district["escalatedAway"], 0);
}
both_backends!(
    the_extended_counters_and_breakdowns_match_the_hand_computed_answers,
    the_extended_counters_and_breakdowns_match_the_hand_computed_answers
);

async fn units_are_ranked_by_response_rate_or_median_time(app: TestApp) {
    load(&app).await;
    let ranking = |order: &str| {
        format!(
            "{{ responseRanking(level: COMMUNE, orderBy: {order}, from: \"2025-03-01T00:00:00Z\", to: \"2025-05-01T00:00:00Z\") {{ unit {{ code }} responseRate }} }}"
        )
    };
    let codes = |data: &Value| -> Vec<String> {
        data["responseRanking"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["unit"]["code"].as_str().unwrap().to_owned())
            .collect()
    };
    // Rates: 120109 1/1, 120201 1/1, 120101 2/3; ties keep more received first, then code.
    let by_rate = app.ok(None, &ranking("RESPONSE_RATE"), json!({})).await;
    assert_eq!(codes(&by_rate), ["120109", "120201", "120101"]);
    // Medians: 120201 1 h, 120101 2 h, 120109 4 h.
    let by_median = app
        .ok(None, &ranking("MEDIAN_HOURS_TO_FIRST_RESPONSE"), json!({}))
        .await;
    assert_eq!(codes(&by_median), ["120201", "120101", "120109"]);
    let districts = app
        .ok(
            None,
            "{ responseRanking(level: DISTRICT) { unit { code } received } }",
            json!({}),
        )
        .await;
    // 1202 answered its one comment; 1201 three of four.
    assert_eq!(codes(&districts), ["1202", "1201"]);
}
both_backends!(
    units_are_ranked_by_response_rate_or_median_time,
    units_are_ranked_by_response_rate_or_median_time
);

async fn the_statistics_export_has_the_same_numbers_as_the_queries(app: TestApp) {
    load(&app).await;
    let url = format!(
        "{}/exports/stats.csv?unitCode=12&from=2025-03-01T00:00:00Z&to=2025-05-01T00:00:00Z",
        app.base
    );
    let response = app.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = response.text().await.unwrap();
    assert!(text.starts_with('\u{FEFF}'), "a byte-order mark for spreadsheets");
    let lines: Vec<&str> = text.trim_start_matches('\u{FEFF}').lines().collect();
    assert!(lines[0].starts_with("unit_code,unit_en,unit_km,received,responded,response_rate,resolved,overdue"));
    let cells = |line: &str| line.split(',').map(str::to_owned).collect::<Vec<_>>();
    let total = cells(lines[1]);
    assert_eq!(
        (total[0].as_str(), total[3].as_str(), total[4].as_str()),
        ("12", "5", "4")
    );
    assert_eq!(total[2], "រាជធានីភ្នំពេញ", "Khmer names survive");
    let district = lines.iter().map(|l| cells(l)).find(|c| c[0] == "1201").unwrap();
    assert_eq!((district[3].as_str(), district[4].as_str()), ("4", "3"));
    assert_eq!(district[12], "4.0000", "median of 2, 4 and 10 hours");

    let health = app
        .client
        .get(format!("{url}&categoryCode=HEALTH"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let total = cells(health.trim_start_matches('\u{FEFF}').lines().nth(1).unwrap());
    assert_eq!(total[3], "1");
    let bad = app
        .client
        .get(format!("{}/exports/stats.csv?status=PENDING", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
both_backends!(
    the_statistics_export_has_the_same_numbers_as_the_queries,
    the_statistics_export_has_the_same_numbers_as_the_queries
);
