//! Live notifications between replicas. Each replica publishes what happens to comments
//! on one Redis channel and forwards what it hears to its own subscribers. Without
//! Redis (or while it is down) notifications stay inside the process.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use mati_domain::comment::{CommentId, EventKind};
use mati_domain::geography::UnitCode;
use mati_domain::ports::{Notification, Notifications, Notifier};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::redis::{Redis, TIMEOUT};

/// Notifications buffered per subscriber before a slow one starts missing some.
const BUFFER: usize = 1024;

/// Fan-out of notifications to this process's subscribers, fed through Redis when set.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Notification>,
    redis: Option<Redis>,
}

fn encode(n: &Notification) -> String {
    json!({
        "comment": n.comment_id.get(),
        "kind": n.kind.as_str(),
        "unit": n.unit.as_ref().map(UnitCode::as_str),
        "from": n.from_unit.as_ref().map(UnitCode::as_str),
        "at": n.at.to_rfc3339(),
    })
    .to_string()
}

fn decode(raw: &str) -> Option<Notification> {
    let value: Value = serde_json::from_str(raw).ok()?;
    let code = |field: &str| value[field].as_str().and_then(|c| UnitCode::parse(field, c).ok());
    Some(Notification {
        comment_id: CommentId::new(value["comment"].as_i64()?),
        kind: EventKind::parse(value["kind"].as_str()?)?,
        unit: code("unit"),
        from_unit: code("from"),
        at: DateTime::parse_from_rfc3339(value["at"].as_str()?)
            .ok()?
            .with_timezone(&Utc),
    })
}

impl EventBus {
    /// A bus; with `redis`, a background task relays the shared channel.
    pub fn new(redis: Option<Redis>) -> Self {
        let (sender, _) = broadcast::channel(BUFFER);
        let bus = Self { sender, redis };
        if let Some(redis) = bus.redis.clone() {
            tokio::spawn(listen(redis, bus.sender.clone()));
        }
        bus
    }
}

fn channel(redis: &Redis) -> String {
    redis.key("events")
}

async fn listen(redis: Redis, sender: broadcast::Sender<Notification>) {
    let mut epochs = redis.epochs();
    loop {
        epochs.borrow_and_update();
        let connected = tokio::time::timeout(TIMEOUT, redis.pubsub()).await;
        if let Ok(Ok(mut pubsub)) = connected
            && pubsub.subscribe(channel(&redis)).await.is_ok()
        {
            let mut messages = pubsub.into_on_message();
            loop {
                tokio::select! {
                    message = messages.next() => {
                        let Some(message) = message else { break };
                        let payload: Result<String, _> = message.get_payload();
                        if let Some(notification) = payload.ok().as_deref().and_then(decode) {
                            let _ = sender.send(notification);
                        }
                    }
                    // Another master (a failover): publishers are there now, and the
                    // old one may not hear them.
                    _ = epochs.changed() => break,
                }
            }
        }
        if !epochs.has_changed().unwrap_or(false) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), epochs.changed()).await;
        }
    }
}

#[async_trait]
impl Notifier for EventBus {
    async fn notify(&self, notification: Notification) {
        if let Some(redis) = &self.redis
            && let Ok(mut conn) = redis.connection().await
        {
            let published: Result<i64, _> = redis::cmd("PUBLISH")
                .arg(channel(redis))
                .arg(encode(&notification))
                .query_async(&mut conn)
                .await;
            match published {
                // Our own listener hears it back and hands it to local subscribers.
                Ok(heard) if heard > 0 => return,
                // No one heard it, not even this process, whose listener is between two
                // masters (a failover): its subscribers get it here.
                Ok(_) => {}
                Err(err) => {
                    redis.failed(&err);
                }
            }
        }
        let _ = self.sender.send(notification);
    }

    fn subscribe(&self) -> Notifications {
        let receiver = self.sender.subscribe();
        Box::pin(futures::stream::unfold(receiver, |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(notification) => return Some((notification, receiver)),
                    // A subscriber that lagged skips what it missed and goes on.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_survive_the_wire() {
        let n = Notification {
            comment_id: CommentId::new(7),
            kind: EventKind::Routed,
            unit: UnitCode::parse("u", "1201").ok(),
            from_unit: None,
            at: DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default(),
        };
        assert_eq!(decode(&encode(&n)), Some(n));
    }
}
