//! argon2id password hashing, off the async threads because it is slow on purpose, and
//! on a few threads of its own because it is big on purpose: each hash takes 19 MiB, and
//! a burst of logins on Tokio's blocking pool (up to 512 threads, each keeping its own
//! allocator arena of freed hash memory) took a server from 57 MB to 1.1 GB. On
//! [`workers`] threads with a queue of [`WAITING_PER_WORKER`] jobs each, a burst waits a
//! few hashes' time at most, and a flood beyond it is refused at once (`Busy`) instead
//! of piling up: memory and waiting time stay bounded.

use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use async_trait::async_trait;
use mati_domain::ports::PasswordHasher;
use mati_domain::{DomainError, DomainResult};

/// argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's minimum).
#[derive(Debug, Default, Clone, Copy)]
pub struct Argon2id;

fn hash_blocking(password: &str) -> DomainResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| DomainError::Internal(format!("password hashing failed: {e}")))
}

/// A hash of nothing anyone knows, verified against when the user does not exist, so
/// that both paths cost the same.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_blocking("mati decoy password, never valid").unwrap_or_default())
}

fn verify_blocking(password: &str, hash: Option<&str>) -> bool {
    let stored = hash.unwrap_or_else(|| decoy());
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
    matches && hash.is_some()
}

/// Threads that hash and verify passwords: as many as there are cores, at most four.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// Jobs that may wait for each password thread. A waiting login is answered within a
/// few hashes' time (a hash takes tens of milliseconds); more would only make every
/// login slower while a flood lasts.
pub const WAITING_PER_WORKER: usize = 4;

/// What a refused job is told: by then a few hashes have finished and freed their places.
const RETRY_AFTER: Duration = Duration::from_secs(1);

type Job = Box<dyn FnOnce() + Send>;

/// A few threads and a bounded queue in front of them.
struct Pool {
    queue: SyncSender<Job>,
    /// Jobs queued and not yet taken by a thread.
    queued: Arc<AtomicUsize>,
    /// Room in the queue.
    waiting: usize,
}

impl Pool {
    /// `workers` threads, and room for `waiting` jobs that none of them has taken yet.
    fn start(workers: usize, waiting: usize) -> Self {
        let (queue, jobs) = mpsc::sync_channel::<Job>(waiting);
        let jobs = Arc::new(Mutex::new(jobs));
        let queued = Arc::new(AtomicUsize::new(0));
        for n in 0..workers {
            let (jobs, queued) = (Arc::clone(&jobs), Arc::clone(&queued));
            // A thread that cannot start leaves the others to do the work.
            let _ = std::thread::Builder::new()
                .name(format!("mati-passwords-{n}"))
                .spawn(move || work(&jobs, &queued));
        }
        Self { queue, queued, waiting }
    }

    /// Whether a job would find room now (BUSY when the queue is full).
    fn ready(&self) -> DomainResult<()> {
        if self.queued.load(AtomicOrdering::SeqCst) < self.waiting {
            Ok(())
        } else {
            Err(DomainError::Busy {
                retry_after: RETRY_AFTER,
            })
        }
    }

    /// Queues `work`, or refuses it at once when every thread is busy and the queue full.
    fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> DomainResult<tokio::sync::oneshot::Receiver<T>> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        // Counted before it is sent, so that a thread taking it at once finds it counted.
        self.queued.fetch_add(1, AtomicOrdering::SeqCst);
        let sent = self.queue.try_send(job);
        if sent.is_err() {
            self.queued.fetch_sub(1, AtomicOrdering::SeqCst);
        }
        match sent {
            Ok(()) => Ok(result),
            Err(TrySendError::Full(_)) => Err(DomainError::Busy {
                retry_after: RETRY_AFTER,
            }),
            Err(TrySendError::Disconnected(_)) => Err(stopped()),
        }
    }

    /// Runs `work` on a password thread and waits for it without blocking the runtime.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> DomainResult<T> {
        self.submit(work)?.await.map_err(|_| stopped())
    }
}

fn stopped() -> DomainError {
    DomainError::Internal("the password threads have stopped".into())
}

