//! Deadlines set by admins, and escalation of unanswered comments by a background
//! worker on every replica, with a fast clock (one real second is one hour).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::time::Duration;

use chrono::DateTime;
use mati_tests::{Backend, Submission, TestApp, both_backends};
use serde_json::{Value, json};

const SET: &str = "mutation($l: AdminLevel!, $c: ID, $a: Int!, $r: Int!) {
  setDeadlineRule(level: $l, categoryCode: $c, acknowledgeWithinHours: $a, respondWithinHours: $r) {
    level categoryCode acknowledgeWithinHours respondWithinHours
  }
}";

fn hours_between(from: &Value, to: &Value) -> i64 {
    let from = DateTime::parse_from_rfc3339(from.as_str().unwrap()).unwrap();
    let to = DateTime::parse_from_rfc3339(to.as_str().unwrap()).unwrap();
    (to - from).num_hours()
}

/// A request to repair a culvert in Tonle Basak (120101).
fn culvert(category: &str) -> Submission {
    Submission::new("120101", category, "Please repair the culvert near the market.")
}

async fn admins_set_deadlines_and_new_routings_follow_them(app: TestApp) {
    let admin = app.staff("admin", "admin1", None).await;
    let moderator = app.staff("moderator", "mod1", None).await;
    let set = |l: &str, c: Value, a: i64, r: i64| json!({ "l": l, "c": c, "a": a, "r": r });

    assert_eq!(
        app.error_code(Some(&moderator), SET, set("COMMUNE", Value::Null, 24, 48))
            .await,
        "FORBIDDEN"
    );
    let bad = app
        .graphql(Some(&admin), SET, set("COMMUNE", Value::Null, 48, 24))
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "respondWithinHours");
    let unknown = app
        .graphql(Some(&admin), SET, set("COMMUNE", json!("NOPE"), 1, 2))
        .await;
    assert_eq!(unknown["errors"][0]["extensions"]["field"], "categoryCode");

    app.ok(Some(&admin), SET, set("COMMUNE", Value::Null, 24, 120)).await;
    let rule = app
        .ok(Some(&admin), SET, set("COMMUNE", json!("LOCAL_ROADS"), 12, 48))
        .await;
    assert_eq!(rule["setDeadlineRule"]["respondWithinHours"], 48);

    // The most specific rule applies; other categories take the level's rule.
    let roads = app.ready(&moderator, &culvert("LOCAL_ROADS")).await;
    assert_eq!(hours_between(&roads["routedAt"], &roads["acknowledgeDueAt"]), 12);
    assert_eq!(hours_between(&roads["routedAt"], &roads["dueAt"]), 48);
    let water = app.ready(&moderator, &culvert("WATER_SANITATION")).await;
    assert_eq!(hours_between(&water["routedAt"], &water["dueAt"]), 120);
    // Levels without a rule keep the defaults of 3 and 15 days.
    let waste = app.ready(&moderator, &culvert("SOLID_WASTE")).await;
    assert_eq!(hours_between(&waste["routedAt"], &waste["acknowledgeDueAt"]), 72);
    assert_eq!(hours_between(&waste["routedAt"], &waste["dueAt"]), 360);

    // Setting a rule again replaces it.
    app.ok(Some(&admin), SET, set("COMMUNE", json!("LOCAL_ROADS"), 6, 24))
        .await;
    let rules = app
        .ok(
            Some(&moderator),
            "{ deadlineRules { level categoryCode respondWithinHours } }",
            json!({}),
        )
        .await;
    assert_eq!(rules["deadlineRules"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.error_code(None, "{ deadlineRules { level } }", json!({})).await,
        "UNAUTHENTICATED"
    );
}
both_backends!(
    admins_set_deadlines_and_new_routings_follow_them,
    admins_set_deadlines_and_new_routings_follow_them
);

const EVENTS: &str = "query($id: ID!) { comment(id: $id) { assignedUnit { code } isOverdue dueAt status firstResponseAt events { kind unit { code } fromUnit { code } } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_comments_escalate_once_per_level_across_three_replicas() {
    let fast = [("MATI_CLOCK_SPEED", "3600"), ("MATI_ESCALATION_INTERVAL_MS", "50")];
    let Some(first) = TestApp::start_with(Backend::Postgres, &fast).await else {
        return;
    };
    let second = first.replica(&fast).await;
    let third = first.replica(&fast).await;
    let admin = first.staff("admin", "admin1", None).await;
    let moderator = first.staff("moderator", "mod1", None).await;
    let official = first.staff("official", "commune120101", Some("120101")).await;
    for level in ["COMMUNE", "DISTRICT", "PROVINCE"] {
        let rule = json!({ "l": level, "c": null, "a": 1, "r": 2 });
        first.ok(Some(&admin), SET, rule).await;
    }

    let mut ids = Vec::new();
    for _ in 0..6 {
        let routed = second.ready(&moderator, &culvert("LOCAL_ROADS")).await;
        ids.push(routed["id"].as_str().unwrap().to_owned());
    }
    // One comment is answered in time and must never move.
    let answered = ids.pop().unwrap();
    first.respond(&official, &answered, "Crew sent today.").await;

    // Two hours to answer at each level: about four real seconds to reach the province.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut at_province = 0;
        for id in &ids {
            let data = third.ok(Some(&moderator), EVENTS, json!({ "id": id })).await;
            if data["comment"]["assignedUnit"]["code"] == "12" {
                at_province += 1;
            }
        }
        if at_province == ids.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {at_province} of {} reached the province",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give the workers several more "hours": a province has nowhere to escalate to.
    tokio::time::sleep(Duration::from_secs(3)).await;

    for id in &ids {
        let data = first.ok(Some(&moderator), EVENTS, json!({ "id": id })).await;
        let comment = &data["comment"];
        let escalations: Vec<(Value, Value)> = comment["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "ESCALATED")
            .map(|e| (e["fromUnit"]["code"].clone(), e["unit"]["code"].clone()))
            .collect();
        assert_eq!(
            escalations,
            [(json!("120101"), json!("1201")), (json!("1201"), json!("12"))],
            "comment {id} was escalated exactly once per level"
        );
        assert_eq!(
            comment["isOverdue"], true,
            "at province level it stays overdue: {comment:#}"
        );
    }
    let data = first.ok(Some(&moderator), EVENTS, json!({ "id": answered })).await;
    assert_eq!(data["comment"]["assignedUnit"]["code"], "120101");
    assert!(
        data["comment"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["kind"] != "ESCALATED")
    );

    let province = first.staff("official", "province12", Some("12")).await;
    let inbox = first
        .ok(
            Some(&province),
            "{ inbox(overdueOnly: true, first: 50) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(inbox["inbox"]["totalCount"], ids.len());
}
