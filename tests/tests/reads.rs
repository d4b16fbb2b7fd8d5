//! Reading comments through HTTP: keyset pages that stay stable while comments arrive,
//! who sees what in the public listing, the listing's filters, the official's inbox,
//! and a constant number of SQL statements per page whatever its size. Runs on SQLite
//! and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Submission, TestApp, both_backends, first_error};
use serde_json::{Value, json};

const LIST: &str = "query($unit: ID, $status: CommentStatus, $cat: ID, $first: Int, $after: String) {
  comments(unitCode: $unit, status: $status, categoryCode: $cat, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id isPublic status commune { code } category { code } } }
  }
}";
const INBOX: &str = "query($status: CommentStatus, $overdue: Boolean, $first: Int, $after: String) {
  inbox(status: $status, overdueOnly: $overdue, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id assignedUnit { code } } }
  }
}";

/// Comments one citizen session sends before the next one takes over (the default
/// per-token submission limit is 5 a minute).
const PER_SESSION: usize = 5;

/// The people of a test: citizens who write, a moderator who approves.
struct Flow<'a> {
    app: &'a TestApp,
    citizen: String,
    submitted: usize,
    moderator: String,
}

impl<'a> Flow<'a> {
    async fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            citizen: app.citizen().await,
            submitted: 0,
            moderator: app.staff("moderator", "moderator1", None).await,
        }
    }

    /// Submits a comment; its id (PENDING).
    async fn submit(&mut self, category: &str, commune: &str, public: bool) -> String {
        if self.submitted > 0 && self.submitted.is_multiple_of(PER_SESSION) {
            self.citizen = self.app.citizen().await;
        }
        self.submitted += 1;
        let n = uuid::Uuid::new_v4().simple().to_string();
        let body = format!("Please repair the drainage near the market, report {}", &n[..8]);
        let comment = Submission::new(commune, category, body).public(public);
        let comment = self.app.submit(&self.citizen, &comment).await;
        comment["id"].as_str().unwrap().to_owned()
    }

    async fn moderate(&self, id: &str, decision: &str) -> Value {
        let vars = json!({ "id": id, "decision": decision, "reason": "SPAM" });
        self.app.moderate(&self.moderator, vars).await
    }

    /// Submits and approves a comment; its id.
    async fn approved(&mut self, category: &str, commune: &str, public: bool) -> String {
        let id = self.submit(category, commune, public).await;
        let approved = self.moderate(&id, "APPROVE").await;
        assert_eq!(approved["status"], "ROUTED");
        id
    }
}

async fn respond(app: &TestApp, official: &str, id: &str) {
    let answer = "The commune will send a team this week.";
    assert_eq!(app.respond(official, id, answer).await["status"], "RESPONDED");
}

async fn list(app: &TestApp, token: Option<&str>, vars: Value) -> Value {
    app.ok(token, LIST, vars).await["comments"].clone()
}

