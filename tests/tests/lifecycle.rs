//! The whole life of a comment through HTTP, as its four kinds of users live it:
//! a citizen submits and rates, a moderator approves, an official answers, a monitor
//! counts. Runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{TestApp, both_backends};
use serde_json::{Value, json};

const SUBMIT: &str = "mutation($input: SubmitCommentInput!) {
  submitComment(input: $input) { comment { id trackingCode status body assignedUnit { code } events { kind } } }
}";
const MODERATE: &str = "mutation($id: ID!, $d: ModerationDecision!, $r: RejectReason, $n: String) {
  moderateComment(id: $id, decision: $d, reason: $r, note: $n) {
    id status routedAt dueAt acknowledgeDueAt assignedUnit { code } events { kind unit { code } note }
  }
}";
const ACK: &str = "mutation($id: ID!) { acknowledgeComment(id: $id) { status events { kind } } }";
const RESPOND: &str = "mutation($id: ID!, $b: String!) {
  respondToComment(id: $id, body: $b) { status firstResponseAt responses { body unit { code } } }
}";
const REFER: &str = "mutation($id: ID!, $to: ID!, $r: String!) {
  referComment(id: $id, toUnitCode: $to, reason: $r) { status assignedUnit { code } events { kind unit { code } fromUnit { code } note } }
}";
const RESOLVE: &str = "mutation($id: ID!, $n: String!) { resolveComment(id: $id, note: $n) { status resolvedAt } }";
const RATE: &str = "mutation($t: String!, $s: Boolean!) { rateResolution(trackingCode: $t, satisfied: $s) { status satisfied reopenCount events { kind } } }";

