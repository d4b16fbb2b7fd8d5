//! Rate limits (PRODUCT.md §6–§7): a refused request is HTTP 429 with `Retry-After` and
//! RATE_LIMITED with `retryAfterSeconds`; one limit holds across replicas through Redis;
//! per-address limits believe `X-Forwarded-For` only from trusted proxies; logins are
//! limited per username whether or not it exists, and a stranger's guesses cannot lock
//! out an owner who logs in from a device trusted before; without Redis the local layer
//! limits.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use futures::future::join_all;
use mati_tests::{Backend, Reply, Submission, TestApp, first_error, redis_prefix, redis_url};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

const START_SESSION: &str = "mutation { startCitizenSession { token } }";
const LOGIN: &str = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }";

/// Posts an operation with an optional bearer token and `X-Forwarded-For`.
async fn post(app: &TestApp, token: Option<&str>, forwarded: Option<&str>, query: &str, variables: Value) -> Reply {
    let call = app.call(token, query, variables);
    match forwarded {
        Some(address) => call.forwarded_for(address),
        None => call,
    }
    .reply()
    .await
}

/// A comment for LOCAL_ROADS in Tonle Basak, with a clientId.
fn road(client_id: String) -> Submission {
    Submission::new("120101", "LOCAL_ROADS", "The road to the market is full of holes").client_id(client_id)
}

/// Whether `text` holds Khmer script.
fn is_khmer(text: &str) -> bool {
    text.chars().any(|c| ('\u{1780}'..='\u{17FF}').contains(&c))
}

/// Asserts the whole refusal: 429, `Retry-After` ≥ 1 s, RATE_LIMITED with
/// `retryAfterSeconds` ≥ 1 and a Khmer message, and no data.
fn assert_refused(reply: &Reply, case: &str) {
    let body = &reply.body;
    assert_eq!(reply.status, 429, "{case}: {body:#}");
    let retry_after: u64 = reply
        .retry_after()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{case}: Retry-After {:?} is no whole number", reply.retry_after()));
    assert!(retry_after >= 1, "{case}: Retry-After {retry_after}");
    let ext = &first_error(body)["extensions"];
    assert_eq!(ext["code"], "RATE_LIMITED", "{case}: {body:#}");
    let seconds = ext["retryAfterSeconds"].as_u64().unwrap_or_default();
    assert!(seconds >= 1, "{case}: retryAfterSeconds in {body:#}");
    assert!(
        is_khmer(ext["messageKm"].as_str().unwrap_or_default()),
        "{case}: {body:#}"
    );
    assert!(body["data"].is_null(), "{case}: {body:#}");
}

