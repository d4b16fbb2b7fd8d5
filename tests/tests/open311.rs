//! Open311 GeoReport v2 through the real binary, on SQLite and PostgreSQL: every
//! endpoint in both formats, its JSON checked against the specification's JSON Schemas
//! and its XML read the way FixMyStreet's client reads it; a comment posted through
//! Open311, approved through GraphQL, followed by its token and read back; filters,
//! paging and errors.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::open311::assert_schema;
use mati_tests::{Backend, Submission, TestApp};
use serde_json::{Value, json};

const ISSUE: &str = "mutation($name: String!) { issueApiKey(name: $name) { key apiKey { id name } } }";
const REVOKE: &str = "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }";
const BY_CODE: &str = "query($code: String!) { commentByTrackingCode(trackingCode: $code) { id status } }";
const PHONE: &str = "012 345 678";
/// The centre of commune 120101, Tonle Basak (data/gazetteer/commune_centroids.csv).
const TONLE_BASAK: (f64, f64) = (11.5509405, 104.9359091);

/// A whole-second datetime in Cambodia's time, as every Open311 datetime is written.
fn is_cambodian_datetime(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    let bytes = text.as_bytes();
    text.len() == 25
        && text.ends_with("+07:00")
        && bytes[10] == b'T'
        && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// `POST /open311/v2/requests.{format}` with a form; the status and the body.
async fn post(app: &TestApp, format: &str, form: &[(&str, &str)]) -> (u16, String) {
    let response = app
        .client
        .post(format!("{}/open311/v2/requests.{format}", app.base))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn post_json(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let (status, body) = post(app, "json", form).await;
    let body: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let schema = if status == 200 {
        "written/tokens.json"
    } else {
        "written/errors.json"
    };
    assert_schema(schema, &body);
    (status, body)
}

async fn open311_round_trip(app: TestApp) {
    let admin = app.staff("admin", "open311.admin", None).await;
    let moderator = app.staff("moderator", "open311.moderator", None).await;
    let official = app.staff("official", "open311.official", Some("120101")).await;

    // Discovery, services and a service definition.
    let discovery = app.open311("discovery", "", "written/discovery.json").await;
    assert_eq!(discovery.status, 200);
    assert!(
        discovery.json["endpoints"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/open311/v2")
    );
    let services = app.open311("services", "", "services.json").await;
    let list = services.json.as_array().unwrap();
    assert_eq!(list.len(), 13, "one service per category");
    let roads = list.iter().find(|s| s["service_code"] == "LOCAL_ROADS").unwrap();
    assert_eq!(
        roads["type"], "batch",
        "a comment waits for moderation: POST answers a token"
    );
    assert_eq!(roads["metadata"], true);
    assert_eq!(roads["group"], "commune");
    assert_eq!(
        list.iter().find(|s| s["service_code"] == "HEALTH").unwrap()["group"],
        "province"
    );
    let keywords = roads["keywords"].as_str().unwrap();
    assert!(
        keywords.contains("Local roads") || keywords.contains("roads"),
        "{keywords}"
    );
    assert!(
        keywords.chars().any(|c| ('\u{1780}'..='\u{17FF}').contains(&c)),
        "Khmer keywords: {keywords}"
    );
    assert_eq!(
        services.xml["service"][0]["metadata"], "true",
        "booleans as FixMyStreet reads them"
    );
    // At a position: what is routable at the nearest commune centre (Tonle Basak's).
    let here = app
        .open311(
            "services",
            &format!("lat={}&long={}", TONLE_BASAK.0, TONLE_BASAK.1),
            "services.json",
        )
        .await;
    assert_eq!(here.json.as_array().unwrap().len(), 13);
    let bangkok = app.open311("services", "lat=13.75&long=100.50", "services.json").await;
    assert_eq!(bangkok.status, 400, "{}", bangkok.json);
    assert!(
        bangkok.json[0]["description"].as_str().unwrap().starts_with("l"),
        "{}",
        bangkok.json
    );
    let half = app.open311("services", "lat=11.55", "services.json").await;
    assert_eq!(half.status, 400);
    let khmer = app.open311("services", "locale=km", "services.json").await;
    assert_ne!(khmer.json[0]["service_name"], services.json[0]["service_name"]);

    let definition = app.open311("services/LOCAL_ROADS", "", "service-definition.json").await;
    assert_eq!(definition.json["service_code"], "LOCAL_ROADS");
    let codes: Vec<&str> = definition.json["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["is_public", "gender", "age_group", "client_id"]);
    assert_eq!(definition.json["attributes"][0]["variable"], true);
    assert_eq!(definition.json["attributes"][0]["required"], false);
    assert_eq!(definition.xml["attributes"][1]["values"][0]["key"], "FEMALE");
    let unknown = app
        .open311("services/NO_SUCH_SERVICE", "", "service-definition.json")
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json[0]["code"], 404);
    assert_eq!(unknown.xml["error"][0]["code"], "404");

    // Keys: issued by an admin, shown once; nothing is posted without one.
    let issued = app.ok(Some(&admin), ISSUE, json!({ "name": "A CSO's app" })).await;
    let key = issued["issueApiKey"]["key"].as_str().unwrap().to_owned();
    let key_id = issued["issueApiKey"]["apiKey"]["id"].as_str().unwrap().to_owned();
    let body = format!("ផ្លូវនៅភូមិយើងខូចខាតធ្ងន់ធ្ងរ សូមជួសជុល ទូរស័ព្ទ {PHONE}");
    let form = |key: &str, client_id: &str| {
        vec![
            ("api_key", key.to_owned()),
            ("service_code", "LOCAL_ROADS".to_owned()),
            ("address_id", "12010101".to_owned()),
            ("description", body.clone()),
            ("email", "someone@example.org".to_owned()),
            ("attribute[gender]", "FEMALE".to_owned()),
            ("attribute[client_id]", client_id.to_owned()),
        ]
    };
    let as_refs = |form: &[(&'static str, String)]| form.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    for wrong in ["", "mati_k_not-a-key", "mati_c_a-citizen-token"] {
        let form = as_refs(&form(wrong, "cso-1"));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = post_json(&app, &form).await;
        assert_eq!((status, &body[0]["code"]), (403, &json!(403)), "{wrong:?}: {body}");
    }
    let posted = as_refs(&form(&key, "cso-1"));
    let posted: Vec<(&str, &str)> = posted.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, answer) = post_json(&app, &posted).await;
    assert_eq!(status, 200, "{answer}");
    let token = answer[0]["token"].as_str().unwrap().to_owned();
    assert!(
        answer[0].get("service_request_id").is_none(),
        "pending: a token, no request yet"
    );
    // A retry is the same comment; in XML FixMyStreet finds the token where it looks.
    let (status, xml) = post(&app, "xml", &posted).await;
    assert_eq!(status, 200);
    let xml = mati_tests::open311::fixmystreet_xml(&xml);
    assert_eq!(xml["request"][0]["token"], token.as_str());

    // Pending: the token alone, and not listed.
    let pending = app.open311(&format!("tokens/{token}"), "", "written/tokens.json").await;
    assert_eq!(pending.json, json!([{ "token": token }]));
    let listed = app.open311("requests", "", "requests.json").await;
    assert_eq!(listed.json, json!([]));

    // Approved through GraphQL: the token now names the request.
    let found = app.ok(None, BY_CODE, json!({ "code": token })).await;
    let id = found["commentByTrackingCode"]["id"].as_str().unwrap().to_owned();
    app.approve(&moderator, &id).await;
    let routed = app.open311(&format!("tokens/{token}"), "", "written/tokens.json").await;
    assert_eq!(routed.json, json!([{ "service_request_id": id, "token": token }]));
    assert_eq!(routed.xml["request"][0]["service_request_id"], id.as_str());

    let one = app.open311(&format!("requests/{id}"), "", "requests.json").await;
    let request = &one.json[0];
    assert_eq!(request["service_request_id"], id.as_str());
    assert_eq!(request["status"], "open");
    assert_eq!(request["service_code"], "LOCAL_ROADS");
    assert_eq!(request["agency_responsible"], "Tonle Basak");
    assert_eq!(request["address"], "Phum Muoy, Tonle Basak, Chamkar Mon, Phnom Penh");
    assert_eq!(request["address_id"], "12010101");
    let description = request["description"].as_str().unwrap();
    assert!(description.starts_with("ផ្លូវនៅភូមិយើង"), "{description}");
    assert!(!description.contains(PHONE), "redacted as in GraphQL: {description}");
    assert!(request["status_notes"].is_null());
    assert_eq!(request["lat"].as_f64(), Some(TONLE_BASAK.0), "the commune centre");
    assert_eq!(request["long"].as_f64(), Some(TONLE_BASAK.1));
    for field in ["requested_datetime", "updated_datetime", "expected_datetime"] {
        assert!(is_cambodian_datetime(&request[field]), "{field}: {}", request[field]);
    }
    assert!(
        !one.json.to_string().contains("someone@example.org"),
        "contact details are not kept"
    );

    // Answered and resolved: the notes and the status follow.
    app.respond(&official, &id, "យើងនឹងជួសជុលផ្លូវនេះនៅសប្តាហ៍ក្រោយ").await;
    let answered = app.open311(&format!("requests/{id}"), "", "requests.json").await;
    assert_eq!(answered.json[0]["status_notes"], "យើងនឹងជួសជុលផ្លូវនេះនៅសប្តាហ៍ក្រោយ");
    assert_eq!(answered.json[0]["status"], "open");
    app.resolve(&official, &id, "ផ្លូវត្រូវបានជួសជុលរួចហើយ").await;
    let closed = app.open311("requests", "status=closed", "requests.json").await;
    assert_eq!(closed.json.as_array().unwrap().len(), 1);
    assert_eq!(closed.json[0]["status"], "closed");
    assert_eq!(
        app.open311("requests", "status=open", "requests.json").await.json,
        json!([])
    );

    // The feed of updates: what happened in the open, oldest first.
    let feed = app.open311("servicerequestupdates", "", "written/updates.json").await;
    let kinds: Vec<&str> = feed
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["status"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["open", "in_progress", "closed"], "{:#}", feed.json);
    assert_eq!(feed.json[1]["description"], "យើងនឹងជួសជុលផ្លូវនេះនៅសប្តាហ៍ក្រោយ");
    assert_eq!(feed.json[2]["service_request_id"], id.as_str());
    assert_eq!(feed.xml["request_update"][2]["status"], "closed");

    // Extensions: the codes and the history.
    let extended = app
        .open311(&format!("requests/{id}"), "extensions=true", "requests.json")
        .await;
    let attributes = &extended.json[0]["extended_attributes"];
    assert_eq!(attributes["commune_code"], "120101");
    assert_eq!(attributes["district_code"], "1201");
    assert_eq!(attributes["province_code"], "12");
    let notes: Vec<&str> = extended.json[0]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["submitted", "approved", "routed", "responded", "resolved"]);

    // Revoked, the key posts nothing more.
    app.ok(Some(&admin), REVOKE, json!({ "id": key_id })).await;
    let again = as_refs(&form(&key, "cso-2"));
    let again: Vec<(&str, &str)> = again.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(post_json(&app, &again).await.0, 403);
}

async fn filters_paging_and_errors(app: TestApp) {
    let moderator = app.staff("moderator", "open311.filters", None).await;
    let mut ids = Vec::new();
    for (n, category) in ["LOCAL_ROADS", "HEALTH", "LOCAL_ROADS"].iter().enumerate() {
        let submission = Submission::new("120101", category, format!("ផ្លូវខូចខាតធ្ងន់ធ្ងរ ទីតាំង {n}"));
        let comment = app.ready(&moderator, &submission).await;
        ids.push(comment["id"].as_str().unwrap().to_owned());
    }
    // A private comment and a rejected one are never requests.
    let private = Submission::new("120101", "LOCAL_ROADS", "ឯកសារផ្ទាល់ខ្លួនរបស់ខ្ញុំ សូមជួយពិនិត្យ").public(false);
    app.ready(&moderator, &private).await;
    let citizen = app.citizen().await;
    let rejected = app
        .submit(
            &citizen,
            &Submission::new("120101", "LOCAL_ROADS", "សារឥតបានការ សារឥតបានការ សារឥតបានការ"),
        )
        .await;
    app.reject(&moderator, &rejected["id"], "SPAM").await;
    let rejected_token = rejected["trackingCode"].as_str().unwrap();
    let token = app
        .open311(&format!("tokens/{rejected_token}"), "", "written/tokens.json")
        .await;
    assert_eq!(token.json, json!([{ "token": rejected_token }]));

    let ids_of = |json: &Value| -> Vec<String> {
        json.as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    let all = app.open311("requests", "", "requests.json").await;
    assert_eq!(
        ids_of(&all.json),
        newest_first,
        "published public ones only, newest first"
    );
    let roads = app
        .open311("requests", "service_code=LOCAL_ROADS,%20OTHER", "requests.json")
        .await;
    assert_eq!(ids_of(&roads.json), [ids[2].clone(), ids[0].clone()]);
    // Named ids override every other filter; an empty parameter is absent.
    let named = app
        .open311(
            "requests",
            &format!(
                "service_request_id={},{}&service_code=OTHER&status=closed&page_size=",
                ids[0], ids[1]
            ),
            "requests.json",
        )
        .await;
    assert_eq!(ids_of(&named.json), [ids[1].clone(), ids[0].clone()]);
    let page = app
        .open311("requests", "page_size=2&page=2&unknown=1", "requests.json")
        .await;
    assert_eq!(ids_of(&page.json), [ids[0].clone()]);
    let after = app
        .open311("requests", "updated_after=2100-01-01T00:00:00%2B07:00", "requests.json")
        .await;
    assert_eq!(after.json, json!([]));
    let before = app
        .open311("requests", "updated_before=2100-01-01T00:00:00Z", "requests.json")
        .await;
    assert_eq!(ids_of(&before.json).len(), 3);
    let old = app
        .open311(
            "requests",
            "start_date=2020-01-01T00:00:00%2B07:00&end_date=2020-02-01T00:00:00%2B07:00",
            "requests.json",
        )
        .await;
    assert_eq!(old.json, json!([]));

    for (query, field) in [
        (
            "start_date=2020-01-01T00:00:00Z&end_date=2020-06-01T00:00:00Z",
            "start_date",
        ),
        (
            "start_date=2020-02-01T00:00:00Z&end_date=2020-01-01T00:00:00Z",
            "end_date",
        ),
        ("start_date=yesterday", "start_date"),
        ("status=pending", "status"),
        ("page_size=5000", "page_size"),
        ("service_request_id=abc", "service_request_id"),
        ("extensions=perhaps", "extensions"),
    ] {
        let refused = app.open311("requests", query, "requests.json").await;
        assert_eq!(refused.status, 400, "{query}");
        let description = refused.json[0]["description"].as_str().unwrap();
        assert!(description.starts_with(field), "{query}: {description}");
        assert_eq!(refused.xml["error"][0]["code"], "400");
    }
    for missing in ["requests/999999999", "requests/not-a-number", "tokens/ZZZZZZZZ"] {
        assert_eq!(app.open311(missing, "", "requests.json").await.status, 404, "{missing}");
    }
    let private_id = app
        .open311("requests", "service_request_id=1,2,3,4,5,6,7,8", "requests.json")
        .await;
    assert_eq!(
        ids_of(&private_id.json).len(),
        3,
        "the private comment stays out even by id"
    );
    let nowhere = app.get("/open311/v2/requests.html").await;
    assert_eq!(nowhere.status().as_u16(), 404);

    // POST: form-encoded only, a location, a known service, a valid text.
    let admin = app.staff("admin", "open311.keys", None).await;
    let issued = app.ok(Some(&admin), ISSUE, json!({ "name": "Filters" })).await;
    let key = issued["issueApiKey"]["key"].as_str().unwrap();
    let body = "ប្រឡាយទឹកស្ទះនៅជិតផ្សារ";
    for (form, field) in [
        (
            vec![("service_code", "LOCAL_ROADS"), ("description", body)],
            "address_id",
        ),
        (
            vec![
                ("service_code", "LOCAL_ROADS"),
                ("description", body),
                ("address_id", "1201"),
            ],
            "address_id",
        ),
        (
            vec![
                ("service_code", "NOPE"),
                ("description", body),
                ("address_id", "120101"),
            ],
            "service_code",
        ),
        (
            vec![
                ("service_code", "LOCAL_ROADS"),
                ("description", "short"),
                ("address_id", "120101"),
            ],
            "description",
        ),
        (vec![("description", body), ("address_id", "120101")], "service_code"),
        (
            vec![
                ("service_code", "LOCAL_ROADS"),
                ("description", body),
                ("address_id", "120101"),
                ("attribute[gender]", "X"),
            ],
            "attribute[gender]",
        ),
    ] {
        let mut form = form;
        form.push(("api_key", key));
        let (status, answer) = post_json(&app, &form).await;
        assert_eq!(status, 400, "{form:?}: {answer}");
        let description = answer[0]["description"].as_str().unwrap();
        assert!(description.starts_with(field), "{form:?}: {description}");
    }
    // A position instead of a code: the nearest commune centre, within reason.
    let (lat, long) = (format!("{}", TONLE_BASAK.0 + 0.0005), format!("{}", TONLE_BASAK.1));
    let by_position = [
        ("api_key", key),
        ("service_code", "LOCAL_ROADS"),
        ("description", body),
        ("lat", lat.as_str()),
        ("long", long.as_str()),
    ];
    let (status, answer) = post_json(&app, &by_position).await;
    assert_eq!(status, 200, "{answer}");
    let code = answer[0]["token"].as_str().unwrap();
    let found = app.ok(None, BY_CODE, json!({ "code": code })).await;
    let id = found["commentByTrackingCode"]["id"].as_str().unwrap().to_owned();
    app.approve(&moderator, &id).await;
    let placed = app.open311(&format!("requests/{id}"), "", "requests.json").await;
    assert_eq!(placed.json[0]["address_id"], "120101");
    let far = [
        ("api_key", key),
        ("service_code", "LOCAL_ROADS"),
        ("description", body),
        ("lat", "13.75"),
        ("long", "100.50"),
    ];
    assert_eq!(post_json(&app, &far).await.0, 400, "Bangkok has no commune of Cambodia");
    // The key may come in the query instead of the form.
    let in_query = app
        .client
        .post(format!("{}/open311/v2/requests.json?api_key={key}", app.base))
        .form(&[
            ("service_code", "LOCAL_ROADS"),
            ("description", body),
            ("address_id", "120101"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(in_query.status().as_u16(), 200);
    let as_json = app
        .client
        .post(format!("{}/open311/v2/requests.json", app.base))
        .json(&json!({ "api_key": key }))
        .send()
        .await
        .unwrap();
    assert_eq!(as_json.status().as_u16(), 400, "only form-encoded requests");
    let wrong_method = app
        .client
        .post(format!("{}/open311/v2/services.json", app.base))
        .form(&[("api_key", key)])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status().as_u16(), 405);
}

#[tokio::test]
async fn open311_round_trip_on_sqlite() {
    if let Some(app) = TestApp::start(Backend::Sqlite).await {
        open311_round_trip(app).await;
    }
}

#[tokio::test]
async fn open311_round_trip_on_postgres() {
    if let Some(app) = TestApp::start(Backend::Postgres).await {
        open311_round_trip(app).await;
    }
}

#[tokio::test]
async fn open311_filters_paging_and_errors_on_sqlite() {
    if let Some(app) = TestApp::start(Backend::Sqlite).await {
        filters_paging_and_errors(app).await;
    }
}

#[tokio::test]
async fn open311_filters_paging_and_errors_on_postgres() {
    if let Some(app) = TestApp::start(Backend::Postgres).await {
        filters_paging_and_errors(app).await;
    }
}

/// Each key has its own submission limit: a busy application is held back, another is
/// not, and the refusal says when to come back.
#[tokio::test]
async fn open311_submissions_are_limited_per_key() {
    let env = [("MATI_RATE_LIMIT_SUBMIT_PER_API_KEY", "2/60s")];
    let Some(app) = TestApp::start_with(Backend::Sqlite, &env).await else {
        return;
    };
    let admin = app.staff("admin", "open311.limits", None).await;
    let mut keys = Vec::new();
    for name in ["busy", "quiet"] {
        let issued = app.ok(Some(&admin), ISSUE, json!({ "name": name })).await;
        keys.push(issued["issueApiKey"]["key"].as_str().unwrap().to_owned());
    }
    let send = |key: &str, n: usize| {
        let body = format!("ប្រឡាយទឹកស្ទះនៅជិតផ្សារ លេខ {n}");
        let form = [
            ("api_key", key.to_owned()),
            ("service_code", "LOCAL_ROADS".to_owned()),
            ("address_id", "120101".to_owned()),
            ("description", body),
        ];
        app.client
            .post(format!("{}/open311/v2/requests.xml", app.base))
            .form(&form)
            .send()
    };
    for n in 0..2 {
        assert_eq!(send(&keys[0], n).await.unwrap().status().as_u16(), 200);
    }
    let refused = send(&keys[0], 2).await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().get("retry-after").is_some());
    let errors = mati_tests::open311::fixmystreet_xml(&refused.text().await.unwrap());
    assert_eq!(errors["error"][0]["code"], "429");
    assert_eq!(
        send(&keys[1], 3).await.unwrap().status().as_u16(),
        200,
        "another key is not held back"
    );
}