fn ids(connection: &Value) -> Vec<String> {
    let edges = connection["edges"].as_array().unwrap();
    edges
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn numeric(ids: &[String]) -> Vec<i64> {
    ids.iter().map(|id| id.parse().unwrap()).collect()
}

async fn listing_pages_filters_and_visibility(app: TestApp) {
    let mut flow = Flow::new(&app).await;
    let official = app.staff("official", "commune120101", Some("120101")).await;
    let other_official = app.staff("official", "commune120109", Some("120109")).await;

    // Twelve approved public comments in two districts and two categories.
    let mut created = Vec::new();
    for i in 0..12 {
        let commune = ["120101", "120109", "120201"][i % 3];
        let category = if i % 4 == 0 { "SOLID_WASTE" } else { "LOCAL_ROADS" };
        created.push((flow.approved(category, commune, true).await, commune, category));
    }
    // Neither pending, rejected nor private comments are public.
    let pending = flow.submit("LOCAL_ROADS", "120101", true).await;
    let rejected = flow.submit("LOCAL_ROADS", "120101", true).await;
    assert_eq!(flow.moderate(&rejected, "REJECT").await["status"], "REJECTED");
    let private = flow.approved("LOCAL_ROADS", "120101", false).await;

    // Newest first: the ids in creation order, reversed.
    let mut expected: Vec<String> = created.iter().map(|(id, ..)| id.clone()).collect();
    expected.reverse();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = list(&app, None, json!({ "first": 5, "after": after })).await;
        assert_eq!(page["totalCount"], 12, "{page:#}");
        let page_ids = ids(&page);
        assert!(!page_ids.is_empty() && page_ids.len() <= 5, "{page:#}");
        let last_cursor = page["edges"].as_array().unwrap().last().unwrap()["cursor"].clone();
        assert_eq!(page["pageInfo"]["endCursor"], last_cursor);
        seen.extend(page_ids);
        pages += 1;
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "no duplicates, no gaps, newest first");
    assert!(numeric(&seen).windows(2).all(|w| w[0] > w[1]));
    for hidden in [&pending, &rejected, &private] {
        assert!(!seen.contains(hidden), "comment {hidden} must not be public");
    }
    let asked_pending = list(&app, None, json!({ "status": "PENDING" })).await;
    assert_eq!(asked_pending["totalCount"], 0, "{asked_pending:#}");

    // The private one: its official and moderators see it, another official does not.
    for (token, sees) in [(&official, true), (&flow.moderator, true), (&other_official, false)] {
        let page = list(&app, Some(token), json!({ "first": 50 })).await;
        let page_ids = ids(&page);
        assert_eq!(page_ids.contains(&private), sees, "{page:#}");
        assert_eq!(page["totalCount"], if sees { 13 } else { 12 });
        assert!(
            !page_ids.contains(&pending) && !page_ids.contains(&rejected),
            "{page:#}"
        );
    }

    // Filters.
    let within: Vec<&String> = expected
        .iter()
        .filter(|id| {
            created
                .iter()
                .any(|(c, commune, _)| c == *id && commune.starts_with("1201"))
        })
        .collect();
    let page = list(&app, None, json!({ "unit": "1201", "first": 50 })).await;
    assert_eq!(page["totalCount"], 8);
    assert_eq!(ids(&page).iter().collect::<Vec<_>>(), within);
    assert!(page["edges"].as_array().unwrap().iter().all(|e| {
        let commune = e["node"]["commune"]["code"].as_str().unwrap();
        commune.starts_with("1201")
    }));
    let page = list(&app, None, json!({ "unit": "120201", "first": 50 })).await;
    assert_eq!(page["totalCount"], 4);
    let page = list(&app, None, json!({ "cat": "SOLID_WASTE", "first": 50 })).await;
    assert_eq!(page["totalCount"], 3);
    assert!(
        page["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["node"]["category"]["code"] == "SOLID_WASTE")
    );
    let page = list(&app, None, json!({ "unit": "1201", "cat": "SOLID_WASTE" })).await;
    assert_eq!(page["totalCount"], 2, "{page:#}");

    // Two LOCAL_ROADS comments of 120101 get an answer.
    let answered: Vec<String> = created
        .iter()
        .filter(|(_, commune, category)| *commune == "120101" && *category == "LOCAL_ROADS")
        .map(|(id, ..)| id.clone())
        .take(2)
        .collect();
    for id in &answered {
        respond(&app, &official, id).await;
    }
    let page = list(&app, None, json!({ "status": "RESPONDED" })).await;
    let mut responded = ids(&page);
    responded.reverse();
    assert_eq!(responded, answered, "{page:#}");
    let page = list(&app, None, json!({ "status": "ROUTED", "first": 50 })).await;
    assert_eq!(page["totalCount"], 10);

    // A cursor stays where it was while new comments arrive.
    let first_page = list(&app, None, json!({ "first": 5 })).await;
    assert_eq!(ids(&first_page), expected[..5]);
    for _ in 0..3 {
        flow.approved("LOCAL_ROADS", "120109", true).await;
    }
    let cursor = first_page["pageInfo"]["endCursor"].clone();
    let second = list(&app, None, json!({ "first": 5, "after": cursor })).await;
    assert_eq!(ids(&second), expected[5..10], "{second:#}");
    assert_eq!(second["totalCount"], 15);
    assert_eq!(second["pageInfo"]["hasNextPage"], true);
    let newest = list(&app, None, json!({ "first": 5 })).await;
    assert_eq!(ids(&newest)[3..], expected[..2], "the three new ones come first");

    // A cursor this API did not make; a negative page size.
    let bad_cursors = ["not-a-cursor", "MTIz", ""].map(|bad| (json!({ "first": 5, "after": bad }), "after"));
    for (vars, field) in bad_cursors.into_iter().chain([(json!({ "first": -1 }), "first")]) {
        let response = app.graphql(None, LIST, vars).await;
        let error = first_error(&response);
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{response:#}");
        assert_eq!(error["extensions"]["field"], field, "{response:#}");
    }
}
both_backends!(
    listing_pages_filters_and_visibility,
    listing_pages_filters_and_visibility
);

const HEAVY_LIST: &str = "query($first: Int) { comments(first: $first) { totalCount edges { node {
  id body category { code nameKm } commune { code nameEn } assignedUnit { code }
  responses { body unit { code } } events { kind unit { code } } } } } }";
const HEAVY_INBOX: &str = "query($first: Int) { inbox(first: $first) { totalCount edges { node {
  id body category { code nameKm } commune { code nameEn } assignedUnit { code }
  responses { body unit { code } } events { kind unit { code } } } } } }";

/// SQL statements the server runs for one request (the fewest of three tries, so that
/// any background work of the server does not count), and the request's data.
async fn statements_of(app: &TestApp, token: Option<&str>, query: &str, first: usize) -> (u64, Value) {
    let mut fewest = u64::MAX;
    let mut data = Value::Null;
    for _ in 0..3 {
        let before = app.statements().await;
        data = app.ok(token, query, json!({ "first": first })).await;
        fewest = fewest.min(app.statements().await - before);
    }
    (fewest, data)
}

