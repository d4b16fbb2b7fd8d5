//! A live inbox: the `inboxEvents` subscription over `/graphql/ws`, its events handed
//! to the test as they arrive.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::app::TestApp;
use crate::socket::{connect, receive, send};

const INBOX_EVENTS: &str = "subscription { inboxEvents { kind at unit { code } comment { id status } } }";

impl TestApp {
    /// STAFF: subscribes to `inboxEvents` with `token`; once this returns the server has
    /// taken the subscription in, and every event (`{ kind at unit comment }`) comes out
    /// of the receiver, which ends with the socket or at anything but an event.
    pub async fn live_inbox(&self, token: &str) -> mpsc::UnboundedReceiver<Value> {
        let mut socket = connect(self).await.expect("WebSocket upgrade");
        let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
        let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": INBOX_EVENTS } });
        // A ping after the subscription: once the pong is back, the server has it.
        for message in [init, subscribe, json!({ "type": "ping" })] {
            send(&mut socket, message).await;
        }
        for expected in ["connection_ack", "pong"] {
            let answer = receive(&mut socket, Duration::from_secs(10)).await;
            assert_eq!(
                answer.as_ref().map(|a| a["type"].clone()),
                Some(json!(expected)),
                "subscribing: {answer:?}"
            );
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(message) = receive(&mut socket, Duration::from_secs(3600)).await {
                let event = &message["payload"]["data"]["inboxEvents"];
                if message["type"] != "next" || !event.is_object() || sender.send(event.clone()).is_err() {
                    break;
                }
            }
        });
        receiver
    }
}
