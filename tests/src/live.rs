//! A live inbox: the `inboxEvents` subscription over `/graphql/ws`
//! (graphql-transport-ws), its events handed to the test as they arrive.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::app::TestApp;

const INBOX_EVENTS: &str = "subscription { inboxEvents { kind at unit { code } comment { id status } } }";

impl TestApp {
    /// STAFF: subscribes to `inboxEvents` with `token`; once this returns the server has
    /// taken the subscription in, and every event (`{ kind at unit comment }`) comes out
    /// of the receiver. Anything but an event fails the test; the receiver ends with the
    /// socket.
    pub async fn live_inbox(&self, token: &str) -> mpsc::UnboundedReceiver<Value> {
        let url = format!("{}/graphql/ws", self.base.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().expect("WebSocket request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (mut socket, _) = connect_async(request).await.expect("WebSocket upgrade");
        let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
        let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": INBOX_EVENTS } });
        // A ping after the subscription: once the pong is back, the server has it.
        for message in [init, subscribe, json!({ "type": "ping" })] {
            socket.send(Message::text(message.to_string())).await.expect("send");
        }
        let mut acknowledged = false;
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
                .await
                .expect("an answer within 10 s")
                .expect("an open socket")
                .expect("a message");
            let Message::Text(text) = message else { continue };
            let message: Value = serde_json::from_str(&text).expect("JSON message");
            match message["type"].as_str() {
                Some("connection_ack") => acknowledged = true,
                Some("pong") if acknowledged => break,
                _ => panic!("unexpected answer while subscribing: {message:#}"),
            }
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else { continue };
                let message: Value = serde_json::from_str(&text).expect("JSON message");
                assert_eq!(message["type"], "next", "{message:#}");
                assert!(message["payload"].get("errors").is_none(), "{message:#}");
                if sender.send(message["payload"]["data"]["inboxEvents"].clone()).is_err() {
                    break;
                }
            }
        });
        receiver
    }
}
