//! Response statistics (PRODUCT.md §5) through HTTP: a fixture written straight into the
//! database with hand-computed answers, the same counters through the real flow, and
//! the errors of the arguments. Runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{TestApp, both_backends, first_error};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

const FIELDS: &str = "unit { code } received responded responseRate resolved overdue
  medianHoursToFirstResponse p90HoursToFirstResponse";

fn stats_query(root: &str) -> String {
    format!(
        "query($unit: ID, $from: DateTime, $to: DateTime) {{ {root}(unitCode: $unit, from: $from, to: $to) {{ {FIELDS} }} }}"
    )
}

// Public periods are whole days in Cambodia's time: midnight in Phnom Penh.
const FROM: &str = "2025-03-01T00:00:00+07:00";
const TO: &str = "2025-04-01T00:00:00+07:00";

/// received, responded, resolved, overdue, median and p90 hours.
type Expect = (u64, u64, u64, u64, Option<f64>, Option<f64>);

const ZERO: Expect = (0, 0, 0, 0, None, None);

fn expect(received: u64, responded: u64, resolved: u64, overdue: u64, median: f64, p90: f64) -> Expect {
    (received, responded, resolved, overdue, Some(median), Some(p90))
}

/// received, responded, resolved and overdue of a row.
fn counts(stats: &Value) -> (u64, u64, u64, u64) {
    let n = |field: &str| {
        stats[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field} missing: {stats:#}"))
    };
    (n("received"), n("responded"), n("resolved"), n("overdue"))
}

#[expect(clippy::cast_precision_loss, reason = "small counts")]
fn check(stats: &Value, unit: Option<&str>, want: Expect) {
    let context = format!("{unit:?}: {stats:#}");
    assert_eq!(stats["unit"]["code"].as_str(), unit, "{context}");
    let (received, responded, resolved, overdue, median, p90) = want;
    let wanted = (received, responded, resolved, overdue);
    assert_eq!(
        counts(stats),
        wanted,
        "received, responded, resolved, overdue of {context}"
    );
    let rate = if received == 0 {
        0.0
    } else {
        responded as f64 / received as f64
    };
    let got = stats["responseRate"].as_f64().unwrap();
    assert!((got - rate).abs() < 1e-9, "responseRate {got}, want {rate}: {context}");
    for (field, value) in [("medianHoursToFirstResponse", median), ("p90HoursToFirstResponse", p90)] {
        match value {
            Some(hours) => {
                let got = stats[field]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{field} missing: {context}"));
                assert!((got - hours).abs() < 1e-9, "{field} {got}, want {hours}: {context}");
            }
            None => assert_eq!(stats[field], Value::Null, "{field} of {context}"),
        }
    }
}

/// The period is [2025-03-01, 2025-04-01). Hours to the first response: 1201 → 2, 10,
/// 30, 50; 1202 → 1, 3.5, 100; province 17 → 6; before the period (1201) → 20. Times
/// are UTC; `-` is none.
const FIXTURE: &str = "
# commune assigned status      public routed           due              first response   resolved
# 1201: 7 received, 4 responded, 2 resolved, 2 overdue.
  120101  120101   RESPONDED    yes   2025-03-02T00:00 2025-03-17T00:00 2025-03-02T02:00 -
  120109  120109   RESOLVED     yes   2025-03-03T00:00 2025-03-18T00:00 2025-03-03T10:00 2025-03-05T00:00
  120101  120101   RESPONDED    no    2025-03-04T00:00 2025-03-19T00:00 2025-03-05T06:00 -
  120109  120109   RESOLVED     yes   2025-03-05T00:00 2025-03-20T00:00 2025-03-07T02:00 2025-03-08T00:00
# unanswered past due (one escalated to the district, still counted in its commune)
  120101  1201     ROUTED       yes   2025-03-06T00:00 2025-03-21T00:00 -                -
  120101  120101   ACKNOWLEDGED yes   2025-03-10T00:00 2025-03-25T00:00 -                -
# routed at the very start of the period; unanswered but not yet due
  120109  120109   ROUTED       yes   2025-03-01T00:00 2099-01-01T00:00 -                -
# 1202: 4 received, 3 responded (one after its deadline), 1 resolved, 1 overdue.
  120201  120201   RESOLVED     yes   2025-03-10T00:00 2025-03-25T00:00 2025-03-10T01:00 2025-03-12T00:00
  120205  120205   RESPONDED    yes   2025-03-12T00:00 2025-03-27T00:00 2025-03-12T03:30 -
  120201  120201   RESPONDED    yes   2025-03-15T00:00 2025-03-18T00:00 2025-03-19T04:00 -
  120205  120205   ROUTED       yes   2025-03-20T00:00 2025-04-04T00:00 -                -
# another province
  170201  170201   RESPONDED    yes   2025-03-15T00:00 2025-03-30T00:00 2025-03-15T06:00 -
# outside the period: before it, and exactly at its (excluded) end
  120101  120101   RESPONDED    yes   2025-02-27T00:00 2025-03-14T00:00 2025-02-27T20:00 -
  120205  120205   ROUTED       yes   2025-04-01T00:00 2025-04-16T00:00 -                -
# never routed
  120101  -        PENDING      yes   -                -                -                -
  120109  -        REJECTED     yes   -                -                -                -
";

/// One comment of the fixture.
struct Row<'a> {
    commune: &'a str,
    assigned: Option<&'a str>,
    status: &'a str,
    public: bool,
    routed: Option<&'a str>,
    due: Option<&'a str>,
    first_response: Option<&'a str>,
    resolved: Option<&'a str>,
}

