//! Sessions, staff accounts (created, disabled, changed, their sessions revoked) and
//! idempotent submission.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Backend, Submission, TestApp, both_backends, run_with_stdin};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::json;

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

const UPDATE: &str = "mutation($i: UpdateStaffAccountInput!) {
    updateStaffAccount(input: $i) { username role disabled unit { code } }
}";
const REVOKE: &str = "mutation($u: String!) { revokeStaffSessions(username: $u) }";
const LOGIN: &str =
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token role unit { code } } }";
/// Any staff member may read the deadline rules: a probe of whether a token still works.
const PROBE: &str = "{ deadlineRules { level } }";

async fn works(app: &TestApp, token: &str) -> bool {
    let response = app.graphql(Some(token), PROBE, json!({})).await;
    match response["errors"][0]["extensions"]["code"].as_str() {
        None => true,
        Some("UNAUTHENTICATED") => false,
        Some(other) => panic!("the probe answered {other}: {response:#}"),
    }
}

async fn an_admin_revokes_and_disables_an_account_and_its_sessions_end_at_once(app: TestApp) {
    let admin = app.staff("admin", "admin1", None).await;
    let password = app.add_staff("official", "clerk", Some("120101")).await;
    let laptop = app.login("clerk", &password).await;
    let phone = app.login("clerk", &password).await;
    let revoked = app.ok(Some(&admin), REVOKE, json!({ "u": "clerk" })).await;
    assert_eq!(revoked["revokeStaffSessions"], 2);
    assert!(!works(&app, &laptop).await && !works(&app, &phone).await);
    assert!(works(&app, &admin).await, "only that account's sessions end");

    let session = app.login("clerk", &password).await;
    let disabled = app
        .ok(
            Some(&admin),
            UPDATE,
            json!({ "i": { "username": "Clerk", "disabled": true } }),
        )
        .await;
    assert_eq!(disabled["updateStaffAccount"]["disabled"], true);
    assert!(!works(&app, &session).await, "a disabled account keeps no session");
    // The right password gets the answer of a wrong one.
    let right = app.graphql(None, LOGIN, json!({ "u": "clerk", "p": password })).await;
    let wrong = app
        .graphql(None, LOGIN, json!({ "u": "clerk", "p": "not the password at all" }))
        .await;
    assert_eq!(right["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{right:#}");
    assert_eq!(right, wrong);

    let enabled = app
        .ok(
            Some(&admin),
            UPDATE,
            json!({ "i": { "username": "clerk", "disabled": false } }),
        )
        .await;
    assert_eq!(enabled["updateStaffAccount"]["disabled"], false);
    assert!(works(&app, &app.login("clerk", &password).await).await);

    // Unknown accounts, and an admin locking themselves out by mistake.
    let nobody = json!({ "i": { "username": "nobody.here", "disabled": true } });
    assert_eq!(app.error_code(Some(&admin), UPDATE, nobody).await, "NOT_FOUND");
    assert_eq!(
        app.error_code(Some(&admin), REVOKE, json!({ "u": "nobody.here" }))
            .await,
        "NOT_FOUND"
    );
    let myself = json!({ "i": { "username": "admin1", "disabled": true } });
    let myself = app.graphql(Some(&admin), UPDATE, myself).await;
    assert_eq!(myself["errors"][0]["extensions"]["field"], "disabled", "{myself:#}");
    let demoted = json!({ "i": { "username": "admin1", "role": "MONITOR" } });
    let demoted = app.graphql(Some(&admin), UPDATE, demoted).await;
    assert_eq!(demoted["errors"][0]["extensions"]["field"], "role", "{demoted:#}");
    assert!(works(&app, &admin).await);
}
both_backends!(
    an_admin_revokes_and_disables_an_account_and_its_sessions_end_at_once,
    an_admin_revokes_and_disables_an_account_and_its_sessions_end_at_once
);

async fn a_changed_password_role_or_unit_ends_the_old_sessions(app: TestApp) {
    let admin = app.staff("admin", "admin1", None).await;
    let password = app.add_staff("official", "clerk", Some("120101")).await;

    let session = app.login("clerk", &password).await;
    let new_password = "a brand new secret phrase";
    let changed = json!({ "i": { "username": "clerk", "password": new_password } });
    app.ok(Some(&admin), UPDATE, changed).await;
    assert!(!works(&app, &session).await);
    let old = app.graphql(None, LOGIN, json!({ "u": "clerk", "p": password })).await;
    assert_eq!(old["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{old:#}");
    let short = json!({ "i": { "username": "clerk", "password": "short" } });
    let short = app.graphql(Some(&admin), UPDATE, short).await;
    assert_eq!(short["errors"][0]["extensions"]["field"], "password", "{short:#}");

    // An open session must not keep the powers of the old role.
    let official = app.login("clerk", new_password).await;
    app.ok(Some(&official), "{ inbox { totalCount } }", json!({})).await;
    let monitor = json!({ "i": { "username": "clerk", "role": "MONITOR" } });
    let monitor = app.ok(Some(&admin), UPDATE, monitor).await;
    assert_eq!(monitor["updateStaffAccount"]["role"], "MONITOR");
    assert!(monitor["updateStaffAccount"]["unit"].is_null(), "a monitor has no unit");
    assert!(!works(&app, &official).await);
    let session = app.ok(None, LOGIN, json!({ "u": "clerk", "p": new_password })).await;
    let session = session["login"]["token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.error_code(Some(&session), "{ inbox { totalCount } }", json!({}))
            .await,
        "FORBIDDEN"
    );

    // An official needs a unit; a move to another unit ends the sessions too.
    let no_unit = json!({ "i": { "username": "clerk", "role": "OFFICIAL" } });
    let no_unit = app.graphql(Some(&admin), UPDATE, no_unit).await;
    assert_eq!(no_unit["errors"][0]["extensions"]["field"], "unitCode", "{no_unit:#}");
    assert!(works(&app, &session).await, "a refused change changes nothing");
    let moved = json!({ "i": { "username": "clerk", "role": "OFFICIAL", "unitCode": "120109" } });
    let moved = app.ok(Some(&admin), UPDATE, moved).await;
    assert_eq!(moved["updateStaffAccount"]["unit"]["code"], "120109");
    assert!(!works(&app, &session).await);
    let login = app.ok(None, LOGIN, json!({ "u": "clerk", "p": new_password })).await;
    assert_eq!(login["login"]["role"], "OFFICIAL");
    assert_eq!(login["login"]["unit"]["code"], "120109");
}
both_backends!(
    a_changed_password_role_or_unit_ends_the_old_sessions,
    a_changed_password_role_or_unit_ends_the_old_sessions
);

async fn staff(app: &TestApp, args: &[&str], stdin: &str) -> std::process::Output {
    let mut command = app.command();
    command.arg("staff").args(args);
    run_with_stdin(command, stdin).await
}

fn stdout(output: &std::process::Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn the_staff_commands_disable_change_and_revoke_accounts(app: TestApp) {
    let password = app.add_staff("official", "clerk", Some("120101")).await;
    let session = app.login("clerk", &password).await;

    let out = stdout(&staff(&app, &["update", "--username", "clerk", "--disable"], "").await);
    assert!(out.contains("clerk") && out.contains("disabled"), "{out}");
    assert!(!works(&app, &session).await);
    let refused = app.graphql(None, LOGIN, json!({ "u": "clerk", "p": password })).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    stdout(&staff(&app, &["update", "--username", "clerk", "--enable"], "").await);
    let session = app.login("clerk", &password).await;

    let args = ["update", "--username", "clerk", "--password"];
    stdout(&staff(&app, &args, "another long secret\n").await);
    assert!(!works(&app, &session).await);
    let session = app.login("clerk", "another long secret").await;

    let args = [
        "update",
        "--username",
        "clerk",
        "--role",
        "official",
        "--unit",
        "120109",
    ];
    stdout(&staff(&app, &args, "").await);
    assert!(!works(&app, &session).await);
    let login = app
        .ok(None, LOGIN, json!({ "u": "clerk", "p": "another long secret" }))
        .await;
    assert_eq!(login["login"]["unit"]["code"], "120109");
    let session = login["login"]["token"].as_str().unwrap().to_owned();

    let out = stdout(&staff(&app, &["revoke-sessions", "--username", "clerk"], "").await);
    assert!(out.contains("1 session"), "{out}");
    assert!(!works(&app, &session).await);

    // Mistakes are named and change nothing.
    let unknown = staff(&app, &["update", "--username", "nobody.here", "--disable"], "").await;
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody.here"));
    let both = staff(&app, &["update", "--username", "clerk", "--disable", "--enable"], "").await;
    assert!(!both.status.success());
    let monitor_unit = ["update", "--username", "clerk", "--role", "monitor", "--unit", "120101"];
    let monitor_unit = staff(&app, &monitor_unit, "").await;
    assert_eq!(monitor_unit.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&monitor_unit.stderr).contains("unitCode"));
    app.login("clerk", "another long secret").await;
}
both_backends!(
    the_staff_commands_disable_change_and_revoke_accounts,
    the_staff_commands_disable_change_and_revoke_accounts
);

async fn a_retried_submission_returns_the_first_comment(app: TestApp) {
    let citizen = app.citizen().await;
    let comment =
        Submission::new("120101", "PUBLIC_ORDER", "Streetlight on road 2004 is out.").client_id("phone-42-comment-1");
    let first = app.submit(&citizen, &comment).await;
    let again = app.submit(&citizen, &comment).await;
    assert_eq!(first, again);
    // Another phone may use the same clientId for its own comment.
    let other = app.citizen().await;
    let theirs = app.submit(&other, &comment).await;
    assert_ne!(first["id"], theirs["id"]);
}
both_backends!(
    a_retried_submission_returns_the_first_comment,
    a_retried_submission_returns_the_first_comment
);

async fn twenty_concurrent_retries_make_exactly_one_comment(app: TestApp) {
    let citizen = app.citizen().await;
    let comment =
        Submission::new("120101", "WATER_SANITATION", "Water pump broken since Monday.").client_id("retry-storm");
    let requests = (0..20).map(|_| app.submit(&citizen, &comment).into_future());
    let answers = futures::future::join_all(requests).await;
    let ids: std::collections::BTreeSet<String> =
        answers.iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
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
