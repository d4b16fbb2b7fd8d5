//! A village code filters the comments tagged with that village, in the `comments`
//! listing and in the CSV export, as a commune, district or province code filters the
//! comments whose commune lies inside it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Submission, TestApp, both_backends};
use serde_json::{Value, json};

const LIST: &str = "query($u: ID!) { comments(unitCode: $u) { totalCount edges { node { body } } } }";

async fn publish(app: &TestApp, citizen: &str, moderator: &str, body: &str, village: Option<&str>) {
    let mut comment = Submission::new("120101", "LOCAL_ROADS", body);
    if let Some(village) = village {
        comment = comment.village(village);
    }
    let comment = app.submit(citizen, &comment).await;
    app.approve(moderator, &comment["id"]).await;
}

fn bodies(listing: &Value) -> Vec<String> {
    listing["comments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["body"].as_str().unwrap().to_owned())
        .collect()
}

async fn export(app: &TestApp, unit: &str) -> String {
    let response = app
        .client
        .get(format!("{}/exports/comments.csv", app.base))
        .query(&[("unitCode", unit)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

async fn a_village_code_lists_and_exports_the_comments_tagged_with_it(app: TestApp) {
    let citizen = app.citizen().await;
    let moderator = app.staff("moderator", "mod1", None).await;
    publish(
        &app,
        &citizen,
        &moderator,
        "Village one: the well is dry",
        Some("12010101"),
    )
    .await;
    publish(
        &app,
        &citizen,
        &moderator,
        "Village two: the school roof leaks",
        Some("12010102"),
    )
    .await;
    publish(&app, &citizen, &moderator, "Somewhere in the commune: no lights", None).await;

    let village = app.ok(None, LIST, json!({ "u": "12010101" })).await;
    assert_eq!(village["comments"]["totalCount"], 1, "{village:#}");
    assert_eq!(bodies(&village), ["Village one: the well is dry"]);
    let commune = app.ok(None, LIST, json!({ "u": "120101" })).await;
    assert_eq!(commune["comments"]["totalCount"], 3, "{commune:#}");
    let empty = app.ok(None, LIST, json!({ "u": "12010103" })).await;
    assert_eq!(empty["comments"]["totalCount"], 0, "{empty:#}");

    let file = export(&app, "12010101").await;
    assert!(file.contains("Village one"), "{file}");
    assert!(!file.contains("Village two") && !file.contains("no lights"), "{file}");
    let file = export(&app, "120101").await;
    assert!(file.contains("Village one") && file.contains("Village two") && file.contains("no lights"));
}
both_backends!(
    a_village_code_lists_and_exports_the_comments_tagged_with_it,
    a_village_code_lists_and_exports_the_comments_tagged_with_it
);