fn check_page(connection: &Value, size: usize, official_unit: &str) {
    let edges = connection["edges"].as_array().unwrap();
    assert_eq!(edges.len(), size);
    assert_eq!(connection["totalCount"], 60);
    for edge in edges {
        let node = &edge["node"];
        assert_eq!(node["category"]["code"], "LOCAL_ROADS");
        assert!(!node["category"]["nameKm"].as_str().unwrap().is_empty());
        assert_eq!(node["commune"]["nameEn"], "Tonle Basak");
        assert_eq!(node["assignedUnit"]["code"], official_unit);
        assert_eq!(node["responses"].as_array().unwrap().len(), 1, "{node:#}");
        assert_eq!(node["responses"][0]["unit"]["code"], official_unit);
        let kinds: Vec<&str> = node["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["SUBMITTED", "APPROVED", "ROUTED", "RESPONDED"], "{node:#}");
    }
}

async fn a_page_costs_the_same_statements_whatever_its_size(app: TestApp) {
    let mut flow = Flow::new(&app).await;
    let official = app.staff("official", "commune120101", Some("120101")).await;
    for _ in 0..60 {
        let id = flow.approved("LOCAL_ROADS", "120101", true).await;
        respond(&app, &official, &id).await;
    }
    let mut counts = Vec::new();
    for (name, token, query) in [
        ("comments", None, HEAVY_LIST),
        ("inbox", Some(official.as_str()), HEAVY_INBOX),
    ] {
        let (small, data) = statements_of(&app, token, query, 5).await;
        check_page(&data[name], 5, "120101");
        let (large, data) = statements_of(&app, token, query, 50).await;
        check_page(&data[name], 50, "120101");
        counts.push((name, small, large));
    }
    for (name, small, large) in counts.iter().copied() {
        let context = format!("statements for pages of 5 and 50 (comments, inbox): {counts:?}");
        assert_eq!(small, large, "{name}: {context}");
        assert!(large <= 10, "{name}: {context}");
    }
}
both_backends!(
    a_page_costs_the_same_statements_whatever_its_size,
    a_page_costs_the_same_statements_whatever_its_size
);

async fn the_inbox_holds_what_is_assigned_to_the_unit(app: TestApp) {
    let mut flow = Flow::new(&app).await;
    let commune = app.staff("official", "commune120101", Some("120101")).await;
    let neighbour = app.staff("official", "commune120109", Some("120109")).await;
    let district = app.staff("official", "district1201", Some("1201")).await;
    let province = app.staff("official", "province12", Some("12")).await;

    let roads = flow.approved("LOCAL_ROADS", "120101", true).await;
    let private = flow.approved("LOCAL_ROADS", "120101", false).await;
    let elsewhere = flow.approved("LOCAL_ROADS", "120109", true).await;
    let waste = flow.approved("SOLID_WASTE", "120101", true).await;
    let health = flow.approved("HEALTH", "120101", true).await;
    flow.submit("LOCAL_ROADS", "120101", true).await; // pending: in nobody's inbox
    respond(&app, &commune, &roads).await;

    let inbox = |token: String, vars: Value| {
        let app = &app;
        async move { app.ok(Some(&token), INBOX, vars).await["inbox"].clone() }
    };
    for (token, unit, expected) in [
        (&commune, "120101", vec![&private, &roads]),
        (&neighbour, "120109", vec![&elsewhere]),
        (&district, "1201", vec![&waste]),
        (&province, "12", vec![&health]),
    ] {
        let page = inbox(token.clone(), json!({})).await;
        assert_eq!(
            ids(&page).iter().collect::<Vec<_>>(),
            expected,
            "inbox of {unit}: {page:#}"
        );
        assert_eq!(page["totalCount"], expected.len());
        assert!(
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["node"]["assignedUnit"]["code"] == unit)
        );
        let overdue = inbox(token.clone(), json!({ "overdue": true })).await;
        assert_eq!(overdue["totalCount"], 0, "fresh comments are not overdue: {overdue:#}");
        assert!(overdue["edges"].as_array().unwrap().is_empty());
    }
    let routed = inbox(commune.clone(), json!({ "status": "ROUTED" })).await;
    assert_eq!(ids(&routed), [private.as_str()]);
    let answered = inbox(commune.clone(), json!({ "status": "RESPONDED" })).await;
    assert_eq!(ids(&answered), [roads.as_str()]);
    let paged = inbox(commune.clone(), json!({ "first": 1 })).await;
    assert_eq!(ids(&paged), [private.as_str()]);
    assert_eq!(paged["pageInfo"]["hasNextPage"], true);
    let next = json!({ "first": 1, "after": paged["pageInfo"]["endCursor"] });
    let rest = inbox(commune.clone(), next).await;
    assert_eq!(ids(&rest), [roads.as_str()]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    // Only officials have an inbox.
    assert_eq!(app.error_code(None, INBOX, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.error_code(Some(&flow.citizen), INBOX, json!({})).await, "FORBIDDEN");
    assert_eq!(
        app.error_code(Some(&flow.moderator), INBOX, json!({})).await,
        "FORBIDDEN"
    );
}
both_backends!(
    the_inbox_holds_what_is_assigned_to_the_unit,
    the_inbox_holds_what_is_assigned_to_the_unit
);
