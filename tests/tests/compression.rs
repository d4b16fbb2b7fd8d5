//! What a phone on 2G pays for: every answer compressed (brotli or gzip) when the client
//! accepts it, and reference data asked for by GET answered with an ETag, then 304
//! while it has not changed, so the commune list is downloaded once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::io::Read;

use mati_tests::{Backend, TestApp};
use serde_json::{Value, json};

const COMMUNES: &str = "{ adminUnits(level: COMMUNE) { code nameKm nameEn } }";

fn decode(encoding: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "br" => {
            brotli_decompressor::Decompressor::new(bytes, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        "gzip" => {
            flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
        }
        other => panic!("unexpected encoding {other}"),
    }
    out
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn compressed_answers_say_the_same_in_fewer_bytes(app: TestApp) {
    let path = format!("/graphql?query={}", urlencode(COMMUNES));
    let (status, headers, plain) = app.get_with(&path, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-encoding"),
        None,
        "nothing asked, nothing compressed"
    );
    let listed: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(listed["data"]["adminUnits"].as_array().unwrap().len(), 1661);
    for encoding in ["br", "gzip"] {
        let (status, headers, packed) = app.get_with(&path, &[("accept-encoding", encoding)]).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "content-encoding"), Some(encoding));
        assert!(
            header(&headers, "vary")
                .unwrap_or_default()
                .to_ascii_lowercase()
                .contains("accept-encoding")
        );
        assert_eq!(decode(encoding, &packed), plain, "{encoding}: the same answer");
        assert!(
            packed.len() * 4 < plain.len(),
            "{encoding}: {} bytes for {} uncompressed",
            packed.len(),
            plain.len()
        );
    }
    // POSTed operations, Open311 and the exports too.
    let posted = app
        .client
        .post(format!("{}/graphql", app.base))
        .header("accept-encoding", "gzip")
        .json(&json!({ "query": COMMUNES }))
        .send()
        .await
        .unwrap();
    assert_eq!(header(posted.headers(), "content-encoding"), Some("gzip"));
    let (_, headers, packed) = app
        .get_with("/open311/v2/services.xml", &[("accept-encoding", "br, gzip")])
        .await;
    assert_eq!(
        header(&headers, "content-encoding"),
        Some("br"),
        "brotli preferred when both are taken"
    );
    assert!(String::from_utf8(decode("br", &packed)).unwrap().starts_with("<?xml"));
}

async fn reference_data_is_downloaded_once(app: TestApp) {
    let path = format!("/graphql?query={}", urlencode(COMMUNES));
    let (status, headers, first) = app.get_with(&path, &[]).await;
    assert_eq!(status, 200);
    let etag = header(&headers, "etag").expect("an ETag").to_owned();
    assert_eq!(header(&headers, "cache-control"), Some("no-cache"));
    let (status, headers, body) = app.get_with(&path, &[("if-none-match", &etag)]).await;
    assert_eq!(status, 304, "unchanged: not sent again");
    assert!(body.is_empty());
    assert_eq!(header(&headers, "etag"), Some(etag.as_str()));
    let (status, _, again) = app.get_with(&path, &[("if-none-match", "\"something-else\"")]).await;
    assert_eq!((status, again), (200, first), "another version: the whole answer");
    // Another question, another tag; a signed-in caller's answers stay private.
    let categories = format!("/graphql?query={}", urlencode("{ categories { code nameKm } }"));
    let (_, headers, _) = app.get_with(&categories, &[]).await;
    assert_ne!(header(&headers, "etag"), Some(etag.as_str()));
    let citizen = app.citizen().await;
    let bearer = format!("Bearer {citizen}");
    let (status, headers, _) = app.get_with(&categories, &[("authorization", &bearer)]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "cache-control"), Some("private, no-cache"));
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn compressed_answers_say_the_same_in_fewer_bytes_on_sqlite() {
    if let Some(app) = TestApp::start(Backend::Sqlite).await {
        compressed_answers_say_the_same_in_fewer_bytes(app).await;
    }
}

#[tokio::test]
async fn reference_data_is_downloaded_once_on_sqlite() {
    if let Some(app) = TestApp::start(Backend::Sqlite).await {
        reference_data_is_downloaded_once(app).await;
    }
}

#[tokio::test]
async fn reference_data_is_downloaded_once_on_postgres() {
    if let Some(app) = TestApp::start(Backend::Postgres).await {
        reference_data_is_downloaded_once(app).await;
    }
}
