//! The whole life of a comment through HTTP, as its four kinds of users live it:
//! a citizen submits and rates, a moderator approves, an official answers, a monitor
//! counts. Runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{NOBODY, Submission, TestApp, both_backends};
use serde_json::{Value, json};

fn kinds(comment: &Value) -> Vec<String> {
    comment["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// A comment in Tonle Basak (120101).
fn submission(category: &str, body: &str) -> Submission {
    Submission::new("120101", category, body)
}

async fn a_comment_travels_from_citizen_to_resolution(app: TestApp) {
    let citizen = app.citizen().await;
    let moderator = app.staff("moderator", "mod1", None).await;
    let official = app.staff("official", "commune120101", Some("120101")).await;
    let other_official = app.staff("official", "commune120109", Some("120109")).await;
    let monitor = app.staff("monitor", "cso1", None).await;

    let body = "ផ្លូវទៅសាលារៀនជន់លិចរាល់រដូវវស្សា។ Call 012 345 678";
    let comment = app.submit(&citizen, &submission("LOCAL_ROADS", body)).await;
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
    let early = app.acknowledge(&official, &id).error_code().await;
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

    let approved = &app.approve(&moderator, &id).await;
    assert_eq!(approved["status"], "ROUTED");
    assert_eq!(approved["assignedUnit"]["code"], "120101");
    assert!(
        approved["routedAt"].is_string() && approved["dueAt"].is_string() && approved["acknowledgeDueAt"].is_string()
    );
    assert_eq!(kinds(approved), ["SUBMITTED", "APPROVED", "ROUTED"]);
    let again = app.approve(&moderator, &id).error_code().await;
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
    assert_eq!(app.acknowledge(&other_official, &id).error_code().await, "FORBIDDEN");
    assert_eq!(app.acknowledge(&moderator, &id).error_code().await, "FORBIDDEN");
    assert_eq!(app.acknowledge(&citizen, &id).error_code().await, "FORBIDDEN");
    assert_eq!(app.acknowledge(NOBODY, &id).error_code().await, "UNAUTHENTICATED");
    let resolve_early = app.resolve(&official, &id, "done").error_code().await;
    assert_eq!(resolve_early, "CONFLICT");

    let acked = app.acknowledge(&official, &id).await;
    assert_eq!(acked["status"], "ACKNOWLEDGED");
    assert_eq!(app.acknowledge(&official, &id).error_code().await, "CONFLICT");

    let answer = "យើងនឹងជួសជុលផ្លូវនេះនៅខែធ្នូ។";
    let responded = &app.respond(&official, &id, answer).await;
    assert_eq!(responded["status"], "RESPONDED");
    assert!(responded["firstResponseAt"].is_string());
    assert_eq!(responded["responses"][0]["body"], answer);
    assert_eq!(responded["responses"][0]["unit"]["code"], "120101");

    let resolved = app.resolve(&official, &id, "ផ្លូវត្រូវបានជួសជុល").await;
    assert_eq!(resolved["status"], "RESOLVED");

    // Only the author rates; not satisfied reopens once.
    let stranger = app.citizen().await;
    assert_eq!(app.rate(&stranger, &code, false).error_code().await, "NOT_FOUND");
    let reopened = &app.rate(&citizen, &code, false).await;
    assert_eq!(reopened["status"], "RESPONDED");
    assert_eq!(reopened["reopenCount"], 1);
    app.resolve(&official, &id, "Repaired again").await;
    let rated = app.rate(&citizen, &code, false).await;
    assert_eq!(rated["status"], "RESOLVED", "a second reopening is not allowed");
    assert_eq!(rated["satisfied"], false);
    assert_eq!(
        kinds(&rated),
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
        let body = "Rubbish has not been collected for two weeks.";
        let comment = app.submit(&citizen, &submission(category, body)).await;
        let approved = app.approve(&moderator, &comment["id"]).await;
        assert_eq!(approved["assignedUnit"]["code"], unit, "{category}");
    }

    let body = "The market drain smells and overflows daily.";
    let comment = app.submit(&citizen, &submission("SOLID_WASTE", body)).await;
    let id = comment["id"].clone();
    app.approve(&moderator, &id).await;
    let bad_target = app.refer(&district, &id, "1202", "not ours").response().await;
    assert_eq!(bad_target["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(bad_target["errors"][0]["extensions"]["field"], "toUnitCode");
    let referred = &app.refer(&district, &id, "12", "provincial hospital matter").await;
    assert_eq!(referred["status"], "ROUTED");
    assert_eq!(referred["assignedUnit"]["code"], "12");
    let event = referred["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(event["kind"], "REFERRED");
    assert_eq!(event["fromUnit"]["code"], "1201");
    assert_eq!(event["unit"]["code"], "12");
    assert_eq!(event["note"], "provincial hospital matter");
    // The district lost it; the province has it.
    assert_eq!(app.acknowledge(&district, &id).error_code().await, "FORBIDDEN");
    app.acknowledge(&province, &id).await;
}
both_backends!(
    approval_routes_by_the_categorys_level_and_referral_keeps_the_trail,
    approval_routes_by_the_categorys_level_and_referral_keeps_the_trail
);

async fn a_rejection_needs_a_reason_and_keeps_it(app: TestApp) {
    let citizen = app.citizen().await;
    let moderator = app.staff("moderator", "mod1", None).await;
    let body = "Buy cheap phones at my shop today!!";
    let comment = app.submit(&citizen, &submission("OTHER", body)).await;
    let missing = app
        .moderate(&moderator, json!({ "id": comment["id"], "decision": "REJECT" }))
        .response()
        .await;
    assert_eq!(missing["errors"][0]["extensions"]["field"], "reason");
    let rejected = json!({ "id": comment["id"], "decision": "REJECT", "reason": "SPAM", "note": "advert" });
    let rejected = &app.moderate(&moderator, rejected).await;
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
    let body = "The bridge near the pagoda is cracked.";
    let comment = app.submit(&citizen, &submission("LOCAL_ROADS", body)).await;
    let id = &comment["id"];
    assert_eq!(
        app.support(&citizen, id).error_code().await,
        "NOT_FOUND",
        "not yet public"
    );
    app.approve(&moderator, id).await;
    let neighbour = app.citizen().await;
    for (token, expected) in [(&neighbour, 1), (&neighbour, 1), (&citizen, 2)] {
        let supported = app.support(token, id).await;
        assert_eq!(supported["supportCount"], expected);
    }
    assert_eq!(app.flag(&neighbour, id, "ABUSIVE").await, true);
    assert_eq!(app.flag(&neighbour, id, "ABUSIVE").await, false);
}
both_backends!(support_counts_once_per_citizen, support_counts_once_per_citizen);
