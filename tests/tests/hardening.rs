//! Doors async-graphql leaves open, closed: GET only for queries, limits on the shape
//! of documents, batches off unless enabled, every alias counted against the rate
//! limits, and staff sessions that end on logout.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Backend, TestApp};
use serde_json::{Value, json};

async fn post(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = app.client.post(format!("{}/graphql", app.base)).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let url = format!("{}/graphql", app.base);
    let ok = app
        .client
        .get(&url)
        .query(&[("query", "{ categories { code } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["data"]["categories"].as_array().unwrap().len(), 13);
    let with_variables = app
        .client
        .get(&url)
        .query(&[
            ("query", "query($c: ID!) { adminUnit(code: $c) { nameEn } }"),
            ("variables", "{\"c\": \"12\"}"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_variables.json::<Value>().await.unwrap()["data"]["adminUnit"]["nameEn"],
        "Phnom Penh"
    );
    let mutation = app
        .client
        .get(&url)
        .query(&[("query", "mutation { startCitizenSession { token } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), 405);
    assert_eq!(mutation.headers()["allow"], "POST");
    let page = app.client.get(&url).send().await.unwrap();
    assert!(
        page.text().await.unwrap().contains("graphiql"),
        "GraphiQL without a query"
    );
}

#[tokio::test]
async fn documents_over_a_shape_limit_are_refused_as_too_complex() {
    let env = [
        ("MATI_MAX_ALIASES", "3"),
        ("MATI_MAX_ROOT_FIELDS", "4"),
        ("MATI_MAX_DIRECTIVES", "2"),
        ("MATI_MAX_TOKENS", "200"),
    ];
    let Some(app) = TestApp::start_with(Backend::Sqlite, &env).await else {
        return;
    };
    let cases = [
        (
            "{ a: categories { code } b: categories { code } c: categories { code } d: categories { code } }",
            "aliases",
        ),
        (
            "{ categories { code } adminUnit(code: \"12\") { code } comments { totalCount } moderationQueue { id } adminUnits(level: PROVINCE) { code } }",
            "root fields",
        ),
        (
            "{ categories @skip(if: false) { code @skip(if: false) nameEn @include(if: true) } }",
            "directives",
        ),
    ];
    for (query, what) in cases {
        let (status, body) = post(&app, None, &json!({ "query": query })).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
            "{what}: {body:#}"
        );
        assert!(
            body["errors"][0]["message"].as_str().unwrap().contains(what),
            "{body:#}"
        );
        assert!(body.get("data").is_none_or(Value::is_null), "nothing ran");
    }
    let long = format!("{{ {} }}", "categories { code } ".repeat(40));
    let (_, body) = post(&app, None, &json!({ "query": long })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
    let (_, fine) = post(
        &app,
        None,
        &json!({ "query": "{ a: categories { code } b: categories { code } }" }),
    )
    .await;
    assert!(fine.get("errors").is_none(), "{fine:#}");
}

#[tokio::test]
async fn batches_are_refused_unless_enabled_and_then_capped() {
    let Some(off) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let one = json!({ "query": "{ categories { code } }" });
    let (status, _) = post(&off, None, &json!([one, one])).await;
    assert_eq!(status, 400);
    let Some(on) = TestApp::start_with(Backend::Sqlite, &[("MATI_MAX_BATCH", "2")]).await else {
        return;
    };
    let (status, body) = post(&on, None, &json!([one, one])).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[1]["data"]["categories"].as_array().unwrap().len(), 13);
    let (status, _) = post(&on, None, &json!([one, one, one])).await;
    assert_eq!(status, 400, "over the cap");
}

#[tokio::test]
async fn every_alias_counts_against_the_rate_limits() {
    let env = [
        ("MATI_MAX_ALIASES", "300"),
        ("MATI_MAX_ROOT_FIELDS", "300"),
        ("MATI_MAX_TOKENS", "20000"),
    ];
    let Some(app) = TestApp::start_with(Backend::Sqlite, &env).await else {
        return;
    };
    let citizen = app.citizen().await;
    let fields: String = (0..40)
        .map(|i| format!("s{i}: submitComment(input: {{ body: \"Broken culvert number {i}.\", categoryCode: \"LOCAL_ROADS\", communeCode: \"120101\" }}) {{ comment {{ id }} }} "))
        .collect();
    let (_, body) = post(
        &app,
        Some(&citizen),
        &json!({ "query": format!("mutation {{ {fields} }}") }),
    )
    .await;
    let data = body["data"]
        .as_object()
        .map(|d| d.values().filter(|v| !v.is_null()).count())
        .unwrap_or(0);
    let limited = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["extensions"]["code"] == "RATE_LIMITED")
        .count();
    assert_eq!(
        (data, limited),
        (5, 35),
        "a burst of 5 per token, whatever the aliases: {body:#}"
    );
}

#[tokio::test]
async fn a_logged_out_staff_token_stops_working() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let token = app.staff("moderator", "mod1", None).await;
    app.ok(Some(&token), "{ moderationQueue { id } }", json!({})).await;
    assert_eq!(
        app.ok(Some(&token), "mutation { logout }", json!({})).await["logout"],
        true
    );
    let (status, body) = post(&app, Some(&token), &json!({ "query": "{ moderationQueue { id } }" })).await;
    assert_eq!(
        (status, body["errors"][0]["extensions"]["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    let citizen = app.citizen().await;
    assert_eq!(
        app.error_code(Some(&citizen), "mutation { logout }", json!({})).await,
        "FORBIDDEN"
    );
}
