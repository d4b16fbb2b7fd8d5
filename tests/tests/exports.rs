//! The public CSV export through HTTP: only public, published comments, redacted and
//! without personal data; the filters of the listing plus a period; Khmer that
//! spreadsheets read; refused parameters; and thousands of rows streamed in chunks.
//! Runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, stream};
use mati_tests::{Backend, Submission, TestApp};
use serde_json::{Value, json};

const HEADER: &str = "tracking_code,created_at,routed_at,status,category_code,category_en,commune_code,\
commune_en,commune_km,district_code,province_code,assigned_unit_code,due_at,first_response_at,\
resolved_at,is_overdue,support_count,response_count,body";
/// Thousands of submissions from one session and one address.
const LIMITS: [(&str, &str); 2] = [
    ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", "100000/60s"),
    ("MATI_RATE_LIMIT_SUBMIT_PER_ADDRESS", "100000/60s"),
];

/// `both_backends!` with the limits raised.
macro_rules! on_both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = TestApp::start_with(Backend::Sqlite, &LIMITS).await {
                    $body(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = TestApp::start_with(Backend::Postgres, &LIMITS).await {
                    $body(app).await;
                }
            }
        }
    };
}

/// A citizen who writes and a moderator who decides.
struct Seed<'a> {
    app: &'a TestApp,
    citizen: String,
    moderator: String,
}

impl<'a> Seed<'a> {
    async fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            citizen: app.citizen().await,
            moderator: app.staff("moderator", "moderator1", None).await,
        }
    }

    /// A pending comment (with its `id`, `trackingCode` and `createdAt`).
    async fn submit(&self, body: &str, category: &str, commune: &str, public: bool) -> Value {
        let comment = Submission::new(commune, category, body).public(public);
        self.app.submit(&self.citizen, &comment).await
    }

    async fn decide(&self, comment: &Value, decision: &str) -> String {
        let vars = json!({ "id": comment["id"], "decision": decision, "reason": "SPAM" });
        let decided = self.app.moderate(&self.moderator, vars).await;
        decided["status"].as_str().unwrap().to_owned()
    }

    /// An approved comment.
    async fn approved(&self, body: &str, category: &str, commune: &str, public: bool) -> Value {
        let comment = self.submit(body, category, commune, public).await;
        assert_eq!(self.decide(&comment, "APPROVE").await, "ROUTED");
        comment
    }
}

fn code(comment: &Value) -> String {
    comment["trackingCode"].as_str().unwrap().to_owned()
}

async fn get(app: &TestApp, params: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .get(format!("{}/exports/comments.csv", app.base))
        .query(params)
        .send()
        .await
        .unwrap()
}

/// A downloaded export: its text and how many body chunks it came in.
struct Download {
    text: String,
    chunks: usize,
}

impl Download {
    /// The data rows, each a map from column to value.
    fn rows(&self) -> Vec<HashMap<String, String>> {
        let text = self.text.strip_prefix('\u{FEFF}').expect("a byte-order mark first");
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header.join(","), HEADER);
        reader
            .records()
            .map(|record| {
                header
                    .iter()
                    .cloned()
                    .zip(record.unwrap().iter().map(str::to_owned))
                    .collect()
            })
            .collect()
    }

    fn codes(&self) -> Vec<String> {
        self.rows().into_iter().map(|r| r["tracking_code"].clone()).collect()
    }
}

async fn download(app: &TestApp, params: &[(&str, &str)]) -> Download {
    let mut response = get(app, params).await;
    assert_eq!(response.status(), 200, "{params:?}\n{}", app.log());
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"mati-comments.csv\""
    );
    let (mut bytes, mut chunks) = (Vec::new(), 0);
    while let Some(chunk) = response.chunk().await.unwrap() {
        chunks += 1;
        bytes.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(bytes).expect("UTF-8");
    Download { text, chunks }
}

fn set(codes: &[String]) -> HashSet<String> {
    codes.iter().cloned().collect()
}

/// Refused with 400 BAD_USER_INPUT naming `field`.
async fn assert_refused(app: &TestApp, params: &[(&str, &str)], field: &str) {
    let response = get(app, params).await;
    assert_eq!(response.status(), 400, "{params:?}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body:#}");
    assert_eq!(error["extensions"]["field"], field, "{body:#}");
    assert!(error["message"].as_str().unwrap().contains(field), "{body:#}");
}

