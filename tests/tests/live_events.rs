//! Live inboxes across replicas (PRODUCT.md §9): Redis pub/sub carries comment events
//! between `mati` processes, so a `inboxEvents` subscription (graphql-transport-ws at
//! `/graphql/ws`) on one replica sees a comment approved on another within a second,
//! and only the officials whose unit it concerns see it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use mati_tests::{Backend, TestApp, redis_prefix, redis_url};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const INBOX_EVENTS: &str = "subscription { inboxEvents { kind at unit { code } comment { id status } } }";
/// What the citizens of these tests write, in Tonle Basak (120101) about LOCAL_ROADS.
const LAMPS: &str = "The street lamps on our road are dark";

/// The next server message as JSON; a close frame reads `{"type": "close", "code": N}`;
/// `None` when nothing came within `wait` or the socket ended.
async fn receive(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(wait, socket.next()).await.ok()??;
        match message {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).expect("JSON message")),
            Ok(Message::Close(frame)) => {
                let code = frame.map(|f| u16::from(f.code));
                return Some(json!({ "type": "close", "code": code }));
            }
            Ok(_) => {}
            Err(_) => return Some(json!({ "type": "close", "code": null })),
        }
    }
}

/// Opens `/graphql/ws` with graphql-transport-ws and sends `connection_init` with the
/// token (no `Authorization` without one); the socket and the server's first answer.
async fn open(app: &TestApp, token: Option<&str>) -> (Socket, Value) {
    let url = format!("{}/graphql/ws", app.base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, response) = connect_async(request).await.expect("WebSocket upgrade");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    let payload = token.map_or_else(|| json!({}), |t| json!({ "Authorization": format!("Bearer {t}") }));
    let init = json!({ "type": "connection_init", "payload": payload });
    socket.send(Message::text(init.to_string())).await.unwrap();
    let answer = receive(&mut socket, Duration::from_secs(10))
        .await
        .expect("an answer to connection_init");
    (socket, answer)
}

/// Sends the `inboxEvents` subscription as operation "1", then a ping: once the pong
/// is back the server has taken the subscription in.
async fn subscribe(socket: &mut Socket) {
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": INBOX_EVENTS } });
    socket.send(Message::text(subscribe.to_string())).await.unwrap();
    socket
        .send(Message::text(json!({ "type": "ping" }).to_string()))
        .await
        .unwrap();
    let pong = receive(socket, Duration::from_secs(10)).await;
    assert_eq!(
        pong.as_ref().map(|m| m["type"].clone()),
        Some(json!("pong")),
        "{pong:?}"
    );
}

/// A subscribed inbox: every later message with the moment it arrived.
async fn inbox(app: &TestApp, token: &str) -> mpsc::UnboundedReceiver<(Instant, Value)> {
    let (mut socket, ack) = open(app, Some(token)).await;
    assert_eq!(ack["type"], "connection_ack", "{ack:#}");
    subscribe(&mut socket).await;
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(message) = receive(&mut socket, Duration::from_secs(3600)).await {
            let closed = message["type"] == "close";
            if sender.send((Instant::now(), message)).is_err() || closed {
                break;
            }
        }
    });
    receiver
}

/// The events for comment `id` that arrived by `deadline`.
async fn events_for(inbox: &mut mpsc::UnboundedReceiver<(Instant, Value)>, id: &str, deadline: Instant) -> Vec<Value> {
    let mut found = Vec::new();
    while let Ok(Some((at, message))) = tokio::time::timeout_at(deadline.into(), inbox.recv()).await {
        assert_eq!(message["type"], "next", "{message:#}");
        assert!(message["payload"].get("errors").is_none(), "{message:#}");
        let event = message["payload"]["data"]["inboxEvents"].clone();
        if event["comment"]["id"] == id && at <= deadline {
            found.push(event);
            if found.iter().any(|e| e["kind"] == "ROUTED") {
                break;
            }
        }
    }
    found
}

