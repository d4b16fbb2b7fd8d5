//! What must never leak: phone and ID numbers in public views, private comments in
//! public lists and exports, anyone's token in someone else's response, and comment
//! text, tokens or passwords in the logs.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Submission, TestApp, both_backends};
use serde_json::json;

async fn nothing_personal_leaks_to_the_public_or_the_logs(app: TestApp) {
    let citizen = app.citizen().await;
    let password = app.add_staff("moderator", "mod1", None).await;
    let moderator = app.login("mod1", &password).await;
    let secret_text = "Private: my neighbour ០១២ ៣៤៥ ៦៧៨ and ID 123456789 took the land";
    let public_text = "The well is dry, call +855 12 345 678 for details";
    let mut ids = Vec::new();
    for (body, public) in [(secret_text, false), (public_text, true)] {
        let comment = Submission::new("120101", "LAND", body).public(public);
        let id = app.submit(&citizen, &comment).await["id"].clone();
        app.approve(&moderator, &id).await;
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

const FULL: &str = "query($id: ID!) { comment(id: $id) { body responses { body } events { kind note } } }";
const BY_CODE: &str =
    "query($c: String!) { commentByTrackingCode(trackingCode: $c) { body responses { body } events { kind note } } }";

/// Every text of a comment as one response carries it: body, responses and notes.
fn texts(comment: &serde_json::Value) -> Vec<String> {
    let mut texts = vec![comment["body"].as_str().unwrap_or_default().to_owned()];
    for response in comment["responses"].as_array().unwrap() {
        texts.push(response["body"].as_str().unwrap().to_owned());
    }
    for event in comment["events"].as_array().unwrap() {
        if let Some(note) = event["note"].as_str() {
            texts.push(note.to_owned());
        }
    }
    texts
}

async fn answers_and_notes_are_redacted_like_bodies(app: TestApp) {
    let citizen = app.citizen().await;
    let moderator = app.staff("moderator", "mod1", None).await;
    let official = app.staff("official", "commune120101", Some("120101")).await;
    let drain = Submission::new("120101", "LOCAL_ROADS", "The drain on street 5 is blocked again");
    let submitted = app.submit(&citizen, &drain).await;
    let id = submitted["id"].clone();
    let code = submitted["trackingCode"].clone();
    let note = "verified by phone with author 012 345 678";
    let approval = json!({ "id": id, "decision": "APPROVE", "note": note });
    app.moderate(&moderator, approval).await;
    let answer = "We called you back on 012,345,678 and on ０１２３４５６７８";
    app.respond(&official, &id, answer).await;
    let note = "Cleared; the crew chief is on 012_345_678 or 097:123:4567";
    app.resolve(&official, &id, note).await;

    // The handling staff read what they wrote.
    let handled = app.ok(Some(&official), FULL, json!({ "id": id })).await;
    let handled = texts(&handled["comment"]).join(" | ");
    for original in [
        "012 345 678",
        "012,345,678",
        "０１２３４５６７８",
        "012_345_678",
        "097:123:4567",
    ] {
        assert!(handled.contains(original), "the official reads {original:?}: {handled}");
    }

    // The public, another citizen and a tracking-code holder read none of the numbers.
    let other = app.citizen().await;
    let anonymous = app.ok(None, FULL, json!({ "id": id })).await;
    let citizen_view = app.ok(Some(&other), FULL, json!({ "id": id })).await;
    let by_code = app.ok(None, BY_CODE, json!({ "c": code })).await;
    for (who, comment) in [
        ("anonymous", &anonymous["comment"]),
        ("another citizen", &citizen_view["comment"]),
        ("a tracking-code holder", &by_code["commentByTrackingCode"]),
    ] {
        let shown = texts(comment);
        assert_eq!(shown.len(), 4, "{who}: body, one response, two notes: {shown:?}");
        for text in &shown[1..] {
            assert!(text.contains("[…]"), "{who} reads {text:?}");
            assert!(
                !text.contains("345") && !text.contains("３４５") && !text.contains("4567"),
                "{who} reads {text:?}"
            );
        }
    }

    let export = app
        .client
        .get(format!("{}/exports/comments.csv", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(export.contains("drain"), "the comment is exported: {export}");
    assert!(!export.contains("345"), "{export}");
}
both_backends!(
    answers_and_notes_are_redacted_like_bodies,
    answers_and_notes_are_redacted_like_bodies
);
