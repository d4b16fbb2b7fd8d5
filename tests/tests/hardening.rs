//! Doors async-graphql leaves open, closed: GET only for queries, limits on the shape
//! of documents, batches off unless enabled, every alias counted against the rate
//! limits, staff sessions that end on logout, and citizen sessions that end on logout
//! or after an idle time.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Backend, TestApp};
use serde_json::{Value, json};

async fn post(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = app.client.post(format!("{}/graphql", app.base)).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let url = format!("{}/graphql", app.base);
    let ok = app
        .client
        .get(&url)
        .query(&[("query", "{ categories { code } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["data"]["categories"].as_array().unwrap().len(), 13);
    let with_variables = app
        .client
        .get(&url)
        .query(&[
            ("query", "query($c: ID!) { adminUnit(code: $c) { nameEn } }"),
            ("variables", "{\"c\": \"12\"}"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_variables.json::<Value>().await.unwrap()["data"]["adminUnit"]["nameEn"],
        "Phnom Penh"
    );
    let mutation = app
        .client
        .get(&url)
        .query(&[("query", "mutation { startCitizenSession { token } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), 405);
    assert_eq!(mutation.headers()["allow"], "POST");
    let page = app.client.get(&url).send().await.unwrap();
    assert!(
        page.text().await.unwrap().contains("graphiql"),
        "GraphiQL without a query"
    );
}

#[tokio::test]
async fn documents_over_a_shape_limit_are_refused_as_too_complex() {
    let env = [
        ("MATI_MAX_ALIASES", "3"),
        ("MATI_MAX_ROOT_FIELDS", "4"),
        ("MATI_MAX_DIRECTIVES", "2"),
        ("MATI_MAX_TOKENS", "200"),
    ];
    let Some(app) = TestApp::start_with(Backend::Sqlite, &env).await else {
        return;
    };
    let cases = [
        (
            "{ a: categories { code } b: categories { code } c: categories { code } d: categories { code } }",
            "aliases",
        ),
        (
            "{ categories { code } adminUnit(code: \"12\") { code } comments { totalCount } moderationQueue { id } adminUnits(level: PROVINCE) { code } }",
            "root fields",
        ),
        (
            "{ categories @skip(if: false) { code @skip(if: false) nameEn @include(if: true) } }",
            "directives",
        ),
    ];
    for (query, what) in cases {
        let (status, body) = post(&app, None, &json!({ "query": query })).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
            "{what}: {body:#}"
        );
        assert!(
            body["errors"][0]["message"].as_str().unwrap().contains(what),
            "{body:#}"
        );
        assert!(body.get("data").is_none_or(Value::is_null), "nothing ran");
    }
    let long = format!("{{ {} }}", "categories { code } ".repeat(40));
    let (_, body) = post(&app, None, &json!({ "query": long })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
    let (_, fine) = post(
        &app,
        None,
        &json!({ "query": "{ a: categories { code } b: categories { code } }" }),
    )
    .await;
    assert!(fine.get("errors").is_none(), "{fine:#}");
}

#[tokio::test]
async fn paged_lists_cost_by_their_page_size() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let rich = |first: u32| {
        format!(
            "{{ comments(first: {first}) {{ totalCount edges {{ cursor node {{ id trackingCode body status createdAt \
             category {{ code nameKm }} commune {{ code nameKm parent {{ code }} }} \
             responses {{ body createdAt unit {{ code }} }} events {{ kind at note unit {{ code }} }} }} }} }} }}"
        )
    };
    // A page of 100 comments with their answers and history (2,801 points of the default
    // 3,000) is what a client may ask.
    for first in [5, 20, 100] {
        let (_, body) = post(&app, None, &json!({ "query": rich(first) })).await;
        assert!(body.get("errors").is_none(), "first: {first}: {body:#}");
    }
    // The same selection does not fit twice at 100, though it does at 20: the page size
    // is what is counted, not the number of fields written.
    let twice = |first: u32| {
        let one = rich(first);
        let field = &one[1..one.len() - 1];
        format!("{{ a: {field} b: {field} }}")
    };
    let (_, body) = post(&app, None, &json!({ "query": twice(20) })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let (_, body) = post(&app, None, &json!({ "query": twice(100) })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body:#}");
    // Units nested in a page are priced by how many children units have.
    let nested = "{ comments(first: 10) { edges { node { commune { parent { children { children { code } } } } } } } }";
    let (_, body) = post(&app, None, &json!({ "query": nested })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body:#}");
    assert!(body.get("data").is_none_or(Value::is_null), "nothing ran");
}

#[tokio::test]
async fn batches_are_refused_unless_enabled_and_then_capped() {
    let Some(off) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let one = json!({ "query": "{ categories { code } }" });
    let (status, _) = post(&off, None, &json!([one, one])).await;
    assert_eq!(status, 400);
    let Some(on) = TestApp::start_with(Backend::Sqlite, &[("MATI_MAX_BATCH", "2")]).await else {
        return;
    };
    let (status, body) = post(&on, None, &json!([one, one])).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[1]["data"]["categories"].as_array().unwrap().len(), 13);
    let (status, _) = post(&on, None, &json!([one, one, one])).await;
    assert_eq!(status, 400, "over the cap");
}

#[tokio::test]
async fn every_alias_counts_against_the_rate_limits() {
    let env = [
        ("MATI_MAX_ALIASES", "300"),
        ("MATI_MAX_ROOT_FIELDS", "300"),
        ("MATI_MAX_TOKENS", "20000"),
    ];
    let Some(app) = TestApp::start_with(Backend::Sqlite, &env).await else {
        return;
    };
    let citizen = app.citizen().await;
    let fields: String = (0..40)
        .map(|i| format!("s{i}: submitComment(input: {{ body: \"Broken culvert number {i}.\", categoryCode: \"LOCAL_ROADS\", communeCode: \"120101\" }}) {{ comment {{ id }} }} "))
        .collect();
    let (_, body) = post(
        &app,
        Some(&citizen),
        &json!({ "query": format!("mutation {{ {fields} }}") }),
    )
    .await;
    let data = body["data"]
        .as_object()
        .map(|d| d.values().filter(|v| !v.is_null()).count())
        .unwrap_or(0);
    let limited = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["extensions"]["code"] == "RATE_LIMITED")
        .count();
    assert_eq!(
        (data, limited),
        (5, 35),
        "a burst of 5 per token, whatever the aliases: {body:#}"
    );
}

#[tokio::test]
async fn a_logged_out_staff_token_stops_working() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let token = app.staff("moderator", "mod1", None).await;
    app.ok(Some(&token), "{ moderationQueue { id } }", json!({})).await;
    assert_eq!(
        app.ok(Some(&token), "mutation { logout }", json!({})).await["logout"],
        true
    );
    let (status, body) = post(&app, Some(&token), &json!({ "query": "{ moderationQueue { id } }" })).await;
    assert_eq!(
        (status, body["errors"][0]["extensions"]["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
}

const MINE: &str = "{ myComments(first: 1) { totalCount } }";

#[tokio::test]
async fn a_citizen_ends_their_own_session_from_the_phone() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let token = app.citizen().await;
    let other = app.citizen().await;
    app.ok(Some(&token), MINE, json!({})).await;
    assert_eq!(
        app.ok(Some(&token), "mutation { logout }", json!({})).await["logout"],
        true
    );
    let (status, body) = post(&app, Some(&token), &json!({ "query": MINE })).await;
    assert_eq!(
        (status, body["errors"][0]["extensions"]["code"].as_str()),
        (401, Some("UNAUTHENTICATED")),
        "{body:#}"
    );
    app.ok(Some(&other), MINE, json!({})).await;
    assert_eq!(
        app.error_code(None, "mutation { logout }", json!({})).await,
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn a_citizen_token_expires_after_the_idle_time_unless_it_is_used() {
    // Ten days pass every second of the server's clock; tokens idle for 30 days expire.
    let env = [("MATI_CLOCK_SPEED", "864000"), ("MATI_CITIZEN_SESSION_IDLE_DAYS", "30")];
    let Some(app) = TestApp::start_with(Backend::Sqlite, &env).await else {
        return;
    };
    let used = app.citizen().await;
    let idle = app.citizen().await;
    // Used every five days for forty days: still valid.
    for _ in 0..8 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        app.ok(Some(&used), MINE, json!({})).await;
    }
    let expired = |(status, body): (u16, Value)| {
        assert_eq!(
            (status, body["errors"][0]["extensions"]["code"].as_str()),
            (401, Some("UNAUTHENTICATED")),
            "{body:#}"
        );
    };
    expired(post(&app, Some(&idle), &json!({ "query": MINE })).await);
    // Then left alone for 35 days: expired too.
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    expired(post(&app, Some(&used), &json!({ "query": MINE })).await);
    // A new session works as ever.
    let fresh = app.citizen().await;
    app.ok(Some(&fresh), MINE, json!({})).await;
}

#[tokio::test]
async fn a_staff_token_expires_after_twelve_hours() {
    // Six hours pass every second of the server's clock.
    let Some(app) = TestApp::start_with(Backend::Sqlite, &[("MATI_CLOCK_SPEED", "21600")]).await else {
        return;
    };
    let password = app.add_staff("moderator", "mod1", None).await;
    let token = app.login("mod1", &password).await;
    app.ok(Some(&token), "{ moderationQueue { id } }", json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, body) = post(&app, Some(&token), &json!({ "query": "{ moderationQueue { id } }" })).await;
    assert_eq!(
        (status, body["errors"][0]["extensions"]["code"].as_str()),
        (401, Some("UNAUTHENTICATED")),
        "{body:#}"
    );
    // Logging in again gives a fresh twelve hours.
    let again = app.login("mod1", &password).await;
    app.ok(Some(&again), "{ moderationQueue { id } }", json!({})).await;
}

fn sha256(text: &str) -> String {
    use std::fmt::Write as _;
    let digest = sha256_digest(text.as_bytes());
    digest.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// SHA-256 by the book (FIPS 180-4), so the test does not trust the server's own code.
fn sha256_digest(message: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];
    let mut data = message.to_vec();
    let bits = (message.len() as u64) * 8;
    data.push(0x80);
    while data.len() % 64 != 56 {
        data.push(0);
    }
    data.extend_from_slice(&bits.to_be_bytes());
    for chunk in data.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([chunk[4 * i], chunk[4 * i + 1], chunk[4 * i + 2], chunk[4 * i + 3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    let mut out = [0u8; 32];
    for (i, word) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn persisted(hash: &str) -> Value {
    json!({ "version": 1, "sha256Hash": hash })
}

#[tokio::test]
async fn phones_can_send_a_hash_instead_of_the_document() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let document = "{ categories { code nameKm } }";
    let hash = sha256(document);
    assert_eq!(
        sha256(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let (_, unknown) = post(
        &app,
        None,
        &json!({ "extensions": { "persistedQuery": persisted(&hash) } }),
    )
    .await;
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("PersistedQueryNotFound"),
        "{unknown:#}"
    );
    let (_, first) = post(
        &app,
        None,
        &json!({ "query": document, "extensions": { "persistedQuery": persisted(&hash) } }),
    )
    .await;
    assert!(first.get("errors").is_none(), "{first:#}");
    let (_, again) = post(
        &app,
        None,
        &json!({ "extensions": { "persistedQuery": persisted(&hash) } }),
    )
    .await;
    assert_eq!(again["data"]["categories"].as_array().unwrap().len(), 13, "{again:#}");
}

#[tokio::test]
async fn in_allow_list_mode_only_registered_documents_run() {
    let document = "{ categories { code } }";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("allowed.json");
    std::fs::write(&file, json!({ sha256(document): document }).to_string()).unwrap();
    let path = file.display().to_string();
    let Some(app) = TestApp::start_with(Backend::Sqlite, &[("MATI_ALLOWED_QUERIES", &path)]).await else {
        return;
    };
    let (_, by_text) = post(&app, None, &json!({ "query": document })).await;
    assert_eq!(by_text["data"]["categories"].as_array().unwrap().len(), 13);
    let (_, by_hash) = post(
        &app,
        None,
        &json!({ "extensions": { "persistedQuery": persisted(&sha256(document)) } }),
    )
    .await;
    assert_eq!(by_hash["data"]["categories"].as_array().unwrap().len(), 13);
    let (_, other) = post(&app, None, &json!({ "query": "{ categories { code nameEn } }" })).await;
    assert_eq!(other["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        other["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not registered")
    );
    assert!(other.get("data").is_none_or(Value::is_null));
}

#[tokio::test]
async fn production_mode_hides_the_schema() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, &[("MATI_ENV", "production")]).await else {
        return;
    };
    let (_, introspection) = post(&app, None, &json!({ "query": "{ __schema { types { name } } }" })).await;
    assert!(
        introspection["data"]["__schema"].is_null(),
        "introspection is off: {introspection:#}"
    );
    let (_, typo) = post(&app, None, &json!({ "query": "{ categorie { code } }" })).await;
    let message = typo["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "no suggestions: {message}");
    let page = app.client.get(format!("{}/graphql", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 404);
    let (_, development) = {
        let Some(dev) = TestApp::start(Backend::Sqlite).await else {
            return;
        };
        post(&dev, None, &json!({ "query": "{ categorie { code } }" })).await
    };
    assert!(
        development["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "the comparison holds"
    );
}

#[tokio::test]
async fn in_development_the_standard_introspection_query_fits_the_limits() {
    // What GraphiQL and schema tools send (graphql-js' introspection query).
    let query = include_str!("../fixtures/introspection.graphql");
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let (_, body) = post(&app, None, &json!({ "query": query })).await;
    assert!(body.get("errors").is_none(), "{}", body["errors"]);
    let types = body["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "Comment"));
}
