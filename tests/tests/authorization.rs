//! Who may do what (Hardening §4): every operation of the contract (and the schema's
//! additions) is tried by every kind of caller, and each cell of the table below states
//! the expected outcome. Every cell runs, and one run reports all mismatches at once.
//!
//! State-changing cells get their own fresh comment (`Fresh(stage)`), so cells are
//! independent: a cell that wrongly succeeds cannot change what another cell sees.
//! Reading cells share three comments made at setup by one citizen (the author): an
//! approved public one, an approved private one and a pending one, all in commune
//! 120101 (Tonle Basak), category LOCAL_ROADS (so routed to the commune 120101), all
//! with a phone number in the body.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use mati_tests::{Backend, Submission, TestApp};
use serde_json::{Value, json};

use Check::{Any, Body, Lists};
use Stage::{Acked, Pending, Resolved, Responded, Routed};
use Target::{Fresh, Nothing, Private, Public, Shared, Unknown};

/// Columns of the table, in order: no token; the citizen who wrote the target comment;
/// another citizen; a moderator; an official of 120101, where the comments are routed;
/// an official of the neighbouring commune 120109; a monitor; an admin.
#[rustfmt::skip]
const ROLES: [&str; 8] = ["none", "author", "citizen", "moderator", "official", "other-official", "monitor", "admin"];

const OK: &str = "OK"; // answered with a non-null result
const NIL: &str = "NIL"; // answered with null
const ORIG: &str = "ORIG"; // a comment whose body is as written
const RED: &str = "RED"; // a comment whose body has the phone number redacted
const HID: &str = "HID"; // a comment shown without its text (status and events only)
const HAS: &str = "HAS"; // a listing that contains the target comment
const NO: &str = "NO"; // a listing that does not
const UNA: &str = "UNAUTHENTICATED";
const FOR: &str = "FORBIDDEN";
const NF: &str = "NOT_FOUND";
const CON: &str = "CONFLICT";
const BAD: &str = "BAD_USER_INPUT";

const PHONE: &str = "012 345 678";

/// Which comment a cell acts on (`$id`, `$code`); the author column is its author.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// No comment involved (the author column is the setup author).
    Nothing,
    Public,
    Private,
    /// The shared pending comment.
    Shared,
    /// An id nobody has.
    Unknown,
    /// A new public comment of its own, brought to this stage.
    Fresh(Stage),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Pending,
    Routed,
    Acked,
    Responded,
    Resolved,
}

/// How a successful answer is classified.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// OK, or NIL when the result is null.
    Any,
    /// A nullable comment: NIL, ORIG or RED.
    Body,
    /// Whether the target's id appears in the result: HAS or NO.
    Lists,
}

const UNITS: &str = r#"{ adminUnits(parentCode: "1201") { code } }"#;
const UNIT: &str = r#"{ adminUnit(code: "120101") { code } }"#;
const CATEGORIES: &str = "{ categories { code } }";
const COMMENTS: &str = "{ comments(first: 100) { totalCount edges { node { id body } } } }";
const PENDING_LIST: &str = "{ comments(status: PENDING, first: 100) { edges { node { id } } } }";
const COMMENT: &str = "query($id: ID!) { comment(id: $id) { id body } }";
const BY_CODE: &str = "query($code: String!) { commentByTrackingCode(trackingCode: $code) { id body } }";
const INBOX: &str = "{ inbox(first: 100) { edges { node { id body } } } }";
const QUEUE: &str = "{ moderationQueue(first: 100) { id body } }";
const STATS: &str = r#"{ responseStats(unitCode: "120101") { received } }"#;
const BY_CHILD: &str = r#"{ responseStatsByChild(unitCode: "1201") { received } }"#;
const SESSION: &str = "mutation { startCitizenSession { token } }";
const LOGIN: &str = r#"mutation($pw: String!) { login(username: "probe.login", password: $pw) { token } }"#;
const LOGIN_BAD: &str = r#"mutation { login(username: "nobody.here", password: "not-the-password") { token } }"#;
const SUBMIT: &str = r#"mutation { submitComment(input: { body: "The street light by the pagoda is broken",
  categoryCode: "LOCAL_ROADS", communeCode: "120101" }) { comment { id } } }"#;
