//! The public pages through the real binary: Khmer by default, English by a switch that
//! keeps the page, no script and nothing from another host, revalidated and light.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Backend, TestApp};

async fn page(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, String) {
    let (status, headers, body) = app.get_with(path, headers).await;
    (status, headers, String::from_utf8(body).expect("UTF-8"))
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// Nothing a page loads or runs comes from elsewhere: no script at all, and every `src`
/// and stylesheet `href` is this server's.
fn assert_self_contained(html: &str) {
    assert!(!html.contains("<script"), "no JavaScript needed to read anything");
    for attribute in ["src=\"", "<link rel=\"stylesheet\" href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            assert!(
                value.starts_with('/') && !value.starts_with("//"),
                "{attribute}{}",
                &value[..40.min(value.len())]
            );
        }
    }
}

#[tokio::test]
async fn the_methodology_page_speaks_khmer_then_english_and_names_its_sources() {
    let env = [("MATI_MIN_GROUP_SIZE", "7")];
    let Some(app) = TestApp::start_with(Backend::Sqlite, &env).await else {
        return;
    };
    let (status, headers, khmer) = page(&app, "/methodology", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert!(header(&headers, "content-security-policy").starts_with("default-src 'self'"));
    assert!(
        khmer.starts_with("<!doctype html>\n<html lang=\"km\">"),
        "{}",
        &khmer[..80]
    );
    assert!(khmer.contains("<h1>វិធីសាស្ត្រ និងប្រភពទិន្នន័យ</h1>"));
    assert!(
        khmer.contains("តិចជាង ៧ ត្រូវបានលាក់"),
        "the configured minimum, in Khmer digits"
    );
    assert!(
        khmer.contains("<a href=\"?lang=en\" hreflang=\"en\" lang=\"en\">English</a>"),
        "the switch keeps the page"
    );
    assert!(
        khmer.contains("Ministry of Economy and Finance"),
        "the gazetteer's attribution"
    );
    assert_self_contained(&khmer);

    let (status, _, english) = page(&app, "/methodology?lang=en", &[]).await;
    assert_eq!(status, 200);
    assert!(english.contains("<html lang=\"en\">"));
    assert!(english.contains("<h1>Methodology and data sources</h1>"));
    assert!(english.contains("fewer than 7 comments is suppressed"));
    assert!(english.contains("by default 15 days after routing"));
    assert!(english.contains("fewer than 10 comments in the period are listed but not ranked"));
    assert!(english.contains("<a href=\"?lang=km\" hreflang=\"km\" lang=\"km\">ភាសាខ្មែរ</a>"));
    assert!(english.contains("pumi"));
    assert_self_contained(&english);

    // Revalidated, and light on the wire.
    let (_, headers, _) = page(&app, "/methodology?lang=en", &[]).await;
    let etag = header(&headers, "etag").to_owned();
    assert!(header(&headers, "cache-control").contains("max-age="));
    let (status, _, body) = page(&app, "/methodology?lang=en", &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.as_str()), (304, ""));
    let (_, headers, _) = page(&app, "/methodology", &[("if-none-match", &etag)]).await;
    assert_ne!(header(&headers, "etag"), etag, "each language its own version");
    let packed = app
        .client
        .get(format!("{}/methodology", app.base))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(header(packed.headers(), "content-encoding"), "br");
    let size = packed.bytes().await.unwrap().len();
    assert!(size < 60 * 1024, "{size} bytes compressed");

    let (status, headers, css) = page(&app, "/assets/mati.css", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "text/css; charset=utf-8");
    assert!(css.contains("Khmer"), "the phone's own Khmer font");
}

const PHONE: &str = "012 345 678";
const BY_CODE: &str = "query($code: String!) { commentByTrackingCode(trackingCode: $code) { status } }";