fn work(jobs: &Mutex<Receiver<Job>>, queued: &AtomicUsize) {
    loop {
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => {
                queued.fetch_sub(1, AtomicOrdering::SeqCst);
                job();
            }
            Err(_) => return,
        }
    }
}

/// The password threads of this process, started on first use.
fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::start(workers(), workers() * WAITING_PER_WORKER))
}

#[async_trait]
impl PasswordHasher for Argon2id {
    async fn hash(&self, password: String) -> DomainResult<String> {
        pool().run(move || hash_blocking(&password)).await?
    }

    async fn verify(&self, password: String, hash: Option<String>) -> DomainResult<bool> {
        pool().run(move || verify_blocking(&password, hash.as_deref())).await
    }

    fn ready(&self) -> DomainResult<()> {
        pool().ready()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_burst_runs_on_the_password_threads_only() -> DomainResult<()> {
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static MOST: AtomicUsize = AtomicUsize::new(0);
        let workers = 2;
        let pool = Pool::start(workers, 4 * workers + 3);
        let burst = (0..4 * workers + 3).map(|n| {
            pool.run(move || {
                let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
                MOST.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                RUNNING.fetch_sub(1, Ordering::SeqCst);
                let name = std::thread::current().name().map(str::to_owned);
                (n, name)
            })
        });
        let done = futures::future::join_all(burst).await;
        for (n, result) in done.into_iter().enumerate() {
            let (ran, thread) = result?;
            assert_eq!(ran, n);
            assert!(thread.is_some_and(|name| name.starts_with("mati-passwords-")));
        }
        let most = MOST.load(Ordering::SeqCst);
        assert!(most <= workers, "{most} ran at once, more than {workers} threads");
        Ok(())
    }

    #[tokio::test]
    async fn a_flood_is_refused_once_the_threads_and_their_queue_are_full() -> DomainResult<()> {
        let (workers, waiting) = (2, 3);
        let pool = Pool::start(workers, waiting);
        let started = Arc::new(AtomicUsize::new(0));
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let job = || {
            let (started, gate) = (Arc::clone(&started), Arc::clone(&gate));
            move || {
                started.fetch_add(1, Ordering::SeqCst);
                let _ = gate.lock().map(|gate| gate.recv());
            }
        };
        // Both threads busy…
        let mut accepted = vec![pool.submit(job())?, pool.submit(job())?];
        while started.load(Ordering::SeqCst) < workers {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // …three wait…
        assert!(pool.ready().is_ok(), "room left");
        for _ in 0..waiting {
            accepted.push(pool.submit(job())?);
        }
        // …so a login can be told before it spends anything…
        assert!(matches!(pool.ready(), Err(DomainError::Busy { .. })));
        // …and the rest of the flood is refused at once, without being kept.
        for _ in 0..100 {
            let refused = pool.submit(job()).err();
            assert_eq!(
                refused,
                Some(DomainError::Busy {
                    retry_after: RETRY_AFTER
                })
            );
        }
        assert_eq!(started.load(Ordering::SeqCst), workers, "waiting jobs have not run");
        for _ in 0..accepted.len() {
            let _ = release.send(());
        }
        for done in accepted {
            done.await.map_err(|_| stopped())?;
        }
        assert_eq!(started.load(Ordering::SeqCst), workers + waiting, "no refused job ran");
        // Once the flood is over, work is accepted again.
        assert!(pool.ready().is_ok());
        assert_eq!(pool.run(|| 42).await?, 42);
        Ok(())
    }

    #[tokio::test]
    async fn a_password_verifies_against_its_argon2id_hash_only() -> DomainResult<()> {
        let hash = Argon2id.hash("correct horse battery".into()).await?;
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            Argon2id
                .verify("correct horse battery".into(), Some(hash.clone()))
                .await?
        );
        assert!(!Argon2id.verify("wrong horse battery".into(), Some(hash)).await?);
        assert!(!Argon2id.verify("mati decoy password, never valid".into(), None).await?);
        Ok(())
    }
}
