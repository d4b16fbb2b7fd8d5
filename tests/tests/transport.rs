//! HTTP transport (api/src/http.rs): only single JSON operations are executed, bodies
//! are bounded, and the operational endpoints answer JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use mati_tests::{Backend, TestApp, both_backends};
use reqwest::header::CONTENT_TYPE;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

const CATEGORIES: &str = r#"{"query": "{ categories { code } }"}"#;

/// Posts `body` to /graphql with `content_type` (none when `None`); status and text.
async fn post(app: &TestApp, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> (u16, String) {
    let mut request = app.client.post(format!("{}/graphql", app.base)).body(body);
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Asserts that `text` is a GraphQL error body whose errors all have `code`.
fn assert_codes(text: &str, code: &str) {
    let body: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    assert!(!errors.is_empty(), "no errors in {body:#}");
    for error in errors {
        assert_eq!(error["extensions"]["code"], code, "{body:#}");
    }
}

/// The number of citizen sessions stored.
async fn citizens(app: &TestApp) -> i64 {
    let db = Database::connect(app.db.url()).await.unwrap();
    let statement = Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n FROM citizens");
    let row = db.query_one_raw(statement).await.unwrap().expect("a count");
    let n = row.try_get::<i64>("", "n").unwrap();
    let _ = db.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_application_json_posts_are_executed() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/graphql"),
        None,
    ] {
        let (status, text) = post(&app, content_type, CATEGORIES).await;
        assert_eq!(status, 415, "{content_type:?}: {text}");
        assert_codes(&text, "BAD_USER_INPUT");
    }
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
    ] {
        let (status, text) = post(&app, Some(content_type), CATEGORIES).await;
        assert_eq!(status, 200, "{content_type}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert!(
            body["data"]["categories"].as_array().is_some_and(|c| !c.is_empty()),
            "{body:#}"
        );
    }
    for (case, body) in [
        ("not JSON", "{ categories { code } }"),
        ("a bare string", r#""{ categories { code } }""#),
    ] {
        let (status, text) = post(&app, Some("application/json"), body).await;
        assert_eq!(status, 400, "{case}: {text}");
        assert_codes(&text, "BAD_USER_INPUT");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_object_that_is_not_a_graphql_request_is_a_400() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    for body in [r#"{"foo": 1}"#, r#"{"variables": {}}"#, r#"{"query": null}"#] {
        let (status, text) = post(&app, Some("application/json"), body).await;
        assert_eq!(status, 400, "{body}: {text}");
        assert_codes(&text, "BAD_USER_INPUT");
    }
}

both_backends!(batched_requests_are_refused_without_running_anything, batches);
async fn batches(app: TestApp) {
    let before = citizens(&app).await;
    let session = json!({ "query": "mutation { startCitizenSession { token } }" });
    let batch = json!([session, session]).to_string();
    let (status, text) = post(&app, Some("application/json"), batch).await;
    assert_eq!(status, 400, "{text}");
    assert_codes(&text, "BAD_USER_INPUT");
    let (status, text) = post(&app, Some("application/json"), json!([session]).to_string()).await;
    assert_eq!(status, 400, "a batch of one: {text}");
    assert_eq!(citizens(&app).await, before, "a refused batch created citizen sessions");

    // The same operation alone runs, and is counted: the count above is meaningful.
    let (status, text) = post(&app, Some("application/json"), session.to_string()).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(citizens(&app).await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_64_kib_are_refused_with_413() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let body = |padding: usize| {
        json!({ "query": "query($pad: String) { categories { code } }", "variables": { "pad": "x".repeat(padding) } })
            .to_string()
    };
    let (status, text) = post(&app, Some("application/json"), body(60 * 1024)).await;
    assert_eq!(status, 200, "60 KiB: {text}");
    let (status, text) = post(&app, Some("application/json"), body(64 * 1024)).await;
    assert_eq!(status, 413, "just over 64 KiB: {text}");
    let (status, text) = post(&app, Some("application/json"), body(1024 * 1024)).await;
    assert_eq!(status, 413, "1 MiB: {text}");
    // The server is still serving.
    let (status, _) = post(&app, Some("application/json"), CATEGORIES).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_authorization_header_is_unauthenticated() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    for value in ["Basic dXNlcjpwYXNz", "Bearer ", "mati_c_nope", "Bearer mati_s_nope"] {
        let response = app
            .client
            .post(format!("{}/graphql", app.base))
            .header("authorization", value)
            .json(&json!({ "query": "{ categories { code } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{value:?}");
        assert_codes(&response.text().await.unwrap(), "UNAUTHENTICATED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_is_served_in_development_only() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let response = app.client.get(format!("{}/graphql", app.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap();
    assert!(html.to_lowercase().contains("graphiql"), "{html}");

    let Some(production) = TestApp::start_with(Backend::Sqlite, &[("MATI_ENV", "production")]).await else {
        return;
    };
    let response = production
        .client
        .get(format!("{}/graphql", production.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_codes(&response.text().await.unwrap(), "NOT_FOUND");
}

both_backends!(health_and_readiness_answer_json, health);
async fn health(app: TestApp) {
    let response = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok", "{body:#}");

    let response = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "status": "ok", "database": "ok" }));
}
