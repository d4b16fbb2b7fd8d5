//! A phone's `clientId` cannot surprise: a retry of the same comment returns the first
//! one, and the same key with anything different is CONFLICT on `clientId`, never a
//! silent return of a comment the citizen did not send (a switch to private is not
//! lost). Also under concurrent retries.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Submission, TestApp, both_backends, first_error};
use serde_json::{Value, json};

fn input() -> Submission {
    Submission::new("120101", "LOCAL_ROADS", "The bridge in Phum Thmei has a broken rail.")
        .village("12010101")
        .public(true)
        .gender("FEMALE")
        .age_group("FROM_25_TO_34")
        .client_id("phone-7-comment-1")
}

fn with(field: &str, value: Value) -> Submission {
    input().with(field, value)
}

fn assert_client_id_conflict(response: &Value, what: &str) {
    let error = first_error(response);
    assert_eq!(error["extensions"]["code"], "CONFLICT", "{what}: {response:#}");
    assert_eq!(error["extensions"]["field"], "clientId", "{what}: {response:#}");
    assert!(
        error["extensions"]["messageKm"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {response:#}"
    );
}

async fn a_client_id_reused_for_different_content_is_a_conflict(app: TestApp) {
    let citizen = app.citizen().await;
    let first = app.submit(&citizen, &input()).response().await;
    let id = first["data"]["submitComment"]["comment"]["id"].clone();
    assert!(id.is_string(), "{first:#}");

    // The same comment again, even written with other spaces or another Unicode form,
    // is the first one.
    let again = app.submit(&citizen, &input()).response().await;
    assert_eq!(again, first);
    let respaced = with("body", json!("  The bridge in Phum Thmei has a broken rail.\r\n"));
    assert_eq!(app.submit(&citizen, &respaced).response().await, first);

    for (what, changed) in [
        ("a switch to private", with("isPublic", json!(false))),
        (
            "another body",
            with("body", json!("The bridge in Phum Thmei has two broken rails.")),
        ),
        ("another category", with("categoryCode", json!("WATER_SANITATION"))),
        (
            "another commune",
            with("communeCode", json!("120102")).without("villageCode"),
        ),
        ("no village", input().without("villageCode")),
        ("another gender", with("gender", json!("MALE"))),
        ("no age group", with("ageGroup", Value::Null)),
    ] {
        assert_client_id_conflict(&app.submit(&citizen, &changed).response().await, what);
    }

    // Nothing was stored for the refused retries.
    let mine = app
        .ok(
            Some(&citizen),
            "{ myComments { totalCount edges { node { id isPublic } } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["myComments"]["totalCount"], 1, "{mine:#}");
    assert_eq!(mine["myComments"]["edges"][0]["node"]["isPublic"], true);

    // A moderator's correction of the category is no reason to refuse the phone's retry
    // of what it sent.
    let moderator = app.staff("moderator", "mod1", None).await;
    let approval = json!({ "id": id, "decision": "APPROVE", "category": "PUBLIC_ORDER" });
    app.moderate(&moderator, approval).await;
    let late = app.submit(&citizen, &input()).response().await;
    assert_eq!(late["data"]["submitComment"]["comment"]["id"], id, "{late:#}");
    assert_eq!(
        late["data"]["submitComment"]["comment"]["category"]["code"],
        "PUBLIC_ORDER"
    );
    assert_client_id_conflict(
        &app.submit(&citizen, &with("isPublic", json!(false))).response().await,
        "a switch to private after approval",
    );
}
both_backends!(
    a_client_id_reused_for_different_content_is_a_conflict,
    a_client_id_reused_for_different_content_is_a_conflict
);

async fn concurrent_retries_with_different_content_never_return_a_comment_not_sent(app: TestApp) {
    let citizen = app.citizen().await;
    let public = with("clientId", json!("storm"));
    let private = public.clone().public(false);
    let inputs: Vec<Submission> = (0..20)
        .map(|i| if i % 2 == 0 { public.clone() } else { private.clone() })
        .collect();
    let answers = futures::future::join_all(inputs.iter().map(|input| app.submit(&citizen, input).response())).await;

    let mut ids = std::collections::BTreeSet::new();
    let mut stored_public = None;
    let mut conflicts = 0;
    for (input, answer) in inputs.iter().zip(&answers) {
        if answer.get("errors").is_some() {
            assert_client_id_conflict(answer, "a retry with other content");
            conflicts += 1;
            continue;
        }
        let comment = &answer["data"]["submitComment"]["comment"];
        ids.insert(comment["id"].as_str().unwrap().to_owned());
        // Whoever got the comment sent exactly that comment.
        assert_eq!(comment["isPublic"], input.input()["isPublic"], "{answer:#}");
        stored_public = Some(comment["isPublic"].clone());
    }
    assert_eq!(ids.len(), 1, "one comment: {answers:#?}");
    assert_eq!(conflicts, 10, "the ten others were refused: {answers:#?}");
    // The refused ones are exactly those that differ from the stored comment.
    for (input, answer) in inputs.iter().zip(&answers) {
        assert_eq!(
            answer.get("errors").is_some(),
            Some(&input.input()["isPublic"]) != stored_public.as_ref(),
            "{answer:#}"
        );
    }
}
both_backends!(
    concurrent_retries_with_different_content_never_return_a_comment_not_sent,
    concurrent_retries_with_different_content_never_return_a_comment_not_sent
);
