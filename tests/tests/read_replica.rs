//! The read replica (`MATI_DATABASE_READ_URL`) against a real streaming standby of the
//! tests' PostgreSQL. A comment approved while the standby's replay is paused is on the
//! primary only, so whether an answer counts it tells which database gave it:
//! statistics, exports and public listings come from the standby while it keeps up; a
//! citizen's own reads never do; once it is further behind than allowed, or stopped,
//! the primary answers every request (and `/readyz` says so, still 200); restarted, the
//! standby serves again.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::time::Duration;

use mati_tests::{Backend, NOBODY, Standby, Submission, TestApp, TestDb};
use serde_json::{Value, json};

const COMMUNE: &str = "120101";
const DISTRICT: &str = "1201";
const CATEGORY: &str = "LOCAL_ROADS";

/// Statistics are asked for again and again while waiting for a state.
const LIMITS: (&str, &str) = ("MATI_RATE_LIMIT_STATS_PER_ADDRESS", "100000/60s");

/// What anybody reads of the district through every route that may come from the
/// replica: the comments counted, and listed by tracking code.
#[derive(Debug, PartialEq, Eq)]
struct PublicView {
    /// `responseStats`.
    received: u64,
    /// `responseStatsByChild`, summed.
    by_child: u64,
    /// `responseRanking`, summed.
    ranked: u64,
    /// `/exports/stats.csv`, the district's own row.
    stats_csv: u64,
    /// `comments(unitCode:)`.
    listed: Vec<String>,
    /// Its `totalCount`.
    total_count: u64,
    /// `/exports/comments.csv`.
    exported: Vec<String>,
}

impl PublicView {
    /// The view of exactly these comments.
    fn of(comments: &[&Value]) -> Self {
        let n = comments.len() as u64;
        let mut codes: Vec<String> = comments.iter().map(|c| code(c)).collect();
        codes.sort();
        Self {
            received: n,
            by_child: n,
            ranked: n,
            stats_csv: n,
            listed: codes.clone(),
            total_count: n,
            exported: codes,
        }
    }
}

const PUBLIC: &str = "query($unit: ID!) {
  responseStats(unitCode: $unit) { received }
  responseStatsByChild(unitCode: $unit) { received }
  responseRanking(level: DISTRICT) { received }
  comments(unitCode: $unit, first: 50) { totalCount edges { node { trackingCode } } }
}";

fn code(comment: &Value) -> String {
    comment["trackingCode"].as_str().unwrap().to_owned()
}

fn sum(rows: &Value) -> u64 {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["received"].as_u64().unwrap())
        .sum()
}

/// A CSV export: its rows by column name.
fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{FEFF}').as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .map(str::to_owned)
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

async fn public_view(app: &TestApp) -> PublicView {
    let data = app.call(NOBODY, PUBLIC, json!({ "unit": DISTRICT })).await;
    let mut listed: Vec<String> = data["comments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["trackingCode"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    let stats = app.get(&format!("/exports/stats.csv?unitCode={DISTRICT}")).await;
    assert_eq!(stats.status(), 200, "{}", app.log());
    let stats_csv = csv_rows(&stats.text().await.unwrap())
        .iter()
        .filter(|row| row["unit_code"] == DISTRICT && row["gender"].is_empty())
        .map(|row| row["received"].parse::<u64>().unwrap())
        .sum();
    let comments = app.get(&format!("/exports/comments.csv?unitCode={DISTRICT}")).await;
    assert_eq!(comments.status(), 200, "{}", app.log());
    let mut exported: Vec<String> = csv_rows(&comments.text().await.unwrap())
        .iter()
        .map(|row| row["tracking_code"].clone())
        .collect();
    exported.sort();
    PublicView {
        received: data["responseStats"]["received"].as_u64().unwrap(),
        by_child: sum(&data["responseStatsByChild"]),
        ranked: sum(&data["responseRanking"]),
        stats_csv,
        listed,
        total_count: data["comments"]["totalCount"].as_u64().unwrap(),
        exported,
    }
}

/// What a citizen and a moderator read of comments they wrote or decided: every one,
/// with its status at once.
async fn own_view(app: &TestApp, citizen: &str, moderator: &str, comment: &Value) -> Vec<String> {
    let data = app
        .call(
            citizen,
            "query($code: String!, $id: ID!) {
               myComments(first: 50) { edges { node { trackingCode status } } }
               commentByTrackingCode(trackingCode: $code) { status }
               comment(id: $id) { status }
             }",
            json!({ "code": comment["trackingCode"], "id": comment["id"] }),
        )
        .await;
    let staff = app
        .call(
            moderator,
            "query($unit: ID!) { comments(unitCode: $unit, first: 50) { totalCount edges { node { trackingCode } } } }",
            json!({ "unit": DISTRICT }),
        )
        .await;
    let mut seen: Vec<String> = data["myComments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["node"]["trackingCode"].as_str().unwrap(),
                e["node"]["status"]
            )
        })
        .collect();
    seen.push(format!("tracked {}", data["commentByTrackingCode"]["status"]));
    seen.push(format!("by id {}", data["comment"]["status"]));
    seen.push(format!("moderator lists {}", staff["comments"]["totalCount"]));
    seen.sort();
    seen
}