const SUBMIT_BAD: &str = r#"mutation { submitComment(input: { body: "The street light by the pagoda is broken",
  categoryCode: "LOCAL_ROADS", communeCode: "999999" }) { comment { id } } }"#;
const APPROVE: &str = "mutation($id: ID!) { moderateComment(id: $id, decision: APPROVE) { id } }";
const REJECT: &str = "mutation($id: ID!) { moderateComment(id: $id, decision: REJECT) { id } }";
const ACK: &str = "mutation($id: ID!) { acknowledgeComment(id: $id) { id } }";
const RESPOND: &str = r#"mutation($id: ID!) { respondToComment(id: $id, body: "A team comes on Monday.") { id } }"#;
const RESPOND_EMPTY: &str = r#"mutation($id: ID!) { respondToComment(id: $id, body: "") { id } }"#;
const REFER: &str =
    r#"mutation($id: ID!) { referComment(id: $id, toUnitCode: "1201", reason: "The khan handles drains.") { id } }"#;
const REFER_OUT: &str =
    r#"mutation($id: ID!) { referComment(id: $id, toUnitCode: "120109", reason: "Next commune.") { id } }"#;
const RESOLVE: &str = r#"mutation($id: ID!) { resolveComment(id: $id, note: "The drain was cleared.") { id } }"#;
const RATE: &str = "mutation($code: String!) { rateResolution(trackingCode: $code, satisfied: true) { id } }";
const SUPPORT: &str = "mutation($id: ID!) { supportComment(id: $id) { id } }";
const FLAG: &str = "mutation($id: ID!) { flagComment(id: $id, reason: SPAM) }";
const CREATE: &str = r#"mutation($n: String!) { createStaffAccount(input: { username: $n,
  password: "a-long-password-1", role: MONITOR }) { id } }"#;
const CREATE_BAD: &str = r#"mutation($n: String!) { createStaffAccount(input: { username: $n,
  password: "a-long-password-1", role: OFFICIAL }) { id } }"#;
const MINE: &str = "{ myComments(first: 100) { edges { node { id } } } }";
const CLAIM: &str = "mutation { claimModerationItems(count: 1) { id } }";
const RULES: &str = "{ deadlineRules { level } }";
const SET_RULE: &str = r#"mutation { setDeadlineRule(level: PROVINCE, categoryCode: "LAND",
  acknowledgeWithinHours: 72, respondWithinHours: 360) { level } }"#;
const RANKING: &str = "{ responseRanking(level: COMMUNE) { received } }";
const NEAR: &str = "{ communesNear(lat: 11.55, long: 104.93) { communes { commune { code } distanceKm } } }";
const UPDATE_STAFF: &str = r#"mutation { updateStaffAccount(input: { username: "probe.update",
  disabled: false }) { username } }"#;
const UPDATE_NOBODY: &str = r#"mutation { updateStaffAccount(input: { username: "nobody.here",
  disabled: true }) { username } }"#;
const REVOKE_STAFF: &str = r#"mutation { revokeStaffSessions(username: "probe.update") }"#;
const API_KEYS: &str = "{ apiKeys { id name createdAt revokedAt } }";
const ISSUE_KEY: &str = r#"mutation { issueApiKey(name: "A CSO's app") { key apiKey { id } } }"#;
const REVOKE_NO_KEY: &str = r#"mutation { revokeApiKey(id: "987654321") { id } }"#;

