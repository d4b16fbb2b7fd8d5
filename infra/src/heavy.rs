//! A gate for heavy reads (statistics, counts): at most a few run at once, so that
//! however many are asked for, writes and cheap reads keep their pooled connections. A
//! few more may wait their turn briefly; beyond that, or after waiting too long, the
//! answer is a busy refusal with a time to retry — never a queue that grows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mati_domain::{DomainError, DomainResult};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How the gate is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeavyReadSettings {
    /// Heavy reads running at once (`MATI_STATS_MAX_CONCURRENT`).
    pub concurrent: usize,
    /// Heavy reads waiting for their turn at most; more are refused at once.
    pub waiting: usize,
    /// The longest a heavy read waits for its turn.
    pub patience: Duration,
}

impl HeavyReadSettings {
    /// `concurrent` heavy reads at once (at least one), twice as many waiting, two
    /// seconds of patience.
    pub fn running(concurrent: usize) -> Self {
        let concurrent = concurrent.max(1);
        Self {
            concurrent,
            waiting: concurrent * 2,
            patience: Duration::from_secs(2),
        }
    }

    /// A quarter of a pool of `connections` (at least one).
    pub fn for_pool(connections: u32) -> Self {
        Self::running(usize::try_from(connections / 4).unwrap_or(1))
    }
}

/// What a refused heavy read is told to wait.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// The gate.
#[derive(Debug)]
pub struct HeavyReads {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    settings: HeavyReadSettings,
}

/// The right to run one heavy read, given back when dropped.
#[derive(Debug)]
pub struct Turn {
    _permit: OwnedSemaphorePermit,
}

/// Counts a waiter for as long as it waits, however its wait ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HeavyReads {
    /// A gate set by `settings`.
    pub fn new(settings: HeavyReadSettings) -> Self {
        Self {
            running: Arc::new(Semaphore::new(settings.concurrent.max(1))),
            waiting: AtomicUsize::new(0),
            settings,
        }
    }

    /// A turn to run one heavy read: at once if one is free, else after a short wait in
    /// a short line; BUSY when the line is full or the wait too long.
    pub async fn enter(&self) -> DomainResult<Turn> {
        let busy = || DomainError::Busy {
            retry_after: RETRY_AFTER,
        };
        if let Ok(permit) = Arc::clone(&self.running).try_acquire_owned() {
            return Ok(Turn { _permit: permit });
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.settings.waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(busy());
        }
        let _waiting = Waiting(&self.waiting);
        match tokio::time::timeout(self.settings.patience, Arc::clone(&self.running).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Turn { _permit: permit }),
            Ok(Err(_)) | Err(_) => Err(busy()),
        }
    }

    /// Heavy reads running now.
    pub fn running(&self) -> usize {
        self.settings.concurrent.max(1) - self.running.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(concurrent: usize, waiting: usize, patience_ms: u64) -> Arc<HeavyReads> {
        Arc::new(HeavyReads::new(HeavyReadSettings {
            concurrent,
            waiting,
            patience: Duration::from_millis(patience_ms),
        }))
    }

    #[tokio::test]
    async fn beyond_the_running_and_the_waiting_heavy_reads_are_refused_at_once() {
        let gate = gate(2, 1, 60_000);
        let first = gate.enter().await;
        let second = gate.enter().await;
        assert!(first.is_ok() && second.is_ok());
        assert_eq!(gate.running(), 2);
        // The third waits in line; the fourth finds the line full.
        let third = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.enter().await.map(|_| ()) }
        });
        while gate.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(gate.enter().await, Err(DomainError::Busy { .. })));
        drop(first);
        assert!(
            third.await.is_ok_and(|turn| turn.is_ok()),
            "the waiter got the freed turn"
        );
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_heavy_read_that_waits_too_long_is_refused_and_leaves_the_line() {
        let gate = gate(1, 4, 50);
        let _running = gate.enter().await;
        let refused = gate.enter().await;
        assert!(matches!(refused, Err(DomainError::Busy { retry_after }) if retry_after == RETRY_AFTER));
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 0, "no waiter is left behind");
    }
}
