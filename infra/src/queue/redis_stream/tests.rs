//! The queue against a real Redis (`MATI_TEST_REDIS_URL`, default the local one, skipped
//! when unreachable unless `MATI_REQUIRE_BACKENDS=1`) and a fresh SQLite database, with
//! the steps of a rebuild driven one by one so that a race is played out exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use chrono::Utc;
use mati_domain::clock::ManualClock;
use sea_orm::ActiveValue::Set;

use super::*;
use crate::PoolSettings;
use crate::db::entity::citizen;

/// A fresh database, a Redis prefix of its own, and a queue over both; `None` (skip)
/// when Redis is unreachable and not required.
async fn queue() -> Option<(RedisQueue, tempfile::TempDir)> {
    let url = std::env::var("MATI_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("mati_infra_test_{:016x}", rand::random::<u64>());
    let redis = Redis::open(&url, &prefix).unwrap();
    for _ in 0..30 {
        if redis.is_healthy() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if !redis.is_healthy() {
        let required = std::env::var("MATI_REQUIRE_BACKENDS").is_ok_and(|v| v == "1");
        assert!(!required, "Redis at {url} is required but unreachable");
        eprintln!("skipped: Redis at {url} is unreachable");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("mati.db").display());
    let db = Db::connect(&db_url, &PoolSettings::default()).await.unwrap();
    db.migrate_up().await.unwrap();
    citizen::Entity::insert(citizen::ActiveModel {
        id: Set(1),
        token_digest: Set("test".into()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    })
    .exec_without_returning(db.conn())
    .await
    .unwrap();
    let clock = Arc::new(ManualClock::at(Utc::now()));
    Some((RedisQueue::new(redis, db, clock, Duration::minutes(5)), dir))
}

/// Stores a pending comment; its id.
async fn pending(queue: &RedisQueue, n: i64) -> CommentId {
    let row = comment::ActiveModel {
        tracking_code: Set(format!("TEST{n:04}")),
        body: Set("The road to the school floods.".into()),
        category_code: Set("LOCAL_ROADS".into()),
        commune_code: Set("120101".into()),
        status: Set(CommentStatus::Pending.as_str().into()),
        is_public: Set(true),
        author_id: Set(1),
        created_at: Set(Utc::now()),
        reopen_count: Set(0),
        support_count: Set(0),
        version: Set(1),
        escalated_levels: Set(0),
        hidden: Set(false),
        ..Default::default()
    };
    CommentId::new(
        comment::Entity::insert(row)
            .exec(queue.db.conn())
            .await
            .unwrap()
            .last_insert_id,
    )
}

/// A moderator decides the comment as the service does: the change commits, then the
/// item is taken out of the queue.
async fn decide(queue: &RedisQueue, id: CommentId) {
    comment::Entity::update_many()
        .col_expr(comment::Column::Status, CommentStatus::Routed.as_str().into())
        .filter(comment::Column::Id.eq(id.get()))
        .exec(queue.db.conn())
        .await
        .unwrap();
    queue.done(id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_decided_while_the_queue_is_rebuilt_or_relayed_does_not_come_back() {
    let Some((queue, _dir)) = queue().await else { return };
    let decided = pending(&queue, 1).await;
    let open = pending(&queue, 2).await;

    // A rebuild reads the waiting comments; one is decided before it adds them.
    let read = queue.waiting().await.unwrap();
    assert_eq!(read, [decided, open]);
    decide(&queue, decided).await;
    queue.rebuild_from(&read).await.unwrap();

    // The outbox relay is about to add a new comment; it is decided first.
    let relayed = pending(&queue, 3).await;
    decide(&queue, relayed).await;
    queue.enqueue(&[relayed]).await.unwrap();

    assert_eq!(
        queue.claim(StaffId::new(7), 10).await.unwrap(),
        [open],
        "only the comment still waiting is in the queue"
    );
    assert!(
        queue.claim(StaffId::new(8), 10).await.unwrap().is_empty(),
        "and only once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_on_a_queue_never_built_builds_it_from_the_database_first() {
    let Some((queue, _dir)) = queue().await else { return };
    let waiting = pending(&queue, 1).await;
    // Nothing was ever added to Redis: the claim script answers with the rebuild code,
    // read from the error's code, and the claim builds the queue and claims again.
    assert_eq!(queue.claim(StaffId::new(7), 10).await.unwrap(), [waiting]);
}