/// The read replica's state in `/readyz`, which stays 200 whatever it is.
async fn replica_state(app: &TestApp) -> String {
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200, "the primary serves: ready");
    let body: Value = ready.json().await.unwrap();
    let state = body["read_replica"].as_str().unwrap().to_owned();
    let status = if state == "ok" { "ok" } else { "degraded" };
    assert_eq!(body["status"], status, "{body}");
    state
}

async fn wait_for_state(app: &TestApp, state: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = replica_state(app).await;
        if now == state {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the read replica stays {now}, not {state}:\n{}",
            app.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count(log: &str, message: &str) -> usize {
    log.lines().filter(|line| line.contains(message)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_reads_come_from_the_standby_while_it_keeps_up_and_from_the_primary_otherwise() {
    // The test's database exists before the base backup, and everything written later
    // streams to the standby.
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let Some(mut standby) = Standby::start().await else {
        return;
    };
    let read_url = standby.url_of(db.url());
    // A patient server, whose replica serves however far behind (an hour), and a strict
    // one on the same databases, whose replica may be a second behind.
    let patient = TestApp::start_on(
        db,
        &[
            ("MATI_DATABASE_READ_URL", read_url.as_str()),
            ("MATI_DATABASE_READ_MAX_LAG_SECS", "3600"),
            LIMITS,
        ],
    )
    .await;
    let strict = patient
        .replica(&[
            ("MATI_DATABASE_READ_URL", read_url.as_str()),
            ("MATI_DATABASE_READ_MAX_LAG_SECS", "1"),
            LIMITS,
        ])
        .await;
    wait_for_state(&patient, "ok").await;
    wait_for_state(&strict, "ok").await;
    // Its pool (half the primary's 16) is measured beside the primary's.
    let metrics = patient.get_text("/metrics").await;
    assert!(
        metrics.contains("mati_db_pool_max_connections{pool=\"read\"} 8")
            && metrics.contains("mati_read_replica_state{state=\"ok\"} 1"),
        "{metrics}"
    );

    let citizen = patient.citizen().await;
    let moderator = patient.staff("moderator", "moderator1", None).await;
    let approved = async |body: &str| {
        let comment = patient
            .submit(&citizen, &Submission::new(COMMUNE, CATEGORY, body))
            .await;
        patient.approve(&moderator, &comment["id"]).await;
        comment
    };
    let first = approved("The road to the market floods after every rain.").await;
    standby.catch_up().await;
    assert_eq!(public_view(&patient).await, PublicView::of(&[&first]));

    // (a) Replay paused: a comment approved now is on the primary only. Its author and
    // the moderator see it at once; the public, served by the replica, does not yet.
    standby.pause_replay().await;
    let second = approved("The street lights of the riverside are out since May.").await;
    let own = own_view(&patient, &citizen, &moderator, &second).await;
    let routed = |c: &Value| format!("{} \"ROUTED\"", code(c));
    let mut expected = vec![
        routed(&first),
        routed(&second),
        "tracked \"ROUTED\"".to_owned(),
        "by id \"ROUTED\"".to_owned(),
        "moderator lists 2".to_owned(),
    ];
    expected.sort();
    assert_eq!(own, expected, "a citizen's and a moderator's reads are the primary's");
    assert_eq!(
        public_view(&patient).await,
        PublicView::of(&[&first]),
        "statistics, exports and the public listing are the replica's"
    );

    // (b) Further behind than the strict server allows: it reads the primary.
    wait_for_state(&strict, "lagging").await;
    let both = PublicView::of(&[&first, &second]);
    assert_eq!(public_view(&strict).await, both, "a lagging replica serves nothing");
    assert_eq!(replica_state(&patient).await, "ok");
    assert_eq!(public_view(&patient).await, PublicView::of(&[&first]));

    // (c) The standby stops as a crash would, replay still paused: every public read
    // succeeds, from the primary, at once; the state changes once in the log.
    standby.crash().await;
    for _ in 0..3 {
        assert_eq!(
            public_view(&patient).await,
            both,
            "the primary answers for a stopped replica"
        );
    }
    wait_for_state(&patient, "unreachable").await;
    assert_eq!(public_view(&patient).await, both);
    assert_eq!(
        count(&patient.log(), "read replica unreachable"),
        1,
        "logged once, not per request:\n{}",
        patient.log()
    );
    wait_for_state(&strict, "unreachable").await;
    let metrics = strict.get_text("/metrics").await;
    assert!(
        metrics.contains("mati_read_replica_state{state=\"unreachable\"} 1")
            && metrics.contains("mati_read_replica_state{state=\"ok\"} 0"),
        "{metrics}"
    );

    // (d) Started again, it replays what it missed and serves again: a comment approved
    // while its replay is paused once more is missing from the public reads again.
    standby.resume().await;
    standby.catch_up().await;
    wait_for_state(&patient, "ok").await;
    wait_for_state(&strict, "ok").await;
    assert_eq!(public_view(&patient).await, both);
    standby.pause_replay().await;
    let third = approved("Rubbish is not collected on street 310 any more.").await;
    let own = own_view(&patient, &citizen, &moderator, &third).await;
    assert!(own.contains(&routed(&third)), "{own:?}");
    assert_eq!(public_view(&patient).await, both, "the replica serves again");
    standby.resume_replay().await;
    standby.catch_up().await;
    assert_eq!(public_view(&patient).await, PublicView::of(&[&first, &second, &third]));
}