type Row = (&'static str, &'static str, Target, Check, [&'static str; 8]);

/// The matrix. Columns: none, author, citizen, moderator, official (120101),
/// other-official (120109), monitor, admin.
#[rustfmt::skip]
const TABLE: &[Row] = &[
    // Queries.
    ("adminUnits",                      UNITS,        Nothing,        Any,   [OK, OK, OK, OK, OK, OK, OK, OK]),
    ("adminUnit",                       UNIT,         Nothing,        Any,   [OK, OK, OK, OK, OK, OK, OK, OK]),
    ("categories",                      CATEGORIES,   Nothing,        Any,   [OK, OK, OK, OK, OK, OK, OK, OK]),
    ("comments",                        COMMENTS,     Nothing,        Any,   [OK, OK, OK, OK, OK, OK, OK, OK]),
    ("comments: the private one",       COMMENTS,     Private,        Lists, [NO, NO, NO, HAS, HAS, NO, NO, HAS]),
    ("comments(PENDING): pending one",  PENDING_LIST, Shared,         Lists, [NO, NO, NO, HAS, NO, NO, NO, HAS]),
    ("comment: public",                 COMMENT,      Public,         Body,  [RED, ORIG, RED, ORIG, ORIG, RED, RED, ORIG]),
    ("comment: private",                COMMENT,      Private,        Body,  [NIL, ORIG, NIL, ORIG, ORIG, NIL, NIL, ORIG]),
    ("comment: pending",                COMMENT,      Shared,         Body,  [NIL, ORIG, NIL, ORIG, NIL, NIL, NIL, ORIG]),
    ("comment: unknown id",             COMMENT,      Unknown,        Any,   [NIL, NIL, NIL, NIL, NIL, NIL, NIL, NIL]),
    ("commentByTrackingCode: public",   BY_CODE,      Public,         Body,  [RED, ORIG, RED, ORIG, ORIG, RED, RED, ORIG]),
    // The tracking code is the credential: whoever holds it reads even a private comment.
    ("commentByTrackingCode: private",  BY_CODE,      Private,        Body,  [HID, ORIG, HID, ORIG, ORIG, HID, HID, ORIG]),
    ("commentByTrackingCode: pending",  BY_CODE,      Shared,         Body,  [HID, ORIG, HID, ORIG, HID, HID, HID, ORIG]),
    ("inbox: the private one",          INBOX,        Private,        Lists, [UNA, FOR, FOR, FOR, HAS, NO, FOR, FOR]),
    ("moderationQueue: pending one",    QUEUE,        Shared,         Lists, [UNA, FOR, FOR, HAS, FOR, FOR, FOR, HAS]),
    ("responseStats",                   STATS,        Nothing,        Any,   [OK, OK, OK, OK, OK, OK, OK, OK]),
    ("responseStatsByChild",            BY_CHILD,     Nothing,        Any,   [OK, OK, OK, OK, OK, OK, OK, OK]),
    // Mutations.
    ("startCitizenSession",             SESSION,      Nothing,        Any,   [OK, OK, OK, OK, OK, OK, OK, OK]),
    ("login",                           LOGIN,        Nothing,        Any,   [OK, OK, OK, OK, OK, OK, OK, OK]),
    ("login: wrong password",           LOGIN_BAD,    Nothing,        Any,   [UNA, UNA, UNA, UNA, UNA, UNA, UNA, UNA]),
    ("submitComment",                   SUBMIT,       Nothing,        Any,   [UNA, OK, OK, FOR, FOR, FOR, FOR, FOR]),
    ("submitComment: unknown commune",  SUBMIT_BAD,   Nothing,        Any,   [UNA, BAD, BAD, FOR, FOR, FOR, FOR, FOR]),
    ("moderateComment: approve",        APPROVE,      Fresh(Pending), Any,   [UNA, FOR, FOR, OK, FOR, FOR, FOR, OK]),
    ("moderateComment: routed",         APPROVE,      Fresh(Routed),  Any,   [UNA, FOR, FOR, CON, FOR, FOR, FOR, CON]),
    ("moderateComment: no reason",      REJECT,       Fresh(Pending), Any,   [UNA, FOR, FOR, BAD, FOR, FOR, FOR, BAD]),
    ("moderateComment: unknown id",     APPROVE,      Unknown,        Any,   [UNA, FOR, FOR, NF, FOR, FOR, FOR, NF]),
    ("acknowledgeComment",              ACK,          Fresh(Routed),  Any,   [UNA, FOR, FOR, FOR, OK, FOR, FOR, FOR]),
    ("acknowledgeComment: twice",       ACK,          Fresh(Acked),   Any,   [UNA, FOR, FOR, FOR, CON, FOR, FOR, FOR]),
    ("acknowledgeComment: unknown id",  ACK,          Unknown,        Any,   [UNA, FOR, FOR, FOR, NF, NF, FOR, FOR]),
    ("respondToComment",                RESPOND,      Fresh(Routed),  Any,   [UNA, FOR, FOR, FOR, OK, FOR, FOR, FOR]),
    // Checked before the caller: even without a token the answer is BAD_USER_INPUT (reported).
    ("respondToComment: empty body",    RESPOND_EMPTY, Fresh(Routed), Any,   [UNA, FOR, FOR, FOR, BAD, FOR, FOR, FOR]),
    ("respondToComment: pending",       RESPOND,      Fresh(Pending), Any,   [UNA, FOR, FOR, FOR, FOR, FOR, FOR, FOR]),
    ("referComment: to the khan",       REFER,        Fresh(Routed),  Any,   [UNA, FOR, FOR, FOR, OK, FOR, FOR, FOR]),
    ("referComment: to another commune", REFER_OUT,   Fresh(Routed),  Any,   [UNA, FOR, FOR, FOR, BAD, FOR, FOR, FOR]),
    ("resolveComment",                  RESOLVE,      Fresh(Responded), Any, [UNA, FOR, FOR, FOR, OK, FOR, FOR, FOR]),
    ("resolveComment: not answered",    RESOLVE,      Fresh(Routed),  Any,   [UNA, FOR, FOR, FOR, CON, FOR, FOR, FOR]),
    ("rateResolution",                  RATE,         Fresh(Resolved), Any,  [UNA, OK, NF, FOR, FOR, FOR, FOR, FOR]),
    ("rateResolution: not resolved",    RATE,         Fresh(Routed),  Any,   [UNA, CON, NF, FOR, FOR, FOR, FOR, FOR]),
    ("supportComment",                  SUPPORT,      Fresh(Routed),  Any,   [UNA, OK, OK, FOR, FOR, FOR, FOR, FOR]),
    ("supportComment: private",         SUPPORT,      Private,        Any,   [UNA, NF, NF, FOR, FOR, FOR, FOR, FOR]),
    ("supportComment: pending",         SUPPORT,      Fresh(Pending), Any,   [UNA, NF, NF, FOR, FOR, FOR, FOR, FOR]),
    ("flagComment",                     FLAG,         Fresh(Routed),  Any,   [UNA, OK, OK, FOR, FOR, FOR, FOR, FOR]),
    ("flagComment: private",            FLAG,         Private,        Any,   [UNA, NF, NF, FOR, FOR, FOR, FOR, FOR]),
    ("createStaffAccount",              CREATE,       Nothing,        Any,   [UNA, FOR, FOR, FOR, FOR, FOR, FOR, OK]),
    ("createStaffAccount: no unit",     CREATE_BAD,   Nothing,        Any,   [UNA, FOR, FOR, FOR, FOR, FOR, FOR, BAD]),
    // Additions of schema.graphql beyond the contract.
    ("myComments: own pending one",     MINE,         Shared,         Lists, [UNA, HAS, NO, FOR, FOR, FOR, FOR, FOR]),
    ("claimModerationItems",            CLAIM,        Nothing,        Any,   [UNA, FOR, FOR, OK, FOR, FOR, FOR, OK]),
    ("deadlineRules",                   RULES,        Nothing,        Any,   [UNA, FOR, FOR, OK, OK, OK, OK, OK]),
    ("setDeadlineRule",                 SET_RULE,     Nothing,        Any,   [UNA, FOR, FOR, FOR, FOR, FOR, FOR, OK]),
    ("responseRanking",                 RANKING,      Nothing,        Any,   [OK, OK, OK, OK, OK, OK, OK, OK]),
    ("communesNear",                    NEAR,         Nothing,        Any,   [OK, OK, OK, OK, OK, OK, OK, OK]),
    ("updateStaffAccount",              UPDATE_STAFF, Nothing,        Any,   [UNA, FOR, FOR, FOR, FOR, FOR, FOR, OK]),
    ("updateStaffAccount: unknown",     UPDATE_NOBODY, Nothing,       Any,   [UNA, FOR, FOR, FOR, FOR, FOR, FOR, NF]),
    ("revokeStaffSessions",             REVOKE_STAFF, Nothing,        Any,   [UNA, FOR, FOR, FOR, FOR, FOR, FOR, OK]),
    ("apiKeys",                         API_KEYS,     Nothing,        Any,   [UNA, FOR, FOR, FOR, FOR, FOR, FOR, OK]),
    ("issueApiKey",                     ISSUE_KEY,    Nothing,        Any,   [UNA, FOR, FOR, FOR, FOR, FOR, FOR, OK]),
    ("revokeApiKey: unknown",           REVOKE_NO_KEY, Nothing,       Any,   [UNA, FOR, FOR, FOR, FOR, FOR, FOR, NF]),
];

/// A comment made for the matrix.
#[derive(Debug, Clone)]
struct Fix {
    id: String,
    code: String,
    author: String,
}

/// The callers and the shared comments.
struct World<'a> {
    app: &'a TestApp,
    /// Moderator, official of 120101, official of 120109, monitor, admin.
    staff: [String; 5],
    citizen: String,
    author: String,
    /// The citizen session fresh comments are written with, and how many it sent (the
    /// default limit is 5 submissions per session a minute).
    pool: (String, usize),
    public: Fix,
    private: Fix,
    pending: Fix,
    login_password: String,
}

/// A new comment of the matrix, written by `token`, with a phone number in its body.
async fn written(app: &TestApp, token: &str, public: bool) -> Fix {
    let n = uuid::Uuid::new_v4().simple().to_string();
    let body = format!(
        "The drain by the market is blocked, call me on {PHONE} (report {})",
        &n[..8]
    );
    let comment = app
        .submit(token, &Submission::new("120101", "LOCAL_ROADS", body).public(public))
        .await;
    Fix {
        id: comment["id"].as_str().unwrap().to_owned(),
        code: comment["trackingCode"].as_str().unwrap().to_owned(),
        author: token.to_owned(),
    }
}

impl<'a> World<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let staff = [
            app.staff("moderator", "mod.one", None).await,
            app.staff("official", "off.120101", Some("120101")).await,
            app.staff("official", "off.120109", Some("120109")).await,
            app.staff("monitor", "monitor.one", None).await,
            app.staff("admin", "admin.one", None).await,
        ];
        let author = app.citizen().await;
        let public = written(app, &author, true).await;
        let private = written(app, &author, false).await;
        let pending = written(app, &author, true).await;
        let login_password = app.add_staff("monitor", "probe.login", None).await;
        app.add_staff("monitor", "probe.update", None).await;
        let world = Self {
            app,
            citizen: app.citizen().await,
            pool: (app.citizen().await, 0),
            staff,
            author,
            public,
            private,
            pending,
            login_password,
        };
        for fix in [&world.public, &world.private] {
            world.step(APPROVE, fix).await;
        }
        world
    }

    async fn step(&self, doc: &str, fix: &Fix) {
        let token = if doc == APPROVE { &self.staff[0] } else { &self.staff[1] };
        self.app.ok(Some(token), doc, json!({ "id": fix.id })).await;
    }

    /// A new public comment of its own at `stage`.
    async fn fresh(&mut self, stage: Stage) -> Fix {
        if self.pool.1 == 5 {
            self.pool = (self.app.citizen().await, 0);
        }
        self.pool.1 += 1;
        let fix = written(self.app, &self.pool.0, true).await;
        let steps: &[&str] = match stage {
            Pending => &[],
            Routed => &[APPROVE],
            Acked => &[APPROVE, ACK],
            Responded => &[APPROVE, RESPOND],
            Resolved => &[APPROVE, RESPOND, RESOLVE],
        };
        for doc in steps {
            self.step(doc, &fix).await;
        }
        fix
    }

    async fn target(&mut self, target: Target) -> Fix {
        match target {
            Nothing => Fix {
                author: self.author.clone(),
                ..self.public.clone()
            },
            Public => self.public.clone(),
            Private => self.private.clone(),
            Shared => self.pending.clone(),
            Unknown => Fix {
                id: "999999999".into(),
                code: "ZZZZZZZZ".into(),
                author: self.author.clone(),
            },
            Fresh(stage) => self.fresh(stage).await,
        }
    }

    fn token(&self, column: usize, fix: &Fix) -> Option<String> {
        match column {
            0 => None,
            1 => Some(fix.author.clone()),
            2 => Some(self.citizen.clone()),
            staff => Some(self.staff[staff - 3].clone()),
        }
    }
}

