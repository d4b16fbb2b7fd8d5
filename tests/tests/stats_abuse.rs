//! Statistics that cannot be abused: an expensive request is refused or bounded, one
//! question is computed once, no statistic singles out a citizen, and the counters mean
//! what PRODUCT.md §5 says. Black-box, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::time::Duration;

use mati_tests::{Backend, Reply, Submission, TestApp, both_backends, first_error};
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use serde_json::{Value, json};

/// What the citizens of these tests write.
const ROAD: &str = "ផ្លូវខូចខាតធ្ងន់ធ្ងរណាស់";

/// Posts with an `X-Forwarded-For` address (believed from 127.0.0.1 when the server
/// trusts it), so that tests can speak as several clients.
async fn post_as(app: &TestApp, address: &str, token: Option<&str>, query: &str, variables: Value) -> Reply {
    app.call(token, query, variables).forwarded_for(address).reply().await
}

fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A comment sent by a fresh citizen and approved: its id and routing time.
async fn routed(app: &TestApp, moderator: &str, category: &str, gender: Option<&str>) -> (Value, String) {
    let mut comment = Submission::new("120101", category, "ផ្លូវខូចខាតធ្ងន់ធ្ងរណាស់ សូមជួសជុល");
    if let Some(gender) = gender {
        comment = comment.gender(gender);
    }
    let approved = app.ready(moderator, &comment).await;
    (
        approved["id"].clone(),
        approved["routedAt"].as_str().unwrap().to_owned(),
    )
}

// ---------------------------------------------------------------------------------
// Cost
// ---------------------------------------------------------------------------------

