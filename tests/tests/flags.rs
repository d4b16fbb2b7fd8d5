//! Citizens' flags: three different sessions hide a published comment and hand it back
//! to the moderators, who restore or reject it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{TestApp, both_backends};
use serde_json::{Value, json};

const FLAG: &str = "mutation($id: ID!) { flagComment(id: $id, reason: ABUSIVE) }";
const MODERATE: &str = "mutation($id: ID!, $d: ModerationDecision!, $r: RejectReason) {
  moderateComment(id: $id, decision: $d, reason: $r) { status events { kind note } }
}";
const ONE: &str = "query($id: ID!) { comment(id: $id) { id status } }";

async fn published(app: &TestApp, moderator: &str) -> Value {
    let citizen = app.citizen().await;
    let input = json!({ "input": { "body": "The commune chief insulted us at the meeting.", "categoryCode": "OFFICIAL_CONDUCT", "communeCode": "120101" } });
    let data = app
        .ok(
            Some(&citizen),
            "mutation($input: SubmitCommentInput!) { submitComment(input: $input) { comment { id } } }",
            input,
        )
        .await;
    let id = data["submitComment"]["comment"]["id"].clone();
    app.ok(Some(moderator), MODERATE, json!({ "id": id, "d": "APPROVE" }))
        .await;
    id
}

async fn flag_three_times(app: &TestApp, id: &Value) {
    for _ in 0..3 {
        let citizen = app.citizen().await;
        assert_eq!(
            app.ok(Some(&citizen), FLAG, json!({ "id": id })).await["flagComment"],
            true
        );
    }
}

async fn public_count(app: &TestApp) -> i64 {
    app.ok(None, "{ comments { totalCount } }", json!({})).await["comments"]["totalCount"]
        .as_i64()
        .unwrap()
}

async fn three_flags_hide_a_comment_until_a_moderator_restores_it(app: TestApp) {
    let moderator = app.staff("moderator", "mod1", None).await;
    let district = app.staff("official", "khan1201", Some("1201")).await;
    let id = published(&app, &moderator).await;

    // Two flags, or one session flagging twice, change nothing.
    let first = app.citizen().await;
    app.ok(Some(&first), FLAG, json!({ "id": id })).await;
    assert_eq!(
        app.ok(Some(&first), FLAG, json!({ "id": id })).await["flagComment"],
        false
    );
    let second = app.citizen().await;
    app.ok(Some(&second), FLAG, json!({ "id": id })).await;
    assert_eq!(public_count(&app).await, 1);

    let third = app.citizen().await;
    app.ok(Some(&third), FLAG, json!({ "id": id })).await;
    assert_eq!(public_count(&app).await, 0, "hidden from the public");
    assert_eq!(app.ok(None, ONE, json!({ "id": id })).await["comment"], Value::Null);
    assert_eq!(
        app.ok(Some(&district), ONE, json!({ "id": id })).await["comment"]["status"],
        "ROUTED",
        "the responsible office still works on it"
    );
    let queue = app.ok(Some(&moderator), "{ moderationQueue { id } }", json!({})).await;
    assert_eq!(queue["moderationQueue"][0]["id"], id, "back with the moderators");
    let claimed = app
        .ok(
            Some(&moderator),
            "mutation { claimModerationItems(count: 5) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(claimed["claimModerationItems"][0]["id"], id);
    // Flagging a hidden comment is not possible.
    let fourth = app.citizen().await;
    assert_eq!(
        app.error_code(Some(&fourth), FLAG, json!({ "id": id })).await,
        "NOT_FOUND"
    );

    let restored = app
        .ok(Some(&moderator), MODERATE, json!({ "id": id, "d": "APPROVE" }))
        .await;
    let kinds: Vec<&str> = restored["moderateComment"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "FLAGGED").count(), 3);
    assert_eq!(kinds[kinds.len() - 2..], ["HIDDEN", "RESTORED"]);
    assert_eq!(restored["moderateComment"]["status"], "ROUTED");
    assert_eq!(public_count(&app).await, 1);
    assert!(
        app.ok(Some(&moderator), "{ moderationQueue { id } }", json!({})).await["moderationQueue"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The judged flags are forgotten: it takes three new ones to hide it again.
    let again = app.citizen().await;
    app.ok(Some(&again), FLAG, json!({ "id": id })).await;
    assert_eq!(public_count(&app).await, 1);
}
both_backends!(
    three_flags_hide_a_comment_until_a_moderator_restores_it,
    three_flags_hide_a_comment_until_a_moderator_restores_it
);

async fn a_moderator_can_reject_a_hidden_comment_with_a_reason(app: TestApp) {
    let moderator = app.staff("moderator", "mod1", None).await;
    let id = published(&app, &moderator).await;
    flag_three_times(&app, &id).await;
    let rejected = app
        .ok(
            Some(&moderator),
            MODERATE,
            json!({ "id": id, "d": "REJECT", "r": "ABUSIVE" }),
        )
        .await;
    assert_eq!(rejected["moderateComment"]["status"], "REJECTED");
    assert_eq!(
        rejected["moderateComment"]["events"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["note"],
        "ABUSIVE"
    );
    assert_eq!(public_count(&app).await, 0);
    assert!(
        app.ok(Some(&moderator), "{ moderationQueue { id } }", json!({})).await["moderationQueue"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
both_backends!(
    a_moderator_can_reject_a_hidden_comment_with_a_reason,
    a_moderator_can_reject_a_hidden_comment_with_a_reason
);
