//! Backups (README, "Backups"): comments seeded through the binary, a backup taken while
//! the server runs and citizens keep writing — `mati backup` on SQLite, `pg_dump
//! --format=custom` on PostgreSQL — restored into a fresh database, and a new server on
//! the copy answers the statistics and exports exactly as the first did.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{Duration, SecondsFormat, Utc};
use mati_tests::{Backend, TestApp, TestDb, backends_required, run};
use serde_json::{Value, json};
use tokio::process::Command;

/// Every counter of a statistic, and its breakdowns.
const STATS: &str = "
fragment Counts on ResponseStats {
  from to received responded responseRate resolved overdue acknowledged escalatedAway
  rated satisfactionRate reopened
  medianHoursToFirstResponse p90HoursToFirstResponse medianHoursToResolution p90HoursToResolution
}
query($from: DateTime, $to: DateTime) {
  country: responseStats(from: $from, to: $to) {
    ...Counts
    byCategory { category { code } received responded responseRate overdue }
    byMonth { month received responded }
    byGender { gender suppressed received responseRate }
  }
  phnomPenh: responseStats(unitCode: \"12\", from: $from, to: $to) {
    ...Counts
    byGender { gender suppressed received responseRate }
  }
  provinces: responseStatsByChild(from: $from, to: $to) { unit { code } ...Counts }
}";

/// What the seeded comments are compared by. Their deadlines lie 15 days after routing,
/// so a period ending 20 days ago counts no comment whose `overdue` may change between
/// the two servers' answers.
struct Period {
    from: String,
    to: String,
}

impl Period {
    fn settled() -> Self {
        let at = |days: i64| (Utc::now() - Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true);
        Self {
            from: at(400),
            to: at(20),
        }
    }
}

/// A server's statistics, its statistics export and its comments export.
struct Answers {
    stats: Value,
    stats_csv: String,
    comments_csv: String,
}

async fn answers(app: &TestApp, period: &Period) -> Answers {
    let stats = app
        .ok(None, STATS, json!({ "from": period.from, "to": period.to }))
        .await;
    let query = format!("from={}&to={}", period.from, period.to);
    let mut csv = Vec::new();
    for export in ["stats.csv", "comments.csv"] {
        let response = app.get(&format!("/exports/{export}?{query}")).await;
        assert_eq!(response.status(), 200, "{export}");
        csv.push(response.text().await.unwrap());
    }
    let [stats_csv, comments_csv] = <[String; 2]>::try_from(csv).unwrap();
    Answers {
        stats,
        stats_csv,
        comments_csv,
    }
}

