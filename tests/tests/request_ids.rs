//! One request id per request, minted once: the id a client gets (the `x-request-id`
//! header, and `requestId` of an error whose cause is hidden) is the id in the log,
//! whichever door the request came through.
#![allow(clippy::unwrap_used, missing_docs, reason = "tests: a failure is a test failure")]

use mati_tests::{Backend, TestApp, both_backends, first_error};
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

/// The log lines of `request_id`, once they mention an internal error.
async fn logged(app: &TestApp, request_id: &str) -> String {
    let mut lines = String::new();
    // The log is written asynchronously with the response; give it a moment.
    for _ in 0..50 {
        lines = app
            .log()
            .lines()
            .filter(|l| l.contains(request_id))
            .collect::<Vec<_>>()
            .join("\n");
        if lines.contains("internal error") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    lines
}

both_backends!(
    an_export_that_fails_answers_with_the_request_id_the_log_has,
    failing_exports
);
async fn failing_exports(app: TestApp) {
    let db = Database::connect(app.db.url()).await.unwrap();
    db.execute_unprepared("ALTER TABLE comments RENAME TO comments_gone")
        .await
        .unwrap();
    if app.backend() == Backend::Postgres {
        // PostgreSQL's statistics read the narrow copy the triggers keep.
        db.execute_unprepared("ALTER TABLE comment_facts RENAME TO comment_facts_gone")
            .await
            .unwrap();
    }
    let _ = db.close().await;
    for path in ["/exports/comments.csv", "/exports/stats.csv"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 500, "{path}");
        let header = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default();
        let body: Value = response.json().await.unwrap();
        assert_eq!(first_error(&body)["extensions"]["code"], "INTERNAL", "{path}: {body:#}");
        assert_eq!(
            first_error(&body)["extensions"]["requestId"],
            header.as_str(),
            "{path}: {body:#}"
        );
        let lines = logged(&app, &header).await;
        assert!(
            lines.contains("internal error"),
            "{path}: request {header} not logged as an internal error:\n{}",
            app.log()
        );
    }
}

#[tokio::test]
async fn every_answer_carries_a_request_id_refusals_and_health_checks_too() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let refused = app
        .client
        .post(format!("{}/graphql", app.base))
        .header("content-type", "text/plain")
        .body("{ categories { code } }")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 415);
    let mut ids = Vec::new();
    for response in [
        refused,
        app.get("/healthz").await,
        app.get("/exports/stats.csv?status=x").await,
    ] {
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert!(id.as_ref().is_some_and(|id| id.len() == 36), "{:?}", response.headers());
        ids.extend(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each request gets its own id");
}

#[tokio::test]
async fn json_logs_carry_the_request_id_as_a_field_of_every_line_of_the_request() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, &[("MATI_LOG_FORMAT", "json")]).await else {
        return;
    };
    let db = Database::connect(app.db.url()).await.unwrap();
    db.execute_unprepared("ALTER TABLE comments RENAME TO comments_gone")
        .await
        .unwrap();
    let _ = db.close().await;
    let response = app.get("/exports/comments.csv").await;
    assert_eq!(response.status(), 500);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let lines = logged(&app, &id).await;
    let records: Vec<Value> = lines.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert!(
        records.iter().any(|r| r["fields"]["message"] == "internal error"),
        "{lines}"
    );
    for record in &records {
        assert_eq!(record["span"]["request_id"], id.as_str(), "{record}");
    }
}