/// The number of comments stored.
async fn stored_comments(app: &TestApp) -> i64 {
    let db = Database::connect(app.db.url()).await.unwrap();
    let statement = Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n FROM comments");
    let row = db.query_one_raw(statement).await.unwrap().expect("a count");
    let n = row.try_get::<i64>("", "n").unwrap();
    let _ = db.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_token_gets_exactly_the_burst_across_three_replicas() {
    let Some(prefix) = redis_prefix().await else {
        return;
    };
    let redis = redis_url();
    let env = [
        ("MATI_REDIS_URL", redis.as_str()),
        ("MATI_REDIS_PREFIX", prefix.as_str()),
        ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", "5/60s"),
    ];
    let Some(first) = TestApp::start_with(Backend::Postgres, &env).await else {
        return;
    };
    let second = first.replica(&env).await;
    let third = first.replica(&env).await;
    let replicas = [&first, &second, &third];

    // Each replica's local layer would allow 5 on its own (15 in all): Redis allows 5.
    let token = first.citizen().await;
    let replies = join_all((0..15).map(|n| replicas[n % 3].submit(&token, &road(format!("burst-{n}"))).reply())).await;
    let accepted: Vec<&Reply> = replies.iter().filter(|r| r.accepted()).collect();
    assert_eq!(
        accepted.len(),
        5,
        "accepted {} of 15 with a burst of 5: {:#?}",
        accepted.len(),
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for (n, reply) in replies.iter().enumerate().filter(|(_, r)| !r.accepted()) {
        assert_refused(reply, &format!("submission {n}"));
    }
    assert_eq!(
        stored_comments(&first).await,
        5,
        "refused submissions left nothing behind"
    );

    // Retries are not new comments: ten concurrent copies with one clientId, on all
    // replicas, give one comment and use one unit of a fresh token's burst.
    let token = first.citizen().await;
    let retries = join_all((0..10).map(|n| {
        replicas[n % 3]
            .submit(&token, &road("one-phone-one-comment".into()))
            .reply()
    }))
    .await;
    let mut ids = Vec::new();
    for reply in &retries {
        assert!(reply.accepted(), "a retry failed: {:#}", reply.body);
        ids.push(reply.body["data"]["submitComment"]["comment"]["id"].clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "retries created several comments: {ids:?}");
    let more = join_all((0..5).map(|n| {
        replicas[n % 3]
            .submit(&token, &road(format!("after-retries-{n}")))
            .reply()
    }))
    .await;
    assert_eq!(
        more.iter().filter(|r| r.accepted()).count(),
        4,
        "the retries used more than one unit: {:#?}",
        more.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for reply in more.iter().filter(|r| !r.accepted()) {
        assert_refused(reply, "the sixth new comment of the second token");
    }
    assert_eq!(stored_comments(&first).await, 10);
}

/// Starts citizen sessions, one per forwarded address; whether each was served (any other
/// answer than a session or a whole refusal fails the test).
async fn sessions(app: &TestApp, forwarded: &[Option<&str>]) -> Vec<bool> {
    let mut served = Vec::new();
    for header in forwarded {
        let reply = post(app, None, *header, START_SESSION, json!({})).await;
        if reply.accepted() {
            assert!(reply.body["data"]["startCitizenSession"]["token"].is_string());
            served.push(true);
        } else {
            assert_refused(&reply, &format!("startCitizenSession with X-Forwarded-For {header:?}"));
            served.push(false);
        }
    }
    served
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_only_counts_behind_a_trusted_proxy() {
    let limit = ("MATI_RATE_LIMIT_START_SESSION_PER_ADDRESS", "3/60s");
    // No trusted proxy: the peer (127.0.0.1) is the client whatever the header says.
    let Some(direct) = TestApp::start_with(Backend::Sqlite, &[limit]).await else {
        return;
    };
    let claims = [
        Some("203.0.113.1"),
        Some("203.0.113.2"),
        None,
        Some("203.0.113.3"),
        Some("198.51.100.99"),
    ];
    assert_eq!(sessions(&direct, &claims).await, [true, true, true, false, false]);

    // Behind a trusted proxy, each forwarded client has its own three.
    let Some(proxied) = TestApp::start_with(Backend::Sqlite, &[limit, ("MATI_TRUSTED_PROXIES", "127.0.0.1")]).await
    else {
        return;
    };
    let a = Some("198.51.100.1");
    let b = Some("198.51.100.2");
    assert_eq!(
        sessions(&proxied, &[a, b, a, b, a, b, a, b]).await,
        [true, true, true, true, true, true, false, false]
    );
    // The proxy appends the real peer; an entry the client wrote itself is ignored.
    let forged = [
        Some("6.6.6.6, 198.51.100.7"),
        Some("7.7.7.7, 198.51.100.7"),
        Some("8.8.8.8,198.51.100.7"),
    ];
    assert_eq!(sessions(&proxied, &forged).await, [true, true, true]);
    assert_eq!(
        sessions(&proxied, &[Some("9.9.9.9, 198.51.100.7"), Some("198.51.100.7")]).await,
        [false, false],
        "198.51.100.7 had its three"
    );
    assert_eq!(
        sessions(&proxied, &[Some("6.6.6.6"), Some("7.7.7.7")]).await,
        [true, true],
        "the forged entries were not counted"
    );
}

async fn login(app: &TestApp, username: &str, password: &str) -> Reply {
    post(app, None, None, LOGIN, json!({ "u": username, "p": password })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_limited_per_username_without_revealing_whether_it_exists() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, &[("MATI_RATE_LIMIT_LOGIN_PER_USERNAME", "3/60s")]).await
    else {
        return;
    };
    let password = app.add_staff("official", "official_limited", Some("120101")).await;
    let other = app.add_staff("moderator", "moderator_unlimited", None).await;
    let mut refusals = Vec::new();
    for (known, right) in [
        ("official_limited", password.clone()),
        ("nobody_limited", "pw-nobody".into()),
    ] {
        // Spelling variants of one username share its limit.
        for (n, spelling) in [known.to_owned(), known.to_uppercase(), format!("  {known} ")]
            .iter()
            .enumerate()
        {
            let reply = login(&app, spelling, &format!("wrong password {n}")).await;
            assert_eq!(reply.status, 200, "{:#}", reply.body);
            assert_eq!(
                first_error(&reply.body)["extensions"]["code"],
                "UNAUTHENTICATED",
                "{:#}",
                reply.body
            );
        }
        // The fourth attempt is refused before the password is looked at.
        let reply = login(&app, known, &right).await;
        assert_refused(&reply, &format!("fourth login of {known}"));
        refusals.push(reply.body);
    }
    let [known, unknown] = [&refusals[0], &refusals[1]].map(|body| {
        let mut error = first_error(body).clone();
        error["extensions"]["retryAfterSeconds"] = Value::Null;
        error
    });
    assert_eq!(known, unknown, "the refusal tells whether the username exists");

    // Other usernames are not affected.
    let reply = login(&app, "moderator_unlimited", &other).await;
    assert!(reply.accepted(), "{:#}", reply.body);
}

const LOGIN_ON_DEVICE: &str = "mutation($u: String!, $p: String!, $d: String) {
    login(username: $u, password: $p, deviceToken: $d) { token deviceToken }
}";

/// Logs in from `address` (as forwarded by the trusted proxy), presenting `device`.
async fn login_from(app: &TestApp, address: &str, username: &str, password: &str, device: Option<&str>) -> Reply {
    let variables = json!({ "u": username, "p": password, "d": device });
    post(app, None, Some(address), LOGIN_ON_DEVICE, variables).await
}

fn device_token(reply: &Reply) -> String {
    assert!(reply.accepted(), "{:#}", reply.body);
    let token = reply.body["data"]["login"]["deviceToken"].as_str();
    token.expect("a device token with every login").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_flood_of_wrong_passwords_does_not_lock_the_owner_out() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, &[("MATI_TRUSTED_PROXIES", "127.0.0.1")]).await else {
        return;
    };
    let password = app.add_staff("official", "owner.clerk", Some("120101")).await;
    let other = app.add_staff("moderator", "other.moderator", None).await;
    // The owner has logged in from this laptop before and kept its device token.
    let laptop = device_token(&login_from(&app, "203.0.113.10", "owner.clerk", &password, None).await);
    // A device token that is valid, but for another account.
    let theirs = device_token(&login_from(&app, "203.0.113.20", "other.moderator", &other, None).await);

    // A stranger guesses from thirty addresses, with no device token, a made-up one or
    // another account's: those share the username's limit for untrusted devices (10, of
    // which the owner's first login used one).
    let mut answers = Vec::new();
    for n in 0..30 {
        let device = [None, Some("mati_d_made-up-by-the-stranger"), Some(theirs.as_str())][n % 3];
        let address = format!("198.51.100.{n}");
        let reply = login_from(&app, &address, "owner.clerk", &format!("guess number {n}"), device).await;
        answers.push(reply);
    }
    for (n, reply) in answers.iter().enumerate() {
        if n < 9 {
            let code = &first_error(&reply.body)["extensions"]["code"];
            assert_eq!(code, "UNAUTHENTICATED", "guess {n}: {:#}", reply.body);
        } else {
            assert_refused(reply, &format!("guess {n}"));
        }
    }
    // Guessing stays limited: even the right password is refused to the stranger now.
    let lucky = login_from(&app, "198.51.100.99", "owner.clerk", &password, None).await;
    assert_refused(&lucky, "the stranger's right guess");

    // The owner is not locked out: a typo is answered as a typo, the password lets them in.
    let typo = login_from(
        &app,
        "203.0.113.10",
        "owner.clerk",
        "a typo in the password",
        Some(&laptop),
    )
    .await;
    assert_eq!(
        first_error(&typo.body)["extensions"]["code"],
        "UNAUTHENTICATED",
        "{:#}",
        typo.body
    );
    let back = login_from(&app, "203.0.113.10", "owner.clerk", &password, Some(&laptop)).await;
    assert_eq!(device_token(&back), laptop, "the laptop stays trusted");
    // From the phone network too: the device token, not the address, is trusted.
    let moved = login_from(&app, "192.0.2.77", "owner.clerk", &password, Some(&laptop)).await;
    assert!(moved.accepted(), "{:#}", moved.body);
}

/// Six concurrent submissions per token with a burst of 3 and no Redis: three pass.
async fn local_layer(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", "3/60s")]).await else {
        return;
    };
    let ready: Value = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        ready.get("redis").is_none(),
        "this server should run without Redis: {ready:#}"
    );
    for round in 0..2 {
        let token = app.citizen().await;
        let replies = join_all((0..6).map(|n| app.submit(&token, &road(format!("local-{n}"))).reply())).await;
        assert_eq!(
            replies.iter().filter(|r| r.accepted()).count(),
            3,
            "token {round}: {:#?}",
            replies.iter().map(|r| &r.body).collect::<Vec<_>>()
        );
        for reply in replies.iter().filter(|r| !r.accepted()) {
            assert_refused(reply, &format!("token {round}"));
        }
    }
    assert_eq!(stored_comments(&app).await, 6);
}

mod without_redis_the_local_layer_still_limits {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        local_layer(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        local_layer(Backend::Postgres).await;
    }
}