/// Something was compared: comments counted, per province too, and exported.
fn assert_not_empty(answers: &Answers) {
    let received = answers.stats["country"]["received"].as_u64().unwrap();
    assert!(received > 0, "nothing received: {:#}", answers.stats);
    let by_province: u64 = answers.stats["provinces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["received"].as_u64().unwrap())
        .sum();
    assert_eq!(by_province, received, "{:#}", answers.stats);
    let exported = answers.comments_csv.lines().count() - 1;
    assert!(exported > 0, "no comment exported");
    assert!(answers.stats_csv.lines().count() > 1, "no statistics exported");
}

/// The restored server answers as the first did: first the counts, which say briefly what
/// was lost, then every answer.
fn assert_same(after: &Answers, before: &Answers) {
    let received = |a: &Answers| a.stats["country"]["received"].as_u64();
    assert_eq!(received(after), received(before), "comments received");
    let exported = |a: &Answers| a.comments_csv.lines().count();
    assert_eq!(exported(after), exported(before), "comments exported");
    assert_eq!(after.stats, before.stats);
    assert_eq!(after.stats_csv, before.stats_csv);
    assert_eq!(after.comments_csv, before.comments_csv);
}

async fn seed(app: &TestApp) {
    let mut command = app.command();
    command.args(["seed", "--comments", "300"]);
    let output = run(command).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `backup` while a citizen keeps submitting comments; its output, and how many
/// comments went in meanwhile (every submission must succeed).
async fn while_citizens_write(app: &TestApp, backup: Command) -> (Output, usize) {
    let citizen = app.citizen().await;
    let stop = Arc::new(AtomicBool::new(false));
    let writing = {
        let stop = Arc::clone(&stop);
        async move {
            let mut sent = 0;
            while !stop.load(Ordering::Relaxed) || sent == 0 {
                app.submit_comment(
                    &citizen,
                    "120101",
                    "LOCAL_ROADS",
                    "The road to the market floods after rain.",
                )
                .await;
                sent += 1;
            }
            sent
        }
    };
    let backing_up = async {
        let output = run(backup).await;
        stop.store(true, Ordering::Relaxed);
        output
    };
    let (output, sent) = tokio::join!(backing_up, writing);
    (output, sent)
}

/// Submissions the tests send during a backup: far more than one citizen may send.
const BUSY_CITIZEN: [(&str, &str); 1] = [("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", "10000/60s")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_backup_taken_while_the_server_writes_restores_the_same_answers() {
    let app = TestApp::start_with(Backend::Sqlite, &BUSY_CITIZEN).await.unwrap();
    seed(&app).await;
    let period = Period::settled();
    let before = answers(&app, &period).await;
    assert_not_empty(&before);

    let saved = tempfile::tempdir().unwrap();
    let file = saved.path().join("mati-backup.db");
    let mut backup = app.command();
    backup.arg("backup").arg(&file);
    let (output, sent) = while_citizens_write(&app, backup).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).starts_with(&format!("wrote {} (", file.display())),
        "{}",
        text(&output.stdout)
    );
    assert!(sent > 0);

    // A backup never replaces a file.
    let written = std::fs::read(&file).unwrap();
    let mut again = app.command();
    again.arg("backup").arg(&file);
    let output = run(again).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("exists"), "{}", text(&output.stderr));
    assert_eq!(std::fs::read(&file).unwrap(), written);

    // The original goes; the copy becomes the database of a new server.
    drop(app.stop().await);
    let dir = tempfile::tempdir().unwrap();
    let restored = dir.path().join("mati.db");
    std::fs::copy(&file, &restored).unwrap();
    let url = format!("sqlite://{}?mode=rwc", restored.display());
    let app = TestApp::start_on(TestDb::Sqlite { dir, url }, &[]).await;
    assert_same(&answers(&app, &period).await, &before);
}

/// A PostgreSQL client tool (`pg_dump`, `pg_restore`); `None` (skip) when it is not
/// installed and backends are not required.
fn pg_tool(name: &str) -> Option<Command> {
    let installed = std::process::Command::new(name).arg("--version").output().is_ok();
    if !installed {
        assert!(!backends_required(), "{name} is required but not installed");
        eprintln!("skipped: {name} is not installed");
        return None;
    }
    let mut command = Command::new(name);
    command.kill_on_drop(true);
    Some(command)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pg_dump_restored_into_a_fresh_database_restores_the_same_answers() {
    let (Some(mut dump), Some(mut restore)) = (pg_tool("pg_dump"), pg_tool("pg_restore")) else {
        return;
    };
    let Some(app) = TestApp::start_with(Backend::Postgres, &BUSY_CITIZEN).await else {
        return;
    };
    seed(&app).await;
    let period = Period::settled();
    let before = answers(&app, &period).await;
    assert_not_empty(&before);

    // `mati backup` is for SQLite and says what to use instead.
    let saved = tempfile::tempdir().unwrap();
    let mut backup = app.command();
    backup.arg("backup").arg(saved.path().join("mati.db"));
    let output = run(backup).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("pg_dump"), "{}", text(&output.stderr));
    assert!(!saved.path().join("mati.db").exists());

    let file = saved.path().join("mati.dump");
    dump.args(["--format=custom", "--dbname", app.db.url(), "--file"])
        .arg(&file);
    let (output, sent) = while_citizens_write(&app, dump).await;
    assert!(output.status.success(), "pg_dump: {}", text(&output.stderr));
    assert!(sent > 0);

    let fresh = TestDb::create(Backend::Postgres).await.unwrap();
    restore
        .args(["--no-owner", "--exit-on-error", "--dbname", fresh.url()])
        .arg(&file);
    let output = run(restore).await;
    assert!(output.status.success(), "pg_restore: {}", text(&output.stderr));
    drop(app.stop().await);
    let app = TestApp::start_on(fresh, &[]).await;
    assert_same(&answers(&app, &period).await, &before);
}
