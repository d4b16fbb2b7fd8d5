//! The WebSocket door cannot be held open for free: a socket that never sends an
//! accepted `connection_init` is closed (4408) after `MATI_WEBSOCKET_INIT_TIMEOUT_SECS`,
//! and one address holds at most `MATI_MAX_WEBSOCKETS_PER_ADDRESS` sockets at once; the
//! next upgrade is refused with 429 until one of them ends.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::time::{Duration, Instant};

use futures::StreamExt;
use mati_tests::socket::{accepted, connect, receive, send};
use mati_tests::{Backend, TestApp};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_never_sends_connection_init_is_closed() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, &[("MATI_WEBSOCKET_INIT_TIMEOUT_SECS", "1")]).await else {
        return;
    };
    // Silent.
    let mut silent = connect(&app).await.unwrap();
    let closed = receive(&mut silent, Duration::from_secs(30)).await;
    assert_eq!(closed, Some(json!({ "type": "close", "code": 4408 })));

    // Pings before connection_init keep nothing open either.
    let mut pinging = connect(&app).await.unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    let closed = loop {
        assert!(Instant::now() < until, "the pinging socket stayed open");
        send(&mut pinging, json!({ "type": "ping" })).await;
        match receive(&mut pinging, Duration::from_millis(300)).await {
            Some(message) if message["type"] == "close" => break message,
            _ => {}
        }
    };
    assert_eq!(closed["code"], 4408, "{closed}");

    // An accepted connection_init keeps the socket open past the timeout.
    let official = app.staff("official", "commune120101", Some("120101")).await;
    let mut socket = accepted(&app, &official).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    send(&mut socket, json!({ "type": "ping" })).await;
    let pong = receive(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(pong.map(|m| m["type"].clone()), Some(json!("pong")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_more_sockets_than_its_share() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, &[("MATI_MAX_WEBSOCKETS_PER_ADDRESS", "3")]).await else {
        return;
    };
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(connect(&app).await.unwrap());
    }
    let (status, body) = connect(&app).await.expect_err("the fourth socket is refused");
    assert_eq!(status, 429, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");

    // A socket that ends gives its place back.
    let mut first = open.remove(0);
    first.close(None).await.unwrap();
    while first.next().await.is_some() {}
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        match connect(&app).await {
            Ok(socket) => {
                open.push(socket);
                break;
            }
            Err((429, _)) if Instant::now() < until => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(refused) => panic!("the freed place was not given back: {refused:?}"),
        }
    }
    assert!(connect(&app).await.is_err(), "still three at most");
}