#[tokio::test]
async fn a_tracking_page_follows_a_comment_and_keeps_a_private_text_private() {
    let env = [("MATI_RATE_LIMIT_TRACK_PER_ADDRESS", "12/60s")];
    let Some(app) = TestApp::start_with(Backend::Sqlite, &env).await else {
        return;
    };
    let moderator = app.staff("moderator", "pages.moderator", None).await;
    let official = app.staff("official", "pages.official", Some("120101")).await;
    let public_body = format!("ប្រឡាយទឹកស្ទះនៅជិតផ្សារ ទូរស័ព្ទ {PHONE}");
    let public = app
        .ready(
            &moderator,
            &mati_tests::Submission::new("120101", "LOCAL_ROADS", public_body),
        )
        .await;
    let code = public["trackingCode"].as_str().unwrap().to_owned();
    app.respond(&official, &public["id"], "យើងនឹងសម្អាតប្រឡាយនៅសប្តាហ៍នេះ").await;

    let (status, headers, khmer) = page(&app, &format!("/track/{code}"), &[]).await;
    assert_eq!(status, 200);
    assert!(khmer.contains("<html lang=\"km\">"));
    assert!(khmer.contains("បានឆ្លើយតប"), "its status");
    assert!(khmer.contains("យើងនឹងសម្អាតប្រឡាយនៅសប្តាហ៍នេះ"), "the public response");
    assert!(khmer.contains("ទន្លេបាសាក់"), "the commune, in Khmer");
    assert!(khmer.contains("ប្រឡាយទឹកស្ទះនៅជិតផ្សារ"), "a public text is shown");
    assert!(!khmer.contains(PHONE), "redacted as everywhere the public reads");
    assert!(khmer.contains("អ្នកសម្របសម្រួលបានអនុម័ត"), "the timeline");
    assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
    assert_eq!(header(&headers, "x-robots-tag"), "noindex");
    assert!(header(&headers, "cache-control").starts_with("private"));
    assert_self_contained(&khmer);
    // The short form for an SMS, in English.
    let (status, _, english) = page(&app, &format!("/t/{code}?lang=en"), &[]).await;
    assert_eq!(status, 200);
    assert!(english.contains("<html lang=\"en\">"));
    assert!(english.contains("Answered"));
    assert!(english.contains("Tonle Basak"));
    assert!(english.contains("<a href=\"?lang=km\""));

    // A private comment: its status and answers, never its text.
    let secret = "ខ្ញុំមានបញ្ហាផ្ទាល់ខ្លួនជាមួយមេភូមិ";
    let private = app
        .ready(
            &moderator,
            &mati_tests::Submission::new("120101", "OFFICIAL_CONDUCT", secret).public(false),
        )
        .await;
    let private_code = private["trackingCode"].as_str().unwrap();
    let (status, _, shown) = page(&app, &format!("/track/{private_code}?lang=en"), &[]).await;
    assert_eq!(status, 200);
    assert!(!shown.contains(secret), "a private comment's text is not shown");
    assert!(shown.contains("This comment is private"));
    // A pending one: not yet.
    let citizen = app.citizen().await;
    let pending = app
        .submit(
            &citizen,
            &mati_tests::Submission::new("120101", "LOCAL_ROADS", "ផ្លូវនៅភូមិខូចខាតខ្លាំងណាស់"),
        )
        .await;
    let pending_code = pending["trackingCode"].as_str().unwrap();
    let (_, _, waiting) = page(&app, &format!("/track/{pending_code}?lang=en"), &[]).await;
    assert!(waiting.contains("Waiting for a moderator"));
    assert!(!waiting.contains("ផ្លូវនៅភូមិខូចខាតខ្លាំងណាស់"));

    for unknown in ["/track/ZZZZZZZZ", "/track/not-a-code", "/t/ABC"] {
        let (status, _, body) = page(&app, unknown, &[]).await;
        assert_eq!(status, 404, "{unknown}");
        assert!(
            body.contains("<html lang=\"km\">") && body.contains("រកមិនឃើញ"),
            "{unknown}"
        );
    }
    // The page and GraphQL share the tracking-code limit: 12 a minute per address, of
    // which 7 pages and this question spend 8.
    app.ok(None, BY_CODE, serde_json::json!({ "code": code })).await;
    for _ in 0..4 {
        assert_eq!(page(&app, &format!("/track/{code}"), &[]).await.0, 200);
    }
    let (status, headers, body) = page(&app, &format!("/track/{code}?lang=en"), &[]).await;
    assert_eq!(status, 429, "{body}");
    assert!(!header(&headers, "retry-after").is_empty());
    assert!(body.contains("Too many requests"));
}