async fn only_public_published_comments_are_exported_redacted(app: TestApp) {
    let seed = Seed::new(&app).await;
    let official = app.staff("official", "commune120101", Some("120101")).await;
    let phone = seed
        .approved(
            "Please fix the road, call 012 345 678 any time",
            "LOCAL_ROADS",
            "120101",
            true,
        )
        .await;
    assert_eq!(
        app.respond(&official, &phone["id"], "A team comes on Monday.").await["status"],
        "RESPONDED"
    );
    let khmer_body = "ផ្លូវទៅសាលារៀនជន់លិចរាល់រដូវវស្សា។ \"ស្ពាន\" ខូច";
    let khmer = seed.approved(khmer_body, "SOLID_WASTE", "120201", true).await;
    let pending = seed
        .submit("A pending comment about the market", "LOCAL_ROADS", "120101", true)
        .await;
    let rejected = seed
        .submit("A rejected comment about the market", "LOCAL_ROADS", "120101", true)
        .await;
    assert_eq!(seed.decide(&rejected, "REJECT").await, "REJECTED");
    let private = seed
        .approved("A private comment about the market", "LOCAL_ROADS", "120101", false)
        .await;

    let csv = download(&app, &[]).await;
    assert!(csv.text.starts_with(&format!("\u{FEFF}{HEADER}\r\n")), "{}", csv.text);
    assert!(
        !csv.text.replace("\r\n", "").contains('\n'),
        "every line ends with CRLF"
    );
    assert_eq!(set(&csv.codes()), set(&[code(&phone), code(&khmer)]));
    for absent in [&pending, &rejected, &private] {
        assert!(!csv.text.contains(&code(absent)));
    }
    assert!(!csv.text.contains("345"), "no phone number leaks: {}", csv.text);

    let rows = csv.rows();
    let row = |c: &Value| rows.iter().find(|r| r["tracking_code"] == code(c)).unwrap().clone();
    let answered = row(&phone);
    assert_eq!(answered["body"], "Please fix the road, call […] any time");
    assert_eq!(answered["status"], "RESPONDED");
    assert_eq!(answered["response_count"], "1");
    assert_eq!(answered["category_code"], "LOCAL_ROADS");
    assert_eq!(answered["category_en"], "Local roads and drainage");
    assert_eq!(answered["commune_code"], "120101");
    assert_eq!(answered["district_code"], "1201");
    assert_eq!(answered["province_code"], "12");
    assert_eq!(answered["assigned_unit_code"], "120101");
    assert_eq!(answered["is_overdue"], "false");
    assert_eq!(answered["support_count"], "0");
    assert_eq!(answered["resolved_at"], "");
    assert!(!answered["commune_en"].is_empty());
    assert!(
        answered["commune_km"]
            .chars()
            .any(|c| ('\u{1780}'..='\u{17FF}').contains(&c))
    );
    for column in ["created_at", "routed_at", "due_at", "first_response_at"] {
        let at = &answered[column];
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{column}: {at}");
    }
    let routed = row(&khmer);
    assert_eq!(routed["body"], khmer_body);
    assert_eq!(routed["assigned_unit_code"], "1202");
    assert_eq!(routed["response_count"], "0");
    assert_eq!(routed["first_response_at"], "");
}

on_both_backends!(
    only_public_published_comments_are_exported_redacted,
    only_public_published_comments_are_exported_redacted
);

/// URL parameters of an export.
type Params<'a> = Vec<(&'a str, &'a str)>;

async fn the_filters_of_the_listing_and_a_period_select_rows(app: TestApp) {
    let seed = Seed::new(&app).await;
    let official = app.staff("official", "commune120201", Some("120201")).await;
    let a = seed
        .approved("The road near the pagoda floods", "LOCAL_ROADS", "120101", true)
        .await;
    let b = seed
        .approved("Nobody collects the waste here", "SOLID_WASTE", "120109", true)
        .await;
    let c = seed
        .approved("The drain by the school is blocked", "LOCAL_ROADS", "120201", true)
        .await;
    app.respond(&official, &c["id"], "Cleared today.").await;
    let at = |c: &Value| c["createdAt"].as_str().unwrap().to_owned();
    let (a_at, b_at, c_at) = (at(&a), at(&b), at(&c));

    let cases: Vec<(Params, Vec<&Value>)> = vec![
        (vec![], vec![&c, &b, &a]),
        (vec![("unitCode", "1201")], vec![&b, &a]),
        (vec![("unitCode", "120201")], vec![&c]),
        (vec![("categoryCode", "SOLID_WASTE")], vec![&b]),
        (vec![("status", "RESPONDED")], vec![&c]),
        (vec![("status", "ROUTED"), ("unitCode", "12")], vec![&b, &a]),
        (vec![("status", "PENDING")], vec![]),
        (vec![("from", &b_at)], vec![&c, &b]),
        (vec![("to", &b_at)], vec![&a]),
        (vec![("from", &a_at), ("to", &c_at)], vec![&b, &a]),
    ];
    for (params, expected) in cases {
        let codes = download(&app, &params).await.codes();
        let expected: Vec<String> = expected.into_iter().map(code).collect();
        assert_eq!(codes, expected, "newest first, for {params:?}");
    }

    assert_refused(&app, &[("status", "NOPE")], "status").await;
    assert_refused(&app, &[("from", "yesterday")], "from").await;
    assert_refused(&app, &[("to", "2026-13-01T00:00:00Z")], "to").await;
    assert_refused(&app, &[("from", &c_at), ("to", &a_at)], "to").await;
    assert_refused(&app, &[("unitCode", "99")], "unitCode").await;
    assert_refused(&app, &[("unitCode", "12x")], "unitCode").await;
    assert_refused(&app, &[("categoryCode", "NOPE")], "categoryCode").await;
    assert_refused(&app, &[("unit_code", "12")], "unit_code").await;
}

on_both_backends!(
    the_filters_of_the_listing_and_a_period_select_rows,
    the_filters_of_the_listing_and_a_period_select_rows
);

const MANY: usize = 2_500;

async fn thousands_of_comments_stream_in_chunks_each_exactly_once(app: TestApp) {
    let seed = Seed::new(&app).await;
    let communes = ["120101", "120109", "120201", "170201"];
    let seeded: Vec<String> = stream::iter(0..MANY)
        .map(|i| {
            let seed = &seed;
            async move {
                let body = format!("Drainage report {i} from the market, please help");
                let comment = seed
                    .approved(&body, "LOCAL_ROADS", communes[i % communes.len()], true)
                    .await;
                code(&comment)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(set(&seeded).len(), MANY);

    let csv = download(&app, &[]).await;
    let codes = csv.codes();
    assert_eq!(codes.len(), MANY, "one row per comment");
    assert_eq!(set(&codes), set(&seeded), "every comment exactly once");
    assert!(csv.chunks > 1, "streamed in pages, got {} chunk(s)", csv.chunks);
}

on_both_backends!(
    thousands_of_comments_stream_in_chunks_each_exactly_once,
    thousands_of_comments_stream_in_chunks_each_exactly_once
);
