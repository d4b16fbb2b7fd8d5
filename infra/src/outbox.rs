//! The outbox relay: moves what committed transactions wrote to the outbox (today,
//! submissions for the moderation queue) to the queue, at least once, and deletes a row
//! only after the queue accepted it. Replicas share the work: on PostgreSQL each takes
//! rows the others have not locked.

use std::sync::Arc;
use std::time::Duration;

use mati_domain::comment::CommentId;
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

use crate::Db;
use crate::db::entity::outbox;
use crate::queue::QueueBackend;

/// Topic of rows for the moderation queue.
pub const MODERATION: &str = "moderation";
/// Rows relayed per round.
const BATCH: u64 = 500;
/// Pause when the outbox is empty.
const IDLE: Duration = Duration::from_millis(200);
/// Pause after a failure (Redis or the database down).
const BACKOFF: Duration = Duration::from_secs(1);
/// How often the queue's upkeep runs.
const MAINTAIN_EVERY: Duration = Duration::from_secs(2);

/// Relays one batch; how many rows it moved.
pub async fn relay_once(db: &Db, queue: &dyn QueueBackend) -> anyhow::Result<usize> {
    let _write = db.write_guard().await;
    let txn = db.conn().begin().await?;
    let mut select = outbox::Entity::find()
        .filter(outbox::Column::Topic.eq(MODERATION))
        .order_by_asc(outbox::Column::Id)
        .limit(BATCH);
    if db.backend() == DbBackend::Postgres {
        select = select.lock_with_behavior(
            sea_orm::sea_query::LockType::Update,
            sea_orm::sea_query::LockBehavior::SkipLocked,
        );
    }
    let rows = select.all(&txn).await?;
    if rows.is_empty() {
        txn.rollback().await?;
        return Ok(0);
    }
    let ids: Vec<CommentId> = rows.iter().map(|r| CommentId::new(r.comment_id)).collect();
    queue.enqueue(&ids).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    outbox::Entity::delete_many()
        .filter(outbox::Column::Id.is_in(rows.iter().map(|r| r.id)))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(rows.len())
}

/// Runs the relay and the queue's upkeep until `stop` completes; then relays what the
/// outbox still holds (one try: what the queue cannot take stays for the next start or
/// another replica) and returns.
pub async fn relay(db: Db, queue: Arc<dyn QueueBackend>, stop: impl Future<Output = ()>) {
    let mut stop = std::pin::pin!(stop);
    let mut last_upkeep = tokio::time::Instant::now() - MAINTAIN_EVERY;
    loop {
        if last_upkeep.elapsed() >= MAINTAIN_EVERY {
            last_upkeep = tokio::time::Instant::now();
            if let Err(err) = queue.maintain().await {
                tracing::debug!(error = %err, "queue upkeep postponed");
            }
        }
        let pause = match relay_once(&db, queue.as_ref()).await {
            Ok(0) => IDLE,
            Ok(moved) => {
                tracing::debug!(moved, "outbox relayed");
                Duration::ZERO
            }
            Err(err) => {
                tracing::debug!(error = %err, "outbox relay postponed");
                BACKOFF
            }
        };
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    loop {
        match relay_once(&db, queue.as_ref()).await {
            Ok(0) => break,
            Ok(moved) => tracing::debug!(moved, "outbox relayed before stopping"),
            Err(err) => {
                tracing::warn!(error = %err, "outbox left for the next start");
                break;
            }
        }
    }
}