#[tokio::test]
async fn the_overview_drills_down_from_the_country_to_a_commune() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let moderator = app.staff("moderator", "overview.moderator", None).await;
    let official = app.staff("official", "overview.official", Some("120101")).await;
    for n in 0..3 {
        let submission =
            mati_tests::Submission::new("120101", "LOCAL_ROADS", format!("ផ្លូវខូចខាតធ្ងន់ធ្ងរ លេខ {n}")).gender("FEMALE");
        let comment = app.ready(&moderator, &submission).await;
        if n < 2 {
            app.respond(&official, &comment["id"], "យើងនឹងជួសជុលឆាប់ៗ").await;
        }
    }

    let (status, headers, khmer) = page(&app, "/", &[]).await;
    assert_eq!(status, 200, "{khmer}");
    assert!(khmer.contains("<html lang=\"km\">"));
    assert!(khmer.contains("<h1>កម្ពុជា</h1>"));
    assert!(khmer.contains("<dt>បានទទួល</dt><dd>៣</dd>"), "received, in Khmer digits");
    assert!(khmer.contains("<dt>អត្រាឆ្លើយតប</dt><dd>៦៧%</dd>"));
    assert!(
        khmer.contains("href=\"/units/12?lang=km&#38;from="),
        "the provinces lead down"
    );
    assert!(khmer.contains("<svg role=\"img\""), "the months as a chart");
    assert!(khmer.contains("class=\"axis\">៣</text>"), "its scale, in Khmer digits");
    assert!(khmer.contains("/exports/stats.csv?from="));
    assert!(header(&headers, "cache-control").starts_with("public"));
    assert_self_contained(&khmer);

    let (status, _, province) = page(&app, "/units/12?lang=en", &[]).await;
    assert_eq!(status, 200);
    assert!(province.contains("<h1>Phnom Penh</h1>"));
    assert!(province.contains(">Chamkar Mon</a>"));
    assert!(province.contains("/exports/comments.csv?unitCode=12&#38;from="));
    let (_, _, district) = page(&app, "/units/1201?lang=en", &[]).await;
    assert!(district.contains(">Tonle Basak</a>"));
    assert!(
        district.contains("<title>Tonle Basak: n=3, 67%</title>"),
        "the commune on the map"
    );
    assert!(district.contains("class=\"rate-mid\""), "coloured by its response rate");
    assert!(
        district.contains("<td>—</td><th scope=\"row\"><a href=\"/units/120101"),
        "3 comments: not ranked"
    );
    let (status, _, commune) = page(&app, "/units/120101?lang=en", &[]).await;
    assert_eq!(status, 200);
    assert!(commune.contains("<h1>Tonle Basak</h1>"));
    assert!(commune.contains(">Chamkar Mon</a> › "), "the way back up");
    assert!(
        !commune.contains("By response rate"),
        "a commune has no child administrations"
    );
    // Three women's comments are fewer than five: suppressed, never a small count.
    assert!(commune.contains("<tr><th scope=\"row\">Female</th><td>—</td><td>—</td></tr>"));

    for (path, expected) in [
        ("/units/99", 404),
        ("/units/12010101", 404),
        ("/units/1201?from=2026-13-01", 400),
        ("/?from=2026-06-01&to=2026-01-01", 400),
    ] {
        let (status, _, body) = page(&app, path, &[]).await;
        assert_eq!(status, expected, "{path}");
        assert!(body.contains("<html lang=\"km\">"), "{path}");
    }
    let (status, _, old) = page(&app, "/?lang=en&from=2020-01-01&to=2020-12-31", &[]).await;
    assert_eq!(status, 200);
    assert!(
        old.contains("<dt>Received</dt><dd>0</dd>"),
        "another period, other figures"
    );

    assert!(khmer.matches("<circle").count() > 1000, "every commune with a centre");
    let packed = app
        .client
        .get(format!("{}/", app.base))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    let size = packed.bytes().await.unwrap().len();
    assert!(size < 60 * 1024, "the country: {size} bytes compressed");
    let packed = app
        .client
        .get(format!("{}/units/12", app.base))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    let size = packed.bytes().await.unwrap().len();
    assert!(size < 60 * 1024, "{size} bytes compressed");
}
