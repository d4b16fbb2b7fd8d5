//! WebSockets to `/graphql/ws` (graphql-transport-ws): opened, written, read.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::app::TestApp;

/// A client's socket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/graphql/ws` with graphql-transport-ws, sending nothing; the refusal's HTTP
/// status and body when the upgrade is refused.
pub async fn connect(app: &TestApp) -> Result<Socket, (u16, String)> {
    let url = format!("{}/graphql/ws", app.base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    match connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((response.status().as_u16(), body))
        }
        Err(other) => panic!("unexpected WebSocket failure: {other}"),
    }
}

pub async fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::text(message.to_string())).await.unwrap();
}

/// The next server message as JSON; a close frame reads `{"type": "close", "code": N}`;
/// `None` when nothing came within `wait`.
pub async fn receive(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(wait, socket.next()).await.ok()?;
        match message {
            Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(frame))) => {
                let code = frame.map(|f| u16::from(f.code));
                return Some(json!({ "type": "close", "code": code }));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Some(json!({ "type": "close", "code": null })),
        }
    }
}

/// A socket whose `connection_init` with `token` was accepted (`connection_ack`).
pub async fn accepted(app: &TestApp, token: &str) -> Socket {
    let mut socket = connect(app).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    send(&mut socket, init).await;
    let ack = receive(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(ack.map(|m| m["type"].clone()), Some(json!("connection_ack")));
    socket
}
