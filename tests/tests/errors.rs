//! Errors as a client sees them (PRODUCT.md §6–§7): input validation names the field,
//! every error carries a stable `extensions.code`, and no SQL or driver text ever
//! reaches a client.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use mati_tests::{Backend, NOBODY, SUBMIT, Submission, TestApp, both_backends, first_error};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

/// A valid submission (Tonle Basak, Phnom Penh, village Phum Muoy).
fn valid() -> Submission {
    Submission::new("120101", "LOCAL_ROADS", "The road to the market is full of holes").village("12010101")
}

/// A valid submission with `overrides`.
fn valid_with(overrides: Value) -> Submission {
    let overrides = overrides.as_object().expect("overrides are an object");
    overrides
        .iter()
        .fold(valid(), |submission, (key, value)| submission.with(key, value.clone()))
}

/// Asserts that `response` failed with BAD_USER_INPUT on `field`, with a Khmer message.
fn assert_bad_input(response: &Value, field: &str, case: &str) {
    let ext = &first_error(response)["extensions"];
    assert_eq!(ext["code"], "BAD_USER_INPUT", "{case}: {response:#}");
    assert_eq!(ext["field"], field, "{case}: {response:#}");
    let km = ext["messageKm"].as_str().unwrap_or_default();
    assert!(!km.trim().is_empty(), "{case}: no messageKm in {response:#}");
}

/// The `extensions.code` of every error of `response`.
fn codes(response: &Value) -> Vec<String> {
    let errors = response["errors"].as_array().cloned().unwrap_or_default();
    assert!(!errors.is_empty(), "expected errors, got {response:#}");
    errors
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>").to_owned())
        .collect()
}

both_backends!(
    invalid_submissions_are_bad_user_input_naming_the_field,
    invalid_submissions
);
async fn invalid_submissions(app: TestApp) {
    let token = app.citizen().await;
    // A district, a village or a malformed code is no commune; 12010201 lies in 120102.
    let cases = [
        ("body", json!({ "body": "The road is broken\u{0} near the market" })),
        ("body", json!({ "body": "The road is \u{7} broken near the market" })),
        ("body", json!({ "body": "\u{1b}[31mThe road is broken badly" })),
        ("body", json!({ "body": "ក្រ".repeat(9) })),
        ("body", json!({ "body": "ក្រ".repeat(2001) })),
        ("body", json!({ "body": "   short    " })),
        ("categoryCode", json!({ "categoryCode": "NO_SUCH_CATEGORY" })),
        ("communeCode", json!({ "communeCode": "12AB01", "villageCode": null })),
        ("communeCode", json!({ "communeCode": "999999", "villageCode": null })),
        ("communeCode", json!({ "communeCode": "1201", "villageCode": null })),
        ("communeCode", json!({ "communeCode": "12010101", "villageCode": null })),
        ("villageCode", json!({ "villageCode": "12010201" })),
        ("villageCode", json!({ "villageCode": "12019999" })),
        ("clientId", json!({ "clientId": "c".repeat(65) })),
        ("clientId", json!({ "clientId": "" })),
    ];
    for (field, overrides) in cases {
        let case: String = overrides.to_string().chars().take(80).collect();
        let response = app.submit(&token, &valid_with(overrides)).response().await;
        assert_bad_input(&response, field, &case);
    }

    // Lengths are grapheme clusters: ក្រ is three code points but one character.
    for (case, body) in [
        ("ten stacked clusters", "ក្រ".repeat(10)),
        ("2000 stacked clusters", "ក្រ".repeat(2000)),
    ] {
        let response = app
            .submit(&token, &valid_with(json!({ "body": body })))
            .response()
            .await;
        assert!(response.get("errors").is_none(), "{case}: {response:#}");
        assert_eq!(response["data"]["submitComment"]["comment"]["body"], body, "{case}");
    }
    let response = app
        .submit(&token, &valid_with(json!({ "clientId": "c".repeat(64) })))
        .response()
        .await;
    assert!(response.get("errors").is_none(), "64-character clientId: {response:#}");

    // Nothing rejected was stored: only the three accepted comments wait for moderation.
    let moderator = app.staff("moderator", "moderator_validation", None).await;
    let queue = app
        .ok(Some(&moderator), "{ moderationQueue(first: 50) { id } }", json!({}))
        .await;
    assert_eq!(queue["moderationQueue"].as_array().map(Vec::len), Some(3), "{queue:#}");
}

both_backends!(text_comes_back_nfc_normalised, nfc_normalised);
async fn nfc_normalised(app: TestApp) {
    let token = app.citizen().await;
    for (sent, stored) in [
        (
            "Cafe\u{301} corner: the road is broken",
            "Caf\u{e9} corner: the road is broken",
        ),
        // Combining marks out of canonical order compose to one character.
        (
            "Tra\u{302}\u{323}n street lamps are dark",
            "Tr\u{1ead}n street lamps are dark",
        ),
        ("  ផ្លូវនៅភូមិខូចខាតខ្លាំងណាស់\r\nសូមជួសជុល  ", "ផ្លូវនៅភូមិខូចខាតខ្លាំងណាស់\nសូមជួសជុល"),
    ] {
        let comment = app.submit(&token, &valid_with(json!({ "body": sent }))).await;
        assert_eq!(comment["body"], stored, "sent {sent:?}");
    }
}