fn rows() -> Vec<Row<'static>> {
    let cell = |c: &'static str| (c != "-").then_some(c);
    FIXTURE
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let c: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(c.len(), 8, "{line}");
            Row {
                commune: c[0],
                assigned: cell(c[1]),
                status: c[2],
                public: c[3] == "yes",
                routed: cell(c[4]),
                due: cell(c[5]),
                first_response: cell(c[6]),
                resolved: cell(c[7]),
            }
        })
        .collect()
}

/// A timestamp literal in the format the server writes (RFC 3339, `+00:00`); PostgreSQL
/// reads the same text into `timestamptz`.
fn ts(at: Option<&str>) -> String {
    at.map_or_else(|| "NULL".to_owned(), |at| format!("'{at}:00+00:00'"))
}

fn text(value: Option<&str>) -> String {
    value.map_or_else(|| "NULL".to_owned(), |v| format!("'{v}'"))
}

fn tracking_code(i: usize) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
    format!("FXTEST{}{}", char::from(ALPHABET[i / 30]), char::from(ALPHABET[i % 30]))
}

fn fixture_sql() -> Vec<String> {
    let mut sql = vec![
        "INSERT INTO citizens (token_digest, created_at) VALUES ('fixture', '2025-01-01T00:00:00+00:00')".to_owned(),
    ];
    let author = "(SELECT id FROM citizens WHERE token_digest = 'fixture')";
    let official = "(SELECT id FROM staff WHERE username = 'fixture-official')";
    for (i, r) in rows().iter().enumerate() {
        let code = tracking_code(i);
        let created = ts(Some(r.routed.unwrap_or("2025-03-01T00:00")));
        let acknowledged = if r.status == "ACKNOWLEDGED" { r.routed } else { None };
        sql.push(format!(
            "INSERT INTO comments (tracking_code, body, category_code, commune_code, status, assigned_unit, \
             is_public, author_id, created_at, routed_at, ack_due_at, due_at, acknowledged_at, \
             first_response_at, resolved_at, reopen_count, support_count, version) VALUES \
             ('{code}', 'Fixture comment {i} about the road', 'LOCAL_ROADS', '{commune}', '{status}', {assigned}, \
             {public}, {author}, {created}, {routed}, {routed}, {due}, {acknowledged}, {first}, {resolved}, 0, 0, 1)",
            commune = r.commune,
            status = r.status,
            assigned = text(r.assigned),
            public = if r.public { "TRUE" } else { "FALSE" },
            routed = ts(r.routed),
            due = ts(r.due),
            acknowledged = ts(acknowledged),
            first = ts(r.first_response),
            resolved = ts(r.resolved),
        ));
        let id = format!("(SELECT id FROM comments WHERE tracking_code = '{code}')");
        let mut events = vec![("SUBMITTED", created.clone(), text(Some(r.commune)))];
        if r.routed.is_some() {
            events.push(("APPROVED", ts(r.routed), "NULL".to_owned()));
            events.push(("ROUTED", ts(r.routed), text(r.assigned)));
        }
        if r.status == "REJECTED" {
            events.push(("REJECTED", created.clone(), "NULL".to_owned()));
        }
        if r.first_response.is_some() {
            events.push(("RESPONDED", ts(r.first_response), text(r.assigned)));
            sql.push(format!(
                "INSERT INTO responses (comment_id, body, unit_code, author_id, created_at) VALUES \
                 ({id}, 'We have looked into it.', {unit}, {official}, {at})",
                unit = text(r.assigned),
                at = ts(r.first_response),
            ));
        }
        if r.resolved.is_some() {
            events.push(("RESOLVED", ts(r.resolved), text(r.assigned)));
        }
        for (kind, at, unit) in events {
            sql.push(format!(
                "INSERT INTO comment_events (comment_id, kind, at, unit_code, from_unit_code, actor_id, note) \
                 VALUES ({id}, '{kind}', {at}, {unit}, NULL, NULL, NULL)"
            ));
        }
    }
    sql
}