fn kinds(comment: &Value) -> Vec<String> {
    comment["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn submit(app: &TestApp, citizen: &str, category: &str, body: &str) -> Value {
    let input = json!({ "body": body, "categoryCode": category, "communeCode": "120101" });
    let data = app.ok(Some(citizen), SUBMIT, json!({ "input": input })).await;
    data["submitComment"]["comment"].clone()
}

async fn a_comment_travels_from_citizen_to_resolution(app: TestApp) {
    let citizen = app.citizen().await;
    let moderator = app.staff("moderator", "mod1", None).await;
    let official = app.staff("official", "commune120101", Some("120101")).await;
    let other_official = app.staff("official", "commune120109", Some("120109")).await;
    let monitor = app.staff("monitor", "cso1", None).await;

    let comment = submit(
        &app,
        &citizen,
        "LOCAL_ROADS",
        "ផ្លូវទៅសាលារៀនជន់លិចរាល់រដូវវស្សា។ Call 012 345 678",
    )
    .await;
    let id = comment["id"].as_str().unwrap().to_owned();
    let code = comment["trackingCode"].as_str().unwrap().to_owned();
    assert_eq!(comment["status"], "PENDING");
    assert_eq!(comment["assignedUnit"], Value::Null);
    assert_eq!(kinds(&comment), ["SUBMITTED"]);
    assert_eq!(code.len(), 8);
    assert!(
        code.chars().all(|c| "23456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c)),
        "{code}"
    );

    // Nothing is public before moderation.
    let public = app.ok(None, "{ comments { totalCount } }", json!({})).await;
    assert_eq!(public["comments"]["totalCount"], 0);
    // The official cannot act on a comment that is not routed to them.
    let early = app.error_code(Some(&official), ACK, json!({ "id": id })).await;
    assert_eq!(early, "FORBIDDEN");

    let queue = app
        .ok(Some(&moderator), "{ moderationQueue { id body } }", json!({}))
        .await;
    assert_eq!(queue["moderationQueue"][0]["id"], id.as_str());
    assert!(
        queue["moderationQueue"][0]["body"]
            .as_str()
            .unwrap()
            .contains("012 345 678"),
        "moderators read the original"
    );

    let approved = app
        .ok(Some(&moderator), MODERATE, json!({ "id": id, "d": "APPROVE" }))
        .await;
    let approved = &approved["moderateComment"];
    assert_eq!(approved["status"], "ROUTED");
    assert_eq!(approved["assignedUnit"]["code"], "120101");
    assert!(
        approved["routedAt"].is_string() && approved["dueAt"].is_string() && approved["acknowledgeDueAt"].is_string()
    );
    assert_eq!(kinds(approved), ["SUBMITTED", "APPROVED", "ROUTED"]);
    let again = app
        .error_code(Some(&moderator), MODERATE, json!({ "id": id, "d": "APPROVE" }))
        .await;
    assert_eq!(again, "CONFLICT");

    // The public sees it now, with the phone number redacted.
    let public = app
        .ok(
            None,
            "{ comments { totalCount edges { node { id body } } } }",
            json!({}),
        )
        .await;
    assert_eq!(public["comments"]["totalCount"], 1);
    let shown = public["comments"]["edges"][0]["node"]["body"].as_str().unwrap();
    assert!(!shown.contains("012 345 678") && shown.contains("[…]"), "{shown}");

    // Only an official of the assigned unit may act; the state machine decides what.
    assert_eq!(
        app.error_code(Some(&other_official), ACK, json!({ "id": id })).await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.error_code(Some(&moderator), ACK, json!({ "id": id })).await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.error_code(Some(&citizen), ACK, json!({ "id": id })).await,
        "FORBIDDEN"
    );
    assert_eq!(app.error_code(None, ACK, json!({ "id": id })).await, "UNAUTHENTICATED");
    let resolve_early = app
        .error_code(Some(&official), RESOLVE, json!({ "id": id, "n": "done" }))
        .await;
    assert_eq!(resolve_early, "CONFLICT");

    let acked = app.ok(Some(&official), ACK, json!({ "id": id })).await;
    assert_eq!(acked["acknowledgeComment"]["status"], "ACKNOWLEDGED");
    assert_eq!(
        app.error_code(Some(&official), ACK, json!({ "id": id })).await,
        "CONFLICT"
    );

    let answer = "យើងនឹងជួសជុលផ្លូវនេះនៅខែធ្នូ។";
    let responded = app.ok(Some(&official), RESPOND, json!({ "id": id, "b": answer })).await;
    let responded = &responded["respondToComment"];
    assert_eq!(responded["status"], "RESPONDED");
    assert!(responded["firstResponseAt"].is_string());
    assert_eq!(responded["responses"][0]["body"], answer);
    assert_eq!(responded["responses"][0]["unit"]["code"], "120101");

    let resolved = app
        .ok(Some(&official), RESOLVE, json!({ "id": id, "n": "ផ្លូវត្រូវបានជួសជុល" }))
        .await;
    assert_eq!(resolved["resolveComment"]["status"], "RESOLVED");

    // Only the author rates; not satisfied reopens once.
    let stranger = app.citizen().await;
    assert_eq!(
        app.error_code(Some(&stranger), RATE, json!({ "t": code, "s": false }))
            .await,
        "NOT_FOUND"
    );
    let reopened = app.ok(Some(&citizen), RATE, json!({ "t": code, "s": false })).await;
    let reopened = &reopened["rateResolution"];
    assert_eq!(reopened["status"], "RESPONDED");
    assert_eq!(reopened["reopenCount"], 1);
    app.ok(Some(&official), RESOLVE, json!({ "id": id, "n": "Repaired again" }))
        .await;
    let rated = app.ok(Some(&citizen), RATE, json!({ "t": code, "s": false })).await;
    assert_eq!(
        rated["rateResolution"]["status"], "RESOLVED",
        "a second reopening is not allowed"
    );
    assert_eq!(rated["rateResolution"]["satisfied"], false);
    assert_eq!(
        kinds(&rated["rateResolution"]),
        [
            "SUBMITTED",
            "APPROVED",
            "ROUTED",
            "ACKNOWLEDGED",
            "RESPONDED",
            "RESOLVED",
            "RATED",
            "REOPENED",
            "RESOLVED",
            "RATED"
        ]
    );

    // Anyone holding the tracking code can follow it.
    let followed = app
        .ok(
            None,
            "query($t: String!) { commentByTrackingCode(trackingCode: $t) { id status responses { body } } }",
            json!({ "t": code.to_lowercase() }),
        )
        .await;
    assert_eq!(followed["commentByTrackingCode"]["id"], id.as_str());

    // The monitor counts it.
    let stats = app
        .ok(Some(&monitor), "{ responseStats(unitCode: \"12\") { received responded resolved responseRate medianHoursToFirstResponse } }", json!({}))
        .await;
    let stats = &stats["responseStats"];
    assert_eq!(
        (
            stats["received"].as_i64(),
            stats["responded"].as_i64(),
            stats["resolved"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(stats["responseRate"], 1.0);
    assert!(stats["medianHoursToFirstResponse"].is_number());
}
both_backends!(
    a_comment_travels_from_citizen_to_resolution,
    a_comment_travels_from_citizen_to_resolution
);

async fn approval_routes_by_the_categorys_level_and_referral_keeps_the_trail(app: TestApp) {
    let citizen = app.citizen().await;
    let moderator = app.staff("moderator", "mod1", None).await;
    let district = app.staff("official", "khan1201", Some("1201")).await;
    let province = app.staff("official", "pp12", Some("12")).await;

    for (category, unit) in [
        ("SOLID_WASTE", "1201"),
        ("HEALTH", "12"),
        ("WATER_SANITATION", "120101"),
    ] {
        let comment = submit(
            &app,
            &citizen,
            category,
            "Rubbish has not been collected for two weeks.",
        )
        .await;
        let approved = app
            .ok(
                Some(&moderator),
                MODERATE,
                json!({ "id": comment["id"], "d": "APPROVE" }),
            )
            .await;
        assert_eq!(approved["moderateComment"]["assignedUnit"]["code"], unit, "{category}");
    }

    let comment = submit(
        &app,
        &citizen,
        "SOLID_WASTE",
        "The market drain smells and overflows daily.",
    )
    .await;
    let id = comment["id"].clone();
    app.ok(Some(&moderator), MODERATE, json!({ "id": id, "d": "APPROVE" }))
        .await;
    let bad_target = app
        .graphql(
            Some(&district),
            REFER,
            json!({ "id": id, "to": "1202", "r": "not ours" }),
        )
        .await;
    assert_eq!(bad_target["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(bad_target["errors"][0]["extensions"]["field"], "toUnitCode");
    let referred = app
        .ok(
            Some(&district),
            REFER,
            json!({ "id": id, "to": "12", "r": "provincial hospital matter" }),
        )
        .await;
    let referred = &referred["referComment"];
    assert_eq!(referred["status"], "ROUTED");
    assert_eq!(referred["assignedUnit"]["code"], "12");
    let event = referred["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(event["kind"], "REFERRED");
    assert_eq!(event["fromUnit"]["code"], "1201");
    assert_eq!(event["unit"]["code"], "12");
    assert_eq!(event["note"], "provincial hospital matter");
    // The district lost it; the province has it.
    assert_eq!(
        app.error_code(Some(&district), ACK, json!({ "id": id })).await,
        "FORBIDDEN"
    );
    app.ok(Some(&province), ACK, json!({ "id": id })).await;
}
both_backends!(
    approval_routes_by_the_categorys_level_and_referral_keeps_the_trail,
    approval_routes_by_the_categorys_level_and_referral_keeps_the_trail
);

async fn a_rejection_needs_a_reason_and_keeps_it(app: TestApp) {
    let citizen = app.citizen().await;
    let moderator = app.staff("moderator", "mod1", None).await;
    let comment = submit(&app, &citizen, "OTHER", "Buy cheap phones at my shop today!!").await;
    let missing = app
        .graphql(
            Some(&moderator),
            MODERATE,
            json!({ "id": comment["id"], "d": "REJECT" }),
        )
        .await;
    assert_eq!(missing["errors"][0]["extensions"]["field"], "reason");
    let rejected = app
        .ok(
            Some(&moderator),
            MODERATE,
            json!({ "id": comment["id"], "d": "REJECT", "r": "SPAM", "n": "advert" }),
        )
        .await;
    let rejected = &rejected["moderateComment"];
    assert_eq!(rejected["status"], "REJECTED");
    assert_eq!(rejected["events"][1]["note"], "SPAM: advert");
    // The author still sees it; the public does not.
    let mine = app
        .ok(
            Some(&citizen),
            "query($id: ID!) { comment(id: $id) { status } }",
            json!({ "id": comment["id"] }),
        )
        .await;
    assert_eq!(mine["comment"]["status"], "REJECTED");
    let public = app
        .ok(
            None,
            "query($id: ID!) { comment(id: $id) { status } }",
            json!({ "id": comment["id"] }),
        )
        .await;
    assert_eq!(public["comment"], Value::Null);
}
both_backends!(
    a_rejection_needs_a_reason_and_keeps_it,
    a_rejection_needs_a_reason_and_keeps_it
);

async fn support_counts_once_per_citizen(app: TestApp) {
    let citizen = app.citizen().await;
    let moderator = app.staff("moderator", "mod1", None).await;
    let comment = submit(&app, &citizen, "LOCAL_ROADS", "The bridge near the pagoda is cracked.").await;
    let support = "mutation($id: ID!) { supportComment(id: $id) { supportCount } }";
    assert_eq!(
        app.error_code(Some(&citizen), support, json!({ "id": comment["id"] }))
            .await,
        "NOT_FOUND",
        "not yet public"
    );
    app.ok(
        Some(&moderator),
        MODERATE,
        json!({ "id": comment["id"], "d": "APPROVE" }),
    )
    .await;
    let neighbour = app.citizen().await;
    for (token, expected) in [(&neighbour, 1), (&neighbour, 1), (&citizen, 2)] {
        let data = app.ok(Some(token), support, json!({ "id": comment["id"] })).await;
        assert_eq!(data["supportComment"]["supportCount"], expected);
    }
    let flag = "mutation($id: ID!) { flagComment(id: $id, reason: ABUSIVE) }";
    assert_eq!(
        app.ok(Some(&neighbour), flag, json!({ "id": comment["id"] })).await["flagComment"],
        true
    );
    assert_eq!(
        app.ok(Some(&neighbour), flag, json!({ "id": comment["id"] })).await["flagComment"],
        false
    );
}
both_backends!(support_counts_once_per_citizen, support_counts_once_per_citizen);
