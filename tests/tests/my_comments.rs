//! `myComments` through HTTP: a citizen's own comments in every status, as written,
//! newest first, and nobody else's. Runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Submission, TestApp, both_backends};
use serde_json::{Value, json};

const MINE: &str = "query($first: Int, $after: String) {
  myComments(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id status isPublic body } }
  }
}";

/// A comment about LOCAL_ROADS in Tonle Basak (120101).
fn road(body: &str, public: bool) -> Submission {
    Submission::new("120101", "LOCAL_ROADS", body).public(public)
}

async fn decide(app: &TestApp, moderator: &str, id: &Value, decision: &str) {
    let vars = json!({ "id": id, "decision": decision, "reason": "SPAM" });
    app.moderate(moderator, vars).await;
}

async fn mine(app: &TestApp, citizen: &str, first: i32, after: Option<&str>) -> Value {
    let vars = json!({ "first": first, "after": after });
    app.ok(Some(citizen), MINE, vars).await["myComments"].clone()
}

fn nodes(connection: &Value) -> Vec<Value> {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn field(nodes: &[Value], name: &str) -> Vec<Value> {
    nodes.iter().map(|n| n[name].clone()).collect()
}

async fn a_citizen_lists_their_own_comments_in_every_status(app: TestApp) {
    let citizen = app.citizen().await;
    let other = app.citizen().await;
    let moderator = app.staff("moderator", "moderator1", None).await;
    let pending = app
        .submit(&citizen, &road("The well in the village is dry", true))
        .await["id"]
        .clone();
    let rejected = app
        .submit(&citizen, &road("Buy cheap phones at my shop now", true))
        .await["id"]
        .clone();
    decide(&app, &moderator, &rejected, "REJECT").await;
    let private = road("The chief asked me for money, call 012 345 678", false);
    let private = app.submit(&citizen, &private).await["id"].clone();
    decide(&app, &moderator, &private, "APPROVE").await;
    let public = app.submit(&citizen, &road("ផ្លូវទៅសាលារៀនខូច សូមជួសជុល", true)).await["id"].clone();
    decide(&app, &moderator, &public, "APPROVE").await;
    let others = app
        .submit(&other, &road("The market drain is blocked again", true))
        .await["id"]
        .clone();

    let all = mine(&app, &citizen, 20, None).await;
    assert_eq!(all["totalCount"], 4, "{all:#}");
    assert_eq!(all["pageInfo"]["hasNextPage"], false);
    let listed = nodes(&all);
    assert_eq!(
        field(&listed, "id"),
        [&public, &private, &rejected, &pending].map(Value::clone)
    );
    assert_eq!(
        field(&listed, "status"),
        ["ROUTED", "ROUTED", "REJECTED", "PENDING"].map(|s| json!(s))
    );
    assert_eq!(field(&listed, "isPublic"), [true, false, true, true].map(|p| json!(p)));
    // The author reads the text as written, phone number and all.
    assert_eq!(listed[1]["body"], "The chief asked me for money, call 012 345 678");

    let first = mine(&app, &citizen, 3, None).await;
    assert_eq!(nodes(&first).len(), 3);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let cursor = first["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let rest = mine(&app, &citizen, 3, Some(&cursor)).await;
    assert_eq!(field(&nodes(&rest), "id"), [pending]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    let theirs = mine(&app, &other, 20, None).await;
    assert_eq!(theirs["totalCount"], 1);
    assert_eq!(field(&nodes(&theirs), "id"), [others]);
}

both_backends!(
    a_citizen_lists_their_own_comments_in_every_status,
    a_citizen_lists_their_own_comments_in_every_status
);

async fn my_comments_needs_a_citizen_session(app: TestApp) {
    let vars = json!({ "first": 5 });
    assert_eq!(app.error_code(None, MINE, vars.clone()).await, "UNAUTHENTICATED");
    let moderator = app.staff("moderator", "moderator1", None).await;
    assert_eq!(app.error_code(Some(&moderator), MINE, vars.clone()).await, "FORBIDDEN");
    let official = app.staff("official", "commune120101", Some("120101")).await;
    assert_eq!(app.error_code(Some(&official), MINE, vars).await, "FORBIDDEN");
}

both_backends!(my_comments_needs_a_citizen_session, my_comments_needs_a_citizen_session);
