//! What must never leak: phone and ID numbers in public views, private comments in
//! public lists and exports, anyone's token in someone else's response, and comment
//! text, tokens or passwords in the logs.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{TestApp, both_backends};
use serde_json::json;

const SUBMIT: &str =
    "mutation($input: SubmitCommentInput!) { submitComment(input: $input) { comment { id trackingCode } } }";

async fn nothing_personal_leaks_to_the_public_or_the_logs(app: TestApp) {
    let citizen = app.citizen().await;
    let password = app.add_staff("moderator", "mod1", None).await;
    let moderator = app.login("mod1", &password).await;
    let secret_text = "Private: my neighbour ០១២ ៣៤៥ ៦៧៨ and ID 123456789 took the land";
    let public_text = "The well is dry, call +855 12 345 678 for details";
    let mut ids = Vec::new();
    for (body, public) in [(secret_text, false), (public_text, true)] {
        let input =
            json!({ "input": { "body": body, "categoryCode": "LAND", "communeCode": "120101", "isPublic": public } });
        let data = app.ok(Some(&citizen), SUBMIT, input).await;
        let id = data["submitComment"]["comment"]["id"].clone();
        app.ok(
            Some(&moderator),
            "mutation($id: ID!) { moderateComment(id: $id, decision: APPROVE) { id } }",
            json!({ "id": id }),
        )
        .await;
        ids.push(id);
    }

    let listing = app
        .ok(
            None,
            "{ comments { totalCount edges { node { id body } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listing["comments"]["totalCount"], 1,
        "the private comment is not listed"
    );
    let shown = listing["comments"]["edges"][0]["node"]["body"].as_str().unwrap();
    assert!(!shown.contains("345") && shown.contains("[…]"), "{shown}");
    let private = app
        .ok(
            None,
            "query($id: ID!) { comment(id: $id) { id } }",
            json!({ "id": ids[0] }),
        )
        .await;
    assert!(private["comment"].is_null());
    let export = app
        .client
        .get(format!("{}/exports/comments.csv", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!export.contains("neighbour") && !export.contains("345 678"), "{export}");

    // Someone else's view of the comment never carries the author's token.
    let other = app.citizen().await;
    let seen = app
        .graphql(
            Some(&other),
            "query($id: ID!) { comment(id: $id) { id body trackingCode } }",
            json!({ "id": ids[1] }),
        )
        .await;
    assert!(!seen.to_string().contains(&citizen));

    let log = app.log();
    for secret in [
        secret_text,
        public_text,
        "neighbour",
        "The well is dry",
        citizen.as_str(),
        moderator.as_str(),
        password.as_str(),
    ] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
    assert!(log.contains("listening"), "the log was read");
}
both_backends!(
    nothing_personal_leaks_to_the_public_or_the_logs,
    nothing_personal_leaks_to_the_public_or_the_logs
);
