//! The GraphQL request path: the real router, over a real SQLite database, from the body's
//! bytes to the response. The input is a `POST /graphql` JSON body; when it is a JSON
//! object, the same request is also sent as a `GET` with a query string. The caller is
//! chosen by the input's length: nobody, a citizen, a moderator or an administrator.
//!
//! Whatever arrives, the server answers: no 5xx, no INTERNAL error, and none of the
//! tell-tale text of a panic, a driver or the source tree in the response (unless the
//! input itself carried that text, which an error message may quote back).

#![no_main]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, header};
use libfuzzer_sys::fuzz_target;
use mati_api::app;
use mati_api::settings::Settings;
use mati_domain::auth::{Principal, Role, StaffAccount};
use mati_domain::comment::StaffId;
use mati_domain::rate_limit::Action;
use mati_domain::service::{Mati, StaffUpdate};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// Text that only an internal failure would put into a response, one per line (shared
/// with the schemathesis check).
const LEAKS: &str = include_str!("../../audit/internal-text.txt");

struct Server {
    runtime: Runtime,
    router: Router,
    /// The services behind the router, to put the staff accounts back.
    mati: Mati,
    /// `Authorization` values: nobody, citizen, moderator, administrator.
    callers: Mutex<[Option<String>; 4]>,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|err| panic!("runtime: {err}"));
        let (router, mati, callers) = runtime.block_on(start());
        Server {
            runtime,
            router,
            mati,
            callers: Mutex::new(callers),
        }
    })
}

/// The command line's powers, which the harness uses to set up and restore accounts.
fn operator() -> Principal {
    Principal::Staff(StaffAccount {
        id: StaffId::new(0),
        username: "fuzz".into(),
        role: Role::Admin,
        unit: None,
        disabled: false,
    })
}

async fn start() -> (Router, Mati, [Option<String>; 4]) {
    let path = std::env::temp_dir().join(format!("mati-fuzz-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let mut vars = BTreeMap::from([
        (
            "MATI_DATABASE_URL".to_owned(),
            format!("sqlite://{}?mode=rwc", path.display()),
        ),
        ("MATI_LOG".to_owned(), "off".to_owned()),
    ]);
    // Limits high enough that the fuzzer reaches what lies behind them.
    for action in Action::ALL {
        vars.insert(action.setting(), "1000000/1s".to_owned());
    }
    let settings = Settings::from_vars(vars).unwrap_or_else(|err| panic!("settings: {err}"));
    let state = app::start(&settings)
        .await
        .unwrap_or_else(|err| panic!("start: {err:#}"));
    for (_, username, role) in STAFF {
        state
            .mati
            .create_staff_account(&operator(), username, PASSWORD, role, None)
            .await
            .unwrap_or_else(|err| panic!("staff {username}: {err}"));
    }
    let mati = state.mati.clone();
    let router = mati_api::http::router(state);
    let mut callers = [None, Some(citizen(&router).await), None, None];
    for (slot, username, _) in STAFF {
        callers[slot] = Some(login(&router, username).await);
    }
    (router, mati, callers)
}

/// The staff callers: their slot, user name and role.
const STAFF: [(usize, &str, Role); 2] = [(2, "moderator", Role::Moderator), (3, "admin", Role::Admin)];

const PASSWORD: &str = "fuzzing password";

/// A citizen's `Authorization` value, from a fresh session.
async fn citizen(router: &Router) -> String {
    let start = "mutation { startCitizenSession { token } }";
    format!("Bearer {}", token(router, start, "startCitizenSession").await)
}

