//! The moderation queue. With Redis, a stream with a consumer group shared by every
//! replica ([`redis_stream`]); without it, leases in the database ([`sql`]).
//! Either way the database's PENDING comments are the truth the queue is built from.

pub mod redis_stream;
pub mod sql;

use async_trait::async_trait;
use mati_domain::DomainResult;
use mati_domain::comment::CommentId;
use mati_domain::ports::ModerationQueue;

/// What the outbox relay needs from a queue besides the domain's port.
#[async_trait]
pub trait QueueBackend: ModerationQueue {
    /// Adds newly submitted comments; adding one twice has no effect.
    async fn enqueue(&self, ids: &[CommentId]) -> DomainResult<()>;
    /// Periodic upkeep: rebuilds the queue from the database when it was lost.
    async fn maintain(&self) -> DomainResult<()>;
}
