//! argon2id password hashing, off the async threads because it is slow on purpose, and
//! on a few threads of its own because it is big on purpose: each hash takes 19 MiB, and
//! a burst of logins on Tokio's blocking pool (up to 512 threads, each keeping its own
//! allocator arena of freed hash memory) took a server from 57 MB to 1.1 GB. On
//! [`workers`] threads a burst queues instead, and memory stays bounded.

use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, OnceLock};

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

type Job = Box<dyn FnOnce() + Send>;

/// The queue of the password threads, started on first use.
fn queue() -> &'static mpsc::Sender<Job> {
    static QUEUE: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..workers() {
            let receiver = Arc::clone(&receiver);
            // A thread that cannot start leaves the others to do the work.
            let _ = std::thread::Builder::new()
                .name(format!("mati-passwords-{n}"))
                .spawn(move || work(&receiver));
        }
        sender
    })
}

fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Runs `work` on a password thread and waits for it without blocking the runtime.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> DomainResult<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(work());
    });
    let stopped = || DomainError::Internal("the password threads have stopped".into());
    queue().send(job).map_err(|_| stopped())?;
    result.await.map_err(|_| stopped())
}

#[async_trait]
impl PasswordHasher for Argon2id {
    async fn hash(&self, password: String) -> DomainResult<String> {
        blocking(move || hash_blocking(&password)).await?
    }

    async fn verify(&self, password: String, hash: Option<String>) -> DomainResult<bool> {
        blocking(move || verify_blocking(&password, hash.as_deref())).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_burst_runs_on_the_password_threads_only() -> DomainResult<()> {
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static MOST: AtomicUsize = AtomicUsize::new(0);
        let burst = (0..4 * workers() + 3).map(|n| {
            blocking(move || {
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
        assert!(most <= workers(), "{most} ran at once, more than {} threads", workers());
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