async fn requests_of_many_aggregates_are_refused_before_they_run(app: TestApp) {
    let alias = |n: usize| {
        format!(
            "a{n}: responseStats {{ received byCategory {{ received }} byMonth {{ received }} byGender {{ received }} }}"
        )
    };
    let twenty = format!("{{ {} }}", (0..20).map(alias).collect::<Vec<_>>().join(" "));
    let before = app.statements().await;
    let body = app.graphql(None, &twenty, json!({})).await;
    assert_eq!(codes(&body), ["QUERY_TOO_COMPLEX"], "{body:#}");
    assert_eq!(body["data"], Value::Null);
    let counts = format!(
        "{{ {} }}",
        (0..20)
            .map(|n| format!("c{n}: comments(first: 0) {{ totalCount }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let body = app.graphql(None, &counts, json!({})).await;
    assert_eq!(codes(&body), ["QUERY_TOO_COMPLEX"], "{body:#}");
    assert_eq!(app.statements().await, before, "nothing ran");

    // A dashboard's handful of aggregates, and an official's page with its total, fit.
    let dashboard = "{ responseStats { received byCategory { received } byMonth { received } byGender { received } }
                       responseStatsByChild { unit { code } received responseRate }
                       responseRanking(level: DISTRICT, first: 10) { unit { code } responseRate } }";
    app.ok(None, dashboard, json!({})).await;
    let official = app.staff("official", "cm.clerk", Some("1201")).await;
    app.ok(
        Some(&official),
        "{ inbox(first: 50) { totalCount edges { node { id body category { code } } } } }",
        json!({}),
    )
    .await;
}
both_backends!(
    requests_of_many_aggregates_are_refused_before_they_run,
    requests_of_many_aggregates_are_refused_before_they_run
);

async fn limited_per_address(app: TestApp) {
    // Three aggregates a minute per address; every period below is a new question.
    let stats = |day: u32| format!("{{ responseStats(from: \"2026-01-{day:02}T00:00:00+07:00\") {{ received }} }}");
    for day in 1..=3 {
        let response = post_as(&app, "203.0.113.7", None, &stats(day), json!({})).await;
        assert_eq!(response.status, 200);
    }
    let refused = post_as(&app, "203.0.113.7", None, &stats(4), json!({})).await;
    assert_eq!(refused.status, 429);
    assert!(refused.headers.contains_key("retry-after"));
    let body = refused.body;
    assert_eq!(codes(&body), ["RATE_LIMITED"]);
    // A request of which something else answered (here, rightly, with nothing) is a
    // 200: only a request refused whole is a 429.
    let mixed = post_as(
        &app,
        "203.0.113.7",
        None,
        "{ comment(id: \"999999\") { id } s: responseStats(from: \"2026-01-05T00:00:00+07:00\") { received } }",
        json!({}),
    )
    .await;
    assert_eq!(mixed.status, 200);
    let total = post_as(&app, "203.0.113.7", None, "{ comments { totalCount } }", json!({})).await;
    let (status, body) = (total.status, total.body);
    assert_eq!(status, 429, "totalCount counts like statistics: {body:#}");
    for export in ["comments.csv", "stats.csv?from=2026-02-01T00:00:00%2B07:00"] {
        let response = app
            .client
            .get(format!("{}/exports/{export}", app.base))
            .header("X-Forwarded-For", "203.0.113.7")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429, "{export}");
        assert!(response.headers().contains_key("retry-after"), "{export}");
    }
    // Another address is not affected.
    let other = post_as(&app, "198.51.100.9", None, &stats(4), json!({})).await;
    assert_eq!(other.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_totals_and_exports_are_limited_per_address() {
    let env = [
        ("MATI_TRUSTED_PROXIES", "127.0.0.1"),
        ("MATI_RATE_LIMIT_STATS_PER_ADDRESS", "3/60s"),
    ];
    if let Some(app) = TestApp::start_with(Backend::Sqlite, &env).await {
        limited_per_address(app).await;
    }
}

async fn one_question_asked_many_times_is_computed_once(app: TestApp) {
    let question = "{ responseStats(unitCode: \"12\") { received byCategory { received } } }";
    // Ten dashboards at once, then again: one computation each of the total and the
    // breakdown, so the one allowed by the limit serves them all.
    let mut asks = Vec::new();
    for _ in 0..10 {
        let (client, base) = (app.client.clone(), app.base.clone());
        asks.push(tokio::spawn(async move {
            let response = client
                .post(format!("{base}/graphql"))
                .json(&json!({ "query": question }))
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        }));
    }
    for ask in asks {
        let body = ask.await.unwrap();
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    let first = app.statements().await;
    app.ok(None, question, json!({})).await;
    let again = app.statements().await - first;
    assert!(
        again <= 2,
        "{again} statements for an answer in the cache (the unit's lookup for each field at most)"
    );
    // A different question is computed, and counted.
    let other = app
        .graphql(None, "{ responseStats(unitCode: \"17\") { received } }", json!({}))
        .await;
    assert_eq!(codes(&other), ["RATE_LIMITED"], "{other:#}");
}

async fn shared_statistics(backend: Backend) {
    let env = [
        ("MATI_STATS_CACHE_SECS", "600"),
        // Two computations a minute: the total and the breakdown of the first question.
        ("MATI_RATE_LIMIT_STATS_PER_ADDRESS", "2/60s"),
    ];
    if let Some(app) = TestApp::start_with(backend, &env).await {
        one_question_asked_many_times_is_computed_once(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_question_asked_many_times_is_computed_once_on_sqlite() {
    shared_statistics(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_question_asked_many_times_is_computed_once_on_postgres() {
    shared_statistics(Backend::Postgres).await;
}

/// While statistics cannot run (their table is locked), at most one holds a
/// connection; the rest wait briefly or are told to retry, cheap reads and writes go
/// on, and a statement past the timeout is cancelled with a retry answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heavy_reads_cannot_take_every_connection() {
    let env = [
        ("MATI_DATABASE_MAX_CONNECTIONS", "4"),
        ("MATI_STATS_MAX_CONCURRENT", "1"),
        ("MATI_DATABASE_STATEMENT_TIMEOUT_MS", "4000"),
        ("MATI_RATE_LIMIT_STATS_PER_ADDRESS", "1000/1s"),
    ];
    let Some(app) = TestApp::start_with(Backend::Postgres, &env).await else {
        return;
    };
    let db = Database::connect(app.db.url()).await.unwrap();
    let lock = db.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE comment_facts IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let mut heavy = Vec::new();
    for day in 1..=12 {
        let (client, base) = (app.client.clone(), app.base.clone());
        heavy.push(tokio::spawn(async move {
            let query = format!("{{ responseStats(from: \"2026-03-{day:02}T00:00:00+07:00\") {{ received }} }}");
            let response = client
                .post(format!("{base}/graphql"))
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let retry = response.headers().contains_key("retry-after");
            (status, retry, response.json::<Value>().await.unwrap())
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Meanwhile the cheap reads and the writes of everyone else go on.
    for _ in 0..5 {
        let started = std::time::Instant::now();
        app.ok(None, "{ categories { code } }", json!({})).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a cheap read waited for the heavy ones"
        );
    }
    let citizen = app.citizen().await;
    app.submit_comment(&citizen, "120101", "LOCAL_ROADS", ROAD).await;
    let mut busy = 0;
    for ask in heavy {
        let (status, retry, body) = ask.await.unwrap();
        // Refused at once (the line is full), after waiting in line, or cancelled by
        // the statement timeout: every one a retry answer, none an internal error.
        assert_eq!(codes(&body), ["SERVICE_UNAVAILABLE"], "{body:#}");
        assert!(body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().is_some());
        assert_eq!((status, retry), (503, true));
        busy += 1;
    }
    assert_eq!(busy, 12);
    lock.rollback().await.unwrap();
    app.ok(None, "{ responseStats { received } }", json!({})).await;
    assert!(
        app.log().contains("statement timeout"),
        "the cancelled statement is logged"
    );
}

// ---------------------------------------------------------------------------------
// No re-identification
// ---------------------------------------------------------------------------------

async fn a_microsecond_around_one_routing_does_not_unmask_its_author(app: TestApp) {
    let moderator = app.staff("moderator", "mod1", None).await;
    let (_, routed_at) = routed(&app, &moderator, "WATER_SANITATION", Some("FEMALE")).await;
    let at = chrono::DateTime::parse_from_rfc3339(&routed_at).unwrap();
    let to = (at + chrono::Duration::microseconds(1)).to_rfc3339();
    let query = "query($from: DateTime, $to: DateTime) {
      responseStats(unitCode: \"120101\", categoryCode: \"WATER_SANITATION\", from: $from, to: $to) {
        from to received byGender { gender suppressed received responseRate } } }";
    let stats = app.ok(None, query, json!({ "from": routed_at, "to": to })).await["responseStats"].clone();
    assert_eq!(stats["received"], 1);
    for group in stats["byGender"].as_array().unwrap() {
        assert_eq!(group["suppressed"], true, "{group:#}");
        assert_eq!(group["received"], Value::Null, "{group:#}");
        assert_eq!(group["responseRate"], Value::Null, "{group:#}");
    }
    let genders: Vec<&str> = stats["byGender"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["gender"].as_str().unwrap())
        .collect();
    assert_eq!(
        genders,
        ["FEMALE", "MALE", "OTHER", "UNDECLARED"],
        "every group is listed"
    );
    // The period counted is the whole day in Phnom Penh.
    let from = chrono::DateTime::parse_from_rfc3339(stats["from"].as_str().unwrap()).unwrap();
    let to = chrono::DateTime::parse_from_rfc3339(stats["to"].as_str().unwrap()).unwrap();
    assert_eq!(to - from, chrono::Duration::days(1));
    let ict = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
    assert_eq!(from.with_timezone(&ict).format("%H:%M:%S").to_string(), "00:00:00");
    assert!(from <= at && at < to);
}
both_backends!(
    a_microsecond_around_one_routing_does_not_unmask_its_author,
    a_microsecond_around_one_routing_does_not_unmask_its_author
);

async fn small_gender_groups_are_suppressed_with_a_partner_in_graphql_and_csv(app: TestApp) {
    let moderator = app.staff("moderator", "mod1", None).await;
    // 6 women, 7 men, 2 other, 5 undeclared: OTHER alone is too small, and would be the
    // total minus the rest, so the next smallest (UNDECLARED) is hidden with it.
    for (gender, n) in [(Some("FEMALE"), 6), (Some("MALE"), 7), (Some("OTHER"), 2), (None, 5)] {
        for _ in 0..n {
            routed(&app, &moderator, "LOCAL_ROADS", gender).await;
        }
    }
    let stats = app
        .ok(
            None,
            "{ responseStats(unitCode: \"1201\") { received byGender { gender suppressed received } } }",
            json!({}),
        )
        .await["responseStats"]
        .clone();
    assert_eq!(stats["received"], 20);
    let groups: Vec<(String, bool, Option<i64>)> = stats["byGender"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["gender"].as_str().unwrap().to_owned(),
                g["suppressed"].as_bool().unwrap(),
                g["received"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("FEMALE".to_owned(), false, Some(6)),
            ("MALE".to_owned(), false, Some(7)),
            ("OTHER".to_owned(), true, None),
            ("UNDECLARED".to_owned(), true, None)
        ]
    );
    let csv = app.get_text("/exports/stats.csv?unitCode=1201").await;
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{FEFF}').as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (gender, received, suppressed) = (column("gender"), column("received"), column("suppressed"));
    let rows: Vec<(String, String, String)> = reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| !r[gender].is_empty())
        .map(|r| (r[gender].to_owned(), r[received].to_owned(), r[suppressed].to_owned()))
        .collect();
    let row = |g: &str, n: &str, s: &str| (g.to_owned(), n.to_owned(), s.to_owned());
    assert_eq!(
        rows,
        [
            row("FEMALE", "6", "false"),
            row("MALE", "7", "false"),
            row("OTHER", "", "true"),
            row("UNDECLARED", "", "true")
        ]
    );
}
both_backends!(
    small_gender_groups_are_suppressed_with_a_partner_in_graphql_and_csv,
    small_gender_groups_are_suppressed_with_a_partner_in_graphql_and_csv
);

async fn periods_outside_the_years_1970_to_9999_are_bad_input(app: TestApp) {
    for (from, to) in [
        ("-5000-01-01T00:00:00Z", None),
        ("2026-01-01T00:00:00Z", Some("+10000-01-01T00:00:00Z")),
    ] {
        let body = app
            .graphql(
                None,
                "query($f: DateTime, $t: DateTime) { responseStats(from: $f, to: $t) { received } }",
                json!({ "f": from, "t": to }),
            )
            .await;
        let error = first_error(&body);
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body:#}");
    }
    let response = app.get("/exports/comments.csv?from=-5000-01-01T00:00:00Z").await;
    assert_eq!(response.status(), 400);
}
both_backends!(
    periods_outside_the_years_1970_to_9999_are_bad_input,
    periods_outside_the_years_1970_to_9999_are_bad_input
);

// ---------------------------------------------------------------------------------
// Counts that mean what they say
// ---------------------------------------------------------------------------------

async fn a_comment_rejected_after_routing_leaves_the_statistics_and_the_inbox(app: TestApp) {
    let moderator = app.staff("moderator", "mod1", None).await;
    let official = app.staff("official", "commune.clerk", Some("120101")).await;
    let (id, _) = routed(&app, &moderator, "LOCAL_ROADS", None).await;
    let (kept, _) = routed(&app, &moderator, "LOCAL_ROADS", None).await;
    // Hidden by three citizens' flags from three places, then rejected.
    for n in 1..=3 {
        let citizen = app.citizen().await;
        let address = format!("203.0.113.{n}");
        let response = app.flag(&citizen, &id, "ABUSIVE").forwarded_for(&address).reply().await;
        assert_eq!(response.status, 200);
    }
    let rejected = app.reject(&moderator, &id, "ABUSIVE").await;
    assert_eq!(rejected["status"], "REJECTED");

    let stats = app
        .ok(
            None,
            "{ responseStats(unitCode: \"120101\") { received overdue } }",
            json!({}),
        )
        .await;
    assert_eq!(
        stats["responseStats"]["received"], 1,
        "only the comment the unit can act on"
    );
    for status in ["null", "REJECTED"] {
        let inbox = app
            .ok(
                Some(&official),
                &format!("{{ inbox(status: {status}) {{ totalCount edges {{ node {{ id body }} }} }} }}"),
                json!({}),
            )
            .await;
        let ids: Vec<&Value> = inbox["inbox"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"]["id"])
            .collect();
        assert!(
            !ids.contains(&&id),
            "inbox(status: {status}) holds the rejected comment: {inbox:#}"
        );
    }
    let inbox = app
        .ok(Some(&official), "{ inbox { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(inbox["inbox"]["edges"][0]["node"]["id"], kept);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_rejected_after_routing_leaves_the_statistics_and_the_inbox_on_sqlite() {
    if let Some(app) = TestApp::start_with(Backend::Sqlite, &[("MATI_TRUSTED_PROXIES", "127.0.0.1")]).await {
        a_comment_rejected_after_routing_leaves_the_statistics_and_the_inbox(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_rejected_after_routing_leaves_the_statistics_and_the_inbox_on_postgres() {
    if let Some(app) = TestApp::start_with(Backend::Postgres, &[("MATI_TRUSTED_PROXIES", "127.0.0.1")]).await {
        a_comment_rejected_after_routing_leaves_the_statistics_and_the_inbox(app).await;
    }
}

async fn every_rating_counts_and_reopened_comments_are_reported(app: TestApp) {
    let moderator = app.staff("moderator", "mod1", None).await;
    let official = app.staff("official", "commune.clerk", Some("120101")).await;
    let mut codes = Vec::new();
    for _ in 0..2 {
        let citizen = app.citizen().await;
        let comment = app
            .submit(&citizen, &Submission::new("120101", "LOCAL_ROADS", ROAD))
            .await;
        let id = &comment["id"];
        app.approve(&moderator, id).await;
        app.respond(&official, id, "យើងនឹងជួសជុល").await;
        app.resolve(&official, id, "Repaired.").await;
        codes.push((citizen, comment["trackingCode"].as_str().unwrap().to_owned()));
    }
    app.rate(&codes[0].0, &codes[0].1, true).await;
    let reopened = app.rate(&codes[1].0, &codes[1].1, false).await;
    assert_eq!(reopened["status"], "RESPONDED");
    let stats = app
        .ok(
            None,
            "{ responseStats(unitCode: \"120101\") { rated satisfactionRate reopened } }",
            json!({}),
        )
        .await["responseStats"]
        .clone();
    assert_eq!(stats["rated"], 2, "{stats:#}");
    assert_eq!(stats["satisfactionRate"], 0.5, "{stats:#}");
    assert_eq!(stats["reopened"], 1, "{stats:#}");
}
both_backends!(
    every_rating_counts_and_reopened_comments_are_reported,
    every_rating_counts_and_reopened_comments_are_reported
);

// ---------------------------------------------------------------------------------
// Seeding, for benchmarks and demonstrations
// ---------------------------------------------------------------------------------

async fn seeded_comments_are_counted_like_any_other(app: TestApp) {
    let mut command = app.command();
    command.args(["seed", "--comments", "500"]);
    let output = mati_tests::run(command).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stats = app
        .ok(
            None,
            "{ responseStats { received responded byGender { gender suppressed received } } }",
            json!({}),
        )
        .await["responseStats"]
        .clone();
    assert_eq!(stats["received"], 500, "{stats:#}");
    let responded = stats["responded"].as_i64().unwrap();
    assert!((200..=450).contains(&responded), "about 70 % answered: {responded}");
    let shown: i64 = stats["byGender"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["received"].as_i64())
        .sum();
    assert!(
        shown > 300,
        "four groups of about 125, none too small to show: {stats:#}"
    );
}
both_backends!(
    seeded_comments_are_counted_like_any_other,
    seeded_comments_are_counted_like_any_other
);