/// Callers whose session an input may have ended get a fresh one: the caller itself
/// after `logout`, and every staff caller, its account as it was at the start, after the
/// admin changed or revoked staff accounts.
async fn refresh(server: &Server, slot: usize, input: &str) {
    let changed = ["updateStaffAccount", "revokeStaffSessions"]
        .iter()
        .any(|op| input.contains(op));
    for (staff, username, role) in STAFF {
        if changed {
            let restore = StaffUpdate {
                disabled: Some(false),
                password: Some(PASSWORD.into()),
                role: Some(role),
                unit_code: None,
            };
            server
                .mati
                .update_staff_account(&operator(), username, restore)
                .await
                .unwrap_or_else(|err| panic!("restoring {username}: {err}"));
        } else if !(staff == slot && input.contains("logout")) {
            continue;
        }
        let fresh = login(&server.router, username).await;
        if let Ok(mut callers) = server.callers.lock() {
            callers[staff] = Some(fresh);
        }
    }
    if slot == 1 && input.contains("logout") {
        let fresh = citizen(&server.router).await;
        if let Ok(mut callers) = server.callers.lock() {
            callers[1] = Some(fresh);
        }
    }
}

/// A staff member's `Authorization` value, fresh from `login`.
async fn login(router: &Router, username: &str) -> String {
    let login = format!(r#"mutation {{ login(username: "{username}", password: "{PASSWORD}") {{ token }} }}"#);
    format!("Bearer {}", token(router, &login, "login").await)
}

async fn token(router: &Router, query: &str, field: &str) -> String {
    let body = json!({ "query": query }).to_string().into_bytes();
    let (status, text) = send(router, post(body, None)).await;
    let value: Value = serde_json::from_str(&text).unwrap_or_default();
    match value["data"][field]["token"].as_str() {
        Some(token) if status < 300 => token.to_owned(),
        _ => panic!("{field} failed: {status} {text}"),
    }
}

fn post(body: Vec<u8>, authorization: Option<&str>) -> Request<Body> {
    let builder = Request::builder()
        .method(Method::POST)
        .uri("/graphql")
        .header(header::CONTENT_TYPE, "application/json");
    with_caller(builder, authorization, Body::from(body))
}

fn get(request: &serde_json::Map<String, Value>, authorization: Option<&str>) -> Request<Body> {
    let mut query = String::new();
    for (name, value) in request {
        let value = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&percent_encode(name));
        query.push('=');
        query.push_str(&percent_encode(&value));
    }
    let builder = Request::builder()
        .method(Method::GET)
        .uri(format!("/graphql?{query}"))
        .header(header::ACCEPT, "application/json");
    with_caller(builder, authorization, Body::empty())
}

fn with_caller(builder: axum::http::request::Builder, authorization: Option<&str>, body: Body) -> Request<Body> {
    let builder = match authorization {
        Some(value) => builder.header(header::AUTHORIZATION, value),
        None => builder,
    };
    let mut request = builder.body(body).unwrap_or_else(|err| panic!("request: {err}"));
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    request
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

async fn send(router: &Router, request: Request<Body>) -> (u16, String) {
    let response = router.clone().oneshot(request).await.unwrap_or_else(|err| match err {});
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_else(|err| panic!("response body: {err}"));
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn check(input: &str, status: u16, body: &str) {
    assert!(status < 500, "status {status}: {body}");
    for leak in LEAKS.lines().filter(|line| !line.is_empty()) {
        if !input.contains(leak) {
            assert!(!body.contains(leak), "{leak:?} in the response: {body}");
        }
    }
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        for error in value["errors"].as_array().into_iter().flatten() {
            assert_ne!(error["extensions"]["code"], "INTERNAL", "{body}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let server = server();
    let slot = data.len() % 4;
    let caller = server
        .callers
        .lock()
        .map(|callers| callers[slot].clone())
        .unwrap_or_default();
    let caller = caller.as_deref();
    let input = String::from_utf8_lossy(data);
    server.runtime.block_on(async {
        let (status, body) = send(&server.router, post(data.to_vec(), caller)).await;
        check(&input, status, &body);
        if let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(data) {
            let (status, body) = send(&server.router, get(&request, caller)).await;
            check(&input, status, &body);
        }
        refresh(server, slot, &input).await;
    });
});