async fn load_fixture(app: &TestApp) {
    app.add_staff("official", "fixture-official", Some("1201")).await;
    let db = Database::connect(app.db.url())
        .await
        .expect("connect to the test database");
    for statement in fixture_sql() {
        db.execute_unprepared(&statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    db.close().await.expect("close");
}

async fn stats(app: &TestApp, token: &str, root: &str, vars: Value) -> Value {
    app.ok(Some(token), &stats_query(root), vars).await[root].clone()
}

/// Checks one row per child, in `codes` order.
fn check_children(rows: &Value, codes: impl Iterator<Item = String>, want: impl Fn(&str) -> Expect) {
    let rows = rows.as_array().unwrap();
    let codes: Vec<String> = codes.collect();
    let got: Vec<&str> = rows.iter().map(|r| r["unit"]["code"].as_str().unwrap()).collect();
    assert_eq!(got, codes);
    for (row, code) in rows.iter().zip(&codes) {
        check(row, Some(code), want(code));
    }
}

async fn the_fixture_gives_the_hand_computed_numbers(app: TestApp) {
    load_fixture(&app).await;
    let monitor = app.staff("monitor", "cso1", None).await;
    let period = |unit: Option<&str>| json!({ "unit": unit, "from": FROM, "to": TO });

    // 1201: [2, 10, 30, 50] → median (rank 2) 10, p90 (rank 4) 50.
    let district = expect(7, 4, 2, 2, 10.0, 50.0);
    // 1202: [1, 3.5, 100] → median (rank 2) 3.5, p90 (rank 3) 100.
    let other_district = expect(4, 3, 1, 1, 3.5, 100.0);
    // 12: [1, 2, 3.5, 10, 30, 50, 100] → median (rank 4) 10, p90 (rank 7) 100.
    let province = expect(11, 7, 3, 3, 10.0, 100.0);

    // 120101: [2, 30] → median (rank 1) 2, p90 (rank 2) 30. The country: [1, 2, 3.5, 6,
    // 10, 30, 50, 100] → ranks 4 and 8.
    let rs = "responseStats";
    for (unit, want) in [
        (Some("12"), province),
        (Some("1201"), district),
        (Some("1202"), other_district),
        (Some("120101"), expect(4, 2, 0, 2, 2.0, 30.0)),
        (Some("1203"), ZERO),
        (None, expect(12, 8, 3, 3, 6.0, 100.0)),
    ] {
        check(&stats(&app, &monitor, rs, period(unit)).await, unit, want);
    }
    // Without a period everything routed counts: [1, 2, 3.5, 6, 10, 20, 30, 50, 100] → ranks 5 and 9.
    let everything = format!("{{ responseStats {{ {FIELDS} }} }}");
    let all = app.ok(Some(&monitor), &everything, json!({})).await;
    check(&all["responseStats"], None, expect(14, 9, 3, 4, 10.0, 100.0));
    let all_1202 = stats(&app, &monitor, rs, json!({ "unit": "1202" })).await;
    check(&all_1202, Some("1202"), expect(5, 3, 1, 2, 3.5, 100.0));
    // Only a start, only an end.
    let since = stats(&app, &monitor, rs, json!({ "unit": "1201", "from": FROM })).await;
    check(&since, Some("1201"), district);
    let until = stats(&app, &monitor, rs, json!({ "unit": "1201", "to": TO })).await;
    check(&until, Some("1201"), expect(8, 5, 2, 2, 20.0, 50.0));

    // By district of province 12: every district, in code order, zeros included.
    let rows = stats(&app, &monitor, "responseStatsByChild", period(Some("12"))).await;
    check_children(&rows, (1..=14).map(|n| format!("12{n:02}")), |code| match code {
        "1201" => district,
        "1202" => other_district,
        _ => ZERO,
    });
    // By province: all 25, in code order.
    let rows = stats(&app, &monitor, "responseStatsByChild", period(None)).await;
    check_children(&rows, (1..=25).map(|n| format!("{n:02}")), |code| match code {
        "12" => province,
        "17" => expect(1, 1, 0, 0, 6.0, 6.0),
        _ => ZERO,
    });
}
both_backends!(
    the_fixture_gives_the_hand_computed_numbers,
    the_fixture_gives_the_hand_computed_numbers
);

async fn the_real_flow_is_counted(app: TestApp) {
    let citizen = app.citizen().await;
    let moderator = app.staff("moderator", "mod1", None).await;
    let commune = app.staff("official", "commune120101", Some("120101")).await;
    let district = app.staff("official", "district1201", Some("1201")).await;
    let monitor = app.staff("monitor", "cso1", None).await;
    let rs = "responseStats";

    check(&stats(&app, &monitor, rs, json!({})).await, None, ZERO);

    let mut ids = Vec::new();
    for (category, commune_code, approve) in [
        ("LOCAL_ROADS", "120101", true),
        ("LOCAL_ROADS", "120101", true),
        ("LOCAL_ROADS", "120101", true),
        ("SOLID_WASTE", "120109", true),
        ("LOCAL_ROADS", "120101", false),
    ] {
        let body = "Rubbish is burnt beside the school every day";
        let id = app.submit_comment(&citizen, commune_code, category, body).await;
        if approve {
            let approved = app.approve(&moderator, &id).await;
            assert_eq!(approved["status"], "ROUTED");
        }
        ids.push(id);
    }
    let answer = "A team comes on Monday.";
    app.acknowledge(&commune, &ids[0]).await;
    app.respond(&commune, &ids[0], answer).await;
    app.respond(&commune, &ids[0], answer).await; // a second answer is not a second response
    app.resolve(&commune, &ids[0], "Repaired on Monday.").await;
    app.respond(&commune, &ids[1], answer).await;
    app.respond(&district, &ids[3], answer).await;

    let wide =
        |unit: Option<&str>| json!({ "unit": unit, "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z" });
    let times = |s: &Value| {
        let median = s["medianHoursToFirstResponse"].as_f64().expect("a median");
        let p90 = s["p90HoursToFirstResponse"].as_f64().expect("a p90");
        assert!((0.0..1.0).contains(&median) && median <= p90 && p90 < 1.0, "{s:#}");
    };
    for unit in [Some("1201"), Some("12"), None] {
        let s = stats(&app, &monitor, rs, wide(unit)).await;
        assert_eq!(counts(&s), (4, 3, 1, 0), "{unit:?}: {s:#}");
        assert!((s["responseRate"].as_f64().unwrap() - 0.75).abs() < 1e-9, "{s:#}");
        times(&s);
    }
    let s = stats(&app, &monitor, rs, wide(Some("120101"))).await;
    assert_eq!(counts(&s), (3, 2, 1, 0), "{s:#}");
    assert!((s["responseRate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9, "{s:#}");
    times(&s);
    check(&stats(&app, &monitor, rs, wide(Some("1202"))).await, Some("1202"), ZERO);
    let future = json!({ "from": "2100-01-01T00:00:00Z", "to": "2100-02-01T00:00:00Z" });
    check(&stats(&app, &monitor, rs, future).await, None, ZERO);

    // By commune of 1201: the waste comment counts in its commune, not in its district's.
    let rows = stats(&app, &monitor, "responseStatsByChild", wide(Some("1201"))).await;
    let rows = rows.as_array().unwrap();
    let codes: Vec<&str> = rows.iter().map(|r| r["unit"]["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["120101", "120109", "120110", "120111", "120112"]);
    assert_eq!(counts(&rows[0]), (3, 2, 1, 0));
    assert_eq!(counts(&rows[1]), (1, 1, 0, 0));
    for row in &rows[2..] {
        assert_eq!(counts(row), (0, 0, 0, 0), "{row:#}");
    }
}
both_backends!(the_real_flow_is_counted, the_real_flow_is_counted);

/// The `extensions.field` of a BAD_USER_INPUT answer.
async fn bad_input(app: &TestApp, token: &str, root: &str, vars: Value) -> String {
    let response = app.graphql(Some(token), &stats_query(root), vars).await;
    let error = first_error(&response);
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{response:#}");
    error["extensions"]["field"].as_str().unwrap_or_default().to_owned()
}

async fn bad_arguments_are_refused(app: TestApp) {
    let monitor = app.staff("monitor", "cso1", None).await;
    for root in ["responseStats", "responseStatsByChild"] {
        for unit in ["99", "1299", "abc", ""] {
            let field = bad_input(&app, &monitor, root, json!({ "unit": unit })).await;
            assert_eq!(field, "unitCode", "{root}({unit:?})");
        }
        let backwards = json!({ "unit": "12", "from": TO, "to": FROM });
        assert_eq!(bad_input(&app, &monitor, root, backwards).await, "to", "{root}");
    }
    let commune = bad_input(&app, &monitor, "responseStatsByChild", json!({ "unit": "120101" })).await;
    assert_eq!(commune, "unitCode");
    // A malformed date never reaches the resolver, but is still the caller's fault.
    let query = stats_query("responseStats");
    let code = app
        .error_code(Some(&monitor), &query, json!({ "from": "yesterday" }))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}
both_backends!(bad_arguments_are_refused, bad_arguments_are_refused);
