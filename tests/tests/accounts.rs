//! Sessions, staff accounts and idempotent submission.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Backend, TestApp, both_backends, run_with_stdin};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::json;

const SUBMIT: &str =
    "mutation($input: SubmitCommentInput!) { submitComment(input: $input) { comment { id trackingCode } } }";

async fn column(app: &TestApp, sql: &str) -> Vec<String> {
    let db = Database::connect(app.db.url()).await.unwrap();
    let backend = db.get_database_backend();
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await.unwrap();
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect()
}

async fn passwords_and_tokens_are_stored_only_as_hashes(app: TestApp) {
    let password = app.add_staff("admin", "admin1", None).await;
    let token = app.login("admin1", &password).await;
    let citizen = app.citizen().await;
    assert!(token.starts_with("mati_s_") && citizen.starts_with("mati_c_"));

    let hashes = column(&app, "SELECT password_hash FROM staff").await;
    assert!(hashes[0].starts_with("$argon2id$"), "{}", hashes[0]);
    assert!(!hashes[0].contains(&password));
    let digests = column(&app, "SELECT token_digest FROM staff_sessions").await;
    let citizens = column(&app, "SELECT token_digest FROM citizens").await;
    for digest in digests.iter().chain(&citizens) {
        assert_eq!(digest.len(), 64);
        assert!(!digest.contains(&token) && !digest.contains(&citizen));
    }
}
both_backends!(
    passwords_and_tokens_are_stored_only_as_hashes,
    passwords_and_tokens_are_stored_only_as_hashes
);

const CREATE: &str = "mutation($i: CreateStaffAccountInput!) { createStaffAccount(input: $i) { id username role unit { code nameEn } } }";

async fn only_an_admin_creates_staff_and_officials_need_a_unit(app: TestApp) {
    let admin = app.staff("admin", "admin1", None).await;
    let moderator = app.staff("moderator", "mod1", None).await;
    let input = json!({ "i": { "username": "Sokha.Chan", "password": "a long enough secret", "role": "OFFICIAL", "unitCode": "1201" } });
    assert_eq!(
        app.error_code(Some(&moderator), CREATE, input.clone()).await,
        "FORBIDDEN"
    );
    assert_eq!(app.error_code(None, CREATE, input.clone()).await, "UNAUTHENTICATED");
    let created = app.ok(Some(&admin), CREATE, input.clone()).await;
    assert_eq!(created["createStaffAccount"]["username"], "sokha.chan");
    assert_eq!(created["createStaffAccount"]["unit"]["code"], "1201");
    let taken = app.graphql(Some(&admin), CREATE, input).await;
    assert_eq!(taken["errors"][0]["extensions"]["field"], "username");

    let no_unit = json!({ "i": { "username": "kone", "password": "a long enough secret", "role": "OFFICIAL" } });
    let no_unit = app.graphql(Some(&admin), CREATE, no_unit).await;
    assert_eq!(no_unit["errors"][0]["extensions"]["field"], "unitCode");
    let short = json!({ "i": { "username": "ktwo", "password": "short", "role": "MONITOR" } });
    let short = app.graphql(Some(&admin), CREATE, short).await;
    assert_eq!(short["errors"][0]["extensions"]["field"], "password");

    // The new official logs in and sees their unit.
    let login = app
        .ok(None, "mutation { login(username: \"SOKHA.CHAN\", password: \"a long enough secret\") { token role unit { code } } }", json!({}))
        .await;
    assert_eq!(login["login"]["role"], "OFFICIAL");
    assert_eq!(login["login"]["unit"]["code"], "1201");
}
both_backends!(
    only_an_admin_creates_staff_and_officials_need_a_unit,
    only_an_admin_creates_staff_and_officials_need_a_unit
);

async fn the_staff_command_reads_the_password_from_stdin_and_checks_its_input(app: TestApp) {
    let mut command = app.command();
    command.args(["staff", "add", "--role", "official", "--username", "nounit"]);
    let output = run_with_stdin(command, "a long enough secret\n").await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unitCode"));

    let mut command = app.command();
    command.args(["staff", "add", "--role", "boss", "--username", "xone"]);
    let output = run_with_stdin(command, "a long enough secret\n").await;
    assert!(!output.status.success());

    let mut command = app.command();
    command.args(["staff", "add", "--role", "moderator", "--username", "mod.one"]);
    let output = run_with_stdin(command, "a long enough secret\n").await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("created MODERATOR mod.one"));
    app.login("mod.one", "a long enough secret").await;
}
both_backends!(
    the_staff_command_reads_the_password_from_stdin_and_checks_its_input,
    the_staff_command_reads_the_password_from_stdin_and_checks_its_input
);

async fn a_retried_submission_returns_the_first_comment(app: TestApp) {
    let citizen = app.citizen().await;
    let input = json!({ "input": { "body": "Streetlight on road 2004 is out.", "categoryCode": "PUBLIC_ORDER", "communeCode": "120101", "clientId": "phone-42-comment-1" } });
    let first = app.ok(Some(&citizen), SUBMIT, input.clone()).await;
    let again = app.ok(Some(&citizen), SUBMIT, input.clone()).await;
    assert_eq!(first, again);
    // Another phone may use the same clientId for its own comment.
    let other = app.citizen().await;
    let theirs = app.ok(Some(&other), SUBMIT, input).await;
    assert_ne!(
        first["submitComment"]["comment"]["id"],
        theirs["submitComment"]["comment"]["id"]
    );
}
both_backends!(
    a_retried_submission_returns_the_first_comment,
    a_retried_submission_returns_the_first_comment
);

async fn twenty_concurrent_retries_make_exactly_one_comment(app: TestApp) {
    let citizen = app.citizen().await;
    let input = json!({ "input": { "body": "Water pump broken since Monday.", "categoryCode": "WATER_SANITATION", "communeCode": "120101", "clientId": "retry-storm" } });
    let requests = (0..20).map(|_| app.ok(Some(&citizen), SUBMIT, input.clone()));
    let answers = futures::future::join_all(requests).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| a["submitComment"]["comment"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "every retry gets the first comment");
    let rows = column(
        &app,
        "SELECT CAST(COUNT(*) AS TEXT) FROM comments WHERE client_id = 'retry-storm'",
    )
    .await;
    assert_eq!(rows, ["1"]);
    let events = column(
        &app,
        "SELECT CAST(COUNT(*) AS TEXT) FROM comment_events WHERE kind = 'SUBMITTED'",
    )
    .await;
    assert_eq!(events, ["1"]);
}
both_backends!(
    twenty_concurrent_retries_make_exactly_one_comment,
    twenty_concurrent_retries_make_exactly_one_comment
);

#[tokio::test]
async fn the_concurrency_test_really_runs_on_postgres() {
    // Guard: the idempotency requirement is about PostgreSQL; make sure CI has it.
    if mati_tests::backends_required() {
        assert!(TestApp::start(Backend::Postgres).await.is_some());
    }
}