/// Every id that occurs in `value`.
fn ids(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get("id") {
                out.push(id.clone());
            }
            map.values().for_each(|v| ids(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| ids(v, out)),
        _ => {}
    }
}

/// What a response shows, in the table's terms.
fn observe(response: &Value, check: Check, target: &Fix) -> String {
    if let Some(error) = response.get("errors").and_then(|e| e.get(0)) {
        return match error["extensions"]["code"].as_str() {
            Some(code) => code.to_owned(),
            None => format!("error without code: {}", error["message"]),
        };
    }
    let result = response["data"].as_object().and_then(|d| d.values().next());
    let Some(result) = result.filter(|r| !r.is_null()) else {
        return NIL.to_owned();
    };
    let answer = match check {
        Any => OK,
        Body => match result["body"].as_str() {
            Some(body) if body.contains(PHONE) => ORIG,
            Some(body) if body.contains("[…]") => RED,
            Some("") => HID,
            _ => "comment without the phone number",
        },
        Lists => {
            let mut found = Vec::new();
            ids(result, &mut found);
            if found.contains(&target.id) { HAS } else { NO }
        }
    };
    answer.to_owned()
}

/// Runs the rows `keep` selects; panics with a table of every mismatch.
async fn run_matrix(app: &TestApp, keep: impl Fn(&Row) -> bool) {
    let mut world = World::new(app).await;
    let mut mismatches = Vec::new();
    let mut cells = 0;
    for (r, row) in TABLE.iter().enumerate().filter(|(_, row)| keep(row)) {
        let (op, doc, target, check, expected) = *row;
        for (column, want) in expected.iter().enumerate() {
            let fix = world.target(target).await;
            let token = world.token(column, &fix);
            let vars = json!({
                "id": fix.id, "code": fix.code,
                "n": format!("probe.r{r}c{column}"), "pw": world.login_password,
            });
            let response = app.graphql(token.as_deref(), doc, vars).await;
            let got = observe(&response, check, &fix);
            cells += 1;
            if got != *want {
                mismatches.push(format!("{op:<36} {:<15} {want:<16} {got}", ROLES[column]));
            }
        }
    }
    assert!(cells > 0, "no cell ran");
    assert!(
        mismatches.is_empty(),
        "{} of {cells} cells differ from the matrix:\n{:<36} {:<15} {:<16} got\n{}",
        mismatches.len(),
        "operation",
        "role",
        "expected",
        mismatches.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_every_kind_of_caller_as_the_matrix_says() {
    let app = TestApp::start(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    run_matrix(&app, |_| true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_the_cells_on_shared_comments_answer_as_on_sqlite() {
    if let Some(app) = TestApp::start(Backend::Postgres).await {
        run_matrix(&app, |row| !matches!(row.2, Fresh(_))).await;
    }
}