/// Two replicas on one PostgreSQL and one Redis prefix; `None` to skip.
async fn two_replicas() -> Option<(TestApp, TestApp)> {
    let prefix = redis_prefix().await?;
    let redis = redis_url();
    let env = [
        ("MATI_REDIS_URL", redis.as_str()),
        ("MATI_REDIS_PREFIX", prefix.as_str()),
    ];
    let first = TestApp::start_with(Backend::Postgres, &env).await?;
    let second = first.replica(&env).await;
    Some((first, second))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_official_sees_on_one_replica_a_comment_approved_on_another_within_a_second() {
    let Some((a, b)) = two_replicas().await else {
        return;
    };
    let official = a.staff("official", "official_live", Some("120101")).await;
    let moderator = b.staff("moderator", "moderator_live", None).await;
    let mut events = inbox(&a, &official).await;

    for round in 0..3 {
        let citizen = b.citizen().await;
        let id = b.submit_comment(&citizen, "120101", "LOCAL_ROADS", LAMPS).await;
        let approved = b.approve(&moderator, &id).await;
        let answered = Instant::now();
        assert_eq!(approved["status"], "ROUTED", "{approved:#}");
        let seen = events_for(&mut events, &id, answered + Duration::from_secs(1)).await;
        assert!(
            !seen.is_empty(),
            "round {round}: replica A saw nothing of comment {id} within a second\nA:\n{}\nB:\n{}",
            a.log(),
            b.log()
        );
        for event in &seen {
            assert!(
                ["APPROVED", "ROUTED"].contains(&event["kind"].as_str().unwrap_or_default()),
                "{event:#}"
            );
            assert_eq!(event["unit"]["code"], "120101", "{event:#}");
            assert!(event["at"].is_string(), "{event:#}");
        }
        assert!(
            seen.iter().any(|e| e["comment"]["status"] == "ROUTED"),
            "the official sees the comment as it is now: {seen:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_official_of_another_unit_sees_nothing_and_a_citizen_cannot_subscribe() {
    let Some((a, b)) = two_replicas().await else {
        return;
    };
    let here = a.staff("official", "official_here", Some("120101")).await;
    let elsewhere = a.staff("official", "official_elsewhere", Some("120109")).await;
    let moderator = b.staff("moderator", "moderator_elsewhere", None).await;
    let mut control = inbox(&a, &here).await;
    let mut other = inbox(&a, &elsewhere).await;

    let citizen = b.citizen().await;
    let id = b.submit_comment(&citizen, "120101", "LOCAL_ROADS", LAMPS).await;
    b.approve(&moderator, &id).await;
    let seen = events_for(&mut control, &id, Instant::now() + Duration::from_secs(5)).await;
    assert!(
        !seen.is_empty(),
        "the official of 120101 saw nothing: the test proves nothing"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    if let Ok(message) = other.try_recv() {
        panic!("the official of 120109 received {message:#?}");
    }

    // Watching is authorised at connection_init: a citizen, no token or an unknown
    // token are refused there, and the socket closes without an acknowledgement.
    let citizen = a.citizen().await;
    for token in [Some(citizen.as_str()), None, Some("mati_c_not_a_real_token")] {
        let (_, answer) = open(&a, token).await;
        assert_eq!(answer["type"], "close", "{token:?}: {answer:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_out_officials_live_inbox_ends() {
    let Some(app) = mati_tests::TestApp::start(mati_tests::Backend::Sqlite).await else {
        return;
    };
    let official = app.staff("official", "commune120101", Some("120101")).await;
    let moderator = app.staff("moderator", "mod1", None).await;
    let mut live = inbox(&app, &official).await;
    app.ok(Some(&official), "mutation { logout }", json!({})).await;
    let citizen = app.citizen().await;
    let id = app.submit_comment(&citizen, "120101", "LOCAL_ROADS", LAMPS).await;
    app.approve(&moderator, &id).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut ended = false;
    while let Ok(Some((_, message))) = tokio::time::timeout_at(deadline.into(), live.recv()).await {
        assert_ne!(message["type"], "next", "no event after logout: {message:#}");
        if message["type"] == "complete" {
            ended = true;
            break;
        }
    }
    assert!(ended, "the subscription completes once the session is gone");
}

#[tokio::test]
async fn the_socket_runs_subscriptions_only_within_the_same_limits() {
    let env = [("MATI_MAX_ALIASES", "2")];
    let Some(app) = mati_tests::TestApp::start_with(mati_tests::Backend::Sqlite, &env).await else {
        return;
    };
    let moderator = app.staff("moderator", "mod1", None).await;
    let (mut socket, ack) = open(&app, Some(&moderator)).await;
    assert_eq!(ack["type"], "connection_ack", "{ack:#}");
    let refused = [
        // Mutations and queries have their door over HTTP, with its checks.
        ("mutation { logout }", "BAD_USER_INPUT"),
        ("{ moderationQueue { id } }", "BAD_USER_INPUT"),
        // The shape limits hold here too.
        (
            "subscription { a: inboxEvents { kind } b: inboxEvents { kind } c: inboxEvents { kind } }",
            "QUERY_TOO_COMPLEX",
        ),
    ];
    for (n, (query, code)) in refused.into_iter().enumerate() {
        let id = format!("op{n}");
        let subscribe = json!({ "id": id, "type": "subscribe", "payload": { "query": query } });
        socket.send(Message::text(subscribe.to_string())).await.unwrap();
        let answer = receive(&mut socket, Duration::from_secs(10)).await.expect("an answer");
        assert_eq!(answer["id"], id.as_str(), "{answer:#}");
        let errors = if answer["type"] == "error" {
            answer["payload"].clone()
        } else {
            answer["payload"]["errors"].clone()
        };
        assert_eq!(errors[0]["extensions"]["code"], code, "{query}: {answer:#}");
        if answer["type"] == "next" {
            let done = receive(&mut socket, Duration::from_secs(10)).await.expect("complete");
            assert_eq!(
                (&done["type"], &done["id"]),
                (&json!("complete"), &json!(id)),
                "{done:#}"
            );
        }
    }
    // The session is still good: logout did not run over the socket.
    app.ok(Some(&moderator), "{ moderationQueue { id } }", json!({})).await;
    // And the subscription itself still runs.
    subscribe(&mut socket).await;
}
