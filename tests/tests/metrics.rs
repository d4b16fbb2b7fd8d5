//! `/metrics` after real traffic, on both databases: the series an operator alerts on
//! carry what happened, and `promtool check metrics` accepts the text.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Backend, NOBODY, TestApp, backends_required};
use serde_json::json;

const TRACK: &str = "query($code: String!) { commentByTrackingCode(trackingCode: $code) { status } }";

/// The value of the series written exactly as `series` (name and labels), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// `promtool check metrics` on `text`: `None` when promtool is absent and not required.
fn promtool_check(text: &str) -> Option<String> {
    use std::io::Write;
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".to_owned());
    let child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(err) => {
            assert!(!backends_required(), "promtool ({promtool}) is required: {err}");
            eprintln!("skipped promtool: {err}");
            return None;
        }
    };
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

async fn traffic_shows_in_the_metrics(backend: Backend) {
    let env = [
        ("MATI_RATE_LIMIT_TRACK_PER_ADDRESS", "1/3600s"),
        ("MATI_DATABASE_MAX_CONNECTIONS", "7"),
    ];
    let Some(app) = TestApp::start_with(backend, &env).await else {
        return;
    };
    let citizen = app.citizen().await;
    let comment = app
        .submit(
            &citizen,
            &mati_tests::Submission::new("120101", "LOCAL_ROADS", "Metrics road"),
        )
        .await;
    let code = comment["trackingCode"].as_str().unwrap();
    app.call(NOBODY, TRACK, json!({ "code": code })).await;
    assert_eq!(
        app.call(NOBODY, TRACK, json!({ "code": code })).error_code().await,
        "RATE_LIMITED"
    );
    assert_eq!(
        app.call(NOBODY, "{ nope }", json!({})).error_code().await,
        "BAD_USER_INPUT"
    );

    let text = app.get_text("/metrics").await;
    let expect = |series: &str, expected: f64| {
        assert_eq!(value(&text, series), Some(expected), "{series} in\n{text}");
    };
    expect(
        r#"mati_graphql_operations_total{operation="submitComment",outcome="ok"}"#,
        1.0,
    );
    expect(
        r#"mati_graphql_operations_total{operation="commentByTrackingCode",outcome="ok"}"#,
        1.0,
    );
    expect(
        r#"mati_graphql_operations_total{operation="commentByTrackingCode",outcome="RATE_LIMITED"}"#,
        1.0,
    );
    expect(
        r#"mati_graphql_operations_total{operation="(request)",outcome="BAD_USER_INPUT"}"#,
        1.0,
    );
    expect(r#"mati_rate_limit_refusals_total{action="commentByTrackingCode"}"#, 1.0);
    expect(
        r#"mati_graphql_operation_duration_seconds_count{operation="submitComment"}"#,
        1.0,
    );
    expect(r#"mati_http_requests_total{route="/graphql",status="429"}"#, 1.0);
    assert!(value(&text, r#"mati_http_requests_total{route="/graphql",status="200"}"#) >= Some(4.0));
    // The comment awaits moderation; its outbox row may or may not have been relayed yet.
    expect("mati_moderation_queue_depth", 1.0);
    assert!(value(&text, "mati_moderation_queue_oldest_seconds") >= Some(0.0));
    expect("mati_overdue_comments", 0.0);
    assert!(value(&text, "mati_outbox_pending") <= Some(1.0));
    expect(r#"mati_db_pool_max_connections{pool="primary"}"#, 7.0);
    // The traffic opened connections; the scrape's own queries use a pool of their own.
    let open = ["idle", "in_use"].map(|state| {
        value(
            &text,
            &format!(r#"mati_db_pool_connections{{pool="primary",state="{state}"}}"#),
        )
    });
    assert!(open.iter().flatten().sum::<f64>() >= 1.0, "{open:?}");
    expect("mati_shutting_down", 0.0);
    expect(r#"mati_build_info{version="0.1.0"}"#, 1.0);
    assert!(value(&text, "mati_db_statements_total") > Some(0.0));
    assert!(
        !text.contains("mati_redis_up"),
        "no Redis is configured, so its state is absent"
    );
    // A client's raw path never becomes a label.
    app.get("/exports/../graphql?x=1").await;
    let text = app.get_text("/metrics").await;
    assert!(!text.contains("x=1") && !text.contains(".."), "{text}");
    promtool_check(&text);
}

#[tokio::test]
async fn traffic_shows_in_the_metrics_on_sqlite() {
    traffic_shows_in_the_metrics(Backend::Sqlite).await;
}

#[tokio::test]
async fn traffic_shows_in_the_metrics_on_postgres() {
    traffic_shows_in_the_metrics(Backend::Postgres).await;
}