both_backends!(
    callers_without_the_right_credentials_are_unauthenticated_or_forbidden,
    credentials
);
async fn credentials(app: TestApp) {
    let response = app.submit(NOBODY, &valid()).response().await;
    assert_eq!(codes(&response), ["UNAUTHENTICATED"], "{response:#}");
    assert!(
        first_error(&response)["extensions"]["messageKm"].is_string(),
        "{response:#}"
    );

    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth("mati_c_nope")
        .json(&json!({ "query": "{ categories { code } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(codes(&body), ["UNAUTHENTICATED"], "{body:#}");

    let citizen = app.citizen().await;
    let moderator = app.staff("moderator", "moderator_credentials", None).await;
    let queue = "{ moderationQueue { id } }";
    assert_eq!(app.error_code(Some(&citizen), queue, json!({})).await, "FORBIDDEN");
    assert_eq!(app.error_code(None, queue, json!({})).await, "UNAUTHENTICATED");
    let inbox = "{ inbox { totalCount edges { node { id } } } }";
    assert_eq!(app.error_code(Some(&moderator), inbox, json!({})).await, "FORBIDDEN");
    // Staff cannot pose as citizens.
    let response = app.submit(&moderator, &valid()).response().await;
    assert_eq!(codes(&response), ["FORBIDDEN"], "{response:#}");
}

/// `{ adminUnit(code: "12010101") { parent { parent … { code } } } }`, `depth` fields deep.
fn nested_parents(depth: usize) -> String {
    let parents = depth - 2;
    format!(
        "{{ adminUnit(code: \"12010101\") {}{{ code }}{} }}",
        "{ parent ".repeat(parents),
        " }".repeat(parents)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_too_deep_operations_carry_codes() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let response = app.graphql(None, "{ comment(id: \"abc\") { id } }", json!({})).await;
    assert_bad_input(&response, "id", "comment(id: \"abc\")");

    for (case, query) in [
        ("syntax error", "{ categories {"),
        ("unknown field", "{ categories { code noSuchField } }"),
        ("unknown root field", "{ noSuchQuery }"),
        ("missing argument", "{ adminUnit { code } }"),
        ("bad enum", "{ adminUnits(level: PLANET) { code } }"),
    ] {
        let response = app.graphql(None, query, json!({})).await;
        assert!(
            codes(&response).iter().all(|c| c == "BAD_USER_INPUT"),
            "{case}: {response:#}"
        );
    }
    let response = app
        .graphql(
            None,
            "query($n: Int) { moderationQueue(first: $n) { id } }",
            json!({ "n": "ten" }),
        )
        .await;
    assert!(codes(&response).iter().all(|c| c == "BAD_USER_INPUT"), "{response:#}");

    // The default depth limit is 15: 15 runs, 16 and 18 are refused before execution.
    let at_limit = app.ok(None, &nested_parents(15), json!({})).await;
    assert!(at_limit["adminUnit"]["parent"].is_object(), "{at_limit:#}");
    for depth in [16, 18] {
        let response = app.graphql(None, &nested_parents(depth), json!({})).await;
        assert_eq!(codes(&response), ["QUERY_TOO_COMPLEX"], "depth {depth}: {response:#}");
        assert!(response["data"].is_null(), "depth {depth}: {response:#}");
    }
    // Deeper than the parser itself goes (64 selection sets) is the same refusal, be it
    // fields or inline fragments that nest, over POST and over GET.
    let fragments = format!(
        "{{ {}categories {{ code }}{} }}",
        "... on Query { ".repeat(70),
        " }".repeat(70)
    );
    for (case, query) in [("fields", nested_parents(70)), ("inline fragments", fragments)] {
        let response = app.graphql(None, &query, json!({})).await;
        assert_eq!(codes(&response), ["QUERY_TOO_COMPLEX"], "{case}: {response:#}");
        let response: serde_json::Value = app
            .client
            .get(format!("{}/graphql", app.base))
            .query(&[("query", query.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(codes(&response), ["QUERY_TOO_COMPLEX"], "{case} over GET: {response:#}");
    }
}

both_backends!(
    moderation_reports_missing_reasons_and_impossible_transitions,
    moderation
);
async fn moderation(app: TestApp) {
    let citizen = app.citizen().await;
    let moderator = app.staff("moderator", "moderator_conflicts", None).await;
    let id = app.submit(&citizen, &valid()).await["id"].as_str().unwrap().to_owned();

    let response = app
        .moderate(&moderator, json!({ "id": id, "decision": "REJECT" }))
        .response()
        .await;
    assert_bad_input(&response, "reason", "REJECT without a reason");
    let response = app.approve(&moderator, "abc").response().await;
    assert_bad_input(&response, "id", "moderating id \"abc\"");

    let approved = app.approve(&moderator, &id).await;
    assert_eq!(approved["status"], "ROUTED", "{approved:#}");
    assert_eq!(app.approve(&moderator, &id).error_code().await, "CONFLICT");
    assert_eq!(app.reject(&moderator, &id, "SPAM").error_code().await, "CONFLICT");
    // The citizen cannot moderate at all.
    assert_eq!(app.approve(&citizen, &id).error_code().await, "FORBIDDEN");
}

both_backends!(
    login_failures_look_the_same_for_unknown_users_and_wrong_passwords,
    login_failures
);
async fn login_failures(app: TestApp) {
    app.add_staff("official", "official_login", Some("120101")).await;
    let login = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }";
    let wrong = app
        .graphql(None, login, json!({ "u": "official_login", "p": "not the password" }))
        .await;
    let unknown = app
        .graphql(None, login, json!({ "u": "nobody_here", "p": "not the password" }))
        .await;
    let malformed = app.graphql(None, login, json!({ "u": "", "p": "x" })).await;
    for response in [&wrong, &unknown, &malformed] {
        assert_eq!(codes(response), ["UNAUTHENTICATED"], "{response:#}");
    }
    for key in ["message", "extensions"] {
        assert_eq!(
            first_error(&wrong)[key],
            first_error(&unknown)[key],
            "{wrong:#} vs {unknown:#}"
        );
        assert_eq!(
            first_error(&wrong)[key],
            first_error(&malformed)[key],
            "{wrong:#} vs {malformed:#}"
        );
    }
}

/// Words that would betray SQL or driver text.
const LEAKS: [&str; 10] = [
    "SELECT",
    "INSERT",
    "sqlx",
    "SQLSTATE",
    "no such table",
    "relation",
    "comment_events",
    "comments_gone",
    "syntax",
    "database",
];

/// Posts `query` and checks that it failed with INTERNAL only, with a request id that
/// matches the `x-request-id` header and the log, and without leaking anything; the
/// log lines of that request.
async fn assert_internal(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> String {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.base))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let header = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap();
    for leak in LEAKS {
        assert!(
            !text.to_lowercase().contains(&leak.to_lowercase()),
            "{leak:?} leaked in {text}"
        );
    }
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(codes(&body).iter().all(|c| c == "INTERNAL"), "{body:#}");
    let request_id = first_error(&body)["extensions"]["requestId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!request_id.is_empty(), "no requestId in {body:#}");
    assert_eq!(header.as_deref(), Some(request_id.as_str()), "x-request-id header");
    // The log is written asynchronously with the response; give it a moment.
    let mut lines = String::new();
    for _ in 0..50 {
        lines = app
            .log()
            .lines()
            .filter(|l| l.contains(&request_id))
            .collect::<Vec<_>>()
            .join("\n");
        if lines.contains("internal error") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        lines.contains("internal error"),
        "request {request_id} not logged as an internal error:\n{}",
        app.log()
    );
    lines
}

/// Whether a log line names the missing `table` the way SQLite or PostgreSQL word it.
fn names_missing_table(log: &str, table: &str) -> bool {
    log.contains(&format!("no such table: {table}")) || log.contains(&format!("\"{table}\" does not exist"))
}

both_backends!(
    database_failures_are_internal_with_a_request_id_and_no_driver_text,
    database_failures
);
async fn database_failures(app: TestApp) {
    let token = app.citizen().await;
    let comment = app.submit(&token, &valid()).await;
    let tracking_code = comment["trackingCode"].as_str().unwrap().to_owned();

    let db = Database::connect(app.db.url()).await.unwrap();
    let cascade = if app.backend() == Backend::Postgres {
        " CASCADE"
    } else {
        ""
    };
    db.execute_unprepared(&format!("DROP TABLE comment_events{cascade}"))
        .await
        .unwrap();

    let log = assert_internal(&app, Some(&token), SUBMIT, valid().variables()).await;
    assert!(
        names_missing_table(&log, "comment_events"),
        "the log lacks the detail:\n{log}"
    );
    let events = "query($c: String!) { commentByTrackingCode(trackingCode: $c) { events { kind } } }";
    let log = assert_internal(&app, None, events, json!({ "c": tracking_code })).await;
    assert!(
        names_missing_table(&log, "comment_events"),
        "the log lacks the detail:\n{log}"
    );

    db.execute_unprepared("ALTER TABLE comments RENAME TO comments_gone")
        .await
        .unwrap();
    let _ = db.close().await;
    let listing = "{ comments { totalCount edges { node { id } } } }";
    let log = assert_internal(&app, None, listing, json!({})).await;
    assert!(
        names_missing_table(&log, "comments"),
        "the log lacks the detail:\n{log}"
    );
    let log = assert_internal(&app, Some(&token), SUBMIT, valid().variables()).await;
    assert!(
        names_missing_table(&log, "comments"),
        "the log lacks the detail:\n{log}"
    );
}
