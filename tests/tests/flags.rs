//! Citizens' flags: three sessions from three client addresses hide a published comment
//! and hand it back to the moderators, who restore or reject it. A decision judges the
//! flags it saw: they are kept, never count again, and their sessions cannot flag again.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Backend, Submission, TestApp};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

const ONE: &str = "query($id: ID!) { comment(id: $id) { id status } }";
const ONE_WITH_EVENTS: &str = "query($id: ID!) { comment(id: $id) { events { kind } } }";

/// A published comment of a fresh citizen; its id.
async fn published(app: &TestApp, moderator: &str) -> Value {
    let body = "The commune chief insulted us at the meeting.";
    let comment = Submission::new("120101", "OFFICIAL_CONDUCT", body);
    app.ready(moderator, &comment).await["id"].clone()
}

/// Starts `mati` behind a trusted proxy (127.0.0.1), so that each request may name its
/// client address in `X-Forwarded-For`.
async fn behind_a_proxy(backend: Backend) -> Option<TestApp> {
    TestApp::start_with(backend, &[("MATI_TRUSTED_PROXIES", "127.0.0.1")]).await
}

/// Runs an async test body on both backends, behind a trusted proxy.
macro_rules! behind_a_proxy {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = super::behind_a_proxy(mati_tests::Backend::Sqlite).await {
                    super::$name(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = super::behind_a_proxy(mati_tests::Backend::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    };
}

/// `citizen` flags `id` from the client `address`; whether the flag was new.
async fn flag_from(app: &TestApp, citizen: &str, address: &str, id: &Value) -> bool {
    let flagged = app.flag(citizen, id, "ABUSIVE").forwarded_for(address).await;
    flagged.as_bool().unwrap()
}

/// Fresh sessions flag `id`, one from each address; their tokens.
async fn flag_from_each(app: &TestApp, id: &Value, addresses: &[&str]) -> Vec<String> {
    let mut citizens = Vec::new();
    for address in addresses {
        let citizen = app.citizen().await;
        assert!(flag_from(app, &citizen, address, id).await, "a first flag is new");
        citizens.push(citizen);
    }
    citizens
}

async fn flag_three_times(app: &TestApp, id: &Value) {
    flag_from_each(app, id, &["203.0.113.1", "203.0.113.2", "203.0.113.3"]).await;
}

/// Rows of `flags` for the comment: all of them, and those a moderator judged.
async fn stored_flags(app: &TestApp, id: &Value) -> (i64, i64) {
    let db = Database::connect(app.db.url()).await.unwrap();
    let id: i64 = id.as_str().unwrap().parse().unwrap();
    let sql = format!("SELECT COUNT(*), COUNT(judged_at) FROM flags WHERE comment_id = {id}");
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    let counts = (row.try_get_by_index(0).unwrap(), row.try_get_by_index(1).unwrap());
    let _ = db.close().await;
    counts
}

async fn public_count(app: &TestApp) -> i64 {
    app.ok(None, "{ comments { totalCount } }", json!({})).await["comments"]["totalCount"]
        .as_i64()
        .unwrap()
}

async fn three_flags_hide_a_comment_until_a_moderator_restores_it(app: TestApp) {
    let moderator = app.staff("moderator", "mod1", None).await;
    let district = app.staff("official", "khan1201", Some("1201")).await;
    let id = published(&app, &moderator).await;

    // Two flags, or one session flagging twice (from another address), change nothing.
    let first = app.citizen().await;
    assert!(flag_from(&app, &first, "203.0.113.1", &id).await);
    assert!(!flag_from(&app, &first, "203.0.113.9", &id).await);
    let second = app.citizen().await;
    assert!(flag_from(&app, &second, "203.0.113.2", &id).await);
    assert_eq!(public_count(&app).await, 1);

    let third = app.citizen().await;
    assert!(flag_from(&app, &third, "203.0.113.3", &id).await);
    assert_eq!(public_count(&app).await, 0, "hidden from the public");
    assert_eq!(app.ok(None, ONE, json!({ "id": id })).await["comment"], Value::Null);
    assert_eq!(
        app.ok(Some(&district), ONE, json!({ "id": id })).await["comment"]["status"],
        "ROUTED",
        "the responsible office still works on it"
    );
    let queue = app.ok(Some(&moderator), "{ moderationQueue { id } }", json!({})).await;
    assert_eq!(queue["moderationQueue"][0]["id"], id, "back with the moderators");
    let claimed = app.claim(&moderator, 5).await;
    assert_eq!(claimed[0]["id"], id);
    // Flagging a hidden comment is not possible.
    let fourth = app.citizen().await;
    assert_eq!(app.flag(&fourth, &id, "ABUSIVE").error_code().await, "NOT_FOUND");

    let restored = app.approve(&moderator, &id).await;
    let kinds: Vec<&str> = restored["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "FLAGGED").count(), 3);
    assert_eq!(kinds[kinds.len() - 2..], ["HIDDEN", "RESTORED"]);
    assert_eq!(restored["status"], "ROUTED");
    assert_eq!(public_count(&app).await, 1);
    assert!(
        app.ok(Some(&moderator), "{ moderationQueue { id } }", json!({})).await["moderationQueue"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The judged flags no longer count: it takes three new ones to hide it again.
    let again = app.citizen().await;
    assert!(flag_from(&app, &again, "203.0.113.4", &id).await);
    assert_eq!(public_count(&app).await, 1);
}
behind_a_proxy!(three_flags_hide_a_comment_until_a_moderator_restores_it);

async fn a_restored_comment_is_not_hidden_again_by_the_sessions_that_flagged_it(app: TestApp) {
    let moderator = app.staff("moderator", "mod1", None).await;
    let id = published(&app, &moderator).await;
    let first = flag_from_each(&app, &id, &["198.51.100.1", "198.51.100.2", "198.51.100.3"]).await;
    assert_eq!(public_count(&app).await, 0, "hidden");
    app.approve(&moderator, &id).await;
    assert_eq!(public_count(&app).await, 1, "restored");

    // The same sessions, even from new addresses, cannot flag again to hide it again.
    for (n, citizen) in first.iter().enumerate() {
        assert!(
            !flag_from(&app, citizen, &format!("198.51.100.{}", 10 + n), &id).await,
            "a session flags once"
        );
    }
    assert_eq!(public_count(&app).await, 1, "still public");
    assert_eq!(
        stored_flags(&app, &id).await,
        (3, 3),
        "the restore keeps the flags it judged, as judged"
    );

    // Other sessions count afresh: three new ones from three addresses hide it again.
    flag_from_each(&app, &id, &["192.0.2.1", "192.0.2.2"]).await;
    assert_eq!(public_count(&app).await, 1, "two new flags are not enough");
    flag_from_each(&app, &id, &["192.0.2.3"]).await;
    assert_eq!(public_count(&app).await, 0, "hidden again by three new flags");
    assert_eq!(stored_flags(&app, &id).await, (6, 3));
    let data = app.ok(Some(&moderator), ONE_WITH_EVENTS, json!({ "id": id })).await;
    let hidden = data["comment"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "HIDDEN")
        .count();
    assert_eq!(hidden, 2);
}
behind_a_proxy!(a_restored_comment_is_not_hidden_again_by_the_sessions_that_flagged_it);

async fn three_sessions_from_one_address_do_not_hide_a_comment(app: TestApp) {
    let moderator = app.staff("moderator", "mod1", None).await;
    let id = published(&app, &moderator).await;
    flag_from_each(&app, &id, &["198.51.100.7", "198.51.100.7", "198.51.100.7"]).await;
    assert_eq!(public_count(&app).await, 1, "three sessions, one address");
    // One IPv6 client may hold a whole /64: two addresses in it are one.
    flag_from_each(&app, &id, &["2001:db8:a:b::1", "2001:db8:a:b::ff"]).await;
    assert_eq!(public_count(&app).await, 1, "five sessions, two addresses");
    flag_from_each(&app, &id, &["2001:db8:a:c::1"]).await;
    assert_eq!(public_count(&app).await, 0, "the third address hides it");
}
behind_a_proxy!(three_sessions_from_one_address_do_not_hide_a_comment);

async fn a_moderator_can_reject_a_hidden_comment_with_a_reason(app: TestApp) {
    let moderator = app.staff("moderator", "mod1", None).await;
    let id = published(&app, &moderator).await;
    flag_three_times(&app, &id).await;
    let rejected = app.reject(&moderator, &id, "ABUSIVE").await;
    assert_eq!(rejected["status"], "REJECTED");
    assert_eq!(
        rejected["events"].as_array().unwrap().last().unwrap()["note"],
        "ABUSIVE"
    );
    assert_eq!(stored_flags(&app, &id).await, (3, 3), "the rejection judged the flags");
    assert_eq!(public_count(&app).await, 0);
    assert!(
        app.ok(Some(&moderator), "{ moderationQueue { id } }", json!({})).await["moderationQueue"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
behind_a_proxy!(a_moderator_can_reject_a_hidden_comment_with_a_reason);
