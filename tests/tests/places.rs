//! Places: `communesNear` suggests the communes whose approximate centres (the shipped
//! `commune_centroids.csv`) are nearest to a position, names the communes of the same
//! districts that have no centre, and refuses positions outside Cambodia; `AdminUnit.centre`
//! shows a commune's centre.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{TestApp, both_backends, first_error};
use serde_json::{Value, json};

const NEAR: &str = "query($lat: Float!, $long: Float!, $first: Int) {
  communesNear(lat: $lat, long: $long, first: $first) {
    communes { commune { code nameEn parent { code } } lat long distanceKm }
    withoutCentre { code level parent { code } centre { lat } }
  }
}";

/// Angkor Thum's commune 170203 (Leang Dai), as commune_centroids.csv places it. The
/// district's three other communes, 170201, 170202 and 170204, have no centre.
const LEANG_DAI: (&str, f64, f64) = ("170203", 13.615_008_2, 103.894_894_1);

/// Where the test asks from: Bangkok, outside Cambodia.
const BANGKOK: (f64, f64) = (13.75, 100.50);

async fn near(app: &TestApp, lat: f64, long: f64, first: Option<i64>) -> Value {
    let data = app
        .ok(None, NEAR, json!({ "lat": lat, "long": long, "first": first }))
        .await;
    data["communesNear"].clone()
}

fn codes(units: &Value) -> Vec<String> {
    units
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_position_at_a_commune_centre_answers_that_commune_first_and_the_unplaced_ones_of_its_district(app: TestApp) {
    let (code, lat, long) = LEANG_DAI;
    let answer = near(&app, lat, long, Some(3)).await;
    let communes = answer["communes"].as_array().unwrap();
    assert_eq!(communes.len(), 3, "{answer:#}");
    let first = &communes[0];
    assert_eq!(first["commune"]["code"], code, "{answer:#}");
    assert_eq!(first["commune"]["parent"]["code"], "1702");
    assert!(first["distanceKm"].as_f64().unwrap() < 0.001, "{first:#}");
    assert_eq!((first["lat"].as_f64(), first["long"].as_f64()), (Some(lat), Some(long)));
    let distances: Vec<f64> = communes.iter().map(|c| c["distanceKm"].as_f64().unwrap()).collect();
    assert!(
        distances.windows(2).all(|w| w[0] <= w[1]),
        "nearest first: {distances:?}"
    );
    assert!(distances[1] > 0.5 && distances[2] < 25.0, "{distances:?}");

    let without = codes(&answer["withoutCentre"]);
    for unplaced in ["170201", "170202", "170204"] {
        assert!(without.contains(&unplaced.to_owned()), "{unplaced}: {answer:#}");
    }
    let districts: Vec<&Value> = communes.iter().map(|c| &c["commune"]["parent"]["code"]).collect();
    for unit in answer["withoutCentre"].as_array().unwrap() {
        assert_eq!(unit["level"], "COMMUNE", "{unit:#}");
        assert!(unit["centre"].is_null(), "{unit:#}");
        assert!(districts.contains(&&unit["parent"]["code"]), "{unit:#}");
    }
    let mut sorted = without.clone();
    sorted.sort();
    assert_eq!(without, sorted, "ordered by code");

    // Five by default; more than twenty are cut to twenty.
    let default = near(&app, lat, long, None).await;
    assert_eq!(default["communes"].as_array().unwrap().len(), 5);
    let many = near(&app, lat, long, Some(500)).await;
    assert_eq!(many["communes"].as_array().unwrap().len(), 20);
}
both_backends!(
    a_position_at_a_commune_centre_answers_that_commune_first_and_the_unplaced_ones_of_its_district,
    a_position_at_a_commune_centre_answers_that_commune_first_and_the_unplaced_ones_of_its_district
);

/// The error of `communesNear` with these variables: `(code, field)`.
async fn refusal(app: &TestApp, variables: Value) -> (String, String) {
    let response = app.graphql(None, NEAR, variables).await;
    let error = first_error(&response);
    assert!(response["data"].is_null(), "{response:#}");
    assert!(
        !error["extensions"]["messageKm"].as_str().unwrap_or_default().is_empty(),
        "{response:#}"
    );
    (
        error["extensions"]["code"].as_str().unwrap_or_default().to_owned(),
        error["extensions"]["field"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn positions_outside_cambodia_and_counts_below_one_are_refused(app: TestApp) {
    let bad = |field: &str| ("BAD_USER_INPUT".to_owned(), field.to_owned());
    let (lat, long) = BANGKOK;
    assert_eq!(refusal(&app, json!({ "lat": lat, "long": long })).await, bad("long"));
    // Hanoi, and the south pole.
    assert_eq!(refusal(&app, json!({ "lat": 21.03, "long": 105.85 })).await, bad("lat"));
    assert_eq!(refusal(&app, json!({ "lat": -90.0, "long": 104.9 })).await, bad("lat"));
    let (_, lat, long) = LEANG_DAI;
    for first in [0, -1] {
        let variables = json!({ "lat": lat, "long": long, "first": first });
        assert_eq!(refusal(&app, variables).await, bad("first"), "first: {first}");
    }
}
both_backends!(
    positions_outside_cambodia_and_counts_below_one_are_refused,
    positions_outside_cambodia_and_counts_below_one_are_refused
);

const CENTRES: &str = "query($code: ID!) {
  adminUnit(code: $code) { code centre { lat long } children { code centre { lat long } } }
}";

async fn a_commune_shows_its_centre_and_a_district_or_an_unplaced_commune_none(app: TestApp) {
    let (code, lat, long) = LEANG_DAI;
    let commune = app.ok(None, CENTRES, json!({ "code": code })).await["adminUnit"].clone();
    assert_eq!(commune["centre"], json!({ "lat": lat, "long": long }), "{commune:#}");
    assert!(
        commune["children"]
            .as_array()
            .unwrap()
            .iter()
            .all(|village| village["centre"].is_null()),
        "villages have none: {commune:#}"
    );
    let district = app.ok(None, CENTRES, json!({ "code": "1702" })).await["adminUnit"].clone();
    assert!(district["centre"].is_null(), "{district:#}");
    let placed: Vec<(&str, bool)> = district["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["code"].as_str().unwrap(), !c["centre"].is_null()))
        .collect();
    assert_eq!(
        placed,
        [
            ("170201", false),
            ("170202", false),
            ("170203", true),
            ("170204", false)
        ]
    );

    // The centres of a list cost one statement however long the list is (the fewest of
    // three tries, so that background work does not count).
    let list = "query($parent: ID) { adminUnits(parentCode: $parent) { code centre { lat } } }";
    let mut fewest = u64::MAX;
    for _ in 0..3 {
        let before = app.statements().await;
        let data = app.ok(None, list, json!({ "parent": "0102" })).await;
        assert_eq!(data["adminUnits"].as_array().unwrap().len(), 13);
        assert!(data["adminUnits"][0]["centre"]["lat"].is_f64(), "{data:#}");
        fewest = fewest.min(app.statements().await - before);
    }
    assert!(fewest <= 2, "{fewest} statements for 13 communes and their centres");
}
both_backends!(
    a_commune_shows_its_centre_and_a_district_or_an_unplaced_commune_none,
    a_commune_shows_its_centre_and_a_district_or_an_unplaced_commune_none
);
